"""The archive stream under ``TarSource``: one forward pass over the tar bytes.

:class:`_Stream` reads the file once, inflating a ``.tgz`` on the fly; the tar headers are
parsed here (GNU long names, pax, the POSIX prefix), and :func:`_walk` hands each member to
the run's :class:`~lostbeat.analyzer._collect._Collector`: a wanted member is read into its
sink, any other is skipped without keeping its bytes (in a plain ``.tar``, by seeking past
it), and links, devices and unsafe paths are recorded, never followed or written.

Every number in a header is checked before it moves the stream: a size must be plain octal
(or GNU base-256), not negative and at most 1 TiB; a pax ``size=`` plain decimal; a GNU long
name or pax header at most 1 MiB. Each header step then moves forward by at least its 512
bytes, and :func:`_walk` checks that it did: a header that cannot is a BROKEN record, never
a loop.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import BinaryIO
from zlib import adler32

from lostbeat.analyzer._collect import Progress, _Collector, shown_link
from lostbeat.analyzer._gunzip import MiB, _Broken
from lostbeat.analyzer._inflater import THREAD_MIN, _Inflater, _Inline, _Reader, adopt_early
from lostbeat.analyzer._limits import Limits
from lostbeat.analyzer._sink import _Sink
from lostbeat.analyzer._unpack import MAGIC_BYTES, _Unpack, unpacker
from lostbeat.errors import InputError

_DECIMAL = re.compile(r"[0-9]{1,20}")
_OCTAL = re.compile(rb"[0-7]{1,12}")
_MAX_SIZE = 1 << 40  # 1 TiB: no bundle member comes near; a larger size is a lie
_CHUNK = 4 * MiB  # tar bytes per step: big enough that per-call overhead vanishes
_REPORT_EVERY = 4 * MiB  # progress callback interval, in compressed bytes

_BLOCK = 512
_ZERO_BLOCK = bytes(_BLOCK)
_EXT_MAX = 1 * MiB  # a GNU long name or pax header longer than this is hostile
_EXTENDED = {b"L": "GNU long name", b"K": "GNU long link", b"x": "pax header", b"g": "pax header"}
_REGULAR = (b"0", b"\0", b"7")
_SPECIAL = {
    b"1": "hard link",
    b"2": "symbolic link",
    b"3": "character device",
    b"4": "block device",
    b"6": "FIFO",
}


class _Stream:
    """Forward-only reader over the tar bytes, inflating a ``.tgz`` on the fly.

    Inflation is driven by :mod:`~lostbeat.analyzer._inflater` (1 MiB in, at most 1 MiB out
    per call; in a thread of its own from :data:`~lostbeat.analyzer._inflater.THREAD_MIN`
    compressed bytes on, started early by the command line when it can be:
    :func:`~lostbeat.analyzer._inflater.inflate_early`) rather than through a gzip file
    object, so that all bytes before a truncation are delivered and the compressed position
    (for progress and the ratio guard) is exact. :meth:`close` must be called when done.
    """

    def __init__(self, fp: BinaryIO, *, head: bytes, total: int, limits: Limits) -> None:
        self.fp, self.total = fp, total
        # the compression, told by the first bytes (``head``): gzip, xz, bzip2 or none
        unpack = unpacker(head, limits)
        self.seekable = unpack is None and fp.seekable()
        self.kind = None if unpack is None else unpack.kind
        self.inflater: _Reader | None = None
        if unpack is not None:
            # a gzip archive's inflater may have been started by the command line; a small
            # archive is inflated in this thread (THREAD_MIN)
            early = None if isinstance(unpack, _Unpack) else adopt_early(fp, limits)
            threaded = total >= THREAD_MIN
            self.inflater = early or (_Inflater(fp, unpack) if threaded else _Inline(fp, unpack))
        self.read = 0  # bytes read from the file
        self.buf, self.off = b"", 0
        self.offset = 0  # tar bytes produced so far
        self.progress: Progress | None = None
        self.reported = 0
        self.check: Callable[[], None] | None = None  # raises when the walk is to stop

    def close(self) -> None:
        """Stop the inflater thread, if any."""
        if self.inflater is not None:
            self.inflater.close()

    def position(self) -> int:
        """Tar bytes consumed so far."""
        return self.offset - len(self.buf) + self.off

    def compressed(self) -> int:
        """File bytes consumed so far."""
        return self.read if self.inflater is None else self.inflater.used

    def _refill(self) -> bytes:
        if self.inflater is None:
            data = self._read(_CHUNK)
            self.read += len(data)
            return data
        return self.inflater.next()

    def _read(self, size: int) -> bytes:
        try:
            return self.fp.read(size)
        except OSError as err:
            raise _Broken(f"read error ({err.strerror})") from None

    def _seek(self, n: int) -> int:
        """Skip ``n`` bytes after the buffer without reading them (a plain tar on a file):
        at most what the file still holds. The buffer's bytes remain to be passed."""
        n = min(n, self.total - self.read)
        if n <= 0:
            return 0
        try:
            self.fp.seek(n, 1)
        except OSError as err:
            raise _Broken(f"seek error ({err.strerror})") from None
        self.read += n
        self.offset += n
        self.buf = self.buf[self.off :]
        self.off = 0
        return n

    def _next(self) -> bool:
        if self.check is not None:
            self.check()
        self.buf, self.off = self._refill(), 0
        self.offset += len(self.buf)
        done = self.compressed()
        if self.progress is not None and done - self.reported >= _REPORT_EVERY:
            self.reported = done
            self.progress(done, self.total)
        return bool(self.buf)

    def take(self, n: int) -> bytes:
        """The next ``n`` bytes, fewer at the end of the stream."""
        if n < 0:
            raise _Broken(f"negative length {n} in tar header")
        end = self.off + n
        if end <= len(self.buf):
            data = self.buf[self.off : end]
            self.off = end
            return data
        parts = [self.buf[self.off :]]
        need = n - len(parts[0])
        while need > 0 and self._next():
            parts.append(self.buf[:need])
            self.off = len(parts[-1])
            need -= self.off
        return b"".join(parts)

    def pass_on(self, n: int, sink: _Sink | None = None) -> int:
        """Skip ``n`` bytes, or hand them to ``sink``; how many there were."""
        if n < 0:
            raise _Broken(f"negative length {n} in tar header")
        left = n
        if sink is None and self.seekable and n > len(self.buf) - self.off:
            left -= self._seek(n - (len(self.buf) - self.off))
        while left > 0:
            avail = len(self.buf) - self.off
            if avail <= 0:
                if not self._next():
                    break
                continue
            step = min(avail, left)
            if sink is not None:
                sink.write(self.buf[self.off : self.off + step])
            self.off += step
            left -= step
        return n - left


def _number(field: bytes) -> int:
    """A size field: octal digits (NUL- or space-padded), or GNU base-256."""
    if field[0] == 0x80:  # GNU base-256, for sizes of 8 GiB and more
        return int.from_bytes(field[1:], "big")
    if field[0] == 0xFF:  # base-256, negative (two's complement)
        raise _Broken("negative size in tar header")
    digits = field.split(b"\0", 1)[0].strip(b" ")
    if digits.isdigit():  # ASCII digits only: the common case, without a regex
        try:
            return int(digits, 8)
        except ValueError:  # an 8 or a 9
            raise _Broken(f"bad number {field!r} in tar header") from None
    if not digits:
        return 0
    if digits.startswith(b"-") and _OCTAL.fullmatch(digits[1:]):
        raise _Broken("negative size in tar header")
    raise _Broken(f"bad number {field!r} in tar header")


def _checked(size: int, what: str = "", *, most: int = _MAX_SIZE) -> int:
    if size > most:
        raise _Broken(f"size of {size} bytes in tar header{what} (at most {most})")
    return size


def _byte_sum(block: bytes) -> int:
    """The sum of a header block's 512 bytes, by Adler-32 in C: its low half is one plus the
    bytes' sum modulo 65521, exact for a half block (256 bytes sum to at most 65280); a sum
    in Python costs most of a header's walk in an archive of a million small members."""
    half = len(block) // 2
    view = memoryview(block)
    return (adler32(view[:half]) & 0xFFFF) + (adler32(view[half:]) & 0xFFFF) - 2


def _is_tar_header(block: bytes) -> bool:
    if len(block) < _BLOCK or block[:_BLOCK] == _ZERO_BLOCK:
        return False
    block = block[:_BLOCK]
    field = block[148:156]
    try:
        want = int(field.replace(b"\0", b" ").strip() or b"x", 8)
    except ValueError:
        return False
    unsigned = _byte_sum(block) - sum(field) + 8 * 32
    if want == unsigned:
        return True
    high = sum(1 for b in block if b > 127) - sum(1 for b in field if b > 127)
    return want == unsigned - 256 * high  # some old tars summed signed bytes


def _text(raw: bytes) -> str:
    return raw.split(b"\0", 1)[0].decode("utf-8", "replace")


def _pax_size(value: str) -> int:
    # ASCII digits only: str.isdigit() also accepts "²", and int() "-1" or "1_0"
    if not _DECIMAL.fullmatch(value):
        raise _Broken(f"pax size {value[:40]!r} is not a decimal number")
    return _checked(int(value), " (pax size)")


def _pax(data: bytes) -> dict[str, str]:
    fields: dict[str, str] = {}
    pos = 0
    try:
        while pos < len(data):
            space = data.index(b" ", pos)
            length = int(data[pos:space])
            end = pos + length
            # "<length> <key>=<value>\n", where length counts the whole record
            if length <= space - pos or end > len(data) or data[end - 1] != 0x0A:
                raise ValueError(length)
            key, _, value = data[space + 1 : end - 1].partition(b"=")
            fields[key.decode("utf-8", "replace")] = value.decode("utf-8", "replace")
            pos += length
    except ValueError:
        raise _Broken("malformed pax header") from None
    return fields


def _walk(stream: _Stream, col: _Collector) -> None:
    """Hand every member to ``col`` until the end-of-archive marker or the stream's end.

    Raises:
        InputError: the stream is not a tar archive, or holds no member.
        _Broken: a header or member cannot be read (after the first member).
    """
    headers = _Headers()
    while True:
        at = stream.position()
        if not headers.step(stream, col):
            return
        if stream.position() < at + _BLOCK:  # unreachable while every size is checked
            raise _Broken("a tar header did not move the stream forward", at=at)


def _not_tar(stream: _Stream, col: _Collector, what: str) -> InputError:
    kind = f"{stream.kind} data is not a" if stream.kind else "not a gzip or"
    return InputError(f"{kind} tar archive ({what})", path=col.label)


class _Headers:
    """The extended headers (GNU long name and link, pax) waiting for their member."""

    def __init__(self) -> None:
        self.long_name = self.long_link = ""
        self.pax: dict[str, str] = {}

    def _header(self, stream: _Stream, col: _Collector) -> bytes | None:
        """The next header block, or None at the end of the archive."""
        block = stream.take(_BLOCK)
        if len(block) < _BLOCK:
            if block and not col.started:
                raise _not_tar(stream, col, f"{len(block)} bytes")
            if block:
                raise _Broken("archive ends inside a tar header")
            if not col.started:
                raise InputError("no tar member found", path=col.label)
            return None  # no end-of-archive marker: accepted, as tar does
        if block == _ZERO_BLOCK:
            if not col.started:
                raise InputError("the tar archive holds no member", path=col.label)
            return None
        if not _is_tar_header(block):
            if not col.started:
                raise _not_tar(stream, col, "no valid tar header")
            raise _Broken("bad tar header checksum", at=stream.position() - _BLOCK)
        col.started = True
        return block

    def step(self, stream: _Stream, col: _Collector) -> bool:
        """Read one header and what follows it; False at the end of the archive."""
        block = self._header(stream, col)
        if block is None:
            return False
        kind, size = block[156:157], _number(block[124:136])
        if kind in _EXTENDED:
            self._extended(stream, kind, _checked(size, f" for a {_EXTENDED[kind]}", most=_EXT_MAX))
            return True
        name = _text(block[:100])
        if block[257:263] == b"ustar\0" and block[345] != 0:  # POSIX prefix field
            name = _text(block[345:500]) + "/" + name
        name = self.pax.get("path") or self.long_name or name
        link = self.pax.get("linkpath") or self.long_link  # the header's: read when needed
        size = _pax_size(self.pax["size"]) if "size" in self.pax else _checked(size)
        if self.pax:
            self.pax = {}
        self.long_name = self.long_link = ""
        padded = -(-size // _BLOCK) * _BLOCK
        is_dir = kind == b"5" or (kind == b"\0" and name.endswith("/"))
        rel, unsafe = col.place(name, is_dir=is_dir)
        col.current = rel
        if kind in _REGULAR and not is_dir and not unsafe:
            _read_member(stream, col, rel, size, padded)
            return True
        reason = _refusal(kind, unsafe, link or _text(block[157:257]), is_dir=is_dir)
        if reason:
            col.skip(rel, reason, None if unsafe else col.artifact(rel))
        if stream.pass_on(padded) < padded:
            raise _Broken(f"archive ends inside {rel}")
        return True

    def _extended(self, stream: _Stream, kind: bytes, size: int) -> None:
        padded = -(-size // _BLOCK) * _BLOCK
        payload = stream.take(padded)
        if len(payload) < padded:
            raise _Broken("archive ends inside an extended tar header")
        if kind == b"L":
            self.long_name = _text(payload[:size])
        elif kind == b"K":
            self.long_link = _text(payload[:size])
        elif kind == b"x":
            self.pax = _pax(payload[:size])


def _read_member(stream: _Stream, col: _Collector, rel: str, size: int, padded: int) -> None:
    target = col.want(rel)
    if target is None:
        if stream.pass_on(padded) < padded:
            raise _Broken(f"archive ends inside {rel}")
        return
    name, sink = target
    head = stream.take(min(size, MAGIC_BYTES))
    sink.decide(head)
    skip = size - sink.cap - 1  # a plain log's tail is all it keeps: seek to it
    if stream.seekable and sink.tail and sink.gunzip is None and skip > len(head):
        passed = stream.pass_on(skip - len(head))
        sink.skipped(len(head) + passed)
        data = skip - len(head)
        if passed < data:
            raise _Broken(f"archive ends inside {rel}")
    else:
        sink.write(head)
        data = 0
    rest = size - len(head) - data
    if stream.pass_on(rest, sink) < rest or stream.pass_on(padded - size) < padded - size:
        raise _Broken(f"archive ends inside {rel}")
    col.keep(rel, name, sink)


def _refusal(kind: bytes, unsafe: str, link: str, *, is_dir: bool) -> str:
    """Why a non-regular or unsafe member is skipped, or "" for a plain folder."""
    if kind in (b"1", b"2"):
        what = f"{_SPECIAL[kind]} to {shown_link(link)}"
    elif kind in _SPECIAL:
        what = _SPECIAL[kind]
    elif is_dir or kind in _REGULAR:
        what = ""
    else:
        what = f"unsupported tar member type {kind.decode('latin-1')!r}"
    reasons = [r for r in (unsafe, what) if r]
    return "; ".join(reasons) + "; never followed or written" if reasons else ""
