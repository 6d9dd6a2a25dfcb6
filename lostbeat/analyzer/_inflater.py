"""The archive's inflater: in a thread of its own beside the reader, or in the reader's.

:class:`_Inflater` runs the gunzip (or xz, bzip2) in a thread that lets go of the GIL while
it inflates, a few batches before the reader; the command line may start one before it
imports the analysis (:func:`inflate_early`). :class:`_Inline` inflates in the reader's own
thread, for an archive too small for a thread to pay for itself (:data:`THREAD_MIN`). Both
hand over the same batches (:func:`_batches`), so a reader sees the same bytes, positions and
errors from either.
"""

from __future__ import annotations

import functools
import os
import queue
import sys
import threading
from collections.abc import Callable, Generator
from typing import TYPE_CHECKING, BinaryIO

from lostbeat.analyzer._gunzip import _BATCH, _GZIP_MAGIC, _IN_CHUNK, _INFLATED, _Broken, _Gunzip

if TYPE_CHECKING:
    from lostbeat.analyzer._limits import Limits

THREAD_MIN = 4 * 1024 * 1024
"""Compressed bytes from which an archive is inflated in a thread of its own (and walked
beside the parsing, :mod:`~lostbeat.analyzer._handoff`): below, a thread's start and its GIL
hand-overs cost more than the overlap gains (a few percent of a small bundle's analysis)."""

_SWITCH_S = 0.0005
"""The interpreter's switch interval while an inflater thread runs: after each inflate call
(which runs without the GIL) the thread waits for the GIL at most this long, not the default
5 ms, so that a reader busy in Python does not hold it back call after call."""


class _Switch:
    """The switch interval, lowered while any inflater runs and set back after the last."""

    _lock = threading.Lock()
    _users = 0
    _saved = 0.005

    @classmethod
    def enter(cls) -> None:
        with cls._lock:
            if cls._users == 0:
                cls._saved = sys.getswitchinterval()
                sys.setswitchinterval(min(cls._saved, _SWITCH_S))
            cls._users += 1

    @classmethod
    def leave(cls) -> None:
        with cls._lock:
            cls._users -= 1
            if cls._users == 0:
                sys.setswitchinterval(cls._saved)


_M_ARENA_MAX = -8  # glibc's mallopt parameter: how many malloc arenas threads may have


@functools.cache
def one_arena() -> None:
    """Have the process's threads share one malloc arena (glibc; elsewhere nothing changes).

    glibc gives a thread that allocates beside another an arena of its own. The inflater
    thread's arena gave its freed chunks back to the kernel and faulted fresh pages in for
    the next ones, chunk after chunk: on a 1 GiB bundle 100,000 page faults more and a
    quarter of a second of system time. Sharing the main arena, the chunks are reused. It is
    a setting of the whole process, so the command line and the fleet's pool workers call
    it before they read any archive; the library never does.
    """
    try:
        import ctypes  # only here: a run that inflates nothing never needs it

        ctypes.CDLL(None).mallopt(_M_ARENA_MAX, 1)
    except (OSError, AttributeError):  # no C library to ask, or not glibc's
        pass


_AHEAD = 2  # batches that may wait for the reader: what the thread adds to memory
_HEAD_START = 24  # batches more (48 MiB) for an inflater started while the analysis imports
_POLL_S = 0.05  # how often a blocked thread looks whether it was told to stop

_Item = tuple[list[bytes], int] | BaseException | None


def _batches(
    fp: BinaryIO,
    gunzip: _Gunzip,
    *,
    chunk: int,
    batch: int,
    read_size: int,
    stopped: Callable[[], bool],
) -> Generator[_Item, None, None]:
    """The inflated bytes as an inflater hands them over: batches of chunks of at most
    ``chunk`` bytes (each ``batch`` bytes or more but the last), each with the compressed
    bytes behind it; then ``None`` at the end, or the failure (corrupt or truncated data, a
    bomb, a read error) after every byte inflated before it."""
    size = 0
    chunks: list[bytes] = []
    try:
        while not stopped():
            out = gunzip.pull(chunk)
            if out:
                chunks.append(out)
                size += len(out)
                if size >= batch:
                    yield chunks, gunzip.given()
                    chunks, size = [], 0
                continue
            data = fp.read(read_size)
            if not data:
                if not gunzip.finished():
                    raise _Broken(f"{gunzip.kind} stream truncated")
                yield chunks, gunzip.given()
                yield None
                return
            gunzip.feed(data)
    except (GeneratorExit, KeyboardInterrupt, SystemExit):
        raise  # closed, or interrupted in the reader's own thread: at once
    except (OSError, _Broken) as err:
        failure = err if isinstance(err, _Broken) else _Broken(f"read error ({err.strerror})")
        failure.used = gunzip.given()  # the slice it broke in was given whole: its end
        yield chunks, failure.used
        yield failure
    except BaseException as err:  # noqa: BLE001 - raised in the reader, where it belongs
        yield chunks, gunzip.given()
        yield err


class _Reader:
    """The reader's side of an inflater: the chunks of the batches in order (:meth:`next`)."""

    def __init__(self) -> None:
        self.used = 0  # compressed bytes behind the batches handed out
        self.done = False
        self._ready: list[bytes] = []  # the current batch, last chunk first

    def _take(self) -> _Item:
        raise NotImplementedError

    def next(self) -> bytes:
        """The next inflated chunk; b"" at the end of the data.

        Raises:
            _Broken: the data cannot be inflated further.
        """
        while not self._ready:
            if self.done:
                return b""
            item = self._take()
            if item is None:
                self.done = True
            elif isinstance(item, BaseException):
                self.done = True
                if isinstance(item, _Broken) and item.used >= 0:
                    self.used = item.used
                raise item
            else:
                chunks, self.used = item
                chunks.reverse()
                self._ready = chunks
        return self._ready.pop()

    def close(self) -> None:
        """Stop inflating."""


class _Inline(_Reader):
    """The archive's inflation in the reader's own thread, a batch at a time as it asks."""

    def __init__(self, fp: BinaryIO, gunzip: _Gunzip) -> None:
        super().__init__()
        self._items = _batches(
            fp, gunzip, chunk=_INFLATED, batch=_BATCH, read_size=_IN_CHUNK, stopped=_never
        )

    def _take(self) -> _Item:
        return next(self._items)

    def close(self) -> None:
        self._items.close()


def _never() -> bool:
    return False


class _Inflater(_Reader):
    """The archive's inflation, run in a thread of its own, a few batches before the reader.

    The inflate calls run without the GIL (:class:`~lostbeat.analyzer._gunzip._Gunzip`), and
    while an inflater runs the interpreter's switch interval is :data:`_SWITCH_S`, so the tar
    walk, the parsers and the rules run beside it on a second core: the archive costs its
    inflation, not its inflation plus its reading, where a core is free. Chunks of ``chunk``
    bytes (a call's work) are handed over in batches of ``batch`` bytes, at most
    :data:`_AHEAD` batches ahead (plus ``head`` batches once, for an inflater started before
    its reader is ready: :func:`inflate_early`); what they are, in order, and the failure
    after them, is :func:`_batches`'. :meth:`close` stops the thread wherever it is.
    """

    def __init__(
        self,
        fp: BinaryIO,
        gunzip: _Gunzip,
        *,
        chunk: int = _INFLATED,
        batch: int = _BATCH,
        read: int = _IN_CHUNK,
        head: int = 0,
        owns_fp: bool = False,
    ) -> None:
        super().__init__()
        self.fp = fp
        self.owns_fp = owns_fp  # close fp with the thread: it was opened for the thread
        self._owed = head  # tokens of the head start, not given back
        # batches go through a SimpleQueue (C, no Python-level lock), bounded by the tokens
        # of a second one: the thread takes a token before it puts a batch, the reader gives
        # one back as it takes a batch
        self._queue: queue.SimpleQueue[_Item] = queue.SimpleQueue()
        self._slots: queue.SimpleQueue[None] = queue.SimpleQueue()
        for _ in range(_AHEAD + head):
            self._slots.put(None)
        self._stop = threading.Event()
        self._items = _batches(
            fp, gunzip, chunk=chunk, batch=batch, read_size=read, stopped=self._stop.is_set
        )
        self._thread = threading.Thread(target=self._run, name="lostbeat-inflate", daemon=True)
        _Switch.enter()
        self._closed = False
        self._thread.start()

    def _run(self) -> None:
        for item in self._items:
            if not self._put(item):
                return

    def _put(self, item: _Item) -> bool:
        """Hand ``item`` over when there is room; False when told to stop first."""
        while not self._stop.is_set():
            try:
                self._slots.get(timeout=_POLL_S)
            except queue.Empty:
                continue
            self._queue.put(item)
            return True
        return False

    def _take(self) -> _Item:
        item = self._queue.get()
        if self._owed:
            self._owed -= 1
        else:
            self._slots.put(None)
        return item

    def close(self) -> None:
        """Stop the thread and wait for it (at most a chunk's inflation)."""
        self._stop.set()
        self._slots.put(None)  # a thread waiting for room sees the stop at once
        self._thread.join()
        if not self._closed:
            self._closed = True
            _Switch.leave()
        if self.owns_fp:
            self.fp.close()


_early: dict[tuple[int, int, int, int], tuple[_Inflater, Limits]] = {}


def _identity(fp: BinaryIO) -> tuple[int, int, int, int]:
    st = os.fstat(fp.fileno())
    return st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns


def inflate_early(path: str | os.PathLike[str], limits: Limits) -> None:
    """Start inflating the gzip file at ``path`` now, up to :data:`_HEAD_START` batches
    ahead, for the archive reader that :func:`adopt_early` will give it to.

    The command line calls it before it imports the analysis, which takes about as long as
    inflating 100 MiB: the inflation runs on the second core meanwhile. Anything that is not
    a readable gzip file is left alone, for the source to report. One file at a time: a
    further call (or :func:`drop_early`) stops the one not adopted.
    """
    drop_early()
    if not os.path.isfile(path):  # a FIFO or a device is not opened here
        return
    try:
        fp = open(path, "rb")  # noqa: SIM115 - closed by the inflater, or below
    except OSError:
        return
    try:
        if fp.read(2) != _GZIP_MAGIC:
            fp.close()
            return
        fp.seek(0)
        key = _identity(fp)
    except OSError:
        fp.close()
        return
    _early[key] = (_Inflater(fp, _Gunzip(limits), head=_HEAD_START, owns_fp=True), limits)


def adopt_early(fp: BinaryIO, limits: Limits) -> _Inflater | None:
    """The inflater :func:`inflate_early` started on the file ``fp`` is open on (the same
    file, unchanged, read from its start under the same limits), or None. The first archive
    a run opens is the one started early, or none is: one not taken over now is stopped."""
    if not _early:
        return None
    try:
        key = _identity(fp)
        at_start = fp.tell() == 0
    except (OSError, ValueError):
        key, at_start = (-1, -1, -1, -1), False
    found = _early.pop(key, None)
    drop_early()
    if found is None:
        return None
    inflater, early_limits = found
    if at_start and early_limits == limits:
        return inflater
    inflater.close()
    return None


def drop_early() -> None:
    """Stop an inflater :func:`inflate_early` started that no reader adopted."""
    while _early:
        inflater, _ = _early.popitem()[1]
        inflater.close()
