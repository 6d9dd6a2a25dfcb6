"""Known issues, as data: each platform profile lists its own (``Facts.known_issues``).

A row matches when the crash is of its type, the release within its range, and its process
is the culprit or one of the leakers; a row whose process is blamed on another release is
said not to apply, so the reader knows it was considered.
"""

from __future__ import annotations

from lostbeat.analyzer.facts import Facts
from lostbeat.analyzer.findings import Finding, Severity
from lostbeat.analyzer.result import KnownIssueMatch, RootCause
from lostbeat.analyzer.rules._rule import rule

__all__ = ["match_known_issues"]


@rule("known_issues")
def match_known_issues(
    facts: Facts, cause: RootCause
) -> tuple[tuple[KnownIssueMatch, ...], tuple[Finding, ...]]:
    """Match the crash, the release and the culprit against the platform's known issues."""
    crash, release = facts.crash, facts.release
    matches: list[KnownIssueMatch] = []
    findings: list[Finding] = []
    blamed = {n for n in (cause.process, *cause.others) if n}
    series = {s.name or s.token: s for s in (facts.plot or facts.history).series}
    for issue in facts.known_issues:
        if crash.type is not issue.crash or issue.process not in blamed:
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
        shown = series.get(issue.process) or next(
            (s for s in series.values() if s.token and issue.process.startswith(s.token)), None
        )
        evidence = (shown.evidence[-2:] if shown else ()) + crash.evidence[:1]
        matches.append(KnownIssueMatch(issue.kb, issue.title, issue.workaround, evidence))
        findings.append(
            Finding(
                f"known_issues.{issue.kb}",
                Severity.CRITICAL,
                f"Known issue KB {issue.kb}: {issue.title}",
                issue.workaround,
                evidence,
            )
        )
    return tuple(matches), tuple(findings)
