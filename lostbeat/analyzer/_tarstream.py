"""The archive stream under ``TarSource``: one forward pass over the tar bytes.

:class:`_Stream` reads the file once, inflating a ``.tgz`` on the fly; the tar headers are
parsed here (GNU long names, pax, the POSIX prefix), and :func:`_walk` hands each member to
the run's :class:`~lostbeat.analyzer._collect._Collector`: a wanted member is read into its
sink, any other is skipped without keeping its bytes, and links, devices and unsafe paths are
recorded, never followed or written.
"""

from __future__ import annotations

import re
from typing import BinaryIO

from lostbeat.analyzer._collect import (
    Limits,
    MiB,
    Progress,
    _Broken,
    _Collector,
    _Gunzip,
    _Sink,
)
from lostbeat.analyzer._unxz import _Unxz
from lostbeat.errors import InputError

_DECIMAL = re.compile(r"[0-9]{1,20}")
_CHUNK = 4 * MiB  # tar bytes per step: big enough that per-call overhead vanishes
_IN_CHUNK = 1 * MiB  # compressed bytes per read
_REPORT_EVERY = 4 * MiB  # progress callback interval, in compressed bytes

_BLOCK = 512
_ZERO_BLOCK = bytes(_BLOCK)
_EXT_MAX = 1 * MiB  # a GNU long name or pax header longer than this is hostile
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

    Inflation is driven here (1 MiB in, at most 4 MiB out per call) rather than through a
    gzip file object, so that all bytes before a truncation are delivered and the
    compressed position (for progress and the ratio guard) is exact.
    """

    def __init__(
        self, fp: BinaryIO, *, gz: bool, total: int, limits: Limits, xz: bool = False
    ) -> None:
        self.fp, self.total = fp, total
        self.gunzip = _Unxz(limits) if xz else _Gunzip(limits) if gz else None
        self.read = 0  # bytes read from the file
        self.buf, self.off = b"", 0
        self.offset = 0  # tar bytes produced so far
        self.progress: Progress | None = None
        self.reported = 0

    def position(self) -> int:
        """Tar bytes consumed so far."""
        return self.offset - len(self.buf) + self.off

    def compressed(self) -> int:
        """File bytes consumed so far."""
        return self.read if self.gunzip is None else self.gunzip.used()

    def _refill(self) -> bytes:
        if self.gunzip is None:
            data = self._read(_CHUNK)
            self.read += len(data)
            return data
        while not (out := self.gunzip.pull(_CHUNK)):
            data = self._read(_IN_CHUNK)
            if not data:
                if not self.gunzip.finished():
                    raise _Broken(f"{self.gunzip.kind} stream truncated")
                return b""
            self.read += len(data)
            self.gunzip.feed(data)
        return out

    def _read(self, size: int) -> bytes:
        try:
            return self.fp.read(size)
        except OSError as err:
            raise _Broken(f"read error ({err.strerror})") from None

    def _next(self) -> bool:
        self.buf, self.off = self._refill(), 0
        self.offset += len(self.buf)
        done = self.compressed()
        if self.progress is not None and done - self.reported >= _REPORT_EVERY:
            self.reported = done
            self.progress(done, self.total)
        return bool(self.buf)

    def take(self, n: int) -> bytes:
        """The next ``n`` bytes, fewer at the end of the stream."""
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
        left = n
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
    if field[0] & 0x80:  # GNU base-256, for sizes of 8 GiB and more
        if field[0] == 0xFF:
            raise _Broken("negative size in tar header")
        return int.from_bytes(field[1:], "big")
    try:
        return int(field.split(b"\0", 1)[0].strip() or b"0", 8)
    except ValueError:
        raise _Broken(f"bad number {field!r} in tar header") from None


def _is_tar_header(block: bytes) -> bool:
    if len(block) < _BLOCK or block[:_BLOCK] == _ZERO_BLOCK:
        return False
    block = block[:_BLOCK]
    field = block[148:156]
    try:
        want = int(field.replace(b"\0", b" ").strip() or b"x", 8)
    except ValueError:
        return False
    unsigned = sum(block) - sum(field) + 8 * 32
    if want == unsigned:
        return True
    high = sum(1 for b in block if b > 127) - sum(1 for b in field if b > 127)
    return want == unsigned - 256 * high  # some old tars summed signed bytes


def _text(raw: bytes) -> str:
    return raw.split(b"\0", 1)[0].decode("utf-8", "replace")


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
    long_name = long_link = ""
    pax: dict[str, str] = {}
    while True:
        block = stream.take(_BLOCK)
        if len(block) < _BLOCK:
            if block and not col.started:
                what = f"{stream.gunzip.kind} data is not a" if stream.gunzip else "not a gzip or"
                raise InputError(f"{what} tar archive ({len(block)} bytes)", path=col.label)
            if block:
                raise _Broken("archive ends inside a tar header")
            if not col.started:
                raise InputError("no tar member found", path=col.label)
            return  # no end-of-archive marker: accepted, as tar does
        if block == _ZERO_BLOCK:
            if not col.started:
                raise InputError("the tar archive holds no member", path=col.label)
            return
        if not _is_tar_header(block):
            if not col.started:
                what = f"{stream.gunzip.kind} data is not a" if stream.gunzip else "not a gzip or"
                raise InputError(f"{what} tar archive (no valid tar header)", path=col.label)
            raise _Broken("bad tar header checksum", at=stream.position() - _BLOCK)
        col.started = True
        kind, size = block[156:157], _number(block[124:136])
        padded = -(-size // _BLOCK) * _BLOCK
        if kind in (b"L", b"K", b"x", b"g"):  # GNU long name/link, pax (global ignored)
            if size > _EXT_MAX:
                raise _Broken(f"extended tar header of {size} bytes")
            payload = stream.take(padded)
            if len(payload) < padded:
                raise _Broken("archive ends inside an extended tar header")
            if kind == b"L":
                long_name = _text(payload[:size])
            elif kind == b"K":
                long_link = _text(payload[:size])
            elif kind == b"x":
                pax = _pax(payload[:size])
            continue
        name = _text(block[:100])
        if block[257:263] == b"ustar\0" and block[345] != 0:  # POSIX prefix field
            name = _text(block[345:500]) + "/" + name
        name = pax.get("path") or long_name or name
        link = pax.get("linkpath") or long_link or _text(block[157:257])
        if "size" in pax:
            # ASCII digits only: str.isdigit() also accepts "²", which int() refuses
            size = int(pax["size"]) if _DECIMAL.fullmatch(pax["size"]) else size
            padded = -(-size // _BLOCK) * _BLOCK
        long_name = long_link = ""
        pax = {}
        is_dir = kind == b"5" or (kind == b"\0" and name.endswith("/"))
        rel, unsafe = col.place(name, is_dir=is_dir)
        col.current = rel
        if kind in _REGULAR and not is_dir and not unsafe:
            _read_member(stream, col, rel, size, padded)
            continue
        reason = _refusal(kind, unsafe, link, is_dir=is_dir)
        if reason:
            col.skip(rel, reason, None if unsafe else col.artifact(rel))
        if stream.pass_on(padded) < padded:
            raise _Broken(f"archive ends inside {rel}")


def _read_member(stream: _Stream, col: _Collector, rel: str, size: int, padded: int) -> None:
    target = col.want(rel)
    if target is None:
        if stream.pass_on(padded) < padded:
            raise _Broken(f"archive ends inside {rel}")
        return
    name, sink = target
    if stream.pass_on(size, sink) < size or stream.pass_on(padded - size) < padded - size:
        raise _Broken(f"archive ends inside {rel}")
    col.keep(rel, name, sink)


def _refusal(kind: bytes, unsafe: str, link: str, *, is_dir: bool) -> str:
    """Why a non-regular or unsafe member is skipped, or "" for a plain folder."""
    if kind in (b"1", b"2"):
        what = f"{_SPECIAL[kind]} to {link!r}"
    elif kind in _SPECIAL:
        what = _SPECIAL[kind]
    elif is_dir or kind in _REGULAR:
        what = ""
    else:
        what = f"unsupported tar member type {kind.decode('latin-1')!r}"
    reasons = [r for r in (unsafe, what) if r]
    return "; ".join(reasons) + "; never followed or written" if reasons else ""
