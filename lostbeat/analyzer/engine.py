"""analyze(paths) -> AnalysisResult: sources -> parsers -> HostFacts -> rules.

The graph is written out below, in the order it runs. Each parser and each rule is guarded:
an error becomes an ``inputs[]`` entry or an ``errors`` line and the rest goes on; ``strict``
re-raises it instead.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar

from lostbeat.analyzer.artifacts import ARTIFACTS
from lostbeat.analyzer.facts import Facts, Measure, MemoryHistory, Sampling
from lostbeat.analyzer.findings import Finding
from lostbeat.analyzer.history import build_history
from lostbeat.analyzer.parsers import PARSERS, ParserInput
from lostbeat.analyzer.parsers.capture import LinuxScreen
from lostbeat.analyzer.parsers.coredumps import CoredumpInventory, parse_coredumps
from lostbeat.analyzer.parsers.esx_conf import EsxConf
from lostbeat.analyzer.parsers.meminfo import MemInfo
from lostbeat.analyzer.parsers.processes import ProcessTable
from lostbeat.analyzer.parsers.procfiles import ProcFile
from lostbeat.analyzer.parsers.psod import PsodScreen
from lostbeat.analyzer.parsers.recordings import parse_recording
from lostbeat.analyzer.parsers.top import TopSnapshot
from lostbeat.analyzer.parsers.version import VersionInfo
from lostbeat.analyzer.parsers.vmkernel_log import VmkernelLog
from lostbeat.analyzer.parsers.vmksummary import VmkSummary
from lostbeat.analyzer.platforms import Parsed, Profile, choose
from lostbeat.analyzer.result import (
    Action,
    AnalysisResult,
    CauseKind,
    Coredumps,
    Crash,
    CrashType,
    History,
    InputRecord,
    InputStatus,
    KnownIssueMatch,
    Memory,
    Platform,
    RootCause,
)
from lostbeat.analyzer.rules.actions import plan_actions
from lostbeat.analyzer.rules.coredumps import judge_coredumps
from lostbeat.analyzer.rules.crash import judge_crash
from lostbeat.analyzer.rules.culprit import Resolution, resolve_culprit
from lostbeat.analyzer.rules.known_issues import match_known_issues
from lostbeat.analyzer.rules.memory import judge_memory
from lostbeat.analyzer.rules.root_cause import RootCauseJudgement, judge_root_cause
from lostbeat.analyzer.rules.timeline import Timeline, judge_timeline
from lostbeat.analyzer.sources import Collected, Member, Progress, Text, open_source, shown_path
from lostbeat.errors import ArtifactMissing, InputError, LostbeatError, RecordingCorrupt

__all__ = ["analyze", "analyze_collected"]

T = TypeVar("T")


@dataclass
class _Run:
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
    ProcFile: "proc_files",
}


KEPT_RECORDS = 40_000
"""Records (summary lines, signals, processes, entries...) the parsed values may hold in all:
a member read once it is spent is listed as not parsed. With each parser's own cap per file,
this bounds the objects an analysis keeps, whatever the number of members."""


def _record_count(value: object) -> int:
    """The records a parsed value holds: the lengths of its tuple fields."""
    fields_ = (getattr(value, name, None) for name in getattr(value, "__slots__", ()))
    return sum(len(item) for item in fields_ if isinstance(item, tuple))


class _Streamed:
    """The consumer the sources hand each member to as they read it (``sources.Consume``):
    it is parsed there and then, and only the parsed value is kept."""

    def __init__(self, run: _Run, *, strict: bool) -> None:
        self.run, self.strict = run, strict

    def __call__(self, text: Text) -> InputRecord | None:
        if text.error and self.strict:
            raise InputError(text.error, path=text.path)
        return _read_text(
            self.run, text.path, text.artifact, text.lines, text.note, text.digest,
            strict=self.strict,
        )  # fmt: skip


def _read_text(
    run: _Run,
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
    run: _Run, path: str, artifact: str, lines: Iterable[str], note: str, *, strict: bool
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


def _parse_recording(members: Sequence[Member], run: _Run, *, strict: bool) -> None:
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


def _coredumps(names: Iterable[str]) -> CoredumpInventory:
    """The cores among the member names; none when there are no names at all."""
    try:
        return parse_coredumps(names)
    except ArtifactMissing:
        return CoredumpInventory((), ())


class _Guard:
    """Runs rules; a failing rule leaves an error line and a fallback value."""

    def __init__(self, *, strict: bool) -> None:
        self.strict = strict
        self.errors: list[str] = []

    def __call__(self, name: str, fn: Callable[[], T], fallback: T) -> T:
        try:
            return fn()
        except Exception as err:  # noqa: BLE001 - one rule's bug must not lose the analysis
            if self.strict:
                raise
            self.errors.append(f"rule {name} failed: {type(err).__name__}: {err}")
            return fallback


def _collect(collected: Sequence[Collected], run: _Run, *, strict: bool) -> None:
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
            digest = hashlib.blake2b(member.data, digest_size=16).digest()
            record = _read_text(
                run, member.path, member.artifact, member.lines, member.note, digest,
                strict=strict,
            )  # fmt: skip
            if record is not None:
                run.records.append(record)


def facts_of(parsed: Parsed, profile: Profile | None = None) -> tuple[Profile, Facts]:
    """The profile that owns the inputs, and the neutral facts it reads from them."""
    chosen = profile or choose(parsed)
    return chosen, chosen.facts(parsed)


def judge(
    facts: Facts, *, strict: bool = False, records: Sequence[InputRecord] = ()
) -> AnalysisResult:
    """Run every rule on the facts, in order, each guarded."""
    guard = _Guard(strict=strict)
    crash = facts.crash
    timeline = guard("timeline", lambda: judge_timeline(facts), Timeline((), ()))
    no_findings: tuple[Finding, ...] = ()
    crash_f = guard("crash", lambda: judge_crash(facts), no_findings)
    memory_j = guard("memory", lambda: judge_memory(facts), None)
    cause_j = guard(
        "root_cause",
        lambda: judge_root_cause(facts),
        RootCauseJudgement(RootCause(CauseKind.INCONCLUSIVE), (), ()),
    )
    no_resolutions: tuple[Resolution, ...] = ()
    no_known: tuple[KnownIssueMatch, ...] = ()
    no_actions: tuple[Action, ...] = ()
    cause, resolutions, culprit_f = guard(
        "culprit",
        lambda: resolve_culprit(facts, cause_j.root_cause),
        (cause_j.root_cause, no_resolutions, no_findings),
    )
    known, known_f = guard(
        "known_issues", lambda: match_known_issues(facts, cause), (no_known, no_findings)
    )
    cores_j = guard("coredumps", lambda: judge_coredumps(facts), None)
    other_origins = tuple(r.origin for r in resolutions[1:])
    actions = guard("actions", lambda: plan_actions(facts, cause, known, other_origins), no_actions)
    names_by_token = {r.token: r.name for r in resolutions}
    leak = cause_j.leaks[0] if cause_j.leaks and cause.kind is CauseKind.LEAK else None
    history = guard("history", lambda: build_history(facts, cause, leak, names_by_token), None)
    findings: list[Finding] = []
    for part in (
        crash_f,
        cause_j.findings,
        culprit_f,
        known_f,
        memory_j.findings if memory_j else (),
        timeline.findings,
        cores_j.findings if cores_j else (),
    ):
        findings.extend(part)
    return AnalysisResult(
        host=facts.host,
        crash=crash,
        root_cause=cause,
        memory=memory_j.memory if memory_j else Memory(),
        coredumps=cores_j.coredumps if cores_j else Coredumps(),
        timeline=timeline.events,
        known_issues=known,
        actions=actions,
        findings=tuple(findings),
        inputs=tuple(records),
        history=history or History(),
        errors=tuple(guard.errors),
        platform=facts.words,
    )


def analyze_collected(
    collected: Sequence[Collected], *, strict: bool = False, records: Sequence[InputRecord] = ()
) -> AnalysisResult:
    """Analyse members already collected from one host's sources."""
    return _analyze(collected, _Run(), strict=strict, records=records)


def _analyze(
    collected: Sequence[Collected],
    run: _Run,
    *,
    strict: bool,
    records: Sequence[InputRecord],
    given: tuple[Sequence[str], str] | None = None,
) -> AnalysisResult:
    """Parse the members the sources kept, then judge; ``run`` may already hold what was
    parsed as it was read. With ``given`` (the paths as given, the artifacts looked for),
    raise when nothing at all was read as an artifact."""
    run.records.extend(records)
    _collect(collected, run, strict=strict)
    if given is not None:
        _require_evidence(run, collected, *given)
    run.parsed.host = next((c.host for c in collected if c.host), None)
    run.parsed.cores = _coredumps(n for c in collected for n in c.names)
    guard = _Guard(strict=strict)
    chosen = guard("platform", lambda: facts_of(run.parsed), None)
    facts = _no_facts(run.parsed) if chosen is None else chosen[1]
    result = judge(facts, strict=strict, records=run.records)
    if guard.errors:
        result = replace(result, errors=tuple(guard.errors) + result.errors)
    return result


def _no_facts(parsed: Parsed) -> Facts:
    """What is left when a profile failed on the inputs: an unknown crash, no history."""
    unknown = Sampling(3600.0, 1, 0.0, 1, False, Measure.VIRTUAL, "points")
    return Facts(
        words=Platform(),
        crash=Crash(CrashType.UNKNOWN),
        history=MemoryHistory(unknown),
        host=parsed.host,
    )


def analyze(
    paths: Sequence[str | os.PathLike[str]],
    *,
    strict: bool = False,
    kind: str | None = None,
    progress: Progress | None = None,
) -> AnalysisResult:
    """Analyse the inputs of one host and one incident.

    Each member is parsed as its source reads it (``_Streamed``), so that only parsed values
    stay in memory, never the members until the end.

    Raises:
        InputError: when nothing at all could be read as an artifact (one line: what was
            looked for, and what was found); when ``strict``, an input or member that is
            broken (truncated, corrupt, a bomb).
        LostbeatError: any parse or rule error, when ``strict``.
    """
    if not paths:
        raise InputError("no input given", path="-")
    collected: list[Collected] = []
    records: list[InputRecord] = []
    failures: list[InputError] = []
    run = _Run()
    consume = _Streamed(run, strict=strict)
    for path in paths:
        try:
            source = open_source(path, kind=kind).collect(progress=progress, consume=consume)
        except InputError as err:
            if strict:
                raise
            failures.append(err)
            records.append(InputRecord(err.path, InputStatus.BROKEN, None, err.reason))
            continue
        if strict:
            _raise_broken(source)
        collected.append(source)
    if not collected:
        raise failures[0]
    given = [shown_path(os.fspath(p)) for p in paths]
    looked = kind or ", ".join(ARTIFACTS)
    return _analyze(collected, run, strict=strict, records=records, given=(given, looked))


def _raise_broken(collected: Collected) -> None:
    """``--strict``: a broken archive or member (truncated, corrupt, a bomb) is fatal."""
    for record in collected.records:
        if record.status is InputStatus.BROKEN:
            raise InputError(record.reason, path=record.path)


def _require_evidence(
    run: _Run, collected: Sequence[Collected], given: Sequence[str], looked: str
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
