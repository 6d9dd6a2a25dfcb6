"""Cross-host aggregation: which hosts share a root cause, a culprit, a known issue, and
which are heading for memory exhaustion soonest. Pure and deterministic: the same results in
any order give the same summary.

Groups are sorted by the number of hosts (most first), then by label. A host counts once per
group however many of its incidents fall in it. A host that is unknown (no host name in the
bundle) is shown by its incident key.

Examples:
    >>> from lostbeat.analyzer.result import CauseKind, CrashType
    >>> from lostbeat.fleet.model import BundleResult, Verdict, error_result
    >>> def ok(host, cause, process=None, at=None):
    ...     v = Verdict(CrashType.LOST_HEARTBEAT, cause, process=process, exhaustion_at=at)
    ...     return BundleResult(f"/b/{host}.tgz", (), host, True, None, "{}", v, 0.1)
    >>> s = rollup([
    ...     ok("esx1", CauseKind.LEAK, "VMap", 2e9),
    ...     ok("esx2", CauseKind.LEAK, "VMap", 1e9),
    ...     ok("esx3", CauseKind.SPIKE),
    ...     error_result("/b/bad.tgz", (), "not a tar archive"),
    ... ])
    >>> [(g.label, g.hosts) for g in s.by_root_cause]
    [('leak', ('esx1', 'esx2')), ('spike', ('esx3',))]
    >>> [h.host for h in s.soonest], s.errors
    (['esx2', 'esx1'], 1)
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from lostbeat.analyzer.result import CrashType
from lostbeat.fleet.model import BundleResult, Verdict, host_label
from lostbeat.fleet.provenance import LeakOrigin, host_views, leak_origins

__all__ = ["ErrorRow", "FleetSummary", "Group", "Heading", "host_label", "rollup"]

_CRASHES = frozenset(
    {CrashType.LOST_HEARTBEAT, CrashType.COS_OOPS, CrashType.COS_PANIC, CrashType.VMKERNEL}
)


@dataclass(frozen=True, slots=True)
class Group:
    """Hosts sharing one value: a root cause kind, a culprit or a known issue."""

    label: str
    """``leak``; ``VMap``; ``1009607``."""
    detail: str
    """The culprit's origin or the known issue's title; empty for root causes."""
    hosts: tuple[str, ...]
    incidents: int


@dataclass(frozen=True, slots=True)
class Heading:
    """A host heading for exhaustion: its most recent projection."""

    host: str
    key: str
    process: str | None
    exhaustion_at: float | None
    hours_to_exhaustion: float | None
    """The leak's whole run, from the first evidence of growth to exhaustion."""
    crashed: bool
    """The incident already ended in a crash (the projection is the past)."""


@dataclass(frozen=True, slots=True)
class ErrorRow:
    key: str
    paths: tuple[str, ...]
    error: str


@dataclass(frozen=True, slots=True)
class FleetSummary:
    incidents: int
    analysed: int
    errors: int
    hosts: int
    """Distinct hosts among the analysed incidents."""
    by_root_cause: tuple[Group, ...]
    by_culprit: tuple[Group, ...]
    by_known_issue: tuple[Group, ...]
    soonest: tuple[Heading, ...]
    """Earliest projected exhaustion first (then the shortest leak run, when no time)."""
    error_rows: tuple[ErrorRow, ...]
    leak_origins: tuple[LeakOrigin, ...] = ()
    """Where each culprit leaks across the hosts (:mod:`lostbeat.fleet.provenance`)."""


def _groups(pairs: Iterable[tuple[tuple[str, str], str]]) -> tuple[Group, ...]:
    hosts: dict[tuple[str, str], set[str]] = defaultdict(set)
    counts: dict[tuple[str, str], int] = defaultdict(int)
    for label_detail, host in pairs:
        hosts[label_detail].add(host)
        counts[label_detail] += 1
    groups = [Group(k[0], k[1], tuple(sorted(hosts[k])), counts[k]) for k in hosts]
    return tuple(sorted(groups, key=lambda g: (-len(g.hosts), g.label, g.detail)))


def _heading(result: BundleResult, v: Verdict) -> Heading:
    return Heading(
        host=host_label(result),
        key=result.key,
        process=v.process,
        exhaustion_at=v.exhaustion_at,
        hours_to_exhaustion=v.hours_to_exhaustion,
        crashed=v.crash_type in _CRASHES,
    )


def _soonest(analysed: Sequence[tuple[BundleResult, Verdict]], limit: int) -> tuple[Heading, ...]:
    latest: dict[str, Heading] = {}
    for result, v in analysed:
        if v.exhaustion_at is None and v.hours_to_exhaustion is None:
            continue
        heading = _heading(result, v)
        known = latest.get(heading.host)
        if known is None or _recency(heading) > _recency(known):
            latest[heading.host] = heading
    ranked = sorted(latest.values(), key=_rank)
    return tuple(ranked[:limit])


def _recency(h: Heading) -> tuple[float, str]:
    return (h.exhaustion_at if h.exhaustion_at is not None else float("-inf"), h.key)


def _rank(h: Heading) -> tuple[bool, float, float, str]:
    return (
        h.exhaustion_at is None,
        h.exhaustion_at if h.exhaustion_at is not None else 0.0,
        h.hours_to_exhaustion if h.hours_to_exhaustion is not None else float("inf"),
        h.host,
    )


def rollup(results: Sequence[BundleResult], *, soonest: int = 10) -> FleetSummary:
    """Aggregates one run's results across hosts.

    Args:
        results: one result per incident, ok or error, in any order.
        soonest: how many hosts to list as heading for exhaustion.
    """
    analysed = [(r, r.verdict) for r in results if r.ok and r.verdict is not None]
    errors = [r for r in results if not (r.ok and r.verdict is not None)]
    return FleetSummary(
        incidents=len(results),
        analysed=len(analysed),
        errors=len(errors),
        hosts=len({host_label(r) for r, _ in analysed}),
        by_root_cause=_groups(((v.root_cause_kind.value, ""), host_label(r)) for r, v in analysed),
        by_culprit=_groups(
            ((v.process, v.origin.value if v.origin else ""), host_label(r))
            for r, v in analysed
            if v.process is not None
        ),
        by_known_issue=_groups(
            ((k.kb, k.title), host_label(r)) for r, v in analysed for k in v.known_issues
        ),
        soonest=_soonest(analysed, soonest),
        error_rows=tuple(
            ErrorRow(r.key, r.paths, r.error or "no analysis")
            for r in sorted(errors, key=lambda r: r.key)
        ),
        leak_origins=leak_origins(host_views(results)),
    )
