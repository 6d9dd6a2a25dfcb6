"""What crashed on an ESX host, from its screens, VMkernel logs and hourly summary.

Classification follows docs/reference/esx-artifacts.md §2.4: ``Lost heartbeat`` on the screen,
in an ``HB: NNN: Lost heartbeat`` alert or a ``COS Error: Lost heartbeat`` line is a lost
heartbeat; Oops and COS Panic are Service Console faults; a PCPU lockup, a #PF exception or
NOT_IMPLEMENTED is a VMkernel purple screen. The VMkernel's per-CPU ``Heartbeat: ... PCPU``
warning is its lockup detector and never a lost heartbeat. Without a screen or log, the
hourly summary still tells a crash (``VMkernel error`` after an unclean start) from a clean
history.
"""

from __future__ import annotations

from collections.abc import Sequence

from lostbeat.analyzer.facts import BootEnd, ReleaseInfo
from lostbeat.analyzer.findings import Evidence
from lostbeat.analyzer.parsers.psod import PsodScreen
from lostbeat.analyzer.parsers.vmkernel_log import Signal, SignalKind
from lostbeat.analyzer.platforms._summary import SummaryBoot
from lostbeat.analyzer.result import Crash, CrashClass, CrashType

__all__ = ["crash_build", "esx_crash"]

_LOST = "lost heartbeat"
_VMKERNEL_KINDS = (
    SignalKind.PCPU_LOCKUP,
    SignalKind.PF_EXCEPTION,
    SignalKind.NOT_IMPLEMENTED,
)
_CLASS = {
    CrashType.LOST_HEARTBEAT: CrashClass.MEMORY_EXHAUSTION,  # KB 308590: almost always
    CrashType.COS_OOPS: CrashClass.SERVICE_CONSOLE,
    CrashType.COS_PANIC: CrashClass.SERVICE_CONSOLE,
    CrashType.VMKERNEL: CrashClass.VMKERNEL,
    CrashType.NONE: CrashClass.NONE,
    CrashType.UNKNOWN: CrashClass.UNKNOWN,
}


def _is_lost(sig: Signal) -> bool:
    if sig.kind is SignalKind.HB_ALERT:
        return True
    return (
        sig.kind in (SignalKind.COS_ERROR, SignalKind.BLUESCREEN)
        and _LOST in (sig.message or "").lower()
    )


def _classify(
    screens: Sequence[PsodScreen], signals: Sequence[Signal], *, crashed: bool, history: bool
) -> tuple[CrashType, list[Signal]]:
    messages = [(s.message or "").lower() for s in screens]
    lost = [s for s in signals if _is_lost(s)]
    if lost or any(_LOST in m for m in messages):
        return CrashType.LOST_HEARTBEAT, lost
    oops = [
        s
        for s in signals
        if s.kind is SignalKind.COS_OOPS
        or (
            s.kind in (SignalKind.COS_ERROR, SignalKind.BLUESCREEN)
            and "oops" in (s.message or "").lower()
        )
    ]
    if oops or any(m.startswith("oops") for m in messages):
        return CrashType.COS_OOPS, oops
    panic = [
        s
        for s in signals
        if s.kind is SignalKind.COS_PANIC
        or "cos panic" in (s.message or "").lower()
        or "cospanic" in (s.message or "").lower()
    ]
    if panic or any("cos panic" in m or "cospanic" in m for m in messages):
        return CrashType.COS_PANIC, panic
    vmk = [s for s in signals if s.kind in _VMKERNEL_KINDS or s.kind is SignalKind.BLUESCREEN]
    if vmk or screens:
        return CrashType.VMKERNEL, vmk
    if crashed:
        return CrashType.UNKNOWN, []
    if history:
        return CrashType.NONE, []
    return CrashType.UNKNOWN, []


def _crash_uptime(screens: Sequence[PsodScreen], crash_signals: list[Signal]) -> float | None:
    for screen in screens:
        if screen.vmk_uptime_s is not None:
            return screen.vmk_uptime_s
    cos = [s.uptime_s for s in crash_signals if s.uptime_s is not None]
    return max(cos) if cos else None


def esx_crash(
    screens: Sequence[PsodScreen],
    signals: Sequence[Signal],
    boots: Sequence[SummaryBoot],
    incident: SummaryBoot | None,
    *,
    build: int | None,
    release: ReleaseInfo | None,
) -> Crash:
    """Classify the crash and place it in time (the screen's VMkernel uptime against the
    last hourly line's)."""
    crashed = any(b.boot.end in (BootEnd.CRASH, BootEnd.UNCLEAN) for b in boots)
    kind, found = _classify(screens, signals, crashed=crashed, history=bool(boots))
    last = incident.lines[-1] if incident and incident.lines else None
    uptime = _crash_uptime(screens, found)
    crashed_at: float | None = None
    if (
        kind is not CrashType.NONE
        and last is not None
        and last.epoch is not None
        and last.vmk_uptime_s is not None
        and uptime is not None
        and uptime >= last.vmk_uptime_s
    ):
        crashed_at = last.epoch + (uptime - last.vmk_uptime_s)
        ended = incident.boot.ended_at if incident else None
        if ended is not None and crashed_at > ended:
            crashed_at = None  # the screen belongs to another boot
    alerts = [s for s in found if s.kind is SignalKind.HB_ALERT]
    last_alert = max(alerts, key=lambda s: (s.t or 0, s.uptime_s or 0.0)) if alerts else None
    silence = last_alert.t if last_alert else None
    timeout = last_alert.to if last_alert else None
    stopped_at: float | None = None
    if kind is CrashType.LOST_HEARTBEAT and crashed_at is not None:
        stopped_at = crashed_at - 60.0 * float(silence if silence is not None else timeout or 30)
    evidence: list[Evidence] = [e for screen in screens for e in screen.evidence[:2]]
    evidence.extend(s.evidence for s in found[:6])
    if kind in (CrashType.UNKNOWN, CrashType.NONE) and incident is not None:
        evidence.extend(incident.boot.end_evidence)
    happened = kind is not CrashType.NONE
    return Crash(
        type=kind,
        message=next((s.message for s in screens if s.message), None)
        or next((s.message for s in found if s.message), None),
        build=build,
        release=release.name if release else None,
        crashed_at=crashed_at,
        heartbeat_stopped_at=stopped_at,
        vmk_uptime_s=uptime,
        heartbeat_silence_min=silence,
        heartbeat_timeout_min=timeout,
        uptime_s=last.cos_uptime_s if last and happened else None,
        vms_affected=last.vms if last and happened else None,
        alert_comm=last_alert.comm if last_alert else None,
        evidence=tuple(evidence),
        class_=_CLASS[kind],
    )


def crash_build(
    screens: Sequence[PsodScreen], incident: SummaryBoot | None, version_builds: Sequence[int]
) -> int | None:
    """The build of the crashed host: the screen's, else the last hourly line's, else the
    version files' (written after the reboot, so possibly a newer build)."""
    for screen in screens:
        if screen.build is not None:
            return screen.build
    if incident is not None:
        for line in reversed(incident.lines):
            if line.vmk_build is not None:
                return line.vmk_build
    return version_builds[0] if version_builds else None
