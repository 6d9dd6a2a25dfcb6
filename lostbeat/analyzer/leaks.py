"""Leak maths: which series leak, which leak is the culprit, and when memory runs out.

Built on the trend statistics of ``trend.py`` (Theil-Sen slopes, Kendall's tau), for any
history a platform gives: hourly top-three points or a recording's fine samples, as
:class:`~lostbeat.analyzer.facts.Sampling` describes them.

- A leak grows steadily: its suffix fit is monotonic (tau, p-value), big against the
  domain or against itself, not one jump, and ends at a new high. Restarts that drop it and
  growth after them are still a leak (the drops are undone before fitting).
- Several leakers: the fastest is the culprit (their spans differ, so totals would mislead).
- Exhaustion: from the leak's last point, at its fitted rate, until the room left in the
  domain (its capacity less the other consumers) is used. Only resident sizes can say that;
  virtual sizes cannot, so for them only what the leak held is reported.
- A leak grows until the end: a series that reached its level hours before the end and held
  it (a cache warming up, a pool filling to its size) did not bring the domain down.
- A leak that could not have used the swap still free within MAX_FILL_H is a drift: it did
  not bring the domain down by itself.

>>> pts = [(3600.0 * h, 100_000.0 + 20_000 * h) for h in range(12)]
>>> leak = find_leak("cimserve", pts, 800_000.0, min_span_s=4 * 3600.0)
>>> leak.token, round(leak.trend.slope_kb_per_h)
('cimserve', 20000)
>>> exhaustion_at(leak, room_kb=40_000.0) == pts[-1][0] + 2 * 3600.0
True
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from lostbeat.analyzer.trend import Trend, fit, suffix_starts, undo_restarts

__all__ = [
    "MAX_FILL_H",
    "MIN_POINTS",
    "Leak",
    "can_exhaust",
    "exhaustion_at",
    "fill_window_h",
    "find_leak",
    "find_leaks",
    "levelled_off",
    "one_jump",
]

MIN_POINTS = 5
MAX_STEP_SHARE = 0.5
"""A leak grows in many small steps: one step holding more of the growth is a jump."""
MIN_TAU = 0.5
MAX_P = 0.01
MIN_GROWTH_OF_RAM = 0.04
"""A leak must add at least this share of the domain's memory over the window..."""
MIN_GROWTH_RELATIVE = 0.25
"""...or grow by this share of its own size."""
NEW_HIGH = 0.05
"""How far above its earlier peak a growing suffix must end to be a leak."""
MAX_FILL_H = 24.0
"""A leak that brought the domain down could fill the swap left at the last point within
this many hours; growth slower than that is a drift, and the crash needed a spike."""
MIN_OWN_GROWTH = 0.10
"""Whatever the domain's size, a leak adds at least a tenth to the process's own size."""
LEVEL_SHARE = 0.1
"""A series is at its level once within this share of its rise below its highest point..."""
MIN_LEVEL_H = 6.0
MIN_LEVEL_SHARE = 1.0 / 3.0
"""...and has levelled off when it stayed there this many hours before the end, and this
share of the window: a leak stopped by the exhaustion it caused is flat for the last
minutes or the last hour, not for most of a day."""
SWAP_EDGE = 80.0
"""Swap use (percent) at which the domain is at its edge: growth had already brought it there."""


@dataclass(frozen=True, slots=True)
class Leak:
    token: str
    """The series' key."""
    trend: Trend
    restarts: int
    points: tuple[tuple[float, float], ...]

    @property
    def added_kb(self) -> float:
        return self.trend.last_kb - self.trend.first_kb


def _big_enough(trend: Trend, domain_kb: float | None, min_span_s: float) -> bool:
    if trend.slope_kb_per_h <= 0 or trend.end - trend.start < min_span_s:
        return False
    if trend.tau < MIN_TAU or trend.p_value > MAX_P:
        return False
    growth = trend.growth_kb
    own = growth / trend.first_kb if trend.first_kb > 0 else float("inf")
    if own < MIN_OWN_GROWTH:
        return False  # a large process drifting a few percent is noise, not a leak
    if domain_kb and growth >= MIN_GROWTH_OF_RAM * domain_kb:
        return True
    return own >= MIN_GROWTH_RELATIVE


def _runs_rise(
    points: Sequence[tuple[float, float]], adjusted: Sequence[tuple[float, float]]
) -> bool:
    """After undoing restarts, most runs of three or more raw points must themselves rise."""
    runs: list[list[tuple[float, float]]] = []
    offset: float | None = None
    for (when, raw), (_, adj) in zip(points, adjusted, strict=True):
        if offset is None or adj - raw != offset:
            runs.append([])
            offset = adj - raw
        runs[-1].append((when, raw))
    fits = [fit(run, min_tau=MIN_TAU) for run in runs if len(run) >= 3]  # None: not rising
    rising = [f for f in fits if f is not None and f.slope_kb_per_h > 0 and f.tau >= MIN_TAU]
    return len(fits) >= 1 and len(rising) * 2 > len(fits)


def one_jump(points: Sequence[tuple[float, float]], *, span: int = 1) -> bool:
    """True when ``span`` consecutive steps hold most of the series' rise: a jump, not a
    leak (a sample may catch an allocation half-made, so fine samples use several steps)."""
    steps = [b[1] - a[1] for a, b in zip(points, points[1:], strict=False)]
    rise = sum(st for st in steps if st > 0)
    burst = max(sum(steps[i : i + span]) for i in range(max(len(steps) - span + 1, 1)))
    return rise > 0 and burst > MAX_STEP_SHARE * rise


def _new_high(before: Sequence[tuple[float, float]], tail: Sequence[tuple[float, float]]) -> bool:
    """A leak ends above anything the process held before it began; the rising half of a
    daily cycle only climbs back to the peaks of earlier days."""
    if not before:
        return True
    last = sorted(kb for _, kb in tail[-3:])[len(tail[-3:]) // 2]
    return last >= (1.0 + NEW_HIGH) * max(kb for _, kb in before)


def levelled_off(points: Sequence[tuple[float, float]]) -> bool:
    """True when the series reached its level long before its end and stayed near it.

    >>> warm = [(3600.0 * h, 100.0 + 10 * min(h, 8)) for h in range(30)]
    >>> levelled_off(warm), levelled_off([(3600.0 * h, 100.0 + 10 * h) for h in range(30)])
    (True, False)
    """
    low, high = min(kb for _, kb in points), max(kb for _, kb in points)
    if high <= low:
        return False
    near = high - LEVEL_SHARE * (high - low)
    reached = next(when for when, kb in points if kb >= near)
    start, end = points[0][0], points[-1][0]
    flat = end - reached
    return flat >= MIN_LEVEL_H * 3600.0 and flat >= MIN_LEVEL_SHARE * (end - start)


def find_leak(
    token: str,
    points: Sequence[tuple[float, float]],
    domain_kb: float | None,
    *,
    min_span_s: float,
    jump_span: int = 1,
) -> Leak | None:
    """The leak in one series, or None."""
    if len(points) < MIN_POINTS:
        return None
    # a leak with restarts: judged over every cycle once the drops are undone
    adjusted, restarts = undo_restarts(points)
    if restarts:
        adj = fit(adjusted, min_tau=MIN_TAU, max_p=MAX_P)  # _big_enough's test, first
        if (
            adj is not None
            and _big_enough(adj, domain_kb, min_span_s)
            and _runs_rise(points, adjusted)
            and not one_jump(adjusted, span=jump_span)
            and not levelled_off(adjusted)
        ):
            return Leak(token, adj, restarts, tuple(points))
    # a leak that began somewhere in the boot: the best-growing suffix
    best: Trend | None = None
    for start in suffix_starts([t for t, _ in points], min_points=MIN_POINTS):
        tail = points[start:]
        trend = fit(tail, min_tau=MIN_TAU, max_p=MAX_P)
        if (
            trend is not None
            and _big_enough(trend, domain_kb, min_span_s)
            and not one_jump(tail, span=jump_span)
            and _new_high(points[:start], tail)
            and not levelled_off(tail)
            and (best is None or trend.tau > best.tau + 0.02)
        ):
            best = trend
    if best is None:
        return None
    first = next(i for i, (t, _) in enumerate(points) if t >= best.start)
    return Leak(token, best, 0, tuple(points[first:]))


def find_leaks(
    series: Iterable[tuple[str, Sequence[tuple[float, float]]]],
    domain_kb: float | None,
    *,
    min_span_s: float,
    jump_span: int,
) -> list[Leak]:
    """Every leaking series, the fastest first: the culprit leads."""
    leaks = [
        leak
        for key, points in series
        if (leak := find_leak(key, points, domain_kb, min_span_s=min_span_s, jump_span=jump_span))
        is not None
    ]
    leaks.sort(key=lambda x: -x.trend.slope_kb_per_h)
    return leaks


def exhaustion_at(leak: Leak, *, room_kb: float) -> float | None:
    """When the leak, at its fitted rate from its last point, fills ``room_kb`` more."""
    rate = leak.trend.slope_kb_per_h
    if rate <= 0:
        return None
    return leak.points[-1][0] + 3600.0 * max(room_kb, 0.0) / rate


def can_exhaust(
    leaks: Sequence[Leak],
    *,
    swap_used_percent: float | None,
    swap_free_kb: float | None,
    within_h: float = MAX_FILL_H,
) -> bool:
    """Did the growth bring the domain to its edge (swap past SWAP_EDGE), or could it, at
    its pace, have used up the swap still free at the last point within ``within_h`` hours
    (the time to the crash, or MAX_FILL_H when the crash is not placed in time)? Unknown swap
    gives the growth the benefit of the doubt."""
    if swap_used_percent is None or swap_free_kb is None:
        return True
    if swap_used_percent >= SWAP_EDGE:
        return True
    rate = sum(max(lk.trend.slope_kb_per_h, 0.0) for lk in leaks)
    return rate > 0 and swap_free_kb / rate <= within_h


def fill_window_h(last_point: float | None, end: float | None, resolution_s: float) -> float:
    """The hours a leak had to fill the domain: from the last record to the end, with room
    for the rate's error (half as much again) and one record's resolution; MAX_FILL_H when
    the end is not placed in time."""
    if last_point is None or end is None or end < last_point:
        return MAX_FILL_H
    return 1.5 * (end - last_point) / 3600.0 + resolution_s / 3600.0
