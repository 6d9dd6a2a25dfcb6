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

from lostbeat.analyzer.parsers.recordings import Recording

__all__ = ["MAX_POINTS", "FineSeries", "fine_series", "swap_series"]

MAX_POINTS = 240


@dataclass(frozen=True, slots=True)
class FineSeries:
    token: str
    name: str
    cmdline: str
    points: tuple[tuple[float, float], ...]
    """(epoch, RSS + swap in KB), bucket maxima, oldest first."""


def _bucket(rec: Recording, start: float, end: float) -> float:
    step = max((end - start) / MAX_POINTS, rec.interval_s or 1.0)
    return step


def fine_series(
    rec: Recording, *, since: float | None = None, until: float | None = None
) -> tuple[FineSeries, ...]:
    """One series per (name, command line), between ``since`` and ``until``."""
    points = [
        (hist, p)
        for hist in rec.processes
        for p in hist.points
        if (since is None or p.epoch >= since) and (until is None or p.epoch <= until)
    ]
    if not points:
        return ()
    start = min(p.epoch for _, p in points)
    end = max(p.epoch for _, p in points)
    step = _bucket(rec, start, end)
    # program -> bucket -> pid -> max KB
    table: dict[tuple[str, str], dict[int, dict[int, float]]] = defaultdict(
        lambda: defaultdict(dict)
    )
    for hist, p in points:
        kb = float((p.rss_kb or 0) + (p.swap_kb or 0))
        slot = table[(hist.key.name, hist.key.cmdline)][int((p.epoch - start) // step)]
        slot[hist.key.pid] = max(slot.get(hist.key.pid, 0.0), kb)
    out = []
    for (name, cmdline), buckets in table.items():
        series = tuple(
            (start + b * step, sum(pids.values())) for b, pids in sorted(buckets.items())
        )
        out.append(FineSeries(name[:8], name, cmdline, series))
    return tuple(sorted(out, key=lambda s: (-max(kb for _, kb in s.points), s.name)))


def swap_series(rec: Recording) -> tuple[tuple[float, int], ...]:
    """(epoch, swap used bytes) of the host."""
    return tuple((p.epoch, p.swap_used) for p in rec.system if p.swap_used is not None)
