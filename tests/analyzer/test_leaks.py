"""The leak maths on series shaped as hosts show them."""

from __future__ import annotations

import random

from lostbeat.analyzer.leaks import find_leak, levelled_off

HOUR = 3600.0
CONSOLE_KB = 388 * 1024.0


def _warm_up(seed: int) -> list[tuple[float, float]]:
    """A daemon that fills its caches for ten hours and then holds them for a day."""
    rng = random.Random(seed)
    return [
        (HOUR * h, 170_000.0 + 15_000.0 * min(h, 10) + rng.uniform(-4_000, 4_000))
        for h in range(33)
    ]


def _leak(seed: int) -> list[tuple[float, float]]:
    rng = random.Random(seed)
    return [(HOUR * h, 170_000.0 + 4_500.0 * h + rng.uniform(-4_000, 4_000)) for h in range(33)]


def test_a_series_that_levelled_off_a_day_before_the_end_is_no_leak() -> None:
    for seed in range(20):
        points = _warm_up(seed)
        assert levelled_off(points)
        assert find_leak("vmware-h", points, CONSOLE_KB, min_span_s=4 * HOUR) is None


def test_a_steady_leak_with_the_same_rise_is_one() -> None:
    for seed in range(20):
        points = _leak(seed)
        assert not levelled_off(points)
        leak = find_leak("vmware-h", points, CONSOLE_KB, min_span_s=4 * HOUR)
        assert leak is not None and 4_000 < leak.trend.slope_kb_per_h < 5_000


def test_a_leak_stopped_by_the_exhaustion_it_caused_is_still_one() -> None:
    """Flat for its last hour (the domain full), or its last seconds at fine samples."""
    hourly = [(HOUR * h, 100_000.0 + 8_000.0 * min(h, 30)) for h in range(32)]
    fine = [(float(s), 10_000.0 + 6_000.0 * min(s, 15)) for s in range(26)]
    assert not levelled_off(hourly) and not levelled_off(fine)
    assert find_leak("leaker", hourly, CONSOLE_KB, min_span_s=4 * HOUR) is not None
    assert find_leak("leaker", fine, 256 * 1024.0, min_span_s=10.0) is not None
