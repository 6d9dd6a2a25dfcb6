"""Incremental gunzip under the bomb guard, shared by the archive stream and nested members;
and the archive's inflater thread, which the command line may start before it imports the
analysis (:func:`inflate_early`).

Examples:
    >>> import gzip
    >>> from lostbeat.analyzer._limits import Limits
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

import functools
import os
import queue
import sys
import threading
from typing import TYPE_CHECKING, BinaryIO, cast

from isal.igzip_lib import DECOMP_GZIP, IgzipDecompressor, IsalError

if TYPE_CHECKING:
    from lostbeat.analyzer._limits import Limits

MiB = 1024 * 1024
GiB = 1024 * MiB
_GZIP_MAGIC = b"\x1f\x8b"
_SLICE = 256 * 1024  # compressed bytes given to one inflate call
_IN_CHUNK = 1 * MiB  # compressed bytes per read of the inflater thread
_INFLATED = 1 * MiB  # inflated bytes per chunk of the inflater thread (a call's work)...
_BATCH = 2 * MiB  # ...handed over this many at a time


# isal's stub declares IsalError loosely; at run time it is an Exception class
_INFLATE_ERROR = cast("type[Exception]", IsalError)


def _inflater() -> IgzipDecompressor:
    return IgzipDecompressor(flag=DECOMP_GZIP)


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
    """Incremental gunzip with the bomb guard: concatenated members, zero padding.

    isal's ``IgzipDecompressor`` inflates: it lets go of the GIL while it works (isal_zlib's
    ``decompressobj`` does not, measured: a thread inflating beside a busy one took as long as
    both one after the other), so the inflater thread runs beside the reader on a second core.
    Each call is given at most :data:`_SLICE` compressed bytes, a view into what was fed, and
    gives at most ``size`` bytes; input it has not consumed yet it keeps itself.
    """

    kind = "gzip"

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.inflater = _inflater()
        self.pending = b""  # compressed bytes fed...
        self.at = 0  # ...of which those before this offset were given to the inflater
        self.held = 0  # bytes of the last slice given that the inflater may not have used yet
        self.fed = 0
        self.out = 0

    def used(self) -> int:
        """Compressed bytes inflated so far, counting the last slice given only once the
        inflater asks for more (the bomb guard's ratio errs towards stopping early)."""
        return self.fed - (len(self.pending) - self.at) - self.held

    def given(self) -> int:
        """Compressed bytes given to the inflater so far: where the stream stands."""
        return self.fed - (len(self.pending) - self.at)

    def finished(self) -> bool:
        return self.inflater.eof and self.at >= len(self.pending)

    def feed(self, data: bytes) -> None:
        rest = self.pending[self.at :] if self.at < len(self.pending) else b""
        self.pending, self.at = rest + data if rest else data, 0
        self.fed += len(data)

    def pull(self, size: int) -> bytes:
        """Up to ``size`` inflated bytes, or b"" when more input is needed.

        Raises:
            _Broken: corrupt data, data after the gzip stream that is not another gzip
                member, or more inflated than the limits allow (a gzip bomb).
        """
        while True:
            if self.inflater.eof:  # a further gzip member, or zero padding
                rest = self.inflater.unused_data + self.pending[self.at :]
                self.pending, self.at, self.held = rest, 0, 0
                if not rest.strip(b"\0"):
                    self.at = len(rest)
                    return b""
                if not _GZIP_MAGIC.startswith(rest[:2]):
                    raise _Broken("trailing garbage after the gzip data")
                self.inflater = _inflater()
            if self.inflater.needs_input:
                if self.at >= len(self.pending):
                    return b""  # wait for more input
                piece: bytes | memoryview = memoryview(self.pending)[self.at : self.at + _SLICE]
                self.at += len(piece)
            else:
                piece = b""
            try:
                out = self.inflater.decompress(piece, size)
            except _INFLATE_ERROR as err:
                raise _Broken(f"corrupt gzip data ({err})") from None
            if self.inflater.needs_input or self.inflater.eof:
                self.held = 0
            elif piece:
                self.held = len(piece)
            if out:
                return self._count(out)
            if not piece and not self.inflater.eof and not self.inflater.needs_input:
                raise _Broken("corrupt gzip data (no progress)")

    def _count(self, out: bytes) -> bytes:
        """``out``, once counted against the bomb guard."""
        self.out += len(out)
        lim = self.limits
        if self.out > lim.inflated_bytes or (
            self.out > lim.ratio_after and self.out > lim.max_ratio * self.used()
        ):
            raise _Broken(f"stopped after inflating {_size(self.out)}: {self.kind} bomb")
        return out


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
def _one_arena() -> None:
    """Have the process's threads share one malloc arena (glibc; elsewhere nothing changes).

    glibc gives a thread that allocates beside another an arena of its own. The inflater
    thread's arena gave its freed 1 MiB chunks back to the kernel and faulted fresh pages in
    for the next ones, chunk after chunk: on a 1 GiB bundle 100,000 page faults more and a
    quarter of a second of system time. Sharing the main arena, the chunks are reused.
    """
    try:
        import ctypes  # only here: a run that inflates nothing never needs it

        ctypes.CDLL(None).mallopt(_M_ARENA_MAX, 1)
    except (OSError, AttributeError):  # no C library to ask, or not glibc's
        pass


_AHEAD = 2  # batches that may wait for the reader: what the thread adds to memory
_HEAD_START = 24  # batches more (48 MiB) for an inflater started while the analysis imports
_POLL_S = 0.05  # how often a blocked thread looks whether it was told to stop

_Item = tuple[list[bytes], int, int] | BaseException | None


class _Inflater:
    """The archive's gunzip, run in a thread of its own, a few chunks before the reader.

    The inflate calls run without the GIL (:class:`_Gunzip`), and while an inflater runs the
    interpreter's switch interval is :data:`_SWITCH_S`, so the tar walk, the parsers and the
    rules run beside it on a second core: the archive costs its inflation, not its inflation
    plus its reading, where a core is free. Chunks of ``chunk`` bytes (a call's work) are
    handed over in batches of
    ``batch`` bytes, at most :data:`_AHEAD` batches ahead (plus ``head`` batches once, for an
    inflater started before its reader is ready: :func:`inflate_early`). They come out in
    order; a failure (corrupt or truncated data, a bomb, a read error) comes out after every
    byte inflated before it, as it did in one thread, and is raised by :meth:`next`.
    :meth:`close` stops the thread wherever it is.
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
        self.fp, self.gunzip, self.read_size = fp, gunzip, read
        self.chunk, self.batch = chunk, batch
        self.owns_fp = owns_fp  # close fp with the thread: it was opened for the thread
        self._owed = head  # tokens of the head start, not given back
        self.used = 0  # compressed bytes behind the batches handed out
        self.read = 0  # file bytes read behind them
        self.done = False
        self._ready: list[bytes] = []  # the current batch, last chunk first
        # batches go through a SimpleQueue (C, no Python-level lock), bounded by the tokens
        # of a second one: the thread takes a token before it puts a batch, the reader gives
        # one back as it takes a batch
        self._queue: queue.SimpleQueue[_Item] = queue.SimpleQueue()
        self._slots: queue.SimpleQueue[None] = queue.SimpleQueue()
        for _ in range(_AHEAD + head):
            self._slots.put(None)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="lostbeat-inflate", daemon=True)
        _one_arena()
        _Switch.enter()
        self._closed = False
        self._thread.start()

    def _run(self) -> None:
        gunzip, read = self.gunzip, 0
        chunks: list[bytes] = []
        size = 0
        try:
            while not self._stop.is_set():
                out = gunzip.pull(self.chunk)
                if out:
                    chunks.append(out)
                    size += len(out)
                    if size >= self.batch:
                        self._put((chunks, gunzip.given(), read))
                        chunks, size = [], 0
                    continue
                data = self.fp.read(self.read_size)
                if not data:
                    if not gunzip.finished():
                        raise _Broken(f"{gunzip.kind} stream truncated")
                    self._put((chunks, gunzip.given(), read))
                    self._put(None)
                    return
                read += len(data)
                gunzip.feed(data)
        except OSError as err:
            self._fail(chunks, _Broken(f"read error ({err.strerror})"), read)
        except _Broken as err:
            self._fail(chunks, err, read)
        except BaseException as err:  # noqa: BLE001 - raised in the reader, where it belongs
            self._put((chunks, gunzip.given(), read))
            self._put(err)

    def _fail(self, chunks: list[bytes], err: _Broken, read: int) -> None:
        """Hand over what was inflated before ``err``, then ``err``."""
        err.used = self.gunzip.given()
        self._put((chunks, err.used, read))
        self._put(err)

    def _put(self, item: _Item) -> None:
        while not self._stop.is_set():
            try:
                self._slots.get(timeout=_POLL_S)
            except queue.Empty:
                continue
            self._queue.put(item)
            return

    def next(self) -> bytes:
        """The next inflated chunk; b"" at the end of the gzip data.

        Raises:
            _Broken: the data cannot be inflated further.
        """
        while not self._ready:
            if self.done:
                return b""
            item = self._queue.get()
            if self._owed:
                self._owed -= 1
            else:
                self._slots.put(None)
            if item is None:
                self.done = True
            elif isinstance(item, BaseException):
                self.done = True
                if isinstance(item, _Broken) and item.used >= 0:
                    self.used = item.used
                raise item
            else:
                chunks, self.used, self.read = item
                chunks.reverse()
                self._ready = chunks
        return self._ready.pop()

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
