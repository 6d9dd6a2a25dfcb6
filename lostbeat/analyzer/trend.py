"""Trend statistics for noisy hourly memory series with gaps.

A process shows in vmksummary only in the hours it is among the top three, and a leaking
process may be restarted (its memory drops, then grows again). The statistics are made for
that: restarts are undone before fitting, the slope is Theil-Sen (robust to outliers and
uneven spacing) and monotonicity is Kendall's tau-b with its p-value.

Both are computed here in plain Python, as scipy computes them (``scipy.stats.theilslopes``,
``kendalltau``: the same pairwise slopes and medians, the same tie counts, exact p-value and
normal approximation; tests/analyzer/test_trend.py checks them against scipy): importing
``scipy.stats`` took half a second and 80 MB, more than a small analysis in all. On the 240
points a series is thinned to, a fit takes a few milliseconds (docs/benchmarks.md).

>>> pts = [(h * 3600.0, 100_000 + 2_000 * h) for h in range(12)]
>>> t = fit(pts)
>>> round(t.slope_kb_per_h), round(t.tau, 2)
(2000, 1.0)
>>> undo_restarts([(0.0, 500), (1.0, 900), (2.0, 100), (3.0, 500)])
(((0.0, 500.0), (1.0, 900.0), (2.0, 900.0), (3.0, 1300.0)), 1)
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import repeat
from operator import sub, truediv

__all__ = [
    "MAX_FIT_POINTS",
    "Trend",
    "fit",
    "kendall_tau",
    "suffix_starts",
    "theil_sen",
    "undo_restarts",
]

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
    step = _middle(steps) if steps else 0.0
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


def fit(
    points: Sequence[tuple[float, float]],
    *,
    min_tau: float | None = None,
    max_p: float | None = None,
) -> Trend | None:
    """Theil-Sen slope and Kendall's tau of ``points``; ``None`` under 3 points or no span,
    and, given ``min_tau`` or ``max_p``, when tau is below it or its p-value above: tau is
    cheap (n log n), Theil-Sen's n² slopes are not, and a caller that rejects a series that
    is not monotonic enough has no use for its slope."""
    if len(points) < 3:
        return None
    if len(points) > MAX_FIT_POINTS:
        step = len(points) / MAX_FIT_POINTS
        points = [points[int(i * step)] for i in range(MAX_FIT_POINTS - 1)] + [points[-1]]
    t = [float(p[0]) for p in points]
    y = [float(p[1]) for p in points]
    if t[-1] <= t[0]:
        return None
    hours = [(when - t[0]) / 3600.0 for when in t]
    if all(v == y[0] for v in y):
        tau, p_value = 0.0, 1.0
    else:
        tau, p_value = kendall_tau(hours, y)
        tau = tau if math.isfinite(tau) else 0.0
        p_value = p_value if math.isfinite(p_value) else 1.0
    if (min_tau is not None and tau < min_tau) or (max_p is not None and p_value > max_p):
        return None
    slope, intercept = theil_sen(hours, y)
    return Trend(
        slope_kb_per_h=slope,
        intercept_kb=intercept,
        tau=tau,
        p_value=p_value,
        n=len(points),
        start=t[0],
        end=t[-1],
        first_kb=y[0],
        last_kb=y[-1],
    )


def theil_sen(x: Sequence[float], y: Sequence[float]) -> tuple[float, float]:
    """(slope, intercept): the median of the slopes between all pairs of points of different
    ``x``, and ``median(y) - slope * median(x)`` (``scipy.stats.theilslopes``, its default
    "separate" method).

    >>> theil_sen([0.0, 1.0, 2.0, 3.0, 4.0], [1.0, 3.0, 5.0, 7.0, 100.0])  # one outlier
    (2.0, 1.0)
    """
    slopes: list[float] = []
    add = slopes.extend
    for i in range(len(x) - 1):
        dx = list(map(sub, x[i + 1 :], repeat(x[i])))
        dy: Iterable[float] = map(sub, y[i + 1 :], repeat(y[i]))
        if 0.0 in dx:  # pairs of the same x have no slope
            dy = (d for d, keep in zip(dy, dx, strict=True) if keep)
            dx = [d for d in dx if d]
        add(map(truediv, dy, dx))
    if not slopes:
        raise ValueError("all x are the same")
    slope = _middle(slopes)
    return slope, _middle(list(y)) - slope * _middle(list(x))


def _middle(values: list[float]) -> float:
    """The median, as numpy's: the mean of the two middle values of an even count (sorts
    ``values`` in place)."""
    values.sort()
    half = len(values) // 2
    return values[half] if len(values) % 2 else (values[half - 1] + values[half]) / 2


def kendall_tau(x: Sequence[float], y: Sequence[float]) -> tuple[float, float]:
    """Kendall's tau-b and its two-sided p-value, as ``scipy.stats.kendalltau`` gives them:
    the exact p-value without ties for up to 33 points (or at most one pair out of order),
    the normal approximation with the tie-corrected variance otherwise; NaN for both when
    ``x`` or ``y`` is constant.

    >>> tau, p = kendall_tau([1.0, 2.0, 3.0, 4.0], [1.0, 3.0, 2.0, 4.0])
    >>> round(tau, 4), round(p, 4)
    (0.6667, 0.3333)
    """
    size = len(x)
    pairs = sorted(zip(x, y, strict=True))
    seen: list[float] = []  # the y of the points before, in order: a larger one is discordant
    dis = 0
    for _, v in pairs:
        at = bisect_right(seen, v)
        dis += len(seen) - at
        seen.insert(at, v)
    tot = size * (size - 1) // 2
    ntie = _ties(Counter(pairs).values())[0]
    xtie, x0, x1 = _ties(Counter(x).values())
    ytie, y0, y1 = _ties(Counter(y).values())
    if xtie == tot or ytie == tot:
        return math.nan, math.nan
    con_minus_dis = tot - xtie - ytie + ntie - 2 * dis
    tau = min(1.0, max(-1.0, con_minus_dis / math.sqrt(tot - xtie) / math.sqrt(tot - ytie)))
    if xtie == 0 and ytie == 0 and (size <= 33 or min(dis, tot - dis) <= 1):
        return tau, _kendall_p_exact(size, tot - dis)
    m = size * (size - 1.0)
    var = (
        (m * (2 * size + 5) - x1 - y1) / 18 + (2 * xtie * ytie) / m + x0 * y0 / (9 * m * (size - 2))
    )
    z = con_minus_dis / math.sqrt(var)
    return tau, math.erfc(abs(z) / math.sqrt(2.0))


def _ties(counts: Iterable[int]) -> tuple[int, int, int]:
    """Tied pairs, and the two sums over groups that the variance of S takes."""
    groups = [c for c in counts if c > 1]
    return (
        sum(c * (c - 1) // 2 for c in groups),
        sum(c * (c - 1) * (c - 2) for c in groups),
        sum(c * (c - 1) * (2 * c + 5) for c in groups),
    )


def _kendall_p_exact(n: int, concordant: int) -> float:
    """The two-sided exact p-value of ``concordant`` pairs in order out of n(n-1)/2, without
    ties: twice the left tail of the number of inversions of a random permutation (Kendall,
    *Rank Correlation Methods*, 1970), counted here in integers."""
    c = min(concordant, n * (n - 1) // 2 - concordant)
    if n <= 2:
        return 1.0
    if c == 0:
        return min(2.0 / math.factorial(n), 1.0) if n < 171 else 0.0
    if c == 1:
        return min(2.0 / math.factorial(n - 1), 1.0) if n < 172 else 0.0
    if 4 * c == n * (n - 1):
        return 1.0
    # new[k]: permutations of j elements with k inversions, for k <= c
    new = [1, 1] + [0] * (c - 1)
    for j in range(3, n + 1):
        total = 0
        for k in range(c + 1):
            total += new[k]
            new[k] = total
        if j <= c:
            new[j:] = [a - b for a, b in zip(new[j:], new[: c + 1 - j], strict=True)]
    return min(2 * sum(new) / math.factorial(n), 1.0)


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
