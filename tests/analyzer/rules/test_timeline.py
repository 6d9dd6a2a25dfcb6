from __future__ import annotations

from lostbeat.analyzer.facts import BootEnd
from lostbeat.analyzer.parsers.vmksummary import LineKind, VmkSummary
from lostbeat.analyzer.platforms._summary import incident, merge_summaries, split_boots
from lostbeat.analyzer.rules.timeline import judge_timeline

HOUR = 3600.0


def test_crash_is_a_start_without_clean_stop_then_vmkernel_error(make):
    before = make.series(10, {"VMap": 500_000}, start=1_000_000)
    gap_end = before[-1].epoch + 3 * HOUR
    after = [
        make.event(LineKind.STARTING, gap_end),
        make.event(LineKind.VMKERNEL_ERROR, gap_end + 11),
        make.event(LineKind.LOADED_VMKERNEL, gap_end + 60),
        *make.series(3, {"VMap": 90_000}, start=gap_end + HOUR),
    ]
    boots = split_boots([*before, *after])
    assert [b.boot.end for b in boots] == [BootEnd.CRASH, BootEnd.OPEN]
    assert incident(boots) is boots[0]
    assert len(boots[0].lines) == 10
    timeline = judge_timeline(make.facts([*before, *after]))
    assert [f.id for f in timeline.findings] == ["timeline.crash"]
    kinds = [e.kind for e in timeline.events]
    assert kinds.index("last_summary") > kinds.index("vmkernel_error")


def test_clean_reboot_and_halt_are_not_crashes(make):
    a = make.series(3, {"vmware-h": 60_000}, start=1_000_000)
    t = a[-1].epoch + 600
    b = make.series(3, {"vmware-h": 60_000}, start=t + HOUR)
    t2 = b[-1].epoch + 600
    lines = [
        *a,
        make.event(LineKind.REBOOTING, t),
        make.event(LineKind.STARTING, t + 90),
        make.event(LineKind.LOADED_VMKERNEL, t + 120),
        *b,
        make.event(LineKind.HALTING, t2),
        make.event(LineKind.STARTING, t2 + 200),
    ]
    assert [b.boot.end for b in split_boots(lines)] == [
        BootEnd.REBOOT,
        BootEnd.HALT,
        BootEnd.OPEN,
    ]
    timeline = judge_timeline(make.facts(lines))
    assert {f.id for f in timeline.findings} == {"timeline.reboot", "timeline.halt"}


def test_uptime_falling_without_start_line_is_an_unclean_boot(make):
    lines = [
        make.hb(1_000_000 + h * HOUR, [("vpxa", 20_000)], uptime=50_000 + h * HOUR)
        for h in range(4)
    ]
    lines += [
        make.hb(1_000_000 + (5 + h) * HOUR, [("vpxa", 20_000)], uptime=100 + h * HOUR)
        for h in range(2)
    ]
    assert [b.boot.end for b in split_boots(lines)] == [BootEnd.UNCLEAN, BootEnd.OPEN]


def test_rotated_files_merge_by_epoch_across_a_year_boundary(make):
    # vmksummary.1 holds December, vmksummary holds January: the epochs order them
    dec = [make.hb(1_293_800_000 + h * HOUR, [("VMap", 1000 + h)]) for h in range(3)]
    jan = [make.hb(1_293_800_000 + (3 + h) * HOUR, [("VMap", 2000 + h)]) for h in range(3)]
    current = VmkSummary(tuple(jan))
    rotated = VmkSummary(tuple(dec))
    merged = merge_summaries([current, rotated])
    assert [ln.epoch for ln in merged] == sorted(ln.epoch for ln in dec + jan)


def test_overlapping_rotations_are_deduplicated(make):
    lines = [make.hb(1_000_000 + h * HOUR, [("VMap", 1000)]) for h in range(4)]
    merged = merge_summaries([VmkSummary(tuple(lines[:3])), VmkSummary(tuple(lines[1:]))])
    assert len(merged) == 4
