from __future__ import annotations

import pytest

from lostbeat.analyzer.parsers.psod import PsodScreen
from lostbeat.analyzer.parsers.vmkernel_log import SignalKind
from lostbeat.analyzer.parsers.vmksummary import LineKind
from lostbeat.analyzer.result import CrashClass, CrashType
from lostbeat.analyzer.rules.crash import judge_crash


def _judge(facts):
    return facts.crash


def test_lost_heartbeat_from_the_alerts_and_placed_in_time(make):
    # KB 308590: last heartbeat line at VMkernel uptime U, screen at U + 2000 s
    lines = make.series(8, {"VMap": 580_000}, start=1_258_000_000)
    last = lines[-1]
    alerts = (
        make.signal(
            SignalKind.HB_ALERT,
            message="Lost heartbeat",
            uptime=last.vmk_uptime_s + 1940,
            comm="vmnixhbd",
            t=29,
            to=30,
        ),
        make.signal(
            SignalKind.HB_ALERT,
            message="Lost heartbeat",
            uptime=last.vmk_uptime_s + 2000,
            comm="VMap",
            t=30,
            to=30,
        ),
        make.signal(
            SignalKind.COS_ERROR, message="Lost heartbeat", uptime=last.vmk_uptime_s + 2000
        ),
    )
    crash = _judge(make.facts(lines, signals=alerts))
    assert crash.type is CrashType.LOST_HEARTBEAT
    assert crash.crashed_at == pytest.approx(last.epoch + 2000)
    assert crash.heartbeat_stopped_at == pytest.approx(last.epoch + 2000 - 30 * 60)
    assert crash.heartbeat_silence_min == 30
    assert crash.alert_comm == "VMap"
    assert crash.vms_affected == 10
    assert crash.build == 153875
    assert crash.release == "ESX 3.5 Update 4"


def test_screen_build_and_message(make):
    screen = PsodScreen(123630, "Lost heartbeat", 3679438.308, (), (), ())
    crash = _judge(make.facts(screens=(screen,)))
    assert crash.type is CrashType.LOST_HEARTBEAT
    assert crash.build == 123630
    assert crash.release == "ESX 3.5 Update 3"
    assert crash.vmk_uptime_s == pytest.approx(3679438.308)


def test_pcpu_heartbeat_warning_is_not_a_lost_heartbeat(make):
    warn = make.signal(SignalKind.PCPU_HEARTBEAT, message="PCPU 1 didn't have a heartbeat")
    lines = make.series(3, {"vpxa": 10_000})
    assert _judge(make.facts(lines, signals=(warn,))).type is CrashType.NONE
    lockup = make.signal(SignalKind.PCPU_LOCKUP, message="PCPU 1 locked up")
    assert _judge(make.facts(lines, signals=(warn, lockup))).type is CrashType.VMKERNEL


@pytest.mark.parametrize(
    ("kind", "message", "expected"),
    [
        (SignalKind.COS_OOPS, "Oops", CrashType.COS_OOPS),
        (SignalKind.COS_ERROR, "Oops", CrashType.COS_OOPS),
        (SignalKind.COS_PANIC, "COS Panic: Int3 @ mp_register_ioapic", CrashType.COS_PANIC),
        (SignalKind.PF_EXCEPTION, "#PF Exception(14) in world 4100", CrashType.VMKERNEL),
        (SignalKind.NOT_IMPLEMENTED, "NOT_IMPLEMENTED util.c:83", CrashType.VMKERNEL),
    ],
)
def test_look_alikes(make, kind, message, expected):
    assert _judge(make.facts(signals=(make.signal(kind, message=message),))).type is expected


def test_crash_seen_only_in_vmksummary_and_no_history(make):
    lines = make.series(5, {"vpxa": 10_000}, start=1_000_000)
    t = lines[-1].epoch + 5000
    unclean = [*lines, make.event(LineKind.STARTING, t)]
    # KB 1019238: no clean stop, then "VMkernel error": the VMkernel crashed (a purple screen,
    # of which kind the summary does not say); without the error line, a crash or a power loss
    assert _judge(make.facts(unclean)).type is CrashType.UNKNOWN
    crashed = _judge(make.facts([*unclean, make.event(LineKind.VMKERNEL_ERROR, t + 10)]))
    assert (crashed.type, crashed.class_) == (CrashType.VMKERNEL, CrashClass.UNKNOWN)
    assert crashed.message is not None and "VMkernel error" in crashed.message
    assert _judge(make.facts()).type is CrashType.UNKNOWN


def test_comm_is_reported_as_a_hint_never_as_the_cause(make):
    alert = make.signal(
        SignalKind.HB_ALERT, message="Lost heartbeat", comm="cimserver", t=30, to=30
    )
    findings = judge_crash(make.facts(signals=(alert,)))
    assert "not the cause" in findings[0].detail
