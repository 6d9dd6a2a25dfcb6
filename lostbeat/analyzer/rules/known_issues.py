"""Known issues, as data: each platform profile lists its own (``Facts.known_issues``), and this
one rule matches them all (``lostbeat/analyzer/issues.py`` says how a row matches).

A row matches when its signature appears in the incident's lines (``Facts.signs``) for a crash
of a kind it explains on a release it affects, or when the process whose leak it documents is
the culprit or one of the leakers. A leak's row found by its signature alone (the screen names
the process) is not claimed against a history that blames another process. A row whose
evidence is there on a release it does not affect is said not to apply, so the reader knows it
was considered. Where the history was too short to judge, the cause an article documents (a
leak of its process, or not a memory fault) stands in for it.

Without a crash, a match is a warning, never critical: the host stayed up.
"""

from __future__ import annotations

from lostbeat.analyzer.facts import Facts
from lostbeat.analyzer.findings import Evidence, Finding, Severity
from lostbeat.analyzer.issues import KnownIssue
from lostbeat.analyzer.result import CauseKind, CrashType, KnownIssueMatch, RootCause
from lostbeat.analyzer.rules._rule import rule

__all__ = ["match_known_issues"]


def _evidence(
    facts: Facts, issue: KnownIssue, signed: tuple[Evidence, ...]
) -> tuple[Evidence, ...]:
    if signed:
        return signed[:4]
    series = {s.name or s.token: s for s in (facts.plot or facts.history).series}
    process = issue.process or ""
    shown = series.get(process) or next(
        (s for s in series.values() if s.token and process.startswith(s.token)), None
    )
    return (shown.evidence[-2:] if shown else ()) + facts.crash.evidence[:1]


def _stand_in(facts: Facts, cause: RootCause, issue: KnownIssue) -> RootCause:
    """The article's cause, where the history could not judge."""
    found = facts.catalog.lookup(issue.process) if issue.process else None
    return RootCause(
        issue.cause or cause.kind,
        process=issue.process if issue.cause is CauseKind.LEAK else None,
        origin=found.origin if found and issue.cause is CauseKind.LEAK else None,
        confidence=0.6,
        explanation=f"too little history to judge; KB {issue.kb} documents this crash: "
        f"{issue.title}",
    )


@rule("known_issues")
def match_known_issues(
    facts: Facts, cause: RootCause
) -> tuple[tuple[KnownIssueMatch, ...], tuple[Finding, ...], RootCause]:
    """Match the crash, its lines, the release and the culprit against the known issues;
    return the matches, their findings and the root cause (the article's, where the history
    was too short)."""
    crash, release = facts.crash, facts.release
    matches: list[KnownIssueMatch] = []
    findings: list[Finding] = []
    blamed = {n for n in (cause.process, *cause.others) if n}
    severity = Severity.WARNING if crash.type is CrashType.NONE else Severity.CRITICAL
    stand_in: KnownIssue | None = None
    for issue in facts.known_issues:
        signed = issue.found_in(facts.signs) if issue.explains(crash) else ()
        if signed and issue.process and blamed and issue.process not in blamed:
            signed = ()
        by_process = issue.process in blamed and issue.explains(crash)
        if not (signed or by_process):
            continue
        if not issue.applies_to(release):
            where = release.name if release else f"build {crash.build}"
            findings.append(
                Finding(
                    f"known_issues.not_applicable.{issue.kb}",
                    Severity.INFO,
                    f"KB {issue.kb} does not apply to {where}",
                    f"{issue.title}: only {issue.scope}",
                )
            )
            continue
        evidence = _evidence(facts, issue, signed)
        matches.append(
            KnownIssueMatch(issue.kb, issue.title, issue.workaround, evidence, issue.aliases)
        )
        if release is None and issue.affects:
            detail = f"{issue.workaround} (the release is not in the inputs: {issue.scope})"
        else:
            detail = issue.workaround
        findings.append(
            Finding(
                f"known_issues.{issue.kb}",
                severity,
                f"Known issue KB {issue.kb}: {issue.title}",
                detail,
                evidence,
            )
        )
        if stand_in is None and issue.cause is not None:
            stand_in = issue
    if stand_in is not None and cause.kind is CauseKind.INCONCLUSIVE:
        cause = _stand_in(facts, cause, stand_in)
    return tuple(matches), tuple(findings), cause
