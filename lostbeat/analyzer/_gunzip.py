"""Incremental gunzip under the bomb guard, shared by the archive stream and nested members.

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

from typing import TYPE_CHECKING, cast

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
