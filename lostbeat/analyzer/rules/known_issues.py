"""Known issues, as data: adding one means adding a row to KNOWN_ISSUES.

A row matches when the crash is of its kind, the release is within its range, and its process
is the culprit or one of the leakers.
"""

from __future__ import annotations

from dataclasses import dataclass

from lostbeat.analyzer.builds import Release, release_of
from lostbeat.analyzer.facts import HostFacts
from lostbeat.analyzer.findings import Finding, Severity
from lostbeat.analyzer.parsers.vmksummary import LineKind
from lostbeat.analyzer.result import Crash, CrashType, KnownIssueMatch, RootCause
from lostbeat.analyzer.rules._rule import rule

__all__ = ["KNOWN_ISSUES", "KnownIssue", "match_known_issues"]


@dataclass(frozen=True, slots=True)
class KnownIssue:
    kb: str
    title: str
    process: str
    crash: CrashType
    versions: tuple[tuple[int, int], ...]
    min_update: int
    max_update: int
    workaround: str
    source: str


KNOWN_ISSUES: tuple[KnownIssue, ...] = (
    KnownIssue(
        kb="1009607",
        title="Pegasus (cimserver) memory leaks reported in ESX 3.5 Update 2 and later",
        process="cimserver",
        crash=CrashType.LOST_HEARTBEAT,
        # "ESX 3.5 U2, U3, U4, U5 only; not ESXi, not ESX 4.0 (Pegasus is not used)"
        versions=((3, 5),),
        min_update=2,
        max_update=5,
        workaround=(
            "Restart the Pegasus service daily from root's crontab (crontab -e; at midnight: "
            "service pegasus restart), as KB 1009607 describes"
        ),
        source="KB 1009607 (esx-artifacts.md §6)",
    ),
)


def _applies(issue: KnownIssue, release: Release | None) -> bool:
    return (
        release is not None
        and release.version in issue.versions
        and issue.min_update <= release.update <= issue.max_update
    )


@rule("known_issues", artifacts=("vmksummary", "version", "psod", "vmkernel_log"))
def match_known_issues(
    facts: HostFacts, crash: Crash, cause: RootCause
) -> tuple[tuple[KnownIssueMatch, ...], tuple[Finding, ...]]:
    """Match the crash, the release and the culprit against KNOWN_ISSUES."""
    release = release_of(crash.build, version=facts.product_line)
    matches: list[KnownIssueMatch] = []
    findings: list[Finding] = []
    blamed = {n for n in (cause.process, *cause.others) if n}
    for issue in KNOWN_ISSUES:
        if crash.type is not issue.crash or issue.process not in blamed:
            continue
        if not _applies(issue, release):
            where = release.name if release else f"build {crash.build}"
            findings.append(
                Finding(
                    f"known_issues.not_applicable.{issue.kb}",
                    Severity.INFO,
                    f"KB {issue.kb} does not apply to {where}",
                    f"{issue.title}: only ESX {issue.versions[0][0]}.{issue.versions[0][1]} "
                    f"Update {issue.min_update} to {issue.max_update}",
                )
            )
            continue
        token = issue.process[:8]
        evidence = (
            tuple(
                ln.evidence
                for ln in facts.summary
                if ln.kind is LineKind.HEARTBEAT and any(c.token == token for c in ln.top)
            )[-2:]
            + crash.evidence[:1]
        )
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
