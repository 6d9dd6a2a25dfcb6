from __future__ import annotations

import math

import pytest

from lostbeat.analyzer.parsers.vmkernel_log import SignalKind
from lostbeat.analyzer.result import CauseKind, Crash, CrashClass, CrashType
from lostbeat.analyzer.rules.root_cause import judge_root_cause

LOST = Crash(CrashType.LOST_HEARTBEAT)


def _cause(make, lines, crash=LOST, **kw):
    kw.setdefault("meminfo", make.meminfo(799732, 554168))
    return judge_root_cause(make.facts(lines, crash=crash, **kw))


def steady(base, noise=0.03):
    return lambda h, rng: base * (1 + rng.uniform(-noise, noise))


def test_steady_leak_with_noise_and_gaps_is_a_leak(make):
    def vmap(h, rng):
        # out of the top three in the first hours, then growing 6 MB/h with noise
        return None if h < 10 else 100_000 + 6_000 * h + rng.uniform(-4000, 4000)

    lines = make.series(
        72,
        {
            "VMap": vmap,
            "vmware-h": steady(82_000),
            "webAcces": steady(27_000),
            "vpxa": steady(20_000),
        },
        swap=lambda h, rng: 4096 * 1900 * h,
    )
    judged = _cause(make, lines)
    cause = judged.root_cause
    assert cause.kind is CauseKind.LEAK
    assert cause.token == "VMap"
    assert cause.rate_kb_per_hour == pytest.approx(6000, rel=0.15)
    assert cause.since == lines[10].epoch
    # vmksummary's sizes are virtual: what VMap held is said, never a date of exhaustion
    assert cause.exhaustion_at is None and cause.hours_to_exhaustion is None
    assert cause.held_kb == lines[-1].top[0].kb
    assert cause.held_percent == pytest.approx(100 * cause.held_kb / 799732, abs=0.1)
    assert "of the Service Console's 780 MB" in cause.explanation
    assert cause.confidence >= 0.8
    assert judged.findings[0].id == "root_cause.leak"


def test_sawtooth_restarts_are_still_a_leak(make):
    def hostd(h, rng):
        return 60_000 + 5_000 * (h % 20) + rng.uniform(-1500, 1500)  # restarted every 20 h

    # the leak kept swap near full (90 %) at the last summary
    lines = make.series(
        70,
        {"vmware-h": hostd, "vpxa": steady(30_000), "webAcces": steady(25_000)},
        swap=lambda h, rng: int(0.9 * 554168 * 1024 * h / 69),
    )
    cause = _cause(make, lines).root_cause
    assert cause.kind is CauseKind.LEAK
    assert cause.token == "vmware-h"
    assert "restarted" in cause.explanation


def test_steady_noisy_processes_are_not_leaks(make):
    for seed in range(10):
        lines = make.series(
            72,
            {
                "vmware-h": steady(82_000, 0.1),
                "vpxa": steady(40_000, 0.1),
                "webAcces": steady(27_000, 0.1),
                "sfcbd": steady(26_000, 0.2),
            },
            swap=lambda h, rng: 4096 * 2000,
            seed=seed,
        )
        assert _cause(make, lines).root_cause.kind is CauseKind.SPIKE, seed


def test_two_leakers_primary_is_the_larger_growth(make):
    lines = make.series(
        48,
        {
            "cimserve": lambda h, r: 30_000 + 9_000 * h,
            "vmware-h": lambda h, r: 80_000 + 3_000 * h,
            "vpxa": steady(20_000),
        },
        swap=lambda h, rng: 4096 * 2800 * h,
    )
    cause = _cause(make, lines).root_cause
    assert cause.kind is CauseKind.LEAK
    assert (cause.token, cause.others) == ("cimserve", ("vmware-h",))


def test_growth_too_slow_to_fill_free_swap_is_a_drift_not_the_cause(make):
    # webAccess gains 15 % over the last 6 h while two thirds of swap are still free
    def webaccess(h, rng):
        return 250_000 * (1 + 0.025 * max(0, h - 42))

    lines = make.series(
        48,
        {"webAcces": webaccess, "vmware-h": steady(80_000)},
        swap=lambda h, rng: int(0.3 * 554168 * 1024),
    )
    judged = _cause(make, lines)
    assert judged.root_cause.kind is CauseKind.SPIKE
    assert [f.id for f in judged.findings] == ["root_cause.spike", "root_cause.drift"]


def test_the_rising_half_of_a_daily_cycle_is_not_a_leak(make):
    def cyclic(h, rng):
        return 200_000 * (1 + 0.2 * math.sin(2 * math.pi * h / 24))

    # 102 h: the record ends near a daily peak, after twelve hours of rise
    lines = make.series(
        102,
        {"vpxa": cyclic, "vmware-h": steady(80_000)},
        swap=lambda h, rng: int(0.95 * 554168 * 1024),
    )
    assert _cause(make, lines).root_cause.kind is CauseKind.CONTENTION


def test_high_static_usage_is_contention(make):
    lines = make.series(
        48,
        {"vmware-h": steady(180_000), "cmahealt": steady(170_000), "vpxa": steady(150_000)},
        swap=lambda h, rng: int(0.9 * 554168 * 1024),
    )
    cause = _cause(make, lines, meminfo=make.meminfo(272 * 1024, 554168)).root_cause
    assert cause.kind is CauseKind.CONTENTION
    assert cause.process is None and cause.token is None
    assert "swap 90 % used; largest vmware-h" in cause.explanation, cause.explanation


def test_too_little_history_is_inconclusive(make):
    lines = make.series(3, {"VMap": lambda h, r: 100_000 + 50_000 * h})
    assert _cause(make, lines).root_cause.kind is CauseKind.INCONCLUSIVE


@pytest.mark.parametrize("kind", [CrashType.COS_OOPS, CrashType.VMKERNEL, CrashType.NONE])
def test_other_crashes_are_not_memory_but_an_ongoing_leak_is_still_reported(make, kind):
    lines = make.series(48, {"VMap": lambda h, r: 100_000 + 8_000 * h, "vpxa": steady(20_000)})
    shown = CrashClass.VMKERNEL if kind is CrashType.VMKERNEL else CrashClass.UNKNOWN
    judged = _cause(make, lines, crash=Crash(kind, class_=shown))
    assert judged.root_cause.kind is CauseKind.NOT_MEMORY
    assert [f.id for f in judged.findings] == ["root_cause.ongoing_leak"]


def test_a_purple_screen_of_unknown_class_is_not_the_consoles_memory(make):
    """A VMkernel screen whose cause the screen does not give is still no Service Console
    memory exhaustion: the platform says which crash types its domain can cause."""
    lines = make.series(48, {"VMap": lambda h, r: 100_000 + 8_000 * h, "vpxa": steady(20_000)})
    screen = make.signal(SignalKind.PF_EXCEPTION, message="#PF Exception 14 in world 1:x")
    facts = make.facts(lines, signals=(screen,))
    assert facts.crash.class_ is CrashClass.UNKNOWN
    assert judge_root_cause(facts).root_cause.kind is CauseKind.NOT_MEMORY


def test_two_thirds_of_swap_in_use_but_static_is_not_yet_contention(make):
    # with a third of swap left at the last summary, exhaustion needed a spike within the hour
    lines = make.series(
        48,
        {"vmware-h": steady(80_000), "vpxa": steady(40_000)},
        swap=lambda h, rng: int(0.66 * 554168 * 1024),
    )
    assert _cause(make, lines).root_cause.kind is CauseKind.SPIKE


def test_a_large_process_drifting_a_few_percent_is_not_a_leak(make):
    # a 314 MB JVM on a 300 MB console gaining 1.5 MB/h for 10 h: 5 % of its size
    lines = make.series(
        30,
        {
            "dsm_om_c": lambda h, r: 314_000 + (1_500 * (h - 20) if h > 20 else 0),
            "vmware-h": steady(70_000),
        },
        swap=lambda h, rng: int(0.9 * 554168 * 1024),
    )
    cause = _cause(make, lines, meminfo=make.meminfo(300 * 1024, 554168)).root_cause
    assert cause.kind is CauseKind.CONTENTION
