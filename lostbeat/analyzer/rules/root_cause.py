"""Root cause: a leak, a spike, contention, too little data, or not a memory crash.

- ``leak``: a process grows steadily over hours or days. Restarts that drop it and growth
  after them are still a leak (the drops are undone before fitting). Growth is judged with
  Theil-Sen and Kendall's tau (see ``analyzer/trend.py``), never a line through two points.
- ``contention``: nothing grows, but at the last summary the console was already full (swap
  half used, or the top consumers holding most of the RAM): plain contention.
- ``spike``: nothing grows and the console was not full at the last summary: exhaustion came
  within the hour, which an hourly log cannot show (KB 308590).
- ``inconclusive``: fewer than MIN_LINES hourly lines in the boot that crashed.
- ``not_memory``: the crash is not a lost heartbeat (or there was no crash).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from lostbeat.analyzer.facts import HostFacts
from lostbeat.analyzer.findings import Finding, Severity
from lostbeat.analyzer.parsers.vmksummary import SummaryLine
from lostbeat.analyzer.result import CauseKind, Crash, CrashType, RootCause
from lostbeat.analyzer.rules import rule
from lostbeat.analyzer.rules.timeline import Timeline
from lostbeat.analyzer.trend import Trend, fit, undo_restarts

__all__ = ["Leak", "RootCauseJudgement", "judge_root_cause", "series_by_token"]

MIN_LINES = 6
"""Hourly lines needed in the crashed boot before any verdict on memory."""
MIN_POINTS = 5
MIN_SPAN_H = 4.0
MIN_TAU = 0.5
MAX_P = 0.01
MIN_GROWTH_OF_RAM = 0.04
"""A leak must add at least this share of MemTotal over the window..."""
MIN_GROWTH_RELATIVE = 0.25
"""...or grow by this share of its own size."""
CONTENTION_SWAP = 50.0
CONTENTION_RAM = 60.0
_NOT_MEMORY = (CrashType.COS_OOPS, CrashType.COS_PANIC, CrashType.VMKERNEL)


@dataclass(frozen=True, slots=True)
class Leak:
    token: str
    trend: Trend
    restarts: int
    points: tuple[tuple[float, float], ...]

    @property
    def added_kb(self) -> float:
        return self.trend.last_kb - self.trend.first_kb


@dataclass(frozen=True, slots=True)
class RootCauseJudgement:
    root_cause: RootCause
    leaks: tuple[Leak, ...]
    findings: tuple[Finding, ...]


def series_by_token(lines: Sequence[SummaryLine]) -> dict[str, list[tuple[float, float]]]:
    """(epoch, KB) points of each top-three token, in time order."""
    series: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for line in lines:
        if line.epoch is None:
            continue
        for consumer in line.top:
            series[consumer.token].append((float(line.epoch), float(consumer.kb)))
    return dict(series)


def _big_enough(trend: Trend, mem_total_kb: float | None) -> bool:
    if trend.slope_kb_per_h <= 0 or trend.span_h < MIN_SPAN_H:
        return False
    if trend.tau < MIN_TAU or trend.p_value > MAX_P:
        return False
    growth = trend.growth_kb
    if mem_total_kb and growth >= MIN_GROWTH_OF_RAM * mem_total_kb:
        return True
    return trend.first_kb > 0 and growth >= MIN_GROWTH_RELATIVE * trend.first_kb


def _runs_rise(
    points: Sequence[tuple[float, float]], adjusted: Sequence[tuple[float, float]]
) -> bool:
    """After undoing restarts, most runs of three or more raw points must themselves rise."""
    runs: list[list[tuple[float, float]]] = []
    offset: float | None = None
    for (when, raw), (_, adj) in zip(points, adjusted, strict=True):
        if offset is None or adj - raw != offset:
            runs.append([])
            offset = adj - raw
        runs[-1].append((when, raw))
    fits = [fit(run) for run in runs if len(run) >= 3]
    rising = [f for f in fits if f is not None and f.slope_kb_per_h > 0 and f.tau >= MIN_TAU]
    return len(fits) >= 1 and len(rising) * 2 > len(fits)


def find_leak(
    token: str, points: Sequence[tuple[float, float]], mem_total_kb: float | None
) -> Leak | None:
    """The leak in one token's series, or None."""
    if len(points) < MIN_POINTS:
        return None
    raw = fit(points)
    if raw is not None and _big_enough(raw, mem_total_kb):
        return Leak(token, raw, 0, tuple(points))
    adjusted, restarts = undo_restarts(points)
    if restarts == 0:
        return None
    adj = fit(adjusted)
    if adj is not None and _big_enough(adj, mem_total_kb) and _runs_rise(points, adjusted):
        return Leak(token, adj, restarts, tuple(points))
    return None


def _capacity_kb(facts: HostFacts) -> float | None:
    info = facts.meminfo
    if info is None or info.total is None:
        return None
    return (info.total + (info.swap_total or 0)) / 1024.0


def _leak_cause(
    leaks: list[Leak], facts: HostFacts, lines: Sequence[SummaryLine], crash: Crash
) -> RootCause:
    leaks.sort(key=lambda lk: lk.trend.growth_kb, reverse=True)
    main = leaks[0]
    trend = main.trend
    last_t, last_kb = main.points[-1]
    capacity = _capacity_kb(facts)
    exhaustion_at: float | None = None
    hours: float | None = None
    if capacity is not None and trend.slope_kb_per_h > 0:
        others = sum(c.kb for c in lines[-1].top if c.token != main.token) if lines else 0
        room = max(capacity - others - last_kb, 0.0)
        exhaustion_at = last_t + 3600.0 * room / trend.slope_kb_per_h
        hours = round((exhaustion_at - trend.start) / 3600.0, 1)
    swap_rising = _swap_rising(lines)
    confidence = 0.6
    confidence += 0.15 if trend.tau >= 0.8 else 0.0
    confidence += 0.1 if swap_rising else 0.0
    confidence += 0.1 if trend.n >= 24 else 0.0
    if crash.type is CrashType.UNKNOWN:
        confidence -= 0.2
    restarts = f", restarted {main.restarts} time(s) and grew again" if main.restarts else ""
    explanation = (
        f"{main.token} grew {trend.slope_kb_per_h / 1024:.1f} MB/h for {trend.span_h:.0f} h "
        f"(Kendall tau {trend.tau:.2f}, {trend.n} hourly points{restarts})"
    )
    return RootCause(
        kind=CauseKind.LEAK,
        token=main.token,
        confidence=round(min(confidence, 0.95), 2),
        rate_kb_per_hour=round(trend.slope_kb_per_h, 1),
        since=trend.start,
        exhaustion_at=exhaustion_at,
        hours_to_exhaustion=hours,
        others=tuple(lk.token for lk in leaks[1:]),
        explanation=explanation,
    )


def _swap_rising(lines: Sequence[SummaryLine]) -> bool:
    pts = [
        (float(ln.epoch), float(ln.swap_used_bytes))
        for ln in lines
        if ln.epoch is not None and ln.swap_used_bytes is not None
    ]
    trend = fit(pts[-48:])
    return trend is not None and trend.slope_kb_per_h > 0 and trend.tau >= MIN_TAU


def _pressure(facts: HostFacts, last: SummaryLine) -> tuple[float | None, float | None]:
    info = facts.meminfo
    swap = (
        100.0 * last.swap_used_bytes / info.swap_total
        if info and info.swap_total and last.swap_used_bytes is not None
        else None
    )
    ram = (
        100.0 * sum(c.kb for c in last.top) * 1024 / info.total
        if info and info.total and last.top
        else None
    )
    return swap, ram


@rule("root_cause", artifacts=("vmksummary", "meminfo"))
def judge_root_cause(facts: HostFacts, timeline: Timeline, crash: Crash) -> RootCauseJudgement:
    """Leak, spike, contention, inconclusive or not a memory crash."""
    incident = timeline.incident
    lines = incident.lines if incident else ()
    mem_total_kb = facts.meminfo.total / 1024.0 if facts.meminfo and facts.meminfo.total else None
    leaks = [
        leak
        for token, pts in series_by_token(lines).items()
        if (leak := find_leak(token, pts, mem_total_kb)) is not None
    ]
    findings: list[Finding] = []
    if crash.type in _NOT_MEMORY or crash.type is CrashType.NONE:
        what = "no crash" if crash.type is CrashType.NONE else f"a {crash.type.value} crash"
        cause = RootCause(
            CauseKind.NOT_MEMORY, confidence=0.9, explanation=f"{what}, not a lost heartbeat"
        )
        if leaks:
            lk = max(leaks, key=lambda x: x.trend.growth_kb)
            findings.append(
                Finding(
                    "root_cause.ongoing_leak",
                    Severity.WARNING,
                    f"{lk.token} is growing: heading for memory exhaustion",
                    f"{lk.trend.slope_kb_per_h / 1024:.1f} MB/h over {lk.trend.span_h:.0f} h",
                    tuple(ln.evidence for ln in lines if any(c.token == lk.token for c in ln.top))[
                        -3:
                    ],
                )
            )
        return RootCauseJudgement(cause, tuple(leaks), tuple(findings))
    if len(lines) < MIN_LINES:
        cause = RootCause(
            CauseKind.INCONCLUSIVE,
            confidence=0.3,
            explanation=(
                f"only {len(lines)} hourly summaries before the crash: too little history"
            ),
        )
        return RootCauseJudgement(cause, (), ())
    if leaks:
        cause = _leak_cause(leaks, facts, lines, crash)
        evidence = tuple(ln.evidence for ln in lines if any(c.token == cause.token for c in ln.top))
        findings.append(
            Finding(
                "root_cause.leak",
                Severity.CRITICAL,
                f"Memory leak in {cause.token}",
                cause.explanation,
                evidence[:2] + evidence[-3:],
            )
        )
        return RootCauseJudgement(
            cause, tuple(sorted(leaks, key=lambda x: -x.trend.growth_kb)), tuple(findings)
        )
    last = lines[-1]
    swap, ram = _pressure(facts, last)
    full = (swap is not None and swap >= CONTENTION_SWAP) or (
        (swap is None or not facts.meminfo or not facts.meminfo.swap_total)
        and ram is not None
        and ram >= CONTENTION_RAM
    )
    shown = ", ".join(f"{c.token} {c.kb // 1024} MB" for c in last.top)
    if full:
        cause = RootCause(
            CauseKind.CONTENTION,
            confidence=0.7,
            explanation=(
                f"no process grows, yet the console was full at the last summary "
                f"(swap {swap or 0:.0f} % used; top three {shown}): static contention"
            ),
        )
        sev, title = Severity.CRITICAL, "Memory contention: usage high and static"
    else:
        cause = RootCause(
            CauseKind.SPIKE,
            confidence=0.6 if swap is not None else 0.5,
            explanation=(
                f"no growth in {len(lines)} hourly summaries and the console was not full at the "
                f"last one (swap {swap or 0:.0f} % used): memory ran out within the last hour, "
                "which the hourly log cannot show"
            ),
        )
        sev, title = Severity.CRITICAL, "Memory spike within the hour"
    findings.append(
        Finding(f"root_cause.{cause.kind.value}", sev, title, cause.explanation, (last.evidence,))
    )
    return RootCauseJudgement(cause, (), tuple(findings))
