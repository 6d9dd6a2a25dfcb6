"""Root cause from a recording's fine samples: leaks and jumps are seen and named."""

from __future__ import annotations

from lostbeat.analyzer.parsers.recordings import Point, ProcessHistory, Recording, SystemPoint
from lostbeat.analyzer.result import CauseKind, Crash, CrashType, Origin
from lostbeat.analyzer.rules.culprit import resolve_culprit
from lostbeat.analyzer.rules.root_cause import judge_root_cause
from lostbeat.recording.schema import ProcessKey

T0 = 1_700_000_000.0
GB = 2**30


def proc(name: str, pid: int, values: list[float]) -> ProcessHistory:
    key = ProcessKey(name, f"/usr/bin/{name} --serve", pid, T0 - 100)
    return ProcessHistory(
        key, 1, 0, tuple(Point(T0 + i, int(kb), 0) for i, kb in enumerate(values))
    )


def recording(
    *procs: ProcessHistory, available: float = 20 * GB, total: float = 24 * GB
) -> Recording:
    system = tuple(SystemPoint(T0 + i, int(total), int(available), 0, 0) for i in range(60))
    return Recording("rec", "web1", 1.0, (T0 - 1000,), procs, system, (), ())


def judge(make, rec: Recording, crash: Crash | None = None):
    facts = make.facts(recording=rec, crash=crash)
    return facts, None, judge_root_cause(facts)


def steady(base: float) -> list[float]:
    return [base + (i % 3) * 8 for i in range(60)]


def test_a_steady_grower_is_named_as_the_leaker(make):
    rec = recording(
        proc("leaker", 10, [20_000 + 5_000 * i for i in range(60)]),
        proc("nginx", 11, steady(30_000)),
        proc("postgres", 12, steady(90_000)),
    )
    facts, timeline, judged = judge(make, rec)
    cause = judged.root_cause
    assert cause.kind is CauseKind.LEAK
    assert cause.process == "leaker" and cause.token == "leaker"
    assert cause.rate_kb_per_hour is not None and cause.rate_kb_per_hour > 5_000 * 3600 * 0.9
    assert cause.hours_to_exhaustion is not None and cause.hours_to_exhaustion > 0
    resolved, _, _ = resolve_culprit(facts, cause)
    assert resolved.origin is Origin.UNKNOWN and resolved.process == "leaker"


def test_a_single_jump_is_a_spike_not_a_leak(make):
    jumper = [40_000.0] * 30 + [40_000.0 + 400_000] * 30
    rec = recording(proc("batch", 20, jumper), proc("nginx", 11, steady(30_000)))
    _, _, judged = judge(make, rec, Crash(CrashType.LOST_HEARTBEAT))
    cause = judged.root_cause
    assert cause.kind is CauseKind.SPIKE
    assert cause.process == "batch"
    assert cause.since == T0 + 30


def test_a_quiet_recording_without_crash_is_not_memory(make):
    rec = recording(proc("nginx", 11, steady(30_000)), proc("postgres", 12, steady(90_000)))
    facts, timeline, judged = judge(make, rec)
    assert facts.crash.type is CrashType.NONE
    assert judged.root_cause.kind is CauseKind.NOT_MEMORY


def test_full_and_static_memory_is_contention(make):
    rec = recording(
        proc("java", 11, steady(9_000_000)),
        proc("postgres", 12, steady(9_000_000)),
        available=0.5 * GB,
    )
    _, _, judged = judge(make, rec, Crash(CrashType.LOST_HEARTBEAT))
    assert judged.root_cause.kind is CauseKind.CONTENTION


def test_restarted_leaker_with_new_pids_is_one_program(make):
    first = proc("agent", 30, [10_000 + 4_000 * i for i in range(30)])
    second = ProcessHistory(
        ProcessKey("agent", "/usr/bin/agent --serve", 31, T0 + 30),
        1,
        0,
        tuple(Point(T0 + 30 + i, 10_000 + 4_000 * i, 0) for i in range(30)),
    )
    # the host had just the room the agent took: it ran out when the agent peaked
    rec = recording(first, second, proc("nginx", 11, steady(30_000)), total=160 * 2**20)
    _, _, judged = judge(make, rec, Crash(CrashType.LOST_HEARTBEAT))
    assert judged.root_cause.kind is CauseKind.LEAK
    assert judged.root_cause.process == "agent"
    assert judged.root_cause.pid == 31  # the process that ran last


def test_processes_hold_their_value_between_points(make):
    # four steady 500 MB workers of one program; only one of them ever changes (by 3 KB):
    # the others have points only at their ends, yet the program's sum stays flat
    def worker(pid: int, changes: bool) -> ProcessHistory:
        key = ProcessKey("postgres", "postgres: worker", pid, T0 - 100)
        pts = [Point(T0, 512_000, 0)]
        if changes:
            pts += [Point(T0 + 29, 512_000, 0), Point(T0 + 30, 512_003, 0)]
        pts.append(Point(T0 + 59, 512_003 if changes else 512_000, 0))
        return ProcessHistory(key, 1, 0, tuple(pts))

    rec = recording(*(worker(40 + i, i == 0) for i in range(4)), proc("nginx", 11, steady(30_000)))
    _, _, judged = judge(make, rec)
    assert judged.root_cause.kind is CauseKind.NOT_MEMORY


def test_a_jump_caught_half_made_by_a_sample_is_one_jump(make):
    # 400 MB allocated across two samples: 200 MB steps are each under 1 % of a 24 GB host
    jumper = [40_000.0] * 30 + [40_000.0 + 204_800] + [40_000.0 + 409_600] * 29
    rec = recording(proc("loader", 21, jumper), proc("nginx", 11, steady(30_000)))
    _, _, judged = judge(make, rec)
    assert judged.root_cause.kind is CauseKind.SPIKE
    assert judged.root_cause.process == "loader"
    assert "jumped by 400 MB" in judged.root_cause.explanation
