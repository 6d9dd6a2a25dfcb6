"""The series reports plot: each top consumer's memory, swap, boots, and the leak's projection."""

from __future__ import annotations

from lostbeat.analyzer.facts import HostFacts
from lostbeat.analyzer.parsers.vmksummary import LineKind
from lostbeat.analyzer.result import History, ProcessSeries, RootCause
from lostbeat.analyzer.rules.root_cause import Leak, series_by_token
from lostbeat.analyzer.rules.timeline import Timeline

__all__ = ["MAX_SERIES", "build_history"]

MAX_SERIES = 6
"""Consumers plotted: the largest ones ever logged, the culprit always among them."""


def build_history(
    facts: HostFacts,
    timeline: Timeline,
    cause: RootCause,
    leak: Leak | None,
    names: dict[str, str],
) -> History:
    beats = [ln for ln in facts.summary if ln.kind is LineKind.HEARTBEAT]
    series = series_by_token(beats)
    ranked = sorted(series, key=lambda t: max(kb for _, kb in series[t]), reverse=True)
    keep = [t for t in (cause.token,) if t and t in series]
    for token in ranked:
        if len(keep) >= MAX_SERIES:
            break
        if token not in keep:
            keep.append(token)
    consumers = tuple(
        ProcessSeries(
            token, names.get(token, token), tuple((when, int(kb)) for when, kb in series[token])
        )
        for token in keep
    )
    swap = tuple(
        (float(ln.epoch), ln.swap_used_bytes)
        for ln in beats
        if ln.epoch is not None and ln.swap_used_bytes is not None
    )
    boots = tuple(b.started_at for b in timeline.boots if b.started_at is not None)
    projection: tuple[tuple[float, float], ...] = ()
    if leak is not None and cause.exhaustion_at is not None:
        last_t, last_kb = leak.points[-1]
        rate = leak.trend.slope_kb_per_h
        end_kb = last_kb + rate * (cause.exhaustion_at - last_t) / 3600.0
        projection = ((last_t, last_kb), (cause.exhaustion_at, end_kb))
    info = facts.meminfo
    return History(
        consumers=consumers,
        swap=swap,
        swap_total_bytes=info.swap_total if info else None,
        mem_total_bytes=info.total if info else None,
        boots=boots,
        resolution_s=3600.0,
        projection=projection,
    )
