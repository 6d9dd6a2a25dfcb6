"""What one ``collect()`` run builds, shared by every source and by the tar stream.

The caps (:class:`Limits`) and the result (:class:`Member`, :class:`Text`, :class:`Collected`),
re-exported by :mod:`lostbeat.analyzer.sources`, and the :class:`_Collector` of one run: it
hands each wanted member to a :class:`~lostbeat.analyzer._sink._Sink`, and once read either
to the run's consumer (the engine's parser, so that nothing of it stays but the parsed value)
or into the result. Every list it keeps is capped, and says how much it left out.
"""

from __future__ import annotations

import threading
from collections import Counter, deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from lostbeat.analyzer import artifacts
from lostbeat.analyzer._gunzip import _size
from lostbeat.analyzer._limits import Limits
from lostbeat.analyzer._sink import _Sink, lines_of
from lostbeat.analyzer.artifacts import ARTIFACTS
from lostbeat.analyzer.result import InputRecord, InputStatus

if TYPE_CHECKING:
    from lostbeat.analyzer._handoff import Handoff

Progress = Callable[[int, int | None], None]
"""Called with (bytes read so far, total bytes or None)."""

_MIN_ROOM = 64 * 1024  # below this much room left in kept_bytes, members are not kept
NAME_MAX = 4096
"""Bytes of a member name (``PATH_MAX``); a longer name is listed cut, its member not read."""
_SHOWN = 200  # characters of a link target shown in a record


@dataclass(frozen=True, slots=True)
class Member:
    """One wanted file, read whole (nested ``.gz`` inflated), under a size cap."""

    path: str  # bundle-relative ("var/log/vmksummary"), top folder stripped; loose: the path given
    artifact: str  # the ARTIFACTS name it matched, or the sniffed/forced kind of a loose file
    data: bytes
    note: str = ""  # set when only part was kept: "kept the last 16.0 MiB of 300.0 MiB"

    def lines(self) -> Iterator[str]:
        """The member's lines, as :func:`~lostbeat.analyzer._sink.lines_of` gives them."""
        return lines_of(deque([self.data]))


class Text:
    """One wanted member as read, handed to the consumer once: its lines can be read once,
    each chunk released as it is decoded. ``error`` says why reading it stopped early
    (a truncated or corrupt nested gzip, a bomb), when it did."""

    __slots__ = ("_parts", "artifact", "digest", "error", "note", "path")

    def __init__(
        self,
        path: str,
        artifact: str,
        parts: deque[bytes],
        *,
        note: str,
        digest: bytes,
        error: str = "",
    ) -> None:
        self.path, self.artifact, self.note, self.digest = path, artifact, note, digest
        self._parts, self.error = parts, error

    def lines(self) -> Iterator[str]:
        return lines_of(self._parts)


Consume = Callable[[Text], InputRecord | None]
"""Takes a member as it is read (the engine parses it); returns what became of it."""


@dataclass(frozen=True, slots=True)
class Collected:
    members: tuple[Member, ...]  # the wanted members kept, in bundle order
    names: tuple[str, ...]  # every regular member seen (bundle-relative), wanted or not
    records: tuple[InputRecord, ...]  # skipped / broken members and why (unsafe, too big, bad gz)
    host: str | None  # from the top folder name vm-support-<host>-<date>.<pid>, when present

    def of(self, artifact: str) -> tuple[Member, ...]:
        """The members of one artifact, in bundle order."""
        return tuple(m for m in self.members if m.artifact == artifact)

    def named(self, artifact: str) -> tuple[str, ...]:
        """The names that match one artifact (for name-only artifacts such as coredumps)."""
        return tuple(n for n in self.names if artifacts.match(n) == artifact)


def _bytes(text: str) -> int:
    return len(text.encode("utf-8", "surrogatepass"))


def shown_name(name: str) -> str:
    """A name cut to :data:`NAME_MAX` characters, saying how long it was."""
    if len(name) <= NAME_MAX:
        return name
    return f"{name[:_SHOWN]}… ({_bytes(name)} bytes)"


def shown_link(target: str) -> str:
    """A link target as a record shows it: quoted, cut to 200 characters."""
    if len(target) <= _SHOWN:
        return repr(target)
    return f"{target[:_SHOWN]!r}… ({_bytes(target)} bytes)"


class _Collector:
    """The mutable state of one collect() run; frozen into a Collected at the end."""

    def __init__(self, label: str, limits: Limits, consume: Consume | None = None) -> None:
        self.label, self.limits, self.consume = label, limits, consume
        self.members: list[Member] = []
        self.names: list[str] = []
        # None: the place of a member's record while another thread parses it (reserve)
        self.records: list[InputRecord | None] = []
        self._recorded = 0  # records (not places) among them
        self._records_lock = threading.Lock()  # the walker records, the parser fills
        self.handoff: Handoff | None = None  # set while the walk runs beside the parsing
        self.kept = 0
        self.handed = 0  # bytes handed to the consumer
        self.read = 0  # wanted members read
        self.top: str | None = None
        self.decided = False  # whether the top folder is known
        self.host: str | None = None
        self.recording_dirs: list[str] = []  # folders holding the recording marker
        self.started = False  # a first member was read
        self.current = ""  # the member being read, for error messages
        self.unlisted = self.listed_chars = 0
        self.unrecorded: Counter[InputStatus] = Counter()

    def set_top(self, top: str | None) -> None:
        self.top, self.decided = top, True
        if top is not None:
            self.host = artifacts.host_of(top)

    def place(self, name: str, *, is_dir: bool) -> tuple[str, str]:
        """(bundle-relative path, reason it is unsafe or "")."""
        if len(name) > NAME_MAX:
            return shown_name(name), f"name of {_bytes(name)} bytes"
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
        with self._records_lock:
            if self._recorded < self.limits.recorded:
                self.records.append(record)
                self._recorded += 1
            else:
                self.unrecorded[record.status] += 1

    def reserve(self) -> int:
        """A place among the records for what becomes of a member parsed on another thread
        (:mod:`~lostbeat.analyzer._handoff`); -1 when the records before it already fill the
        cap. A place left empty (nothing to record) takes none of the cap: :meth:`result`
        keeps the first records in order, as one thread would have."""
        with self._records_lock:
            if self._recorded < self.limits.recorded:
                self.records.append(None)
                return len(self.records) - 1
            return -1

    def check(self) -> None:
        """Raise :class:`~lostbeat.analyzer._handoff.Stopped` when the parsing thread
        stopped (the walk asks between its steps)."""
        if self.handoff is not None:
            self.handoff.check()

    def fill(self, slot: int, record: InputRecord | None) -> None:
        """What became of the member whose record has the place ``slot``."""
        if record is None:
            return
        with self._records_lock:
            if slot < 0:
                self.unrecorded[record.status] += 1
            else:
                self.records[slot] = record
                self._recorded += 1

    def name(self, rel: str) -> None:
        if len(self.names) < self.limits.listed and self.listed_chars < self.limits.listed_chars:
            self.names.append(rel)
            self.listed_chars += len(rel)
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
        return self.sink(rel, name)

    def sink(self, rel: str, name: str) -> tuple[str, _Sink] | None:
        """A sink for a member of artifact ``name``, or ``None`` when a budget is spent."""
        lim = self.limits
        if self.read >= lim.members:
            self.skip(rel, f"not read: {lim.members} members already read", name)
            return None
        cap = lim.member_bytes
        if self.consume is not None and name != "recording":
            if self.handed >= lim.parsed_bytes:
                self.skip(rel, f"not read: {_size(lim.parsed_bytes)} already parsed", name)
                return None
        else:  # kept whole until the end
            room = lim.kept_bytes - self.kept
            if room < min(_MIN_ROOM, cap):
                self.skip(rel, f"not read: {_size(lim.kept_bytes)} already kept", name)
                return None
            cap = min(cap, room)
        self.read += 1
        art = ARTIFACTS[name]
        if name == "recording":
            # a shard is kept as it is on disk (its gzip a fifth of its text) and inflated
            # one at a time by the recording parser, which bounds what it keeps
            from lostbeat.recording.store import parse_shard_path  # only a recording needs it

            shard = parse_shard_path(rel) is not None
            return name, _Sink(cap, lim.member_lines, tail=False, limits=lim, inflate=not shard)
        line_cap = lim.member_lines if art.tail else lim.file_lines
        return name, _Sink(cap, line_cap, tail=art.tail, limits=lim)

    def keep(self, rel: str, name: str, sink: _Sink) -> None:
        parts, note = sink.result()
        if sink.too_large:
            self.skip(rel, sink.too_large, name)
            return
        if sink.error:
            kept = f"; kept the {_size(sink.kept)} before it" if sink.kept else ""
            self.record(InputRecord(rel, InputStatus.BROKEN, name, sink.error + kept))
        if note and not sink.kept:
            self.skip(rel, f"no whole line in the last {_size(sink.cap)}", name)
        elif sink.kept or not sink.error:
            if self.consume is not None and name != "recording":
                text = Text(rel, name, parts, note=note, digest=sink.digest(), error=sink.error)
                self.handed += sink.kept
                if self.handoff is not None:
                    self.handoff.put(text, self.reserve(), sink.kept)
                    return
                record = self.consume(text)
                if record is not None:
                    self.record(record)
                return
            self.members.append(Member(rel, name, b"".join(parts), note))
            self.kept += sink.kept

    def result(self) -> Collected:
        records = [r for r in self.records if r is not None]
        for extra in records[self.limits.recorded :]:  # the cap, as one thread had it
            self.unrecorded[extra.status] += 1
        del records[self.limits.recorded :]
        if self.unlisted:
            reason = f"and {self.unlisted} more names, not listed (limit {self.limits.listed})"
            records.append(InputRecord(self.label, InputStatus.SKIPPED, None, reason))
        if self.unrecorded:
            counts = ", ".join(f"{n} {s.value}" for s, n in sorted(self.unrecorded.items()))
            more = sum(self.unrecorded.values())
            reason = f"and {more} more inputs, not listed (limit {self.limits.recorded}): {counts}"
            records.append(InputRecord(self.label, InputStatus.SKIPPED, None, reason))
        return Collected(tuple(self.members), tuple(self.names), tuple(records), self.host)
