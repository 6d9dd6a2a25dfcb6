"""Each scenario's programs and sizes, and how a verdict is judged against the scenario."""

from __future__ import annotations

from pathlib import Path

import pytest

from lostbeat.analyzer.result import CauseKind, RootCause
from lostbeat.simulate.plans import (
    CALM_S,
    FILL_S,
    JUMP_MAX,
    MIB,
    Role,
    Scenario,
    background,
    expectation,
    heartbeat,
    workload,
)


def test_background_holds_fifteen_percent_in_three_steady_programs() -> None:
    programs = background(200 * MIB, python="py")
    assert [p.role for p in programs] == [Role.STEADY] * 3
    assert sum(p.hold or 0 for p in programs) == 30 * MIB
    assert all(
        p.argv[:4] == ("py", "-m", "lostbeat.simulate.workloads", "steady") for p in programs
    )


def test_heartbeat_is_lostbeat_hbd_named_as_on_esx() -> None:
    hb = heartbeat("py", socket=Path("/s"), interval=0.5, timeout=5)
    assert hb.name == "lostbeat-hbd" and hb.role is Role.HEARTBEAT
    assert hb.argv[:4] == ("py", "-m", "lostbeat", "hbd")
    assert "--timeout" in hb.argv and hb.argv[hb.argv.index("--timeout") + 1] == "5"


def _opt(argv: tuple[str, ...], name: str) -> int:
    return int(argv[argv.index(f"--{name}") + 1])


def test_leak_fills_the_room_in_fill_s() -> None:
    (leaker,) = workload(Scenario.LEAK, room=150 * MIB, python="py")
    assert leaker.name == "leaker"
    assert _opt(leaker.argv, "rate") * FILL_S == pytest.approx(150 * MIB, rel=1e-6)


def test_spike_grabs_the_whole_room_at_once() -> None:
    (spiker,) = workload(Scenario.SPIKE, room=150 * MIB, python="py")
    assert _opt(spiker.argv, "grab") == 150 * MIB


@pytest.mark.parametrize("room", [60 * MIB, 180 * MIB, 900 * MIB])
def test_contention_fills_all_but_what_the_churn_strikes(room: int) -> None:
    overhead = 10 * MIB
    programs = workload(Scenario.CONTENTION, room=room, python="py", overhead=overhead)
    churner, fillers = programs[0], programs[1:]
    assert churner.name == "churner" and churner.delay == 0
    holds = [p.hold or 0 for p in fillers]
    assert all(0 < h <= JUMP_MAX for h in holds)  # each under the analyzer's jump floor
    free = room - sum(h + overhead for h in holds) - overhead
    churn = _opt(churner.argv, "max")
    assert churn <= JUMP_MAX
    assert 0 < free < churn  # the churn can take more than is free: the group fills
    delays = [p.delay for p in fillers]
    assert delays == sorted(delays) and delays[-1] == CALM_S  # one by one, the last at CALM_S


def test_third_party_is_stress_ng_throttled() -> None:
    (prog,) = workload(Scenario.THIRD_PARTY, room=150 * MIB, python="py")
    assert prog.argv[:3] == ("stress-ng", "--bigheap", "1") and prog.throttled


def test_expectations() -> None:
    leak = expectation(Scenario.LEAK)
    assert leak.judge(RootCause(CauseKind.LEAK, process="leaker"))[0]
    assert not leak.judge(RootCause(CauseKind.LEAK, process="steady-1"))[0]
    assert not leak.judge(RootCause(CauseKind.INCONCLUSIVE))[0]
    spike = expectation(Scenario.SPIKE)
    assert spike.judge(RootCause(CauseKind.SPIKE))[0]
    assert spike.judge(RootCause(CauseKind.SPIKE, process="spiker"))[0]
    ok, text = spike.judge(RootCause(CauseKind.SPIKE, process="steady-2"))
    assert not ok and text.endswith("WRONG")
    third = expectation(Scenario.THIRD_PARTY)
    assert third.judge(RootCause(CauseKind.LEAK, process="stress-ng-bighe"))[0]
    assert not third.judge(RootCause(CauseKind.SPIKE, process="stress-ng-bighe"))[0]
    assert expectation(Scenario.CONTENTION).judge(RootCause(CauseKind.CONTENTION))[0]
