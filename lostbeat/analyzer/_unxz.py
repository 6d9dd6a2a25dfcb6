"""xz under the same streaming interface as gzip: a ``.tar.xz`` (a sosreport) is read as one
forward stream, never extracted, behind the same bomb guard.

Python's ``lzma`` is the decompressor (liblzma, the reference implementation; the standard
library has it, so nothing is added).

Examples:
    >>> import lzma
    >>> from lostbeat.analyzer._limits import Limits
    >>> x = _Unxz(Limits())
    >>> x.feed(lzma.compress(b"hello\\n" * 3))
    >>> x.pull(1024), x.finished()
    (b'hello\\nhello\\nhello\\n', True)
"""

from __future__ import annotations

import lzma
from typing import TYPE_CHECKING

from lostbeat.analyzer._gunzip import _Broken, _Gunzip

if TYPE_CHECKING:
    from lostbeat.analyzer._limits import Limits

__all__ = ["XZ_MAGIC", "_Unxz"]

XZ_MAGIC = b"\xfd7zXZ\x00"
"""The first bytes of an xz stream (the .xz file format, section 2.1.1.1)."""


class _Unxz(_Gunzip):
    """Incremental xz: concatenated streams and zero padding, as ``xz -d`` accepts them."""

    kind = "xz"

    def __init__(self, limits: Limits) -> None:
        super().__init__(limits)
        self.unxz = lzma.LZMADecompressor(format=lzma.FORMAT_XZ)

    def finished(self) -> bool:
        return self.unxz.eof and not self.pending

    def pull(self, size: int) -> bytes:
        """Up to ``size`` decompressed bytes, or b"" when more input is needed.

        Raises:
            _Broken: corrupt data, or more than the limits allow (a bomb).
        """
        while True:
            if self.unxz.eof:
                if not self.pending.strip(b"\0"):
                    self.pending = b""
                    return b""
                self.unxz = lzma.LZMADecompressor(format=lzma.FORMAT_XZ)
            if not self.pending and self.unxz.needs_input:
                return b""
            data, self.pending = self.pending, b""
            try:
                out = self.unxz.decompress(data, size)
            except lzma.LZMAError as err:
                raise _Broken(f"corrupt xz data ({err})") from None
            if self.unxz.eof:
                self.pending = self.unxz.unused_data
            if out:
                return self._count(out)
            if not data and not self.unxz.eof:
                return b""
