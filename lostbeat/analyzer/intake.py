"""Intake: what the sources read, parsed once into one analysis run, within bounds.

The engine hands :class:`Streamed` to every source as its consumer: each wanted member is
parsed as soon as it is read and only its parsed value kept (``sources`` bounds what is
read, each parser what it keeps of one file); the same content is parsed once; and all
parsed values together hold at most :data:`KEPT_RECORDS` records. What a source kept whole
(a recording's shards) is parsed after it by :func:`collect_kept`. :func:`require_evidence`
refuses a run in which nothing at all was read as an artifact, :func:`raise_broken` a broken
input under ``--strict``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar

from lostbeat.analyzer._sink import content_key
from lostbeat.analyzer.artifacts import ARTIFACTS
from lostbeat.analyzer.parsers import PARSERS, ParserInput
from lostbeat.analyzer.parsers.capture import CaptureManifest, LinuxScreen
from lostbeat.analyzer.parsers.esx_conf import EsxConf
from lostbeat.analyzer.parsers.host_log import HostLog
from lostbeat.analyzer.parsers.ipmi_sel import IpmiSel
from lostbeat.analyzer.parsers.meminfo import MemInfo
from lostbeat.analyzer.parsers.packages import PackageList
from lostbeat.analyzer.parsers.processes import ProcessTable
from lostbeat.analyzer.parsers.procfiles import ProcFile
from lostbeat.analyzer.parsers.psod import PsodScreen
from lostbeat.analyzer.parsers.recordings import parse_recording
from lostbeat.analyzer.parsers.sar import SarLog
from lostbeat.analyzer.parsers.top import TopSnapshot
from lostbeat.analyzer.parsers.version import VersionInfo
from lostbeat.analyzer.parsers.vibs import VibList
from lostbeat.analyzer.parsers.vmkernel_log import VmkernelLog
from lostbeat.analyzer.parsers.vmksummary import VmkSummary
from lostbeat.analyzer.platforms import Parsed
from lostbeat.analyzer.result import InputRecord, InputStatus
from lostbeat.analyzer.sources import Collected, Member, Text
from lostbeat.errors import ArtifactMissing, InputError, LostbeatError, RecordingCorrupt

__all__ = [
    "KEPT_RECORDS",
    "Run",
    "Streamed",
    "collect_kept",
    "raise_broken",
    "require_evidence",
]

T = TypeVar("T")


@dataclass
class Run:
    """One analysis: the parser outputs, and what happened to each input."""

    parsed: Parsed = field(default_factory=Parsed)
    records: list[InputRecord] = field(default_factory=list)
    seen: dict[tuple[str, str, bytes], str] = field(default_factory=dict)  # content: first path
    kept: int = 0  # records the parsed values hold (KEPT_RECORDS)
    read: int = 0  # members read as an artifact


_SLOTS: dict[type, str] = {
    VmkSummary: "summaries",
    VmkernelLog: "logs",
    PsodScreen: "screens",
    MemInfo: "meminfo",
    EsxConf: "conf",
    VersionInfo: "versions",
    ProcessTable: "tables",
    TopSnapshot: "tops",
    LinuxScreen: "captures",
    CaptureManifest: "manifests",
    ProcFile: "proc_files",
    HostLog: "host_logs",
    SarLog: "sars",
    IpmiSel: "sel",
    VibList: "vibs",
    PackageList: "packages",
}


KEPT_RECORDS = 40_000
"""Records (summary lines, signals, processes, entries...) the parsed values may hold in all:
a member read once it is spent is listed as not parsed. With each parser's own cap per file,
this bounds the objects an analysis keeps, whatever the number of members."""


def _record_count(value: object) -> int:
    """The records a parsed value holds: the lengths of its tuple fields."""
    fields_ = (getattr(value, name, None) for name in getattr(value, "__slots__", ()))
    return sum(len(item) for item in fields_ if isinstance(item, tuple))


class Streamed:
    """The consumer the sources hand each member to as they read it (``sources.Consume``):
    it is parsed there and then, and only the parsed value is kept."""

    def __init__(self, run: Run, *, strict: bool) -> None:
        self.run, self.strict = run, strict

    def __call__(self, text: Text) -> InputRecord | None:
        if text.error and self.strict:
            raise InputError(text.error, path=text.path)
        return _read_text(
            self.run, text.path, text.artifact, text.lines, text.note, text.digest,
            strict=self.strict,
        )  # fmt: skip


def _read_text(
    run: Run,
    path: str,
    artifact: str,
    lines: Callable[[], Iterable[str]],
    note: str,
    digest: bytes,
    *,
    strict: bool,
) -> InputRecord | None:
    """Parse one member unless its content was read already or the record budget is spent;
    what became of it."""
    # the same file given twice (in a folder and again as a loose file) counts once
    by_path = ARTIFACTS[artifact].by_path if artifact in ARTIFACTS else False
    key = (artifact, path if by_path else "", digest)
    if key in run.seen:
        return InputRecord(path, InputStatus.SKIPPED, artifact, f"same content as {run.seen[key]}")
    run.seen[key] = path
    if run.kept >= KEPT_RECORDS:
        reason = f"not parsed: {KEPT_RECORDS} records already kept"
        return InputRecord(path, InputStatus.SKIPPED, artifact, reason)
    return _parse_text(run, path, artifact, lines(), note, strict=strict)


def _parse_text(
    run: Run, path: str, artifact: str, lines: Iterable[str], note: str, *, strict: bool
) -> InputRecord | None:
    parser = _PARSE.get(artifact)
    if parser is None:
        return InputRecord(path, InputStatus.SKIPPED, artifact, "no parser for this artifact")
    failed: list[InputRecord] = []
    value = _guarded(
        lambda: parser(lines, path=path), failed, path=path, artifact=artifact, strict=strict
    )
    if value is None:
        return failed[0] if failed else None
    getattr(run.parsed, _SLOTS[type(value)]).append(value)
    run.kept += _record_count(value)
    run.read += 1
    problems = getattr(value, "problems", ())
    if problems and strict:
        raise problems[0]
    malformed = f"{len(problems)} malformed line(s), first: {problems[0]}" if problems else ""
    reason = "; ".join(n for n in (note, getattr(value, "omitted", ""), malformed) if n)
    return InputRecord(path, InputStatus.READ, artifact, reason)


def _guarded(
    parse: Callable[[], T],
    records: list[InputRecord],
    *,
    path: str,
    artifact: str,
    strict: bool,
) -> T | None:
    """Run one parser: a missing artifact is skipped, a malformed one recorded as broken (or
    raised, when ``strict``); ``None`` in both cases."""
    try:
        return parse()
    except ArtifactMissing as err:
        records.append(InputRecord(path, InputStatus.SKIPPED, artifact, str(err)))
    except LostbeatError as err:
        if strict:
            raise
        records.append(InputRecord(path, InputStatus.BROKEN, artifact, str(err)))
    return None


def _is_summary_log(path: str) -> bool:
    return path.rsplit("/", 1)[-1].startswith("vmksummary")


def _parse_recording(members: Sequence[Member], run: Run, *, strict: bool) -> None:
    files = [(m.path, m.data) for m in members if not _is_summary_log(m.path)]
    where = members[0].path.rsplit("/", 1)[0] if "/" in members[0].path else "."
    recording = _guarded(
        lambda: parse_recording(files, path=where),
        run.records,
        path=where,
        artifact="recording",
        strict=strict,
    )
    if recording is None:
        return
    if recording.problems and strict:
        raise RecordingCorrupt(str(recording.problems[0]), path=where)
    run.parsed.recordings.append(recording)
    run.read += 1
    unusable = (
        f"{len(recording.problems)} unusable record(s), first: {recording.problems[0]}"
        if recording.problems
        else ""
    )
    reason = "; ".join(n for n in (recording.omitted, unusable) if n)
    run.records.append(InputRecord(where, InputStatus.READ, "recording", reason))


_PARSE: dict[str, Callable[..., Any]] = {
    p.artifact: p.parse for p in PARSERS if p.takes is ParserInput.LINES
}


def collect_kept(collected: Sequence[Collected], run: Run, *, strict: bool) -> None:
    """Parse every wanted member the sources kept into ``run`` (the others were parsed as
    they were read)."""
    for c in collected:
        run.records.extend(c.records)
        recorded = [m for m in c.members if m.artifact == "recording"]
        if recorded:
            _parse_recording(recorded, run, strict=strict)
        for member in c.members:
            if member.artifact == "recording":
                if not _is_summary_log(member.path):
                    continue
                # the recorder's hourly log is a vmksummary, read by the same parser
                member = replace(member, artifact="vmksummary")
            digest = content_key((member.data,))
            record = _read_text(
                run, member.path, member.artifact, member.lines, member.note, digest,
                strict=strict,
            )  # fmt: skip
            if record is not None:
                run.records.append(record)


def raise_broken(collected: Collected) -> None:
    """``--strict``: a broken archive or member (truncated, corrupt, a bomb) is fatal."""
    for record in collected.records:
        if record.status is InputStatus.BROKEN:
            raise InputError(record.reason, path=record.path)


def require_evidence(
    run: Run, collected: Sequence[Collected], given: Sequence[str], looked: str
) -> None:
    """Raise unless something was read as an artifact (a core dump's name counts): a
    verdict drawn from nothing would be made up."""
    if run.read or any(c.named("coredumps") for c in collected):
        return
    names = sum(len(c.names) for c in collected)
    why = next((f"{r.path}: {r.reason}" for r in run.records if r.reason), "")
    if not why:
        why = f"found {names} files, none of them an artifact" if names else "found no file"
    raise InputError(
        f"nothing read as an artifact (looked for {looked}); {why}", path=", ".join(given)
    )
