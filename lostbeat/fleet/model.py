"""What a fleet worker sends back: :class:`BundleResult`, ok or error, small and picklable.

The worker reduces its :class:`~lostbeat.analyzer.result.AnalysisResult` to the compact
JSON document (stored whole) and a :class:`Verdict` (the columns the store indexes and the
roll-up counts), so the parent never parses a document again.

Examples:
    >>> from lostbeat.report.example import example_result
    >>> v = verdict_of(example_result())
    >>> v.crash_type.value, v.root_cause_kind.value, v.process, v.known_issue_kbs
    ('lost_heartbeat', 'leak', 'VMap', ())
    >>> error_result("/x/a.tgz", ("/x/a.tgz",), "not a tar archive").ok
    False
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from lostbeat.analyzer.findings import Severity
from lostbeat.analyzer.result import AnalysisResult, CauseKind, CrashType, Origin
from lostbeat.report.jsonout import to_document

__all__ = [
    "BundleResult",
    "FindingRow",
    "KnownIssueRow",
    "PackageRow",
    "Verdict",
    "compact_document",
    "error_result",
    "host_label",
    "verdict_of",
]


@dataclass(frozen=True, slots=True)
class FindingRow:
    id: str
    severity: Severity
    title: str


@dataclass(frozen=True, slots=True)
class KnownIssueRow:
    kb: str
    title: str


@dataclass(frozen=True, slots=True)
class PackageRow:
    """One installed package of the host: ``hp-snmp-agents``, ``8.2.0-164.rhel4``, ``HP``."""

    name: str
    version: str
    """``version-release``, as ``rpm -qa`` prints it after the name."""
    vendor: str | None = None


@dataclass(frozen=True, slots=True)
class Verdict:
    """The indexed columns of one analysed incident; unknown values are None."""

    crash_type: CrashType
    root_cause_kind: CauseKind
    crashed_at: float | None = None
    process: str | None = None
    """The culprit's full name, else its vmksummary token, else None."""
    origin: Origin | None = None
    confidence: float = 0.0
    hours_to_exhaustion: float | None = None
    exhaustion_at: float | None = None
    known_issues: tuple[KnownIssueRow, ...] = ()
    findings: tuple[FindingRow, ...] = ()
    analysis_errors: int = 0
    """Parsers or rules that failed inside an analysis that still finished."""
    build: int | None = None
    """The host's ESX build, from the screen or the version files."""
    release: str | None = None
    """The release that build belongs to: ``ESX 3.5 Update 2``."""
    packages: tuple[PackageRow, ...] = ()
    """The host's installed packages (``rpm -qa``), where the agents' versions are read."""

    @property
    def known_issue_kbs(self) -> tuple[str, ...]:
        return tuple(k.kb for k in self.known_issues)


@dataclass(frozen=True, slots=True)
class BundleResult:
    """One incident's outcome: ``ok`` with a document and verdict, or an error message."""

    key: str
    paths: tuple[str, ...]
    host: str | None
    ok: bool
    error: str | None
    document: str | None
    """The ``lostbeat.analysis/2`` document, compact JSON with sorted keys."""
    verdict: Verdict | None
    duration_s: float

    @property
    def sort_key(self) -> tuple[str, str]:
        """Hosts in name order (unknown hosts last), then incident keys."""
        return (self.host if self.host is not None else "\uffff", self.key)


def host_label(result: BundleResult) -> str:
    """The host's name, or the incident key when the bundle did not name its host."""
    return result.host if result.host is not None else f"(unknown host) {result.key}"


def compact_document(result: AnalysisResult) -> str:
    """The result's JSON document as compact, stable text (sorted keys, no spaces)."""
    return json.dumps(to_document(result), sort_keys=True, separators=(",", ":"), allow_nan=False)


def verdict_of(result: AnalysisResult) -> Verdict:
    """The indexed columns of ``result``."""
    cause = result.root_cause
    return Verdict(
        crash_type=result.crash.type,
        root_cause_kind=cause.kind,
        crashed_at=result.crash.crashed_at,
        process=cause.process or cause.token,
        origin=cause.origin,
        confidence=cause.confidence,
        hours_to_exhaustion=cause.hours_to_exhaustion,
        exhaustion_at=cause.exhaustion_at,
        known_issues=tuple(KnownIssueRow(k.kb, k.title) for k in result.known_issues),
        findings=tuple(FindingRow(f.id, f.severity, f.title) for f in result.findings),
        analysis_errors=len(result.errors),
        build=result.crash.build,
        release=result.crash.release,
        packages=tuple(PackageRow(p.name, p.full_version, p.vendor) for p in result.host_packages),
    )


def error_result(
    key: str, paths: tuple[str, ...], message: str, *, duration_s: float = 0.0
) -> BundleResult:
    """The error row of an incident that could not be analysed."""
    return BundleResult(
        key=key,
        paths=paths,
        host=None,
        ok=False,
        error=message,
        document=None,
        verdict=None,
        duration_s=duration_s,
    )
