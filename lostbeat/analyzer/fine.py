"""Per-process series from a lostbeat recording, bucketed for the trend rules.

The recorder keeps every process's memory every few seconds. The rules want one series per
program (a restarted process is the same program: its drops are restarts), so processes are
grouped by name and command line; each series is cut into at most MAX_POINTS time buckets
holding the bucket's maximum (summed over the program's concurrent processes), which keeps
Theil-Sen's pairwise slopes cheap whatever the recording's length.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from lostbeat.analyzer.parsers.recordings import ProcessHistory, Recording

__all__ = ["MAX_POINTS", "FineSeries", "fine_series", "sample_times", "swap_series"]

MAX_POINTS = 240


@dataclass(frozen=True, slots=True)
class FineSeries:
    token: str
    name: str
    cmdline: str
    points: tuple[tuple[float, float], ...]
    """(epoch, RSS + swap in KB), bucket maxima, oldest first."""


def _bucket(rec: Recording, start: float, end: float) -> float:
    return max((end - start) / MAX_POINTS, rec.interval_s or 1.0)


def _peaks(hist: ProcessHistory, start: float, end: float, step: float) -> dict[int, float]:
    """The process's largest RSS + swap in each bucket it lived in.

    A recording keeps a point only where a value changed (and at each run's ends), so a
    process holds its value between its points: every bucket it spans gets that value.
    """
    pts = [p for p in hist.points if start <= p.epoch <= end]
    held = hist.at(start)
    if held is not None and (not pts or pts[0].epoch > start):
        pts.insert(0, held._replace(epoch=start))
    count = int((end - start) // step) + 1
    peaks: dict[int, float] = {}
    for i, a in enumerate(pts):
        kb = float((a.rss_kb or 0) + (a.swap_kb or 0))
        last = a.epoch if i + 1 == len(pts) else max(a.epoch, pts[i + 1].epoch - 1e-9)
        for k in range(
            int((a.epoch - start) // step), min(count - 1, int((last - start) // step)) + 1
        ):
            peaks[k] = max(peaks.get(k, 0.0), kb)
    return peaks


def sample_times(rec: Recording, *, until: float | None = None) -> list[float]:
    """The epochs at which the recorder sampled (its system series), up to ``until``."""
    return [p.epoch for p in rec.system if until is None or p.epoch <= until]


def fine_series(
    rec: Recording, *, since: float | None = None, until: float | None = None
) -> tuple[FineSeries, ...]:
    """One series per (name, command line), between ``since`` and ``until``."""
    times = [t for t in sample_times(rec, until=until) if since is None or t >= since]
    if not times:
        times = sorted(
            p.epoch
            for h in rec.processes
            for p in h.points
            if (since is None or p.epoch >= since) and (until is None or p.epoch <= until)
        )
    if not times:
        return ()
    start, end = times[0], times[-1]
    step = _bucket(rec, start, end)
    # program -> bucket -> KB summed over the program's processes
    table: dict[tuple[str, str], dict[int, float]] = defaultdict(dict)
    for hist in rec.processes:
        slot = table[(hist.key.name, hist.key.cmdline)]
        for k, kb in _peaks(hist, start, end, step).items():
            slot[k] = slot.get(k, 0.0) + kb
    out = [
        FineSeries(
            name[:8],
            name,
            cmdline,
            tuple((start + k * step, kb) for k, kb in sorted(buckets.items())),
        )
        for (name, cmdline), buckets in table.items()
        if buckets
    ]
    return tuple(sorted(out, key=lambda s: (-max(kb for _, kb in s.points), s.name)))


def swap_series(rec: Recording) -> tuple[tuple[float, int], ...]:
    """(epoch, swap used bytes) of the host."""
    return tuple((p.epoch, p.swap_used) for p in rec.system if p.swap_used is not None)
