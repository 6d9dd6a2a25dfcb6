"""Incremental gunzip under the bomb guard, shared by the archive stream and nested members
(the archive's inflater, in a thread of its own or not: :mod:`~lostbeat.analyzer._inflater`).

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

from typing import TYPE_CHECKING, cast

from isal.igzip_lib import DECOMP_GZIP, IgzipDecompressor, IsalError

if TYPE_CHECKING:
    from lostbeat.analyzer._limits import Limits

MiB = 1024 * 1024
GiB = 1024 * MiB
_GZIP_MAGIC = b"\x1f\x8b"
_SLICE = 256 * 1024  # compressed bytes given to one inflate call
_IN_CHUNK = 1 * MiB  # compressed bytes per read of the inflater thread
_INFLATED = 256 * 1024  # inflated bytes per chunk of the inflater (a call's work)...
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
