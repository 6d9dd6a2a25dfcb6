"""The trend statistics against scipy's: Theil-Sen and Kendall's tau-b computed in plain
Python must give what ``scipy.stats`` gives, on every path (ties, the exact and the
asymptotic p-value, constant series), and ``fit`` what it gave when it called scipy."""

from __future__ import annotations

import math
import random

import pytest

from lostbeat.analyzer import trend
from lostbeat.analyzer.trend import fit, kendall_tau, theil_sen

stats = pytest.importorskip("scipy.stats", reason="scipy is the reference these are checked on")
np = pytest.importorskip("numpy")


def _series(rnd: random.Random, n: int, shape: str) -> tuple[list[float], list[float]]:
    x = [float(i) + (rnd.random() * 0.5 if shape == "uneven" else 0.0) for i in range(n)]
    if shape == "x-ties":  # samples that share a time stamp
        x = [float(i // 2) for i in range(n)]
    if shape == "y-ties":  # few distinct values, as a process that holds its size for hours
        y = [float(rnd.randint(0, 4) * 1024) for _ in range(n)]
    elif shape == "one-swap":  # in order but for one pair: scipy's exact path beyond 33 points
        y = [1000.0 + 10 * i for i in range(n)]
        at = rnd.randrange(n - 1)
        y[at], y[at + 1] = y[at + 1], y[at]
    elif shape == "falling":
        y = [1e6 - 3000.0 * i + rnd.gauss(0, 2000) for i in range(n)]
    else:
        y = [100_000 + 2_000.0 * i + rnd.gauss(0, 20_000) for i in range(n)]
    return x, y


SHAPES = ("noisy", "uneven", "x-ties", "y-ties", "one-swap", "falling")
CASES = [
    (n, shape, seed) for n in (3, 4, 7, 20, 33, 34, 57, 240) for shape in SHAPES for seed in (0, 1)
]


@pytest.mark.parametrize(("n", "shape", "seed"), CASES)
def test_theil_sen_is_scipys(n: int, shape: str, seed: int) -> None:
    x, y = _series(random.Random(seed * 1000 + n), n, shape)
    want = stats.theilslopes(y, x)
    slope, intercept = theil_sen(x, y)
    assert slope == want.slope  # the same pairwise quotients, the same middle
    assert intercept == pytest.approx(want.intercept, rel=1e-12, abs=1e-9)


@pytest.mark.parametrize(("n", "shape", "seed"), CASES)
def test_kendall_tau_is_scipys(n: int, shape: str, seed: int) -> None:
    x, y = _series(random.Random(seed * 1000 + n), n, shape)
    want = stats.kendalltau(x, y)
    tau, p_value = kendall_tau(x, y)
    if math.isnan(want.statistic):
        assert math.isnan(tau) and math.isnan(p_value)
        return
    assert tau == pytest.approx(want.statistic, rel=1e-12, abs=1e-15)
    assert p_value == pytest.approx(want.pvalue, rel=1e-9, abs=1e-300)


def test_the_exact_p_value_is_scipys_for_every_count_of_pairs_in_order() -> None:
    """Every permutation count of a small n, and the extreme counts of a long series."""
    from scipy.stats._mstats_basic import _kendall_p_exact as scipy_exact

    for n in (3, 5, 8, 13, 21, 33):
        for c in range(n * (n - 1) // 2 + 1):
            assert trend._kendall_p_exact(n, c) == pytest.approx(scipy_exact(n, c), rel=1e-12)
    for n in (34, 100, 170, 171, 172, 240):
        tot = n * (n - 1) // 2
        for c in (0, 1, tot - 1, tot):
            assert trend._kendall_p_exact(n, c) == pytest.approx(
                float(scipy_exact(n, c)), rel=1e-12, abs=1e-300
            )


def test_constant_series() -> None:
    assert all(math.isnan(v) for v in kendall_tau([1.0, 2.0, 3.0], [5.0, 5.0, 5.0]))
    assert all(math.isnan(v) for v in kendall_tau([1.0, 1.0, 1.0], [1.0, 2.0, 3.0]))
    with pytest.raises(ValueError, match="all x"):
        theil_sen([2.0, 2.0], [1.0, 3.0])


def _fit_with_scipy(points: list[tuple[float, float]]) -> tuple[float, ...] | None:
    """``fit`` as it was written on scipy, for the comparison."""
    if len(points) < 3:
        return None
    if len(points) > trend.MAX_FIT_POINTS:
        step = len(points) / trend.MAX_FIT_POINTS
        points = [points[int(i * step)] for i in range(trend.MAX_FIT_POINTS - 1)] + [points[-1]]
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
    return float(slope), float(intercept), tau, p_value


@pytest.mark.parametrize("n", [2, 3, 5, 12, 50, 240, 241, 1000])
@pytest.mark.parametrize("shape", ["noisy", "y-ties", "sawtooth", "flat"])
def test_fit_is_what_it_was_on_scipy(n: int, shape: str) -> None:
    rnd = random.Random(n)
    start = 1_258_000_000.0
    points = []
    for i in range(n):
        if shape == "noisy":
            kb = 100_000 + 2_000.0 * i + rnd.gauss(0, 5_000)
        elif shape == "y-ties":
            kb = float(rnd.choice((50_000, 60_000, 70_000)))
        elif shape == "sawtooth":
            kb = 100_000.0 + 5_000 * (i % 17)
        else:
            kb = 80_000.0
        points.append((start + 3600.0 * i + rnd.choice((0.0, 0.0, 7.0)), kb))
    got, want = fit(points), _fit_with_scipy(points)
    if want is None:
        assert got is None
        return
    assert got is not None
    assert got.slope_kb_per_h == pytest.approx(want[0], rel=1e-12, abs=1e-9)
    assert got.intercept_kb == pytest.approx(want[1], rel=1e-12, abs=1e-6)
    assert got.tau == pytest.approx(want[2], rel=1e-12, abs=1e-15)
    assert got.p_value == pytest.approx(want[3], rel=1e-9, abs=1e-300)


def test_a_gated_fit_is_the_fit_or_none() -> None:
    """``min_tau`` and ``max_p`` only say None where the fit's tau or p-value fails them."""
    rnd = random.Random(7)
    for n in (5, 30, 240):
        for noise in (0.0, 10_000.0, 200_000.0):
            points = [(3600.0 * i, 50_000 + 1_000.0 * i + rnd.gauss(0, noise)) for i in range(n)]
            whole = fit(points)
            assert whole is not None
            gated = fit(points, min_tau=0.5, max_p=0.01)
            if whole.tau >= 0.5 and whole.p_value <= 0.01:
                assert gated == whole
            else:
                assert gated is None
    flat = [(3600.0 * i, 1000.0) for i in range(10)]
    assert fit(flat) is not None and fit(flat, min_tau=0.0) is not None
    assert fit(flat, min_tau=0.1) is None
