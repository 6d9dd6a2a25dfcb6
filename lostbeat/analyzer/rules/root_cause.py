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
from lostbeat.analyzer.fine import fine_series, sample_times
from lostbeat.analyzer.parsers.vmksummary import SummaryLine
from lostbeat.analyzer.result import CauseKind, Crash, CrashType, RootCause
from lostbeat.analyzer.rules._rule import rule
from lostbeat.analyzer.rules.memory import SWAP_DANGER
from lostbeat.analyzer.rules.timeline import Timeline
from lostbeat.analyzer.trend import Trend, fit, suffix_starts, undo_restarts

__all__ = ["Leak", "RootCauseJudgement", "judge_root_cause", "series_by_token"]

MIN_LINES = 6
"""Hourly lines needed in the crashed boot before any verdict on memory."""
MIN_POINTS = 5
MIN_SPAN_S = 4 * 3600.0
"""Span a leak must cover in the hourly record (a recording needs MIN_FINE_STEPS samples)."""
MIN_FINE_STEPS = 20
MAX_STEP_SHARE = 0.5
"""A leak grows in many small steps: one step holding more of the growth is a jump."""
MIN_TAU = 0.5
MAX_P = 0.01
MIN_GROWTH_OF_RAM = 0.04
"""A leak must add at least this share of MemTotal over the window..."""
MIN_GROWTH_RELATIVE = 0.25
"""...or grow by this share of its own size."""
NEW_HIGH = 0.05
"""How far above its earlier peak a growing suffix must end to be a leak."""
MAX_FILL_H = 24.0
"""A leak that brought the console down could fill the swap left at the last summary within
this many hours; growth slower than that is a drift, and the crash needed a spike."""
MIN_OWN_GROWTH = 0.10
"""Whatever the console's size, a leak adds at least a tenth to the process's own size."""
CONTENTION_SWAP = 75.0
"""Swap use at the last summary past which a static console counts as contended: near the
80 % danger line, where the console had no room left to absorb an hour's growth."""
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


def _big_enough(trend: Trend, mem_total_kb: float | None, min_span_s: float) -> bool:
    if trend.slope_kb_per_h <= 0 or trend.end - trend.start < min_span_s:
        return False
    if trend.tau < MIN_TAU or trend.p_value > MAX_P:
        return False
    growth = trend.growth_kb
    own = growth / trend.first_kb if trend.first_kb > 0 else float("inf")
    if own < MIN_OWN_GROWTH:
        return False  # a large process drifting a few percent is noise, not a leak
    if mem_total_kb and growth >= MIN_GROWTH_OF_RAM * mem_total_kb:
        return True
    return own >= MIN_GROWTH_RELATIVE


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


def _one_jump(points: Sequence[tuple[float, float]], *, span: int = 1) -> bool:
    """True when ``span`` consecutive steps hold most of the series' rise: a jump, not a
    leak. Fine samples use JUMP_STEPS, since a sample may catch an allocation half-made."""
    steps = [b[1] - a[1] for a, b in zip(points, points[1:], strict=False)]
    rise = sum(st for st in steps if st > 0)
    burst = max(sum(steps[i : i + span]) for i in range(max(len(steps) - span + 1, 1)))
    return rise > 0 and burst > MAX_STEP_SHARE * rise


def _new_high(before: Sequence[tuple[float, float]], tail: Sequence[tuple[float, float]]) -> bool:
    """A leak ends above anything the process held before it began; the rising half of a
    daily cycle only climbs back to the peaks of earlier days."""
    if not before:
        return True
    last = sorted(kb for _, kb in tail[-3:])[len(tail[-3:]) // 2]
    return last >= (1.0 + NEW_HIGH) * max(kb for _, kb in before)


def find_leak(
    token: str,
    points: Sequence[tuple[float, float]],
    mem_total_kb: float | None,
    *,
    min_span_s: float = MIN_SPAN_S,
    jump_span: int = 1,
) -> Leak | None:
    """The leak in one token's series, or None."""
    if len(points) < MIN_POINTS:
        return None
    # a leak with restarts: judged over every cycle once the drops are undone
    adjusted, restarts = undo_restarts(points)
    if restarts:
        adj = fit(adjusted)
        if (
            adj is not None
            and _big_enough(adj, mem_total_kb, min_span_s)
            and _runs_rise(points, adjusted)
            and not _one_jump(adjusted, span=jump_span)
        ):
            return Leak(token, adj, restarts, tuple(points))
    # a leak that began somewhere in the boot: the best-growing suffix
    best: Trend | None = None
    for start in suffix_starts([t for t, _ in points], min_points=MIN_POINTS):
        tail = points[start:]
        trend = fit(tail)
        if (
            trend is not None
            and _big_enough(trend, mem_total_kb, min_span_s)
            and not _one_jump(tail, span=jump_span)
            and _new_high(points[:start], tail)
            and (best is None or trend.tau > best.tau + 0.02)
        ):
            best = trend
    if best is None:
        return None
    first = next(i for i, (t, _) in enumerate(points) if t >= best.start)
    return Leak(token, best, 0, tuple(points[first:]))


def _capacity_kb(facts: HostFacts) -> float | None:
    """RAM plus swap of the watched domain (a capture's cgroup has no swap of its own)."""
    domain = facts.domain_kb
    if domain is None:
        return None
    if facts.captures and facts.captures[0].limit_bytes:
        return domain
    info = facts.meminfo
    if info is not None and info.total is not None:
        return domain + (info.swap_total or 0) / 1024.0
    rec = facts.recording
    last = rec.system[-1] if rec is not None and rec.system else None
    return domain + ((last.swap_total or 0) / 1024.0 if last is not None else 0.0)


@dataclass(frozen=True, slots=True)
class _Window:
    """The memory history judged: hourly vmksummary lines, or a recording's fine samples."""

    series: dict[str, list[tuple[float, float]]]
    names: dict[str, str]
    """Full names, known for a recording; tokens are resolved later for vmksummary."""
    samples: int
    min_span_s: float
    fine: bool
    lines: tuple[SummaryLine, ...]
    end: float | None

    def last_top(self) -> list[tuple[str, float]]:
        last = [
            (key, pts[-1][1])
            for key, pts in self.series.items()
            if self.end is not None and pts[-1][0] >= self.end - 1.0
        ]
        return sorted(last, key=lambda kv: -kv[1])[:3]

    def unit(self) -> str:
        return "samples" if self.fine else "hourly points"


def _window(facts: HostFacts, timeline: Timeline, crash: Crash) -> _Window:
    rec = facts.recording
    if rec is not None and rec.processes:
        until = crash.crashed_at
        fine = fine_series(rec, until=until)
        if facts.captures:
            # the capture lists the watched domain's processes: judge only those
            members = {p.comm[:15] for cap in facts.captures for p in cap.top}
            fine = tuple(f for f in fine if f.name[:15] in members) or fine
        if fine:
            series: dict[str, list[tuple[float, float]]] = {}
            names: dict[str, str] = {}
            for item in fine:
                key = item.name if item.name not in series else f"{item.name} {item.cmdline}"
                series[key], names[key] = list(item.points), item.name
            steps = len(sample_times(rec, until=until))
            last = max(pts[-1][0] for pts in series.values())
            interval = rec.interval_s or 10.0
            return _Window(series, names, steps, MIN_FINE_STEPS * interval, True, (), last)
    incident = timeline.incident
    lines = incident.lines if incident else ()
    hourly = series_by_token(lines)
    end = float(lines[-1].epoch) if lines and lines[-1].epoch is not None else None
    return _Window(hourly, {}, len(lines), MIN_SPAN_S, False, lines, end)


def _leak_cause(leaks: list[Leak], facts: HostFacts, window: _Window, crash: Crash) -> RootCause:
    main = leaks[0]
    trend = main.trend
    last_t, last_kb = main.points[-1]
    capacity = _capacity_kb(facts)
    exhaustion_at: float | None = None
    hours: float | None = None
    if capacity is not None and trend.slope_kb_per_h > 0:
        others = sum(kb for key, kb in window.last_top() if key != main.token)
        room = max(capacity - others - last_kb, 0.0)
        exhaustion_at = last_t + 3600.0 * room / trend.slope_kb_per_h
        hours = round((exhaustion_at - trend.start) / 3600.0, 2)
    confidence = 0.6
    confidence += 0.15 if trend.tau >= 0.8 else 0.0
    confidence += 0.1 if _swap_rising(window.lines) else 0.0
    confidence += 0.1 if trend.n >= 24 else 0.0
    if crash.type is CrashType.UNKNOWN:
        confidence -= 0.2
    restarts = f", restarted {main.restarts} time(s) and grew again" if main.restarts else ""
    name = window.names.get(main.token, main.token)
    explanation = (
        f"{name} grew {trend.slope_kb_per_h / 1024:.1f} MB/h for {_span(trend)} "
        f"(Kendall tau {trend.tau:.2f} over {trend.n} {window.unit()}{restarts})"
    )
    return RootCause(
        kind=CauseKind.LEAK,
        process=window.names.get(main.token),
        token=name[:8] if window.fine else main.token,
        confidence=round(min(confidence, 0.95), 2),
        rate_kb_per_hour=round(trend.slope_kb_per_h, 1),
        since=trend.start,
        exhaustion_at=exhaustion_at,
        hours_to_exhaustion=hours,
        others=tuple(
            window.names.get(lk.token, lk.token) if window.fine else lk.token for lk in leaks[1:]
        ),
        explanation=explanation,
    )


def _span(trend: Trend) -> str:
    span = trend.end - trend.start
    return f"{span / 3600:.0f} h" if span >= 3600 else f"{span:.0f} s"


def _swap_rising(lines: Sequence[SummaryLine]) -> bool:
    pts = [
        (float(ln.epoch), float(ln.swap_used_bytes))
        for ln in lines
        if ln.epoch is not None and ln.swap_used_bytes is not None
    ]
    trend = fit(pts[-48:])
    return trend is not None and trend.slope_kb_per_h > 0 and trend.tau >= MIN_TAU


def _value_at(points: Sequence[tuple[float, float]], when: float) -> float:
    before = [kb for t, kb in points if t <= when]
    return before[-1] if before else 0.0


def _pressure(facts: HostFacts, window: _Window) -> tuple[float | None, float | None]:
    """Swap used and how full the domain was before the end, in percent.

    For the hourly record that is the last summary (an hour or less before the crash). For
    fine samples it is the domain's fill four fifths into the window: a domain that hung is
    always full at the very end, so only fullness well before it tells contention.
    """
    info = facts.meminfo
    rec = facts.recording
    if window.fine and window.end is not None:
        start = min(pts[0][0] for pts in window.series.values())
        when = start + 0.8 * (window.end - start)
        domain = facts.domain_kb
        if facts.captures and domain:
            used = sum(_value_at(pts, when) for pts in window.series.values())
            return None, 100.0 * used / domain
        points = [p for p in rec.system if p.epoch <= when] if rec is not None else []
        if not points:
            return None, None
        p = points[-1]
        swap = (
            100.0 * p.swap_used / p.swap_total if p.swap_used is not None and p.swap_total else None
        )
        ram = (
            100.0 * (1 - p.mem_available / p.mem_total)
            if p.mem_available is not None and p.mem_total
            else None
        )
        return swap, ram
    last = window.lines[-1] if window.lines else None
    if last is None:
        return None, None
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


JUMP_STEPS = 3
"""A jump is a rise within this many samples: an allocation caught half-made by a sample
shows as two steps, and must still count as one jump."""


def _jump(window: _Window, mem_total_kb: float | None) -> tuple[str, float, float] | None:
    """In fine samples, the biggest sudden rise of one program: (key, KB, when)."""
    if not window.fine:
        return None
    floor = max(32 * 1024.0, 0.01 * (mem_total_kb or 0.0))
    best: tuple[str, float, float] | None = None
    for key, pts in window.series.items():
        for i in range(1, len(pts)):
            low = min(kb for _, kb in pts[max(0, i - JUMP_STEPS) : i])
            rise = pts[i][1] - low
            if rise >= floor and rise >= 0.5 * low and (best is None or rise > best[1]):
                best = (key, rise, pts[i][0])
    return best


def _can_exhaust(leaks: Sequence[Leak], facts: HostFacts, window: _Window) -> bool:
    """Did the growth bring the console to the edge (swap past its danger line), or could it,
    at its pace, have used up the swap still free at the last summary within MAX_FILL_H?
    Unknown swap (or a recording) gives the growth the benefit."""
    info = facts.meminfo
    last = window.lines[-1] if window.lines else None
    if (
        window.fine
        or info is None
        or not info.swap_total
        or last is None
        or last.swap_used_bytes is None
    ):
        return True
    if 100.0 * last.swap_used_bytes / info.swap_total >= SWAP_DANGER:
        return True  # the growth had already brought the console to the edge
    free_kb = max(info.swap_total - last.swap_used_bytes, 0) / 1024.0
    rate = sum(max(lk.trend.slope_kb_per_h, 0.0) for lk in leaks)
    return rate > 0 and free_kb / rate <= MAX_FILL_H


def _ongoing(leaks: Sequence[Leak], window: _Window) -> Finding:
    lk = leaks[0]
    name = window.names.get(lk.token, lk.token)
    evidence = tuple(ln.evidence for ln in window.lines if any(c.token == lk.token for c in ln.top))
    return Finding(
        "root_cause.ongoing_leak",
        Severity.WARNING,
        f"{name} is growing: heading for memory exhaustion",
        f"{lk.trend.slope_kb_per_h / 1024:.1f} MB/h over {_span(lk.trend)}",
        evidence[-3:],
    )


@rule("root_cause", artifacts=("vmksummary", "meminfo", "recording"))
def judge_root_cause(facts: HostFacts, timeline: Timeline, crash: Crash) -> RootCauseJudgement:
    """Leak, spike, contention, inconclusive or not a memory crash."""
    window = _window(facts, timeline, crash)
    mem_total_kb = facts.domain_kb
    leaks = [
        leak
        for key, pts in window.series.items()
        if (
            leak := find_leak(
                key,
                pts,
                mem_total_kb,
                min_span_s=window.min_span_s,
                jump_span=JUMP_STEPS if window.fine else 1,
            )
        )
        is not None
    ]
    # several leakers: the fastest is the culprit (spans differ, so totals would mislead)
    leaks.sort(key=lambda x: -x.trend.slope_kb_per_h)
    if crash.type in _NOT_MEMORY or (crash.type is CrashType.NONE and not window.fine):
        what = "no crash" if crash.type is CrashType.NONE else f"a {crash.type.value} crash"
        cause = RootCause(
            CauseKind.NOT_MEMORY, confidence=0.9, explanation=f"{what}, not a lost heartbeat"
        )
        return RootCauseJudgement(cause, tuple(leaks), (_ongoing(leaks, window),) if leaks else ())
    drifts: list[Leak] = []
    if leaks and not _can_exhaust(leaks, facts, window):
        leaks, drifts = [], leaks
    if window.samples < (MIN_FINE_STEPS if window.fine else MIN_LINES):
        cause = RootCause(
            CauseKind.INCONCLUSIVE,
            confidence=0.3,
            explanation=(
                f"only {window.samples} {window.unit()} before the crash: too little history"
            ),
        )
        return RootCauseJudgement(cause, (), ())
    if leaks:
        cause = _leak_cause(leaks, facts, window, crash)
        evidence = tuple(
            ln.evidence for ln in window.lines if any(c.token == cause.token for c in ln.top)
        )
        finding = Finding(
            "root_cause.leak",
            Severity.CRITICAL,
            f"Memory leak in {cause.process or cause.token}",
            cause.explanation,
            evidence[:2] + evidence[-3:],
        )
        return RootCauseJudgement(cause, tuple(leaks), (finding,))
    swap, ram = _pressure(facts, window)
    jump = _jump(window, mem_total_kb)
    top = ", ".join(f"{window.names.get(k, k)} {kb / 1024:.0f} MB" for k, kb in window.last_top())
    last_ev = (window.lines[-1].evidence,) if window.lines else ()
    if jump is not None:
        key, rise, when = jump
        name = window.names.get(key, key)
        cause = RootCause(
            CauseKind.SPIKE,
            process=name,
            token=name[:8],
            confidence=0.8,
            since=when,
            explanation=(
                f"{name} jumped by {rise / 1024:.0f} MB at once in the fine samples; nothing grew "
                "steadily"
            ),
        )
        title = f"Memory spike in {name}"
    elif (swap is not None and swap >= CONTENTION_SWAP) or (
        swap is None and ram is not None and ram >= CONTENTION_RAM
    ):
        cause = RootCause(
            CauseKind.CONTENTION,
            confidence=0.7,
            explanation=(
                f"no process grows, yet memory was full at the end of the record "
                f"(swap {swap or 0:.0f} % used; top three {top}): static contention"
            ),
        )
        title = "Memory contention: usage high and static"
    elif crash.type is CrashType.NONE:
        cause = RootCause(
            CauseKind.NOT_MEMORY,
            confidence=0.8,
            explanation="no crash, and no leak, jump or contention in the record",
        )
        return RootCauseJudgement(cause, (), ())
    else:
        cause = RootCause(
            CauseKind.SPIKE,
            confidence=0.6 if swap is not None else 0.5,
            explanation=(
                f"no growth in {window.samples} {window.unit()} and the console was not full at "
                f"the last one (swap {swap or 0:.0f} % used): memory ran out within the last hour, "
                "which the hourly log cannot show"
            ),
        )
        title = "Memory spike within the hour"
    finding = Finding(
        f"root_cause.{cause.kind.value}", Severity.CRITICAL, title, cause.explanation, last_ev
    )
    return RootCauseJudgement(cause, (), (finding, *(_drift(d, window) for d in drifts)))


def _drift(leak: Leak, window: _Window) -> Finding:
    """A process that grew in the last hours, too slowly to have exhausted the console."""
    name = window.names.get(leak.token, leak.token)
    t = leak.trend
    share = 100.0 * (t.last_kb - t.first_kb) / t.first_kb if t.first_kb else 0.0
    return Finding(
        "root_cause.drift",
        Severity.INFO,
        f"{name} grew {share:.0f} % in {_span(t)}, too slowly to exhaust the console",
        f"{t.slope_kb_per_h / 1024:.1f} MB/h could not have used the swap still free at the "
        f"last summary within {MAX_FILL_H:.0f} h; watch it, but it did not cause this crash",
    )
