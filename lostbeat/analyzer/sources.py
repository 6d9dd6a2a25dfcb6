"""Bundle sources: a vm-support archive, an unpacked folder, loose files, or memory (tests).

Every source yields a :class:`Collected`: the wanted members (files of a content artifact in
``ARTIFACTS``) with their bytes, the names of all regular members, and a record for each
member that was skipped or broken. Nothing is ever written anywhere, and no link is ever
followed.

Archives (``.tgz``, ``.tar.gz``, ``.tar``) are read as one forward stream: isal inflates,
the tar headers are parsed here (over twice as fast as ``tarfile`` in stream mode, see
docs/benchmarks.md), unwanted members are skipped without keeping their bytes. Memory is
bounded by :class:`Limits`:

* a member keeps at most ``member_bytes`` (64 MiB). Logs (``Artifact.tail``) keep their
  last 64 MiB, cut to a whole line, since the newest lines precede the crash; other
  artifacts larger than that are skipped as "too large".
* all kept members together hold at most ``kept_bytes`` (128 MiB); later members are skipped.
* inflation (the archive, or a nested ``.gz`` member) stops after ``inflated_bytes``
  (64 GiB), or once past ``ratio_after`` (1 GiB) at more than ``max_ratio`` (500) inflated
  bytes per compressed byte: real logs compress 5-20x, deflate's ceiling is 1032x, so only
  a gzip bomb gets there.

A stream that breaks (truncated or corrupt gzip, bad tar header) raises
:class:`~lostbeat.errors.InputError` when nothing was read yet; otherwise the members read
so far are kept and a BROKEN record says where it broke.
"""

from __future__ import annotations

import os
import stat
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import BinaryIO, Protocol, cast

from isal import isal_zlib

from lostbeat.analyzer import artifacts
from lostbeat.analyzer.artifacts import ARTIFACTS, Artifact
from lostbeat.analyzer.result import InputRecord, InputStatus
from lostbeat.errors import InputError

__all__ = [
    "BundleSource",
    "Collected",
    "DirSource",
    "FileSource",
    "Limits",
    "Member",
    "MemorySource",
    "Progress",
    "TarSource",
    "open_source",
]

Progress = Callable[[int, int | None], None]
"""Called with (bytes read so far, total bytes or None)."""

MiB = 1024 * 1024
GiB = 1024 * MiB
_CHUNK = 4 * MiB  # tar bytes per step: big enough that per-call overhead vanishes
_IN_CHUNK = 1 * MiB  # compressed bytes per read
_STEP = 1 * MiB  # nested .gz inflation step
_REPORT_EVERY = 4 * MiB  # progress callback interval, in compressed bytes
_HEAD = 64 * 1024  # bytes of a loose file its kind is sniffed from
_MIN_ROOM = 64 * 1024  # below this much room left in kept_bytes, members are not read
_GZIP_MAGIC = b"\x1f\x8b"
_ARCHIVE_SUFFIXES = (".tgz", ".tar.gz", ".tar")
# isal's stub declares ``error`` as an instance; at run time it is the exception class
_INFLATE_ERROR = cast("type[Exception]", isal_zlib.error)


@dataclass(frozen=True, slots=True)
class Limits:
    """Caps that keep memory and time bounded whatever the input (see module docstring)."""

    member_bytes: int = 64 * MiB
    kept_bytes: int = 128 * MiB
    inflated_bytes: int = 64 * GiB
    max_ratio: int = 500
    ratio_after: int = 1 * GiB
    listed: int = 100_000  # names, and records, listed at most (a few MB each)


@dataclass(frozen=True, slots=True)
class Member:
    """One wanted file, read whole (nested ``.gz`` inflated), under a size cap."""

    path: str  # bundle-relative ("var/log/vmksummary"), top folder stripped; loose: the path given
    artifact: str  # the ARTIFACTS name it matched, or the sniffed/forced kind of a loose file
    data: bytes
    note: str = ""  # set when only part was kept: "kept the last 64 MiB of 300 MiB"


@dataclass(frozen=True, slots=True)
class Collected:
    members: tuple[Member, ...]  # the wanted members, in bundle order
    names: tuple[str, ...]  # every regular member seen (bundle-relative), wanted or not
    records: tuple[InputRecord, ...]  # skipped / broken members and why (unsafe, too big, bad gz)
    host: str | None  # from the top folder name vm-support-<host>-<date>.<pid>, when present

    def of(self, artifact: str) -> tuple[Member, ...]:
        """The members of one artifact, in bundle order."""
        return tuple(m for m in self.members if m.artifact == artifact)

    def named(self, artifact: str) -> tuple[str, ...]:
        """The names that match one artifact (for name-only artifacts such as coredumps)."""
        return tuple(n for n in self.names if artifacts.match(n) == artifact)


class BundleSource(Protocol):
    label: str

    def collect(self, *, progress: Progress | None = None) -> Collected: ...


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
            _Broken: corrupt data, or more inflated than the limits allow (a gzip bomb).
        """
        while self.pending:
            if self.inflater.eof:  # a further gzip member, or zero padding
                if not self.pending.strip(b"\0"):
                    self.pending = b""
                    break
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


class _Sink:
    """Keeps at most ``cap`` bytes of one member, inflating gzip data on the way.

    Whether a member is gzip is told by its first bytes, not its name (``vmkernel.2.gz``
    is, but a rotation may lack the suffix).
    """

    def __init__(self, cap: int, *, tail: bool, limits: Limits) -> None:
        self.cap, self.tail, self.limits = cap, tail, limits
        self.gunzip: _Gunzip | None = None
        self.decided = False
        self.parts: deque[bytes] = deque()
        self.kept = 0
        self.seen = 0  # all bytes of the (inflated) member so far
        self.done = False  # nothing more is wanted: too large, corrupt or a bomb
        self.too_large = False
        self.error = ""

    def decide(self, head: bytes) -> None:
        """Set gzip or plain from the member's first bytes."""
        if not self.decided:
            self.decided = True
            if head[:2] == _GZIP_MAGIC:
                self.gunzip = _Gunzip(self.limits)

    def write(self, chunk: bytes) -> None:
        if self.done or not chunk:
            return
        self.decide(chunk)
        if self.gunzip is None:
            self._keep(chunk)
            return
        self.gunzip.feed(chunk)
        try:
            while not self.done and (out := self.gunzip.pull(_STEP)):
                self._keep(out)
        except _Broken as err:
            self.error, self.done = str(err), True

    def _keep(self, data: bytes) -> None:
        self.seen += len(data)
        self.parts.append(data)
        self.kept += len(data)
        if self.kept <= self.cap:
            return
        if not self.tail:
            self.parts.clear()
            self.kept, self.too_large, self.done = 0, True, True
            return
        while self.kept - len(self.parts[0]) >= self.cap:
            self.kept -= len(self.parts.popleft())
        excess = self.kept - self.cap
        if excess:
            self.parts[0] = self.parts[0][excess:]
            self.kept -= excess

    def result(self) -> tuple[bytes, str]:
        """The kept bytes and a note on what was left out."""
        if self.gunzip is not None and not self.gunzip.finished() and not self.done:
            self.error = f"gzip data truncated after {_size(self.seen)}"
        data = b"".join(self.parts)
        self.parts.clear()
        if self.tail and self.seen > len(data):
            data = data[data.find(b"\n") + 1 :]  # drop the partial first line
            return data, f"kept the last {_size(len(data))} of {_size(self.seen)}"
        return data, ""


class _Collector:
    """The mutable state of one collect() run; frozen into a Collected at the end."""

    def __init__(self, label: str, limits: Limits) -> None:
        self.label, self.limits = label, limits
        self.members: list[Member] = []
        self.names: list[str] = []
        self.records: list[InputRecord] = []
        self.kept = 0
        self.top: str | None = None
        self.decided = False  # whether the top folder is known
        self.host: str | None = None
        self.recording_dirs: list[str] = []  # folders holding the recording marker
        self.started = False  # a first member was read
        self.current = ""  # the member being read, for error messages
        self.unlisted = self.unrecorded = 0  # beyond Limits.listed

    def set_top(self, top: str | None) -> None:
        self.top, self.decided = top, True
        if top is not None:
            self.host = artifacts.host_of(top)

    def place(self, name: str, *, is_dir: bool) -> tuple[str, str]:
        """(bundle-relative path, reason it is unsafe or "")."""
        if name.startswith("/"):
            return name, "absolute path"
        parts = [p for p in name.split("/") if p not in ("", ".")]
        if ".." in parts:
            return name, "path with '..'"
        clean = "/".join(parts)
        if not clean:
            return "", ""  # "./": the archive root itself
        if not self.decided:
            self.set_top(artifacts.top_folder(clean, is_dir=is_dir))
        if self.top is not None and clean.startswith(self.top + "/"):
            return clean[len(self.top) + 1 :], ""
        return clean, ""

    def skip(self, path: str, reason: str, kind: str | None = None) -> None:
        self.record(InputRecord(path, InputStatus.SKIPPED, kind, reason))

    def record(self, record: InputRecord) -> None:
        if len(self.records) < self.limits.listed:
            self.records.append(record)
        else:
            self.unrecorded += 1

    def name(self, rel: str) -> None:
        if len(self.names) < self.limits.listed:
            self.names.append(rel)
        else:
            self.unlisted += 1

    def artifact(self, rel: str) -> str | None:
        for folder in self.recording_dirs:
            if not folder or rel.startswith(folder + "/"):
                return "recording"
        return artifacts.match(rel)

    def want(self, rel: str) -> tuple[str, _Sink] | None:
        """A sink for a member worth reading, or ``None`` (its name is noted either way)."""
        self.name(rel)
        name = self.artifact(rel)
        if name is None or not ARTIFACTS[name].content:
            return None
        room = self.limits.kept_bytes - self.kept
        if room < min(_MIN_ROOM, self.limits.member_bytes):
            self.skip(rel, f"not read: {_size(self.limits.kept_bytes)} already kept", name)
            return None
        art: Artifact = ARTIFACTS[name]
        cap = min(self.limits.member_bytes, room)
        return name, _Sink(cap, tail=art.tail, limits=self.limits)

    def keep(self, rel: str, name: str, sink: _Sink) -> None:
        data, note = sink.result()
        if sink.too_large:
            self.skip(rel, f"larger than the {_size(sink.cap)} read cap", name)
            return
        if sink.error:
            kept = f"; kept the {_size(len(data))} before it" if data else ""
            self.record(InputRecord(rel, InputStatus.BROKEN, name, sink.error + kept))
        if note and not data:
            self.skip(rel, f"no whole line in the last {_size(sink.cap)}", name)
        elif data or not sink.error:
            self.members.append(Member(rel, name, data, note))
            self.kept += len(data)

    def result(self) -> Collected:
        records = list(self.records)
        for count, what in ((self.unlisted, "names"), (self.unrecorded, "skipped members")):
            if count:
                reason = f"{count} more {what} not listed (limit {self.limits.listed})"
                records.append(InputRecord(self.label, InputStatus.SKIPPED, None, reason))
        return Collected(tuple(self.members), tuple(self.names), tuple(records), self.host)


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

    def __init__(self, fp: BinaryIO, *, gz: bool, total: int, limits: Limits) -> None:
        self.fp, self.total = fp, total
        self.gunzip = _Gunzip(limits) if gz else None
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
                    raise _Broken("gzip stream truncated")
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
                what = "gzip data is not a" if stream.gunzip else "not a gzip or"
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
            size = int(pax["size"]) if pax["size"].isdigit() else size
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


def _open(path: str) -> BinaryIO:
    try:
        return open(path, "rb", buffering=0)
    except OSError as err:
        raise InputError(f"cannot read: {err.strerror}", path=path) from None


class TarSource:
    """A vm-support archive (``.tgz``, ``.tar.gz`` or ``.tar``), read as one forward stream."""

    __slots__ = ("label", "limits", "path")

    def __init__(self, path: str | os.PathLike[str], *, limits: Limits | None = None) -> None:
        self.path = self.label = os.fspath(path)
        self.limits = limits or Limits()

    def collect(self, *, progress: Progress | None = None) -> Collected:
        """Read the archive once; see the module docstring for what is kept.

        Raises:
            InputError: not a readable gzip or tar archive, or broken before any member.
        """
        col = _Collector(self.label, self.limits)
        with _open(self.path) as fp:
            total = os.fstat(fp.fileno()).st_size
            gz = fp.read(2) == _GZIP_MAGIC
            fp.seek(0)
            if total == 0:
                raise InputError("empty file; expected a .tgz or .tar bundle", path=self.label)
            stream = _Stream(fp, gz=gz, total=total, limits=self.limits)
            stream.progress = progress
            end = total
            try:
                _walk(stream, col)
                while gz and stream.pass_on(_CHUNK):
                    pass  # read to the end so that the gzip CRC and length are checked
            except _Broken as err:
                end = stream.compressed()
                if not col.started:
                    raise InputError(str(err), path=self.label) from None
                where = f" at compressed byte {end} of {total}" if gz else ""
                at = stream.position() if err.at is None else err.at
                reason = (
                    f"{err}{where} (tar offset {at}; last member {col.current!r}); "
                    f"the {len(col.names)} members before it were kept"
                )
                col.record(InputRecord(self.label, InputStatus.BROKEN, None, reason))
            if progress is not None:
                progress(end, total)
        return col.result()


def _read_file(path: str, sink: _Sink, *, size: int) -> int:
    """Feed a regular file to ``sink`` without following links; bytes read."""
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(0, "no longer a regular file")
        start = 0
        sink.decide(os.pread(fd, 2, 0))
        if sink.gunzip is None and sink.tail and size > sink.cap:
            start = os.lseek(fd, size - sink.cap - 1, os.SEEK_SET)  # the tail is enough
            sink.seen = start
        while not sink.done and (chunk := os.read(fd, _CHUNK)):
            sink.write(chunk)
            start += len(chunk)
        return start
    finally:
        os.close(fd)


def _is_real_dir(path: str) -> bool:
    try:
        return stat.S_ISDIR(os.lstat(path).st_mode)
    except OSError:
        return False


def _special_file(path: str) -> str:
    """What a folder entry that is neither a regular file nor a folder is."""
    try:
        mode = os.lstat(path).st_mode
        if stat.S_ISLNK(mode):
            return f"symbolic link to {os.readlink(path)!r}"
    except OSError as err:
        return f"unreadable entry ({err.strerror})"
    if stat.S_ISFIFO(mode):
        return "FIFO"
    if stat.S_ISSOCK(mode):
        return "socket"
    return "device node" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode) else "special file"


class DirSource:
    """An unpacked bundle folder, walked with ``os.scandir``; links are never followed."""

    __slots__ = ("label", "limits", "path")

    def __init__(self, path: str | os.PathLike[str], *, limits: Limits | None = None) -> None:
        self.path = self.label = os.fspath(path)
        self.limits = limits or Limits()

    def collect(self, *, progress: Progress | None = None) -> Collected:
        """Walk the folder; a folder holding the recording marker yields "recording" members.

        Raises:
            InputError: the folder cannot be listed.
        """
        col = _Collector(self.label, self.limits)
        try:
            with os.scandir(self.path) as it:
                top = [e.name for e in it]
        except OSError as err:
            raise InputError(f"cannot list folder: {err.strerror}", path=self.label) from None
        root = self.path
        folder = artifacts.top_folder(top[0], is_dir=True) if len(top) == 1 else None
        if folder is not None and _is_real_dir(os.path.join(root, folder)):
            col.set_top(folder)
            root = os.path.join(root, folder)
        else:
            col.set_top(None)
            col.host = artifacts.host_of(os.path.basename(os.path.abspath(self.path)))
        done = reported = 0
        stack = [""]
        while stack:
            rel_dir = stack.pop()
            try:
                with os.scandir(os.path.join(root, rel_dir)) as it:
                    entries = sorted(it, key=lambda e: e.name)
            except OSError as err:
                col.skip(rel_dir or ".", f"cannot list folder: {err.strerror}")
                continue
            marker = artifacts.RECORDING_MARKER
            if any(e.name == marker and e.is_file(follow_symlinks=False) for e in entries):
                col.recording_dirs.append(rel_dir)
            subdirs = []
            for entry in entries:
                rel = f"{rel_dir}/{entry.name}" if rel_dir else entry.name
                if entry.is_dir(follow_symlinks=False):
                    subdirs.append(rel)
                elif entry.is_file(follow_symlinks=False):
                    done += self._read(col, entry.path, rel)
                    if progress is not None and done - reported >= _REPORT_EVERY:
                        reported = done
                        progress(done, None)
                else:
                    col.skip(rel, f"{_special_file(entry.path)}; never followed", col.artifact(rel))
            stack.extend(reversed(subdirs))
        if progress is not None:
            progress(done, None)
        return col.result()

    def _read(self, col: _Collector, path: str, rel: str) -> int:
        target = col.want(rel)
        if target is None:
            return 0
        name, sink = target
        try:
            size = os.stat(path, follow_symlinks=False).st_size
            if sink.gunzip is None and not sink.tail and size > sink.cap:
                col.skip(rel, f"larger than the {_size(sink.cap)} read cap", name)
                return 0
            done = _read_file(path, sink, size=size)
        except OSError as err:
            col.skip(rel, f"cannot read: {err.strerror}", name)
            return 0
        col.keep(rel, name, sink)
        return done


class MemorySource:
    """Files held in memory (tests): bundle-relative path -> bytes, read as a folder is."""

    __slots__ = ("files", "label", "limits")

    def __init__(
        self, label: str, files: Mapping[str, bytes], *, limits: Limits | None = None
    ) -> None:
        self.label, self.files = label, dict(files)
        self.limits = limits or Limits()

    def collect(self, *, progress: Progress | None = None) -> Collected:
        """Match every file as a bundle member (sorted by path)."""
        col = _Collector(self.label, self.limits)
        safe = [p for p in self.files if not p.startswith("/") and ".." not in p.split("/")]
        heads = {p.split("/", 1)[0] for p in safe if "/" in p}
        loose = any("/" not in p for p in safe)
        folder = heads.pop() if len(heads) == 1 and not loose else None
        col.set_top(artifacts.top_folder(folder, is_dir=True) if folder else None)
        for path in sorted(self.files):
            rel, unsafe = col.place(path, is_dir=False)
            if rel.rsplit("/", 1)[-1] == artifacts.RECORDING_MARKER and not unsafe:
                col.recording_dirs.append(rel.rpartition("/")[0])
        for done, path in enumerate(sorted(self.files), 1):
            rel, unsafe = col.place(path, is_dir=False)
            if unsafe:
                col.skip(path, f"{unsafe}; never written")
            elif (target := col.want(rel)) is not None:
                target[1].write(self.files[path])
                col.keep(rel, target[0], target[1])
            if progress is not None:
                progress(done, len(self.files))
        return col.result()


def _head(path: str) -> bytes:
    """The first bytes of a file, inflated when it is gzip."""
    with _open(path) as fp:
        raw = fp.read(_HEAD)
    if raw[:2] != _GZIP_MAGIC:
        return raw
    try:
        return isal_zlib.decompressobj(wbits=31).decompress(raw, _HEAD)
    except _INFLATE_ERROR:
        return b""


class FileSource:
    """One loose file (a log, a transcribed PSOD, ...): its kind is sniffed unless forced."""

    __slots__ = ("kind", "label", "limits", "path")

    def __init__(
        self,
        path: str | os.PathLike[str],
        kind: str | None = None,
        *,
        limits: Limits | None = None,
    ) -> None:
        self.path = self.label = os.fspath(path)
        self.kind, self.limits = kind, limits or Limits()

    def collect(self, *, progress: Progress | None = None) -> Collected:
        """Read the file (inflated if gzip) as its artifact.

        Raises:
            InputError: unreadable, empty, not a regular file, or an unknown forced kind.
        """
        if self.kind is not None and self.kind not in ARTIFACTS:
            known = ", ".join(ARTIFACTS)
            raise InputError(f"unknown kind {self.kind!r}; expected one of {known}", path=self.path)
        try:
            st = os.stat(self.path)
        except OSError as err:
            raise InputError(f"cannot read: {err.strerror}", path=self.path) from None
        if not stat.S_ISREG(st.st_mode):
            raise InputError("not a regular file", path=self.path)
        if st.st_size == 0:
            raise InputError("empty file", path=self.path)
        col = _Collector(self.label, self.limits)
        col.set_top(None)
        kind = self.kind or artifacts.sniff_kind(_head(self.path).decode("utf-8", "replace"))
        if kind is None:
            col.skip(self.path, "content not recognised as any artifact")
            col.name(self.path)
            return col.result()
        col.recording_dirs = [""] if kind == "recording" else []
        art = ARTIFACTS[kind]
        col.name(self.path)
        if art.content:
            sink = _Sink(self.limits.member_bytes, tail=art.tail, limits=self.limits)
            try:
                done = _read_file(self.path, sink, size=st.st_size)
            except OSError as err:
                raise InputError(f"cannot read: {err.strerror}", path=self.path) from None
            col.keep(self.path, kind, sink)
            if progress is not None:
                progress(done, st.st_size)
        return col.result()


def open_source(
    path: str | os.PathLike[str], *, kind: str | None = None, limits: Limits | None = None
) -> BundleSource:
    """The source for a path, chosen by what the path is (not by its name alone).

    A folder is a :class:`DirSource`; a file named ``.tgz``/``.tar.gz``/``.tar``, or whose
    first bytes are a tar header or gzip of one, is a :class:`TarSource`; any other file is
    a :class:`FileSource` whose kind is sniffed, or ``kind`` when given.

    Raises:
        InputError: the path does not exist, is empty, or ``kind`` is given for a folder.
    """
    name = os.fspath(path)
    try:
        st = os.stat(name)
    except OSError as err:
        raise InputError(f"cannot open: {err.strerror}", path=name) from None
    if stat.S_ISDIR(st.st_mode):
        if kind is not None:
            raise InputError(f"a kind ({kind}) can only be forced on a single file", path=name)
        return DirSource(name, limits=limits)
    if not stat.S_ISREG(st.st_mode):
        raise InputError("not a regular file or folder", path=name)
    if kind is not None:
        return FileSource(name, kind, limits=limits)
    if name.lower().endswith(_ARCHIVE_SUFFIXES):
        return TarSource(name, limits=limits)
    if st.st_size == 0:
        raise InputError("empty file", path=name)
    if _is_tar_header(_head(name)):
        return TarSource(name, limits=limits)
    return FileSource(name, limits=limits)
