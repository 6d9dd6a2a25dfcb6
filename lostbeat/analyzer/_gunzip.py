"""Incremental gunzip under the bomb guard, shared by the archive stream and nested members;
and the archive's inflater thread.

Examples:
    >>> import gzip
    >>> from lostbeat.analyzer._collect import Limits
    >>> g = _Gunzip(Limits())
    >>> g.feed(gzip.compress(b"abc") + gzip.compress(b"def") + bytes(8))
    >>> g.pull(100), g.pull(100), g.pull(100), g.finished()
    (b'abc', b'def', b'', True)
    >>> g.feed(b"not gzip")
    >>> g.pull(100)
    Traceback (most recent call last):
    ...
    lostbeat.analyzer._gunzip._Broken: trailing garbage after the gzip data
"""

from __future__ import annotations

import contextlib
import queue
import threading
from typing import TYPE_CHECKING, BinaryIO, cast

from isal import isal_zlib

if TYPE_CHECKING:
    from lostbeat.analyzer._collect import Limits

MiB = 1024 * 1024
GiB = 1024 * MiB
_GZIP_MAGIC = b"\x1f\x8b"
# isal's stub declares ``error`` as an instance; at run time it is the exception class
_INFLATE_ERROR = cast("type[Exception]", isal_zlib.error)


def _size(n: int) -> str:
    if n >= 1000 * 1024:
        return f"{n / MiB:.1f} MiB"
    return f"{n / 1024:.1f} KiB" if n >= 1024 else f"{n} bytes"


class _Broken(Exception):
    """A stream cannot be read further (``at``: the tar offset, when known)."""

    def __init__(self, message: str, *, at: int | None = None) -> None:
        super().__init__(message)
        self.at = at
        self.used = -1  # compressed bytes inflated when it broke, when known


class _Gunzip:
    """Incremental gunzip with the bomb guard: concatenated members, zero padding."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.inflater = isal_zlib.decompressobj(wbits=31)
        self.pending = b""  # compressed bytes fed but not inflated yet
        self.fed = 0
        self.out = 0

    def used(self) -> int:
        """Compressed bytes inflated so far."""
        return self.fed - len(self.pending)

    def finished(self) -> bool:
        return self.inflater.eof and not self.pending

    def feed(self, data: bytes) -> None:
        self.pending = self.pending + data if self.pending else data
        self.fed += len(data)

    def pull(self, size: int) -> bytes:
        """Up to ``size`` inflated bytes, or b"" when more input is needed.

        Raises:
            _Broken: corrupt data, data after the gzip stream that is not another gzip
                member, or more inflated than the limits allow (a gzip bomb).
        """
        while self.pending:
            if self.inflater.eof:  # a further gzip member, or zero padding
                if not self.pending.strip(b"\0"):
                    self.pending = b""
                    break
                if not _GZIP_MAGIC.startswith(self.pending[:2]):
                    raise _Broken("trailing garbage after the gzip data")
                self.inflater = isal_zlib.decompressobj(wbits=31)
            left = len(self.pending)
            try:
                out = self.inflater.decompress(self.pending, size)
            except _INFLATE_ERROR as err:
                raise _Broken(f"corrupt gzip data ({err})") from None
            eof = self.inflater.eof
            self.pending = self.inflater.unused_data if eof else self.inflater.unconsumed_tail
            if out:
                self.out += len(out)
                lim = self.limits
                if self.out > lim.inflated_bytes or (
                    self.out > lim.ratio_after and self.out > lim.max_ratio * self.used()
                ):
                    raise _Broken(f"stopped after inflating {_size(self.out)}: gzip bomb")
                return out
            if len(self.pending) == left and not eof:
                break  # no progress: wait for more input
        return b""


_AHEAD = 2  # inflated chunks that may wait for the reader: what the thread adds to memory
_POLL_S = 0.05  # how often a blocked thread looks whether it was told to stop


class _Inflater:
    """The archive's gunzip, run in a thread of its own, ``ahead`` chunks before the reader.

    isal releases the GIL while it inflates, so the tar walk, the parsers and the rules run
    beside it on a second core: the archive costs its inflation, not its inflation plus its
    reading. Chunks come out in order; a failure (corrupt or truncated data, a bomb, a read
    error) comes out after every byte inflated before it, as it did in one thread, and is
    raised by :meth:`next`. :meth:`close` stops the thread wherever it is.
    """

    def __init__(self, fp: BinaryIO, gunzip: _Gunzip, *, chunk: int, read: int) -> None:
        self.fp, self.gunzip, self.chunk, self.read_size = fp, gunzip, chunk, read
        self.used = 0  # compressed bytes behind the chunks handed out
        self.read = 0  # file bytes read behind them
        self.done = False
        self._queue: queue.Queue[tuple[bytes, int, int] | BaseException | None] = queue.Queue(
            _AHEAD
        )
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="lostbeat-inflate", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        gunzip, read = self.gunzip, 0
        try:
            while not self._stop.is_set():
                out = gunzip.pull(self.chunk)
                if out:
                    self._put((out, gunzip.used(), read))
                    continue
                data = self.fp.read(self.read_size)
                if not data:
                    if not gunzip.finished():
                        raise _Broken("gzip stream truncated")
                    self._put(None)
                    return
                read += len(data)
                gunzip.feed(data)
        except OSError as err:
            self._put(_Broken(f"read error ({err.strerror})"), gunzip.used())
        except _Broken as err:
            self._put(err, gunzip.used())
        except BaseException as err:  # noqa: BLE001 - raised in the reader, where it belongs
            self._put(err)

    def _put(self, item: tuple[bytes, int, int] | BaseException | None, used: int = -1) -> None:
        if isinstance(item, _Broken) and used >= 0:
            item.used = used
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=_POLL_S)
                return
            except queue.Full:
                continue

    def next(self) -> bytes:
        """The next inflated chunk; b"" at the end of the gzip data.

        Raises:
            _Broken: the data cannot be inflated further.
        """
        if self.done:
            return b""
        item = self._queue.get()
        if item is None:
            self.done = True
            return b""
        if isinstance(item, BaseException):
            self.done = True
            if isinstance(item, _Broken) and item.used >= 0:
                self.used = item.used
            raise item
        data, self.used, self.read = item
        return data

    def close(self) -> None:
        """Stop the thread and wait for it (at most a chunk's inflation)."""
        self._stop.set()
        while self._thread.is_alive():
            with contextlib.suppress(queue.Empty):
                self._queue.get(timeout=_POLL_S)
        self._thread.join()
