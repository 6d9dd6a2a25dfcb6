"""The Linux profile's memory history: the series judged up to their last point, and the
pressure before the end."""

from __future__ import annotations

from collections.abc import Sequence

from lostbeat.analyzer.facts import Domain, MemoryHistory, Pressure, Sampling, Series
from lostbeat.analyzer.findings import Evidence
from lostbeat.analyzer.parsers.recordings import Recording

__all__ = ["memory_history"]


def _value_at(points: Sequence[tuple[float, float]], when: float) -> float:
    before = [kb for t, kb in points if t <= when]
    return before[-1] if before else 0.0


def memory_history(
    sampling: Sampling,
    series: tuple[Series, ...],
    samples: int,
    swap: tuple[tuple[float, int], ...],
    rec: Recording | None,
    domain: Domain,
    last_ev: tuple[Evidence, ...],
) -> MemoryHistory:
    """The history judged, up to its last point, with the pressure before its end."""
    end = max((s.points[-1][0] for s in series), default=None)
    return MemoryHistory(
        sampling=sampling,
        series=series,
        samples=samples,
        end=end,
        swap=swap,
        pressure=_pressure(series, rec, domain, end) if end is not None else Pressure(),
        last_evidence=last_ev,
    )


def _pressure(
    series: Sequence[Series], rec: Recording | None, domain: Domain, end: float
) -> Pressure:
    """Four fifths into the window: a domain that hung is always full at its very end."""
    if not series:
        return Pressure()
    start = min(s.points[0][0] for s in series)
    when = start + 0.8 * (end - start)
    if domain.limit_kb:
        used = sum(_value_at(s.points, when) for s in series)
        return Pressure(ram_used_percent=100.0 * used / domain.limit_kb)
    points = [p for p in rec.system if p.epoch <= when] if rec is not None else []
    if not points:
        return Pressure()
    p = points[-1]
    swap = 100.0 * p.swap_used / p.swap_total if p.swap_used is not None and p.swap_total else None
    ram = (
        100.0 * (1 - p.mem_available / p.mem_total)
        if p.mem_available is not None and p.mem_total
        else None
    )
    return Pressure(swap, ram)
