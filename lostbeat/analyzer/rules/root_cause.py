"""Root cause: a leak, a spike, contention, too little data, or not a memory crash.

- ``leak``: a process grows steadily (``analyzer/leaks.py``). A leak blamed for a crash
  brought the domain to its end by then: where the sizes are resident, its projected
  exhaustion falls at or before the end; where they are virtual (vmksummary), the report
  says what it held instead of a date. With no process's series leaking and none named,
  the domain's own use rising steadily to the end is a leak no process is named for.
- ``contention``: nothing grows, but before the end the domain was already full (swap near
  its danger line, or the consumers holding most of the memory): plain contention.
- ``spike``: a sudden rise the history shows, or nothing grows and the domain was not full
  at the last record: exhaustion came faster than the records could show (KB 308590).
- ``inconclusive``: fewer samples than the history needs (``Sampling.min_samples``), unless
  the crash's own evidence names the consumer (``Facts.grower``: an OOM report's task table,
  a victim holding most of the memory): then, unless the history shows a leak, a ``leak``
  when it grew across the reports or the domain's own use rose steadily before the end, else
  a ``spike``, with that consumer.
- ``not_memory``: the crash is not a memory fault (its class, or a type the platform says its
  memory domain cannot cause), or there was no crash.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from lostbeat.analyzer.facts import Facts, Measure, MemoryHistory, Series
from lostbeat.analyzer.findings import Finding, Severity
from lostbeat.analyzer.leaks import (
    MAX_FILL_H,
    Leak,
    can_exhaust,
    exhaustion_at,
    fill_window_h,
    find_leaks,
)
from lostbeat.analyzer.result import CauseKind, Crash, CrashClass, CrashType, RootCause
from lostbeat.analyzer.rules._rise import domain_rise, risen, unnamed_leak
from lostbeat.analyzer.rules._rule import rule
from lostbeat.analyzer.trend import Trend, fit
from lostbeat.analyzer.units import duration, percent, rate_kb_h, size_kb

__all__ = ["RootCauseJudgement", "judge_root_cause", "settled_class"]

CONTENTION_SWAP = 75.0
"""Swap use before the end past which a static domain counts as contended: near the 80 %
danger line, where it had no room left to absorb an hour's growth."""
CONTENTION_RAM = 60.0
MIN_TAU = 0.5
JUMP_FLOOR_KB = 32 * 1024.0
"""A jump is at least this big (and a hundredth of the domain), and half the process's size."""
NOT_MEMORY = frozenset(
    {
        CrashClass.HARDWARE,
        CrashClass.DRIVER,
        CrashClass.VMKERNEL,
        CrashClass.SERVICE_CONSOLE,
        CrashClass.KERNEL,
    }
)


@dataclass(frozen=True, slots=True)
class RootCauseJudgement:
    root_cause: RootCause
    leaks: tuple[Leak, ...]
    findings: tuple[Finding, ...]


def _series(history: MemoryHistory) -> dict[str, Series]:
    return {s.key: s for s in history.series}


def _span(trend: Trend) -> str:
    return duration((trend.end - trend.start) / 3600.0)


def _room(leak: Leak, facts: Facts) -> float | None:
    """What the domain could still take when the leak's last point was recorded."""
    capacity = facts.domain.capacity_kb
    if capacity is None:
        return None
    everyone = facts.history.last_top(len(facts.history.series))
    others = sum(kb for key, kb in everyone if key != leak.token)
    return capacity - others - leak.points[-1][1]


def _end_of(facts: Facts) -> float | None:
    return facts.crash.crashed_at if facts.crash.crashed_at is not None else facts.history.end


def _projected(leak: Leak, facts: Facts) -> float | None:
    """Exhaustion at the leak's pace, where sizes are resident and the domain known; never
    after the moment the evidence saw the domain exhausted (processes' sizes do not count
    the page cache and kernel memory a cgroup's limit also holds)."""
    if facts.history.sampling.measure is not Measure.RESIDENT:
        return None
    room = _room(leak, facts)
    projected = exhaustion_at(leak, room_kb=room) if room is not None else None
    seen = facts.domain.exhausted_at
    return min(projected, seen) if projected is not None and seen is not None else projected


def _late(leak: Leak, facts: Facts) -> bool:
    """A resident leak whose projection falls well after the end did not bring it."""
    end, projected = _end_of(facts), _projected(leak, facts)
    if end is None or projected is None or facts.crash.type is CrashType.NONE:
        return False
    slack = max(2 * facts.history.sampling.resolution_s, 0.1 * (end - leak.trend.start))
    return projected > end + slack


def _swap_rising(history: MemoryHistory) -> bool:
    pts = [(t, float(b)) for t, b in history.swap]
    trend = fit(pts[-48:], min_tau=MIN_TAU)
    return trend is not None and trend.slope_kb_per_h > 0


def _leak_cause(leaks: Sequence[Leak], facts: Facts) -> RootCause:
    main = leaks[0]
    trend = main.trend
    hist, crash = facts.history, facts.crash
    series = _series(hist)[main.token]
    exhaustion = _projected(main, facts)
    hours = round((exhaustion - trend.start) / 3600.0, 2) if exhaustion is not None else None
    confidence = 0.6
    confidence += 0.15 if trend.tau >= 0.8 else 0.0
    confidence += 0.1 if _swap_rising(hist) else 0.0
    confidence += 0.1 if trend.n >= 24 else 0.0
    if crash.type is CrashType.UNKNOWN:
        confidence -= 0.2
    held = main.points[-1][1]
    size = facts.domain.size_kb
    share = round(100.0 * held / size, 1) if size else None
    restarts = f", restarted {main.restarts} time(s) and grew again" if main.restarts else ""
    name = series.name or series.token
    explanation = (
        f"{name} grew {rate_kb_h(trend.slope_kb_per_h)} for {_span(trend)} "
        f"(Kendall tau {trend.tau:.2f} over {trend.n} {hist.sampling.unit}{restarts})"
    )
    if exhaustion is None and share is not None:
        explanation += (
            f"; at the last {facts.words.record} it held {size_kb(held)}, "
            f"{percent(share)} of {facts.words.domain}'s {size_kb(size)}"
        )
    others = _series(hist)
    return RootCause(
        kind=CauseKind.LEAK,
        process=series.name,
        token=series.token,
        confidence=round(min(confidence, 0.95), 2),
        rate_kb_per_hour=round(trend.slope_kb_per_h, 1),
        since=trend.start,
        exhaustion_at=exhaustion,
        hours_to_exhaustion=hours,
        others=tuple(others[lk.token].name or others[lk.token].token for lk in leaks[1:]),
        explanation=explanation,
        pid=series.pid,
        cmdline=series.cmdline,
        unit=series.unit,
        held_kb=held,
        held_percent=share,
    )


def _jump(history: MemoryHistory, domain_kb: float | None) -> tuple[Series, float, float] | None:
    """The biggest sudden rise of one program, where the history shows jumps:
    (series, KB, when)."""
    if not history.sampling.shows_jumps:
        return None
    steps = history.sampling.jump_steps
    floor = max(JUMP_FLOOR_KB, 0.01 * (domain_kb or 0.0))
    best: tuple[Series, float, float] | None = None
    for series in history.series:
        pts = series.points
        for i in range(1, len(pts)):
            low = min(kb for _, kb in pts[max(0, i - steps) : i])
            rise = pts[i][1] - low
            if rise >= floor and rise >= 0.5 * low and (best is None or rise > best[1]):
                best = (series, rise, pts[i][0])
    return best


def _ongoing(leak: Leak, facts: Facts) -> Finding:
    series = _series(facts.history)[leak.token]
    return Finding(
        "root_cause.ongoing_leak",
        Severity.WARNING,
        f"{series.name or series.token} is growing: heading for memory exhaustion",
        f"{rate_kb_h(leak.trend.slope_kb_per_h)} over {_span(leak.trend)}",
        series.evidence[-3:],
    )


def _drift(leak: Leak, facts: Facts, why: str) -> Finding:
    """A process that grew, too slowly to have exhausted the domain by itself."""
    series = _series(facts.history)[leak.token]
    t = leak.trend
    share = 100.0 * (t.last_kb - t.first_kb) / t.first_kb if t.first_kb else 0.0
    return Finding(
        "root_cause.drift",
        Severity.INFO,
        f"{series.name or series.token} grew {share:.0f} % in {_span(t)}, too slowly to exhaust "
        f"{facts.words.domain}",
        f"{rate_kb_h(t.slope_kb_per_h)} {why}; watch it, but it did not cause this crash",
    )


def _not_full(facts: Facts, leaks: list[Leak]) -> tuple[list[Leak], list[Finding]]:
    """Leaks that could not have brought the domain down become drifts."""
    hist = facts.history
    pressure = hist.pressure
    end = facts.crash.crashed_at if facts.crash.type is not CrashType.NONE else None
    within = fill_window_h(hist.end, end, hist.sampling.resolution_s)
    if leaks and not can_exhaust(
        leaks,
        swap_used_percent=pressure.swap_used_percent,
        swap_free_kb=pressure.swap_free_kb,
        within_h=within,
    ):
        when = "by the crash" if within < MAX_FILL_H else f"within {MAX_FILL_H:.0f} h"
        why = f"could not have used the swap still free at the last {facts.words.record} {when}"
        return [], [_drift(lk, facts, why) for lk in leaks]
    late = [lk for lk in leaks if _late(lk, facts)]
    why = "would have filled the domain only well after the end"
    return [lk for lk in leaks if lk not in late], [_drift(lk, facts, why) for lk in late]


_RAN_OUT = frozenset({CauseKind.LEAK, CauseKind.SPIKE, CauseKind.CONTENTION})


def settled_class(crash: Crash, cause: RootCause) -> Crash:
    """The crash, with the class its root cause settles: a crash whose class its own lines
    left unknown is a memory exhaustion when the history shows the memory running out (a
    leak, a spike, contention); a judgement too short to say leaves it unknown.

    >>> lost = Crash(CrashType.LOST_HEARTBEAT)
    >>> settled_class(lost, RootCause(CauseKind.LEAK)).class_.value
    'memory_exhaustion'
    >>> settled_class(lost, RootCause(CauseKind.INCONCLUSIVE)).class_.value
    'unknown'
    """
    unknown = crash.class_ is CrashClass.UNKNOWN and crash.type is not CrashType.NONE
    if unknown and cause.kind in _RAN_OUT:
        return replace(crash, class_=CrashClass.MEMORY_EXHAUSTION)
    return crash


@rule("root_cause")
def judge_root_cause(facts: Facts) -> RootCauseJudgement:
    """Leak, spike, contention, inconclusive or not a memory crash."""
    hist, crash, sampling = facts.history, facts.crash, facts.history.sampling
    domain_kb = facts.domain.size_kb
    leaks = find_leaks(
        ((s.key, s.points) for s in hist.series),
        domain_kb,
        min_span_s=sampling.min_span_s,
        jump_span=sampling.jump_steps,
    )
    kinds = facts.memory_crashes
    if (
        crash.class_ in NOT_MEMORY
        or (crash.type is CrashType.NONE and not sampling.shows_jumps)
        or (kinds is not None and crash.type not in kinds and crash.type is not CrashType.NONE)
    ):
        what = "no crash" if crash.type is CrashType.NONE else f"a {crash.class_.value} fault"
        if crash.class_ is CrashClass.UNKNOWN:
            what = f"a {crash.type.value.replace('_', ' ')} crash"
        cause = RootCause(
            CauseKind.NOT_MEMORY, confidence=0.9, explanation=f"{what}, not memory exhaustion"
        )
        ongoing = (_ongoing(leaks[0], facts),) if leaks else ()
        return RootCauseJudgement(cause, tuple(leaks), ongoing)
    leaks, drifts = _not_full(facts, leaks)
    rise = None if leaks else domain_rise(facts)  # the domain's own use, where it is measured
    if facts.grower is not None and (hist.samples < sampling.min_samples or not leaks):
        return _named(facts, drifts, rise)
    if hist.samples < sampling.min_samples:
        cause = RootCause(
            CauseKind.INCONCLUSIVE,
            confidence=0.3,
            explanation=_too_few(hist.samples, sampling.unit, sampling.min_samples),
        )
        return RootCauseJudgement(cause, (), tuple(drifts))
    if leaks:
        cause = _leak_cause(leaks, facts)
        evidence = _series(hist)[leaks[0].token].evidence
        finding = Finding(
            "root_cause.leak",
            Severity.CRITICAL,
            f"Memory leak in {cause.process or cause.token}",
            cause.explanation,
            evidence[:2] + evidence[-3:],
        )
        return RootCauseJudgement(cause, tuple(leaks), (finding, *drifts))
    if rise is not None:
        cause, finding = unnamed_leak(rise, facts)
        return RootCauseJudgement(cause, (), (finding, *drifts))
    cause, found = _static_cause(facts)
    return RootCauseJudgement(cause, (), (*found, *drifts))


def _named(facts: Facts, drifts: Sequence[Finding], rise: Leak | None) -> RootCauseJudgement:
    """The consumer the crash's evidence names, where the history is too short to judge:
    a leak when it grew across the reports, or the domain's own use rose steadily before."""
    g = facts.grower
    assert g is not None
    kind = CauseKind.LEAK if g.grew_kb or rise is not None else CauseKind.SPIKE
    how = g.how
    if rise is not None and not g.grew_kb:
        how = f"{g.how}; {risen(rise, facts)}"
    elif not g.grew_kb:
        how = f"{g.how}; no memory history before the end to show how it got there"
    cause = RootCause(
        kind,
        process=g.name,
        token=g.name,
        confidence=0.6,
        explanation=how,
        pid=g.pid,
        held_kb=g.kb,
        held_percent=g.share_percent,
    )
    finding = Finding(
        f"root_cause.{kind.value}",
        Severity.CRITICAL,
        f"{g.name} used the memory that ran out",
        cause.explanation,
        g.evidence,
    )
    return RootCauseJudgement(cause, (), (finding, *drifts))


def _static_cause(facts: Facts) -> tuple[RootCause, tuple[Finding, ...]]:
    """Nothing leaked: a jump, contention, no crash at all, or a spike the records missed."""
    hist, crash, words = facts.history, facts.crash, facts.words
    pressure = hist.pressure
    swap, ram = pressure.swap_used_percent, pressure.ram_used_percent
    names = _series(hist)
    top = ", ".join(f"{names[k].name or names[k].token} {size_kb(kb)}" for k, kb in hist.last_top())
    jump = _jump(hist, facts.domain.size_kb)
    if jump is not None:
        series, rise, at = jump
        name = series.name or series.token
        cause = RootCause(
            CauseKind.SPIKE,
            process=series.name,
            token=series.token,
            confidence=0.8,
            since=at,
            explanation=f"{name} jumped by {size_kb(rise)} at once; nothing grew steadily",
            pid=series.pid,
            cmdline=series.cmdline,
            unit=series.unit,
        )
        title = f"Memory spike in {name}"
    elif (swap is not None and swap >= CONTENTION_SWAP) or (
        swap is None and ram is not None and ram >= CONTENTION_RAM
    ):
        used = f"swap {percent(swap)} used" if swap is not None else f"{percent(ram)} used"
        if top:  # no per-process figures (sar alone) name no consumer
            used = f"{used}; largest {top}"
        cause = RootCause(
            CauseKind.CONTENTION,
            confidence=0.7,
            explanation=(
                f"no process grows enough to have filled it, yet {words.domain} was full "
                f"before the end ({used}): static contention"
            ),
        )
        title = "Memory contention: usage high and static"
    elif crash.type is CrashType.NONE:
        cause = RootCause(
            CauseKind.NOT_MEMORY,
            confidence=0.8,
            explanation="no crash, and no leak, jump or contention in the record",
        )
        return cause, ()
    else:
        used = f"swap {percent(swap)} used" if swap is not None else f"{percent(ram)} used"
        if top:  # no per-process figures (sar alone) name no consumer
            used = f"{used}; largest {top}"
        cause = RootCause(
            CauseKind.SPIKE,
            confidence=0.6 if swap is not None else 0.5,
            explanation=(
                f"no leak in {hist.samples} {hist.sampling.unit} and {words.domain} was not "
                f"full at the last one ({used}): memory ran out after the last {words.record}, "
                "faster than the records could show"
            ),
        )
        title = f"Memory spike after the last {words.record}"
    finding = Finding(
        f"root_cause.{cause.kind.value}",
        Severity.CRITICAL,
        title,
        cause.explanation,
        hist.last_evidence,
    )
    return cause, (finding,)


def _too_few(samples: int, unit: str, needed: int) -> str:
    """Why a history is too short for a trend, in words that read right for 0, 1 or more."""
    if samples == 0:
        return f"no {unit} before the end: a trend needs {needed}"
    return f"{unit} before the end: {samples}, fewer than the {needed} a trend needs"
