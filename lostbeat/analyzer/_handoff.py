"""An archive's walk in a thread of its own, its members parsed on the caller's.

A compressed bundle is read by three threads: the inflater (:class:`~lostbeat.analyzer.
_inflater._Inflater`, which lets go of the GIL while it inflates), the walker (the tar headers,
each wanted member into its sink, every other passed over) and the caller's, which parses
each member once it is read (the run's consumer). The walker goes on through the members
nobody wants while the caller parses, so a bundle costs its inflation or its parsing,
whichever is longer, rather than both one after the other.

The members read and not yet parsed are bounded (:data:`AHEAD_BYTES`, and always at least
one may wait). They are parsed in bundle order, and what became of each is recorded at the
place the walker reached it (:meth:`_Collector.reserve`), so a run's records and result are
those of one thread. When the caller stops (its consumer raised, or it was interrupted), the
walker stops at its next member or chunk (:class:`Stopped`).

Examples:
    >>> from collections import deque
    >>> from lostbeat.analyzer._collect import Text
    >>> handoff = Handoff(limit=10)
    >>> handoff.put(Text("a", "x", deque([b"1"]), note="", digest=b""), 0, 1)
    >>> handoff.finish(None)
    >>> [(text.path, slot) for text, slot in handoff]
    [('a', 0)]
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from lostbeat.analyzer._collect import Consume, Text, _Collector

__all__ = ["AHEAD_BYTES", "Handoff", "Stopped", "walk_beside"]

AHEAD_BYTES = 32 * 1024 * 1024
"""Bytes of read members that may wait for the caller (one member may always wait)."""


class Stopped(Exception):
    """The caller stopped the walk: the walker leaves where it is."""


class Handoff:
    """The members the walker has read, on their way to the caller, in order."""

    def __init__(self, limit: int | None = None) -> None:
        self.limit = AHEAD_BYTES if limit is None else limit
        self._cond = threading.Condition()
        self._items: deque[tuple[Text, int, int]] = deque()
        self._bytes = 0
        self._done = False
        self._error: BaseException | None = None
        self.stopped = False

    def put(self, text: Text, slot: int, size: int) -> None:
        """Hand over a member of ``size`` kept bytes whose record goes at ``slot`` (the
        walker); waits while others of more than :attr:`limit` bytes wait.

        Raises:
            Stopped: the caller stopped.
        """
        with self._cond:
            while self._items and self._bytes + size > self.limit and not self.stopped:
                self._cond.wait()
            if self.stopped:
                raise Stopped
            self._items.append((text, slot, size))
            self._bytes += size
            self._cond.notify_all()

    def finish(self, error: BaseException | None) -> None:
        """The walker's last call: the walk ended, or raised ``error``."""
        with self._cond:
            self._done, self._error = True, error
            self._cond.notify_all()

    def stop(self) -> None:
        """The caller's: no more members are wanted."""
        with self._cond:
            self.stopped = True
            self._cond.notify_all()

    def check(self) -> None:
        """Raise :class:`Stopped` when the caller stopped (the walker asks between steps)."""
        if self.stopped:
            raise Stopped

    def __iter__(self) -> Iterator[tuple[Text, int]]:
        """The members in bundle order (the caller's); the walker's error after the last."""
        while True:
            with self._cond:
                while not self._items and not self._done:
                    self._cond.wait()
                if not self._items:
                    if self._error is not None:
                        raise self._error
                    return
                text, slot, size = self._items.popleft()
                self._bytes -= size
                self._cond.notify_all()
            yield text, slot


def walk_beside(walk: Callable[[], int], col: _Collector, consume: Consume) -> int:
    """Run ``walk`` (which hands each wanted member to ``col``) in a thread of its own while
    this thread parses each member with ``consume``; what ``walk`` returned.

    Raises:
        Whatever ``walk`` or ``consume`` raised, after the members read before it.
    """
    handoff = col.handoff = Handoff()
    ended: list[int] = []

    def run() -> None:
        error: BaseException | None = None
        try:
            ended.append(walk())
        except Stopped:
            pass
        except BaseException as err:  # noqa: BLE001 - raised in the caller, where it belongs
            error = err
        handoff.finish(error)

    walker = threading.Thread(target=run, name="lostbeat-walk", daemon=True)
    walker.start()
    try:
        for text, slot in handoff:
            col.fill(slot, consume(text))
    finally:
        handoff.stop()
        walker.join()
        col.handoff = None
    return ended[0]
