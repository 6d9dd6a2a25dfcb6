"""The domain's own rise: memory that grew steadily while no record says which process held it.

Some sources measure the domain as a whole, never its consumers (a host's own counters of
memory used less what was available: ``MemoryHistory.domain_used``). A rise in them is judged
as a process's series is (``analyzer/leaks.py``: a sustained fit, Kendall's tau and its
p-value, growth against the domain, restarts undone, not one jump, not levelled off) and must
be able to have brought the domain down (its swap). It is a leak with no process named, or
the proof that a consumer the crash's own evidence names grew before it.

>>> from lostbeat.analyzer.facts import Measure, Sampling
>>> hourly = Sampling(3600.0, 6, 4 * 3600.0, 1, False, Measure.RESIDENT, "samples")
>>> rising = tuple((3600.0 * h, 2e6 + 5e5 * h) for h in range(12))
>>> steady = rise_of(MemoryHistory(hourly, domain_used=rising), 8e6)
>>> round(steady.trend.slope_kb_per_h), steady.restarts
(500000, 0)
"""

from __future__ import annotations

from lostbeat.analyzer.facts import Facts, MemoryHistory
from lostbeat.analyzer.findings import Finding, Severity
from lostbeat.analyzer.leaks import Leak, can_exhaust, fill_window_h, find_leak
from lostbeat.analyzer.result import CauseKind, CrashType, RootCause
from lostbeat.analyzer.units import duration, percent, rate_kb_h, size_kb

__all__ = ["DOMAIN", "domain_rise", "rise_of", "risen", "unnamed_leak"]

DOMAIN = "(the domain)"
"""The key the domain's own series is judged under: no process's name."""


def rise_of(history: MemoryHistory, domain_kb: float | None) -> Leak | None:
    """The steady rise of the domain's own use, judged as a leak is; ``None`` without one."""
    sampling = history.sampling
    return find_leak(
        DOMAIN,
        history.domain_used,
        domain_kb,
        min_span_s=sampling.min_span_s,
        jump_span=sampling.jump_steps,
    )


def domain_rise(facts: Facts) -> Leak | None:
    """The domain's own steady rise up to the crash, where it could have brought the domain
    down: at its pace it could have used the swap still free within the time left."""
    hist = facts.history
    leak = rise_of(hist, facts.domain.size_kb)
    if leak is None:
        return None
    pressure = hist.pressure
    end = facts.crash.crashed_at if facts.crash.type is not CrashType.NONE else None
    last = hist.domain_used[-1][0]
    within = fill_window_h(last, end, hist.sampling.resolution_s)
    able = can_exhaust(
        (leak,),
        swap_used_percent=pressure.swap_used_percent,
        swap_free_kb=pressure.swap_free_kb,
        within_h=within,
    )
    return leak if able else None


def _how(leak: Leak, facts: Facts) -> str:
    t, unit = leak.trend, facts.history.sampling.unit
    restarts = f", over {leak.restarts} restart(s)" if leak.restarts else ""
    return (
        f"{rate_kb_h(t.slope_kb_per_h)} for {duration(t.span_h)} (Kendall tau {t.tau:.2f} over "
        f"{t.n} {unit}{restarts})"
    )


def risen(leak: Leak, facts: Facts) -> str:
    """How the domain rose, for a consumer the crash's evidence names: one clause."""
    return (
        f"{facts.words.domain}'s memory rose steadily by {size_kb(leak.added_kb)} before it, "
        f"{_how(leak, facts)}"
    )


def unnamed_leak(leak: Leak, facts: Facts) -> tuple[RootCause, Finding]:
    """A leak of the domain's memory that no record ties to a process."""
    t = leak.trend
    held = leak.points[-1][1]
    size = facts.domain.size_kb
    share = round(100.0 * held / size, 1) if size else None
    of = f", {percent(share)} of its {size_kb(size)}" if size else ""
    explanation = (
        f"{facts.words.domain}'s memory rose steadily, {_how(leak, facts)}, to "
        f"{size_kb(held)}{of} at the last {facts.words.record}; no process table to name the "
        "process that grew"
    )
    confidence = 0.5 + (0.1 if t.tau >= 0.8 else 0.0) + (0.05 if t.n >= 24 else 0.0)
    if facts.crash.type is CrashType.UNKNOWN:
        confidence -= 0.2
    cause = RootCause(
        kind=CauseKind.LEAK,
        confidence=round(confidence, 2),
        rate_kb_per_hour=round(t.slope_kb_per_h, 1),
        since=t.start,
        explanation=explanation,
        held_kb=held,
        held_percent=share,
    )
    finding = Finding(
        "root_cause.leak",
        Severity.CRITICAL,
        f"Memory leak in {facts.words.domain}, by a process no record names",
        explanation,
        facts.history.last_evidence,
    )
    return cause, finding
