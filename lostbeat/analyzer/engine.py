"""analyze(paths) -> AnalysisResult: sources -> intake (parsers) -> facts -> rules.

The graph is written out below, in the order it runs. Each parser and each rule is guarded:
an error becomes an ``inputs[]`` entry or an ``errors`` line and the rest goes on; ``strict``
re-raises it instead.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from typing import TypeVar

from lostbeat.analyzer.artifacts import ARTIFACTS
from lostbeat.analyzer.facts import Facts, Measure, MemoryHistory, Sampling
from lostbeat.analyzer.findings import Finding
from lostbeat.analyzer.history import build_history
from lostbeat.analyzer.intake import Run, Streamed, collect_kept, raise_broken, require_evidence
from lostbeat.analyzer.parsers.coredumps import CoredumpInventory, parse_coredumps
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
from lostbeat.analyzer.rules.root_cause import (
    RootCauseJudgement,
    judge_root_cause,
    settled_class,
)
from lostbeat.analyzer.rules.timeline import Timeline, judge_timeline
from lostbeat.analyzer.sources import BundleSource, Collected, Progress, open_source, shown_path
from lostbeat.errors import ArtifactMissing, InputError

__all__ = ["analyze", "analyze_collected"]

T = TypeVar("T")


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
    crash = guard("crash_class", lambda: settled_class(crash, cause), crash)
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
        incidents=facts.incidents,
        incidents_more=facts.incidents_more,
    )


def analyze_collected(
    collected: Sequence[Collected],
    *,
    strict: bool = False,
    records: Sequence[InputRecord] = (),
    at: str | None = None,
) -> AnalysisResult:
    """Analyse members already collected from one host's sources (the incident nearest
    ``at``, where the evidence shows several)."""
    run = Run()
    run.parsed.at = at
    return _analyze(collected, run, strict=strict, records=records)


def _analyze(
    collected: Sequence[Collected],
    run: Run,
    *,
    strict: bool,
    records: Sequence[InputRecord],
    given: tuple[Sequence[str], str] | None = None,
) -> AnalysisResult:
    """Parse the members the sources kept, then judge; ``run`` may already hold what was
    parsed as it was read. With ``given`` (the paths as given, the artifacts looked for),
    raise when nothing at all was read as an artifact."""
    run.records.extend(records)
    collect_kept(collected, run, strict=strict)
    if given is not None:
        require_evidence(run, collected, *given)
    run.parsed.host = next((c.host for c in collected if c.host), None)
    run.parsed.cores = _coredumps(n for c in collected for n in c.names)
    guard = _Guard(strict=strict)
    chosen = guard("platform", lambda: facts_of(run.parsed), None)
    facts = _no_facts(run.parsed) if chosen is None else chosen[1]
    result = judge(facts, strict=strict, records=run.records)
    if run.parsed.packages:  # the host's rpm -qa, for the fleet; no rule reads it
        result = replace(result, host_packages=run.parsed.packages[0].packages)
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
    at: str | None = None,
    sources: Sequence[BundleSource] = (),
) -> AnalysisResult:
    """Analyse the inputs of one host and one incident (the one nearest ``at``, where the
    evidence shows several: ``lostbeat analyze --at``): the ``paths`` given, and ``sources``
    already opened (this host's own evidence: :mod:`lostbeat.analyzer.this_host`).

    Each member is parsed as its source reads it (``_Streamed``), so that only parsed values
    stay in memory, never the members until the end.

    Raises:
        InputError: when nothing at all could be read as an artifact (one line: what was
            looked for, and what was found); when ``strict``, an input or member that is
            broken (truncated, corrupt, a bomb).
        LostbeatError: any parse or rule error, when ``strict``.
    """
    if not paths and not sources:
        raise InputError("no input given", path="-")
    collected: list[Collected] = []
    records: list[InputRecord] = []
    failures: list[InputError] = []
    run = Run()
    run.parsed.at = at
    consume = Streamed(run, strict=strict)
    opened: list[BundleSource | str | os.PathLike[str]] = [*paths, *sources]
    for item in opened:
        try:
            src = open_source(item, kind=kind) if isinstance(item, (str, os.PathLike)) else item
            source = src.collect(progress=progress, consume=consume)
        except InputError as err:
            if strict:
                raise
            failures.append(err)
            records.append(InputRecord(err.path, InputStatus.BROKEN, None, err.reason))
            continue
        if strict:
            raise_broken(source)
        collected.append(source)
    if not collected:
        raise failures[0]
    given = [shown_path(os.fspath(p)) for p in paths] + [s.label for s in sources]
    looked = kind or ", ".join(ARTIFACTS)
    return _analyze(collected, run, strict=strict, records=records, given=(given, looked))
