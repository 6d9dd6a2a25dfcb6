"""The series reports plot: each top consumer's memory, swap, boots, and the leak's projection."""

from __future__ import annotations

from lostbeat.analyzer.facts import HostFacts
from lostbeat.analyzer.fine import fine_series, swap_series
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
    if facts.recording is not None and facts.recording.processes:
        return _recorded(facts, cause, leak)
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
    projection = _projection(cause, leak)
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


def _recorded(facts: HostFacts, cause: RootCause, leak: Leak | None) -> History:
    """The plot series of a lostbeat recording, at its own resolution."""
    rec = facts.recording
    assert rec is not None
    series = fine_series(rec)
    culprit = [s for s in series if s.name == cause.process]
    rest = [s for s in series if s.name != cause.process]
    consumers = tuple(
        ProcessSeries(s.token, s.name, tuple((t, int(kb)) for t, kb in s.points))
        for s in (culprit + rest)[:MAX_SERIES]
    )
    projection = _projection(cause, leak)
    last = rec.system[-1] if rec.system else None
    domain = facts.domain_kb
    return History(
        consumers=consumers,
        swap=swap_series(rec),
        swap_total_bytes=last.swap_total if last else None,
        mem_total_bytes=int(domain * 1024) if domain else None,
        boots=rec.boots,
        resolution_s=rec.interval_s or 10.0,
        projection=projection,
    )


def _projection(cause: RootCause, leak: Leak | None) -> tuple[tuple[float, float], ...]:
    """The leak's fitted rate from its last point to the exhaustion it implies."""
    if leak is None or cause.exhaustion_at is None:
        return ()
    last_t, last_kb = leak.points[-1]
    end_kb = last_kb + leak.trend.slope_kb_per_h * (cause.exhaustion_at - last_t) / 3600.0
    return ((last_t, last_kb), (cause.exhaustion_at, end_kb))
