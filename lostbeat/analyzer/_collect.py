"""What one ``collect()`` run builds, shared by every source and by the tar stream.

The caps (:class:`Limits`) and the result (:class:`Member`, :class:`Collected`), re-exported
by :mod:`lostbeat.analyzer.sources`, and the mutable state that fills them: a :class:`_Sink`
per member, inflating gzip with :class:`_Gunzip` under the bomb guard, and the
:class:`_Collector` of one run.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import cast

from isal import isal_zlib

from lostbeat.analyzer import artifacts
from lostbeat.analyzer.artifacts import ARTIFACTS, Artifact
from lostbeat.analyzer.result import InputRecord, InputStatus

Progress = Callable[[int, int | None], None]
"""Called with (bytes read so far, total bytes or None)."""

MiB = 1024 * 1024
GiB = 1024 * MiB
_STEP = 1 * MiB  # nested .gz inflation step
_MIN_ROOM = 64 * 1024  # below this much room left in kept_bytes, members are not read
_GZIP_MAGIC = b"\x1f\x8b"
# isal's stub declares ``error`` as an instance; at run time it is the exception class
_INFLATE_ERROR = cast("type[Exception]", isal_zlib.error)


@dataclass(frozen=True, slots=True)
class Limits:
    """Caps that keep memory and time bounded whatever the input (see the ``sources`` docstring)."""

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

    kind = "gzip"

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
                return self._count(out)
            if len(self.pending) == left and not eof:
                break  # no progress: wait for more input
        return b""

    def _count(self, out: bytes) -> bytes:
        """``out``, once counted against the bomb guard."""
        self.out += len(out)
        lim = self.limits
        if self.out > lim.inflated_bytes or (
            self.out > lim.ratio_after and self.out > lim.max_ratio * self.used()
        ):
            raise _Broken(f"stopped after inflating {_size(self.out)}: {self.kind} bomb")
        return out


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
