"""Tar archives written field by field, as no archiver would: for the hostile corpus and the
structure-aware fuzzer.

``tarfile`` refuses to write what an attacker writes (a negative size, a size field that is
not octal, a pax ``size=`` that lies, a GNU long name of a megabyte), so the headers here are
built from their fields: name, size field, typeflag, link name, magic, prefix. The checksum
is right unless asked otherwise, so that the reader gets past it to the field under test.

Compressed archives of gigabytes are made in milliseconds: :func:`gzip_repeated` deflates a
block once after a full flush, which resets the compressor, and repeats those bytes; the
inflated stream is the block repeated, with a correct CRC and length.

Examples:
    >>> block = header(b"a", size=b"%011o\\0" % 3) + pad(b"abc")
    >>> import tarfile, io
    >>> tarfile.open(fileobj=io.BytesIO(block + END), mode="r:").getnames()
    ['a']
    >>> import gzip
    >>> gzip.decompress(gzip_repeated(b"xy", 3, head=b"<", tail=b">"))
    b'<xyxyxy>'
"""

from __future__ import annotations

import zlib

BLOCK = 512
END = bytes(2 * BLOCK)
GNU_MAGIC = b"ustar  \0"
USTAR_MAGIC = b"ustar\x0000"


def octal(value: int, width: int = 12) -> bytes:
    """A numeric field as tar writes it: octal digits, NUL-terminated."""
    return b"%0*o\0" % (width - 1, value)


def base256(value: int, width: int = 12) -> bytes:
    """A GNU base-256 field: 0x80 then the value, or a negative one in two's complement
    (0xFF first), as GNU tar and ``tarfile`` read them."""
    if value >= 0:
        return b"\x80" + value.to_bytes(width - 1, "big")
    return value.to_bytes(width, "big", signed=True)


def header(
    name: bytes,
    *,
    size: bytes = b"00000000000\0",
    kind: bytes = b"0",
    link: bytes = b"",
    magic: bytes = GNU_MAGIC,
    prefix: bytes = b"",
    mode: bytes = b"0000644\0",
    checksum: bytes | None = None,
) -> bytes:
    """One 512-byte header; every field as given (cut or padded to its width)."""
    block = bytearray(BLOCK)

    def put(at: int, width: int, value: bytes) -> None:
        block[at : at + width] = value[:width].ljust(width, b"\0")

    put(0, 100, name)
    put(100, 8, mode)
    put(108, 8, b"0000000\0")
    put(116, 8, b"0000000\0")
    put(124, 12, size)
    put(136, 12, b"11262350000\0")
    put(156, 1, kind)
    put(157, 100, link)
    put(257, 8, magic)
    put(345, 155, prefix)
    block[148:156] = b" " * 8
    put(148, 8, checksum if checksum is not None else b"%06o\0 " % sum(block))
    return bytes(block)


def pad(data: bytes) -> bytes:
    """``data`` padded with NULs to whole blocks."""
    return data + bytes(-len(data) % BLOCK)


def member(name: bytes, data: bytes, *, kind: bytes = b"0") -> bytes:
    """A plain member: header and padded data."""
    return header(name, size=octal(len(data)), kind=kind) + pad(data)


def extended(kind: bytes, payload: bytes, *, size: bytes | None = None) -> bytes:
    """A GNU long name (``L``), long link (``K``) or pax (``x``, ``g``) header and payload;
    ``size`` overrides the size field (the payload is written all the same)."""
    name = b"././@LongLink" if kind in (b"L", b"K") else b"././@PaxHeader"
    return header(name, size=octal(len(payload)) if size is None else size, kind=kind) + pad(
        payload
    )


def pax_record(key: str, value: str) -> bytes:
    """One ``<length> <key>=<value>\\n`` record, its length counting itself."""
    body = f" {key}={value}\n".encode()
    length = len(body) + 1
    while len(str(length)) + len(body) != length:
        length += 1
    return str(length).encode() + body


def gzip_repeated(block: bytes, times: int, *, head: bytes = b"", tail: bytes = b"") -> bytes:
    """gzip of ``head + block * times + tail``, deflating ``block`` only once."""
    out = [b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"]
    deflate = zlib.compressobj(6, zlib.DEFLATED, -15)
    out.append(deflate.compress(head) + deflate.flush(zlib.Z_FULL_FLUSH))
    once = deflate.compress(block) + deflate.flush(zlib.Z_FULL_FLUSH)
    out.append(once * times)
    out.append(deflate.compress(tail) + deflate.flush(zlib.Z_FINISH))
    crc = _crc_combine(zlib.crc32(head), _crc_repeated(block, times), len(block) * times)
    crc = zlib.crc32(tail, crc)
    length = len(head) + len(block) * times + len(tail)
    out.append(crc.to_bytes(4, "little") + (length & 0xFFFFFFFF).to_bytes(4, "little"))
    return b"".join(out)


def _gf2_times(matrix: list[int], vector: int) -> int:
    total, i = 0, 0
    while vector:
        if vector & 1:
            total ^= matrix[i]
        vector >>= 1
        i += 1
    return total


def _gf2_square(matrix: list[int]) -> list[int]:
    return [_gf2_times(matrix, row) for row in matrix]


def _crc_combine(crc1: int, crc2: int, len2: int) -> int:
    """CRC-32 of ``a + b`` from the CRCs of ``a`` and ``b`` and ``len(b)`` (zlib's
    ``crc32_combine``, which Python does not expose)."""
    if len2 <= 0:
        return crc1
    odd = [0xEDB88320] + [1 << i for i in range(31)]  # the operator for one zero bit
    even = _gf2_square(odd)  # two zero bits
    odd = _gf2_square(even)  # four
    while True:
        even = _gf2_square(odd)  # one zero byte, then 4, 16...
        if len2 & 1:
            crc1 = _gf2_times(even, crc1)
        len2 >>= 1
        if not len2:
            break
        odd = _gf2_square(even)
        if len2 & 1:
            crc1 = _gf2_times(odd, crc1)
        len2 >>= 1
        if not len2:
            break
    return crc1 ^ crc2


def _crc_repeated(block: bytes, times: int) -> int:
    """CRC-32 of ``block * times`` in O(log times) combines."""
    crc, length = 0, 0
    power, power_len = zlib.crc32(block), len(block)
    while times:
        if times & 1:
            crc, length = _crc_combine(crc, power, power_len), length + power_len
        power, power_len = _crc_combine(power, power, power_len), 2 * power_len
        times >>= 1
    return crc
