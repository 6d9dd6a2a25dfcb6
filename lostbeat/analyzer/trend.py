"""Trend statistics for noisy hourly memory series with gaps.

A process shows in vmksummary only in the hours it is among the top three, and a leaking
process may be restarted (its memory drops, then grows again). The statistics are made for
that: restarts are undone before fitting, the slope is Theil-Sen (robust to outliers and
uneven spacing) and monotonicity is Kendall's tau with its p-value, from scipy.

>>> pts = [(h * 3600.0, 100_000 + 2_000 * h) for h in range(12)]
>>> t = fit(pts)
>>> round(t.slope_kb_per_h), round(t.tau, 2)
(2000, 1.0)
>>> undo_restarts([(0.0, 500), (1.0, 900), (2.0, 100), (3.0, 500)])
(((0.0, 500.0), (1.0, 900.0), (2.0, 900.0), (3.0, 1300.0)), 1)
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["MAX_FIT_POINTS", "Trend", "fit", "suffix_starts", "undo_restarts"]

RESTART_DROP = 0.4
"""A fall to below (1 - RESTART_DROP) of the previous value is a restart, not noise."""
GAP_DROP = 0.25
"""After a gap (the process left the top three), a smaller fall is enough."""


@dataclass(frozen=True, slots=True)
class Trend:
    slope_kb_per_h: float
    intercept_kb: float
    """Value of the fitted line at ``start``."""
    tau: float
    p_value: float
    n: int
    start: float
    end: float
    first_kb: float
    last_kb: float

    @property
    def span_h(self) -> float:
        return (self.end - self.start) / 3600.0

    @property
    def growth_kb(self) -> float:
        return self.slope_kb_per_h * self.span_h

    def at(self, when: float) -> float:
        return self.intercept_kb + self.slope_kb_per_h * (when - self.start) / 3600.0


def undo_restarts(
    points: Sequence[tuple[float, float]], *, drop: float = RESTART_DROP
) -> tuple[tuple[tuple[float, float], ...], int]:
    """Shift each run after a restart up by the memory the restart released.

    Returns the adjusted points and the number of restarts found.
    """
    out: list[tuple[float, float]] = []
    steps = [b[0] - a[0] for a, b in zip(points, points[1:], strict=False)]
    step = float(statistics.median(steps)) if steps else 0.0
    offset = 0.0
    restarts = 0
    prev: tuple[float, float] | None = None
    for when, value in points:
        if prev is not None:
            gap = step > 0 and (when - prev[0]) > 1.5 * step
            limit = GAP_DROP if gap else drop
            if value < prev[1] * (1.0 - limit):
                offset += prev[1] - value
                restarts += 1
        out.append((when, float(value) + offset))
        prev = (when, float(value))
    return tuple(out), restarts


MAX_FIT_POINTS = 240
"""Longer series are thinned evenly before fitting: Theil-Sen's pairwise slopes grow as n²."""


def fit(points: Sequence[tuple[float, float]]) -> Trend | None:
    """Theil-Sen slope and Kendall's tau of ``points``; ``None`` under 3 points or no span."""
    if len(points) < 3:
        return None
    if len(points) > MAX_FIT_POINTS:
        step = len(points) / MAX_FIT_POINTS
        points = [points[int(i * step)] for i in range(MAX_FIT_POINTS - 1)] + [points[-1]]
    # imported on first use: numpy and scipy are a second of start-up most analyses skip
    import numpy as np
    from scipy import stats

    t = np.array([p[0] for p in points], dtype=float)
    y = np.array([p[1] for p in points], dtype=float)
    if t[-1] <= t[0]:
        return None
    hours = (t - t[0]) / 3600.0
    slope, intercept, _, _ = stats.theilslopes(y, hours)
    if np.all(y == y[0]):
        tau, p_value = 0.0, 1.0
    else:
        result = stats.kendalltau(hours, y)
        tau = float(result.statistic) if np.isfinite(result.statistic) else 0.0
        p_value = float(result.pvalue) if np.isfinite(result.pvalue) else 1.0
    return Trend(
        slope_kb_per_h=float(slope),
        intercept_kb=float(intercept),
        tau=tau,
        p_value=p_value,
        n=len(points),
        start=float(t[0]),
        end=float(t[-1]),
        first_kb=float(y[0]),
        last_kb=float(y[-1]),
    )


def suffix_starts(times: Sequence[float], *, min_points: int) -> list[int]:
    """Candidate starts of a growth that began somewhere in the series.

    A leak often starts long after the boot: fitting the whole boot would dilute it. The
    candidates are the whole series and suffixes covering the last 2^(k/2) spans of the
    typical step (a geometric grid: the true start is at most ~41 % away from one of them).
    """
    n = len(times)
    if n < min_points:
        return []
    steps = sorted(b - a for a, b in zip(times, times[1:], strict=False))
    step = steps[len(steps) // 2] if steps else 1.0
    starts = {0}
    k = 0
    while True:
        span = step * 2 ** (k / 2) * min_points
        first = next((i for i, t in enumerate(times) if t >= times[-1] - span), 0)
        if first == 0:
            break
        if n - first >= min_points:
            starts.add(first)
        k += 1
    return sorted(starts)
