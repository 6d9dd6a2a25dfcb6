"""The series reports plot: each top consumer's memory, swap, boots, and the leak's projection."""

from __future__ import annotations

from lostbeat.analyzer.facts import Facts
from lostbeat.analyzer.leaks import Leak
from lostbeat.analyzer.result import History, ProcessSeries, RootCause

__all__ = ["MAX_SERIES", "build_history"]

MAX_SERIES = 6
"""Consumers plotted: the largest ones ever logged, the culprit always among them."""


def build_history(
    facts: Facts, cause: RootCause, leak: Leak | None, names: dict[str, str]
) -> History:
    """The plot series of every boot, at the history's own resolution; ``names`` gives the
    resolved full name of a token."""
    plot = facts.plot or facts.history
    ranked = sorted(plot.series, key=lambda s: max(kb for _, kb in s.points), reverse=True)
    culprit = [
        s for s in ranked if (cause.process and s.name == cause.process) or s.key == cause.token
    ][:1]
    keep = culprit + [s for s in ranked if s not in culprit][: MAX_SERIES - len(culprit)]
    consumers = tuple(
        ProcessSeries(
            s.token,
            s.name or names.get(s.token, s.token),
            tuple((when, int(kb)) for when, kb in s.points),
        )
        for s in keep
    )
    dom = facts.domain
    size = dom.size_kb
    return History(
        consumers=consumers,
        swap=plot.swap,
        swap_total_bytes=int(dom.swap_total_kb * 1024) if dom.swap_total_kb is not None else None,
        mem_total_bytes=int(size * 1024) if size is not None else None,
        boots=facts.boot_times,
        resolution_s=plot.sampling.resolution_s,
        projection=_projection(cause, leak),
    )


def _projection(cause: RootCause, leak: Leak | None) -> tuple[tuple[float, float], ...]:
    """The leak's fitted rate from its last point to the exhaustion it implies."""
    if leak is None or cause.exhaustion_at is None:
        return ()
    last_t, last_kb = leak.points[-1]
    end_kb = last_kb + leak.trend.slope_kb_per_h * (cause.exhaustion_at - last_t) / 3600.0
    return ((last_t, last_kb), (cause.exhaustion_at, end_kb))
