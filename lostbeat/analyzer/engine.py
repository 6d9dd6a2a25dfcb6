"""analyze(paths) -> AnalysisResult: sources -> parsers -> HostFacts -> rules.

The graph is written out below, in the order it runs. Each parser and each rule is guarded:
an error becomes an ``inputs[]`` entry or an ``errors`` line and the rest goes on; ``strict``
re-raises it instead.
"""

from __future__ import annotations

import hashlib
import io
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
from lostbeat.analyzer.parsers.ipmi_sel import IpmiSel
from lostbeat.analyzer.parsers.meminfo import MemInfo
from lostbeat.analyzer.parsers.processes import ProcessTable
from lostbeat.analyzer.parsers.procfiles import ProcFile
from lostbeat.analyzer.parsers.psod import PsodScreen
from lostbeat.analyzer.parsers.recordings import parse_recording
from lostbeat.analyzer.parsers.top import TopSnapshot
from lostbeat.analyzer.parsers.version import VersionInfo
from lostbeat.analyzer.parsers.vibs import VibList
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
from lostbeat.analyzer.sources import Collected, Member, Progress, open_source
from lostbeat.errors import ArtifactMissing, InputError, LostbeatError, RecordingCorrupt

__all__ = ["analyze", "analyze_collected"]

T = TypeVar("T")


@dataclass
class _Run:
    """One analysis: the parser outputs, and what happened to each input."""

    parsed: Parsed = field(default_factory=Parsed)
    records: list[InputRecord] = field(default_factory=list)


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
    IpmiSel: "sel",
    VibList: "vibs",
}


def _parse_member(member: Member, run: _Run, *, strict: bool) -> None:
    parser = _PARSE.get(member.artifact)
    if parser is None:
        run.records.append(
            InputRecord(
                member.path, InputStatus.SKIPPED, member.artifact, "no parser for this artifact"
            )
        )
        return
    # decoded a line at a time: a 64 MiB log never exists as one str plus a list of lines
    lines = io.TextIOWrapper(io.BytesIO(member.data), encoding="utf-8", errors="replace")
    value = _guarded(
        lambda: parser(lines, path=member.path),
        run,
        path=member.path,
        artifact=member.artifact,
        strict=strict,
    )
    if value is None:
        return
    getattr(run.parsed, _SLOTS[type(value)]).append(value)
    problems = getattr(value, "problems", ())
    reason = f"{len(problems)} malformed line(s), first: {problems[0]}" if problems else ""
    if member.note:
        reason = f"{member.note}; {reason}" if reason else member.note
    if problems and strict:
        raise problems[0]
    run.records.append(InputRecord(member.path, InputStatus.READ, member.artifact, reason))


def _guarded(
    parse: Callable[[], T], run: _Run, *, path: str, artifact: str, strict: bool
) -> T | None:
    """Run one parser: a missing artifact is skipped, a malformed one recorded as broken (or
    raised, when ``strict``); ``None`` in both cases."""
    try:
        return parse()
    except ArtifactMissing as err:
        run.records.append(InputRecord(path, InputStatus.SKIPPED, artifact, str(err)))
    except LostbeatError as err:
        if strict:
            raise
        run.records.append(InputRecord(path, InputStatus.BROKEN, artifact, str(err)))
    return None


def _is_summary_log(path: str) -> bool:
    return path.rsplit("/", 1)[-1].startswith("vmksummary")


def _parse_recording(members: Sequence[Member], run: _Run, *, strict: bool) -> None:
    files = [(m.path, m.data) for m in members if not _is_summary_log(m.path)]
    where = members[0].path.rsplit("/", 1)[0] if "/" in members[0].path else "."
    recording = _guarded(
        lambda: parse_recording(files, path=where),
        run,
        path=where,
        artifact="recording",
        strict=strict,
    )
    if recording is None:
        return
    if recording.problems and strict:
        raise RecordingCorrupt(str(recording.problems[0]), path=where)
    run.parsed.recordings.append(recording)
    reason = (
        f"{len(recording.problems)} unusable record(s), first: {recording.problems[0]}"
        if recording.problems
        else ""
    )
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
    """Parse every wanted member of every source into ``run``."""
    seen: dict[tuple[str, str, bytes], str] = {}
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
            # the same file given twice (in a folder and again as a loose file) counts once
            digest = hashlib.blake2b(member.data, digest_size=16).digest()
            by_path = ARTIFACTS[member.artifact].by_path if member.artifact in ARTIFACTS else False
            key = (member.artifact, member.path if by_path else "", digest)
            if key in seen:
                run.records.append(
                    InputRecord(
                        member.path,
                        InputStatus.SKIPPED,
                        member.artifact,
                        f"same content as {seen[key]}",
                    )
                )
                continue
            seen[key] = member.path
            _parse_member(member, run, strict=strict)


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
    known, known_f, cause = guard(
        "known_issues", lambda: match_known_issues(facts, cause), (no_known, no_findings, cause)
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
    run = _Run(records=list(records))
    _collect(collected, run, strict=strict)
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

    Raises:
        InputError: when no input could be read at all.
        LostbeatError: any parse or rule error, when ``strict``.
    """
    if not paths:
        raise InputError("no input given", path="-")
    collected: list[Collected] = []
    records: list[InputRecord] = []
    failures: list[InputError] = []
    for path in paths:
        try:
            collected.append(open_source(path, kind=kind).collect(progress=progress))
        except InputError as err:
            if strict:
                raise
            failures.append(err)
            records.append(InputRecord(os.fspath(path), InputStatus.BROKEN, None, err.reason))
    if not collected:
        raise failures[0]
    return analyze_collected(collected, strict=strict, records=records)
