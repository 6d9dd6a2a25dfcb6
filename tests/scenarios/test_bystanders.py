"""Steady processes vary as on real hosts, and never change what the incident is.

Leaks often sit beside a larger static consumer; spikes and contention carry cycles, warm-ups,
GC sawtooths and short drifts that a fixed slope threshold can take for exhaustion. Each
incident here is the generator's own (the builder, then the simulation, from the same random
source as ``generate``), read back from its summary lines; the last test reads real bundles.
"""

from __future__ import annotations

import functools
import random
import re
import statistics

from lostbeat.scenarios import generate
from lostbeat.scenarios.memory import Model, calibrate, instances
from lostbeat.scenarios.scenarios import BUILDERS
from lostbeat.scenarios.simulate import Line, Timeline, simulate
from lostbeat.scenarios.spec import HOUR, Pattern, Spec
from lostbeat.scenarios.variation import LARGE_KB
from tests.scenarios.helpers import crashed_boot, entries, members
from tests.scenarios.test_content import LEAKS

SEEDS = range(30)
MB = 1024


@functools.cache
def _incident(name: str, seed: int) -> tuple[Spec, Timeline, tuple[Line, ...]]:
    """The spec, its timeline and the hourly lines of the boot that crashed."""
    rng = random.Random(f"{name}:{seed}")
    spec = BUILDERS[name](rng, seed)
    timeline = simulate(spec, rng)
    assert timeline.crash_at is not None
    boot: list[Line] = []
    for line in timeline.lines:
        if line.epoch >= timeline.crash_at:
            break
        if line.kind == "starting":
            boot = []
        elif line.kind == "hb":
            boot.append(line)
    return spec, timeline, tuple(boot)


def _series(boot: tuple[Line, ...]) -> dict[str, list[tuple[float, int]]]:
    out: dict[str, list[tuple[float, int]]] = {}
    for line in boot:
        for token, kb in line.top:
            out.setdefault(token, []).append((line.epoch / HOUR, kb))
    return out


def _slope(points: list[tuple[float, int]]) -> float:
    """Least-squares KB per hour."""
    mx = statistics.fmean(x for x, _ in points)
    my = statistics.fmean(y for _, y in points)
    sxx = sum((x - mx) ** 2 for x, _ in points)
    return sum((x - mx) * (y - my) for x, y in points) / sxx if sxx else 0.0


def _recent(
    points: list[tuple[float, int]], end: float, hours: float = 6.0
) -> list[tuple[float, int]]:
    return [(x, y) for x, y in points if x >= end - hours]


def _slope_alarm(spec: Spec, boot: tuple[Line, ...]) -> bool:
    """A fixed-threshold slope fires: over the last 6 h some process grows more than 1 MB/h
    and its line reaches MemTotal within 24 h (a Prometheus ``predict_linear`` rule)."""
    end = boot[-1].epoch / HOUR
    for points in _series(boot).values():
        recent = _recent(points, end)
        if len(recent) >= 3:
            rate = _slope(recent)
            if rate > MB and recent[-1][1] + 24 * rate >= spec.host.mem_total_kb:
                return True
    return False


def test_the_leaker_is_often_not_the_largest_at_the_last_line() -> None:
    outsized = 0
    for name in LEAKS:
        count = 0
        for seed in SEEDS:
            spec, _, boot = _incident(name, seed)
            leaker = spec.growths[0].proc[:8]
            last = boot[-1]
            token, kb = max(last.top, key=lambda t: t[1])
            values = _series(boot)[leaker]
            # the leaker still grows steadily and the console still runs out of swap
            assert values[-1][1] > values[0][1] + 20 * MB, (name, seed)
            assert values[-1][1] >= 0.95 * max(v for _, v in values[-20:]), (name, seed)
            assert last.swap_bytes / 1024 > 0.9 * spec.host.swap_total_kb, (name, seed)
            if token == leaker:
                continue
            count += 1
            # what outsizes it is a large, flat consumer
            assert LARGE_KB[0] <= kb <= 1.1 * 360 * MB, (name, seed, token, kb)
            large = [v for _, v in _series(boot)[token]]
            middle = statistics.median(large)
            assert all(abs(v / middle - 1) < 0.12 for v in large), (name, seed, token)
        assert 0.25 <= count / len(SEEDS) <= 0.8, (name, count)
        outsized += count
    assert 0.35 <= outsized / (len(LEAKS) * len(SEEDS)) <= 0.65, outsized


def test_leaks_keep_the_articles_seed_and_vary_the_others() -> None:
    article, _, _ = _incident("vmware-leak", 0)
    assert article.behaviours == () and article.outsize == 0
    patterns = {
        b.pattern for name in LEAKS for s in SEEDS for b in _incident(name, s)[0].behaviours
    }
    assert {Pattern.STATIC, Pattern.DAILY, Pattern.WARMUP} <= patterns
    assert Pattern.DRIFT not in patterns


def _sizes(spec: Spec, seed: int, hours: range, start: int) -> dict[str, list[int]]:
    """The memory model's size of each habit's process at ``start`` + each hour."""
    rng = random.Random(seed)
    insts = instances(spec.host, rng, spec)
    host, amounts = calibrate(spec, insts, rng)
    model = Model(spec, host, insts, amounts)
    out: dict[str, list[int]] = {b.proc: [] for b in spec.behaviours}
    for h in hours:
        sizes = model.sizes(rng, start + h * HOUR, start=start, phase="flat")
        for x, kb in zip(insts, sizes, strict=True):
            if x.habit is not None:
                out[x.habit.proc].append(kb)
    return out


def test_habits_cycle_daily_warm_up_and_collect_garbage() -> None:
    seen: set[Pattern] = set()
    for name in ("contention", "spike", "vmware-leak"):
        for seed in SEEDS:
            spec = _incident(name, seed)[0]
            start = spec.end_at - 400 * HOUR
            sizes = _sizes(spec, seed, range(0, 96), start)
            for b in spec.behaviours:
                kb = sizes[b.proc]
                if b.pattern is Pattern.DAILY and b.amount > 0.1:
                    # a day apart the same size, half a day apart clearly different
                    assert abs(kb[30] - kb[54]) < 0.06 * kb[30], (name, seed, b)
                    swings = [abs(kb[h] - kb[h + 12]) for h in range(24, 36)]
                    assert max(swings) > 0.08 * max(kb), (name, seed, b)
                    seen.add(b.pattern)
                elif b.pattern is Pattern.WARMUP and not b.phase_h:
                    plateau = statistics.median(kb[20:96])
                    assert kb[0] < (1 - 0.6 * b.amount) * plateau, (name, seed, b)
                    assert max(kb[20:96]) < 1.08 * plateau, (name, seed, b)
                    seen.add(b.pattern)
                elif b.pattern is Pattern.GC:
                    drops = sum(
                        1 for a, c in zip(kb, kb[1:], strict=False) if c < a * (1 - b.amount / 3)
                    )
                    assert drops >= 96 / b.period_h - 2, (name, seed, b)
                    assert max(kb) < 1.1 * min(kb) / (1 - b.amount), (name, seed, b)
                    seen.add(b.pattern)
    assert seen == {Pattern.DAILY, Pattern.WARMUP, Pattern.GC}


def test_spike_swap_varies_and_nothing_in_the_record_explains_the_exhaustion() -> None:
    used, alarms = [], 0
    for seed in SEEDS:
        spec, timeline, boot = _incident("spike", seed)
        assert timeline.crash_at is not None
        last = boot[-1]
        swap_kb = spec.host.swap_total_kb
        used.append(last.swap_bytes / 1024 / swap_kb)
        free = swap_kb - last.swap_bytes / 1024
        end = last.epoch / HOUR
        assert timeline.crash_at - last.epoch < 3600 + 31 * 60
        for token, points in _series(boot).items():
            recent = _recent(points, end)
            if len(recent) >= 3:
                # at its last 6 h pace no process would fill the free swap within 8 h: the
                # exhaustion within the hour after the last line came from something unseen
                assert 8 * _slope(recent) < free, (seed, token)
            earlier = [v for x, v in points if x < end - 10]
            if len(earlier) >= 6:  # nothing grew over the boot before the last hours
                assert earlier[-1] < 1.25 * statistics.median(earlier), (seed, token)
        alarms += _slope_alarm(spec, boot)
    assert max(used) < 0.7 and min(used) < 0.1 and max(used) > 0.5, used
    assert sum(u > 0.3 for u in used) >= 6, used
    assert 3 <= alarms <= 20, alarms


def test_contention_stays_high_and_can_fire_a_slope_alarm() -> None:
    alarms = 0
    for seed in SEEDS:
        spec, _, boot = _incident("contention", seed)
        assert not spec.growths
        swap_kb = spec.host.swap_total_kb
        assert boot[-1].swap_bytes / 1024 > 0.8 * swap_kb, seed
        assert all(line.swap_bytes / 1024 > 0.7 * swap_kb for line in boot[-24:]), seed
        for token, points in _series(boot).items():
            values = [v for _, v in points]
            if len(values) >= 6:  # nothing grows steadily over the boot
                assert values[-1] < 1.25 * statistics.median(values), (seed, token)
        alarms += _slope_alarm(spec, boot)
    assert 3 <= alarms <= 20, alarms


def test_a_java_agent_shows_in_ps_and_rpm(tmp_path: object) -> None:
    seed = next(
        s for s in SEEDS if any(b.proc == "java" for b in _incident("spike", s)[0].behaviours)
    )
    case = generate("spike", tmp_path / "java", seed=seed)  # type: ignore[operator]
    _, files = members(case.bundle)
    ps = files[next(p for p in files if p.startswith("tmp/ps."))].decode()
    rpm = files[next(p for p in files if p.startswith("tmp/rpm."))].decode()
    assert re.search(r" /opt/ibm/director/jre/bin/java .*-jar \S+twgagent\.jar$", ps, re.M)
    assert "IBMDirectorAgent-" in rpm
    assert case.truth.crashed_at is not None
    boot = crashed_boot(entries(files), case.truth.crashed_at)
    assert any(token == "java" for e in boot for token, _ in e.top)


def test_bundles_show_a_larger_static_consumer_beside_the_leak(tmp_path: object) -> None:
    outsized = 0
    for seed in range(1, 9):
        case = generate("third-party-leak", tmp_path / str(seed), seed=seed)  # type: ignore[operator]
        assert case.truth.crashed_at is not None and case.truth.culprit is not None
        _, files = members(case.bundle)
        boot = crashed_boot(entries(files), case.truth.crashed_at)
        token, _ = max(boot[-1].top, key=lambda t: t[1])
        if token != case.truth.culprit[:8]:
            outsized += 1
            assert case.truth.culprits == (case.truth.culprit,)
            assert case.truth.culprit[:8] in [t for t, _ in boot[-1].top]
    assert 2 <= outsized <= 6, outsized
