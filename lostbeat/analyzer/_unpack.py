"""xz and bzip2 under the same streaming interface as gzip (:class:`_Gunzip`): a ``.tar.xz``
(a sosreport, a supportconfig), a ``.tar.bz2``, and a member or loose log compressed either
way (SUSE's logrotate writes ``messages-<date>.xz``, older ones ``.bz2``) are read as one
forward stream, never extracted, behind the same bomb guard. :func:`unpacker` tells the
compression from the first bytes, never from a name.

Python's ``lzma`` and ``bz2`` are the decompressors (liblzma and libbzip2, the reference
implementations; the standard library has both, so nothing is added).

Examples:
    >>> import bz2, lzma
    >>> from lostbeat.analyzer._limits import Limits
    >>> x = _Unxz(Limits())
    >>> x.feed(lzma.compress(b"hello\\n" * 3))
    >>> x.pull(1024), x.finished()
    (b'hello\\nhello\\nhello\\n', True)
    >>> b = unpacker(bz2.compress(b"a\\n") + bz2.compress(b"b\\n"), Limits())
    >>> b.kind, b.feed(bz2.compress(b"a\\n") + bz2.compress(b"b\\n")), b.pull(9), b.pull(9)
    ('bzip2', None, b'a\\n', b'b\\n')
"""

from __future__ import annotations

import bz2
import lzma
from typing import TYPE_CHECKING, ClassVar, Protocol

from lostbeat.analyzer._gunzip import _GZIP_MAGIC, _Broken, _Gunzip

if TYPE_CHECKING:
    from lostbeat.analyzer._limits import Limits

__all__ = [
    "ARCHIVE_SUFFIXES",
    "BZ2_MAGIC",
    "MAGIC_BYTES",
    "XZ_MAGIC",
    "_Bunzip2",
    "_Unxz",
    "unpacker",
]

XZ_MAGIC = b"\xfd7zXZ\x00"
"""The first bytes of an xz stream (the .xz file format, section 2.1.1.1)."""
BZ2_MAGIC = b"BZh"
"""The first bytes of a bzip2 stream, before its block size digit ``1``-``9``."""
ARCHIVE_SUFFIXES = (".tgz", ".tar.gz", ".tar", ".tar.xz", ".txz", ".tar.bz2", ".tbz2", ".tbz")
"""The names of an archive, whole or packed in one of these compressions (a file named so is
read as a tar; the analyzer and the fleet's discovery both go by them)."""
MAGIC_BYTES = len(XZ_MAGIC)
"""The first bytes :func:`unpacker` needs to tell every compression it knows."""


class _Decompressor(Protocol):
    @property
    def eof(self) -> bool: ...
    @property
    def unused_data(self) -> bytes: ...
    @property
    def needs_input(self) -> bool: ...

    def decompress(self, data: bytes, max_length: int = -1) -> bytes: ...


class _Unpack(_Gunzip):
    """Incremental decompression of concatenated streams and zero padding, as ``xz -d`` and
    ``bzip2 -d`` accept them; a subclass names its library's decompressor."""

    _kind: ClassVar[str]
    _errors: ClassVar[tuple[type[Exception], ...]]

    def __init__(self, limits: Limits) -> None:
        super().__init__(limits)
        self.kind = self._kind
        self.stream = self._new()

    def _new(self) -> _Decompressor:
        raise NotImplementedError

    def finished(self) -> bool:
        return self.stream.eof and not self.pending

    def pull(self, size: int) -> bytes:
        """Up to ``size`` decompressed bytes, or b"" when more input is needed.

        Raises:
            _Broken: corrupt data, or more than the limits allow (a bomb).
        """
        while True:
            if self.stream.eof:
                if not self.pending.strip(b"\0"):
                    self.pending = b""
                    return b""
                self.stream = self._new()
            if not self.pending and self.stream.needs_input:
                return b""
            data, self.pending = self.pending, b""
            try:
                out = self.stream.decompress(data, size)
            except self._errors as err:
                raise _Broken(f"corrupt {self.kind} data ({err})") from None
            if self.stream.eof:
                self.pending = self.stream.unused_data
            if out:
                return self._count(out)
            if not data and not self.stream.eof:
                return b""


class _Unxz(_Unpack):
    _kind = "xz"
    _errors = (lzma.LZMAError,)

    def _new(self) -> _Decompressor:
        return lzma.LZMADecompressor(format=lzma.FORMAT_XZ)


class _Bunzip2(_Unpack):
    _kind = "bzip2"
    _errors = (OSError, ValueError)  # libbzip2's "Invalid data stream" is an OSError

    def _new(self) -> _Decompressor:
        return bz2.BZ2Decompressor()


def _kind(head: bytes) -> type[_Gunzip] | None:
    if head[:2] == _GZIP_MAGIC:
        return _Gunzip
    if head.startswith(XZ_MAGIC):
        return _Unxz
    if head[:3] == BZ2_MAGIC and head[3:4] in b"123456789" and head[3:4]:
        return _Bunzip2
    return None


def unpacker(head: bytes, limits: Limits) -> _Gunzip | None:
    """The decompressor of the stream that ``head`` starts (gzip, xz, bzip2), or None for
    data that is not compressed."""
    kind = _kind(head)
    return None if kind is None else kind(limits)
