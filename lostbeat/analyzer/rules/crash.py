"""What crashed: a Lost heartbeat or a look-alike, when, on which build.

Classification follows esx-artifacts.md §2.4: ``Lost heartbeat`` on the screen, in an
``HB: NNN: Lost heartbeat`` alert or a ``COS Error: Lost heartbeat`` line is a lost heartbeat;
Oops and COS Panic are Service Console faults; a PCPU lockup, a #PF exception or
NOT_IMPLEMENTED is a VMkernel purple screen. The VMkernel's per-CPU ``Heartbeat: ... PCPU``
warning is its lockup detector and never a lost heartbeat. Without a screen or log, vmksummary
still tells a crash (``VMkernel error`` after an unclean start) from a clean history.
"""

from __future__ import annotations

from dataclasses import dataclass

from lostbeat.analyzer.builds import release_of
from lostbeat.analyzer.facts import HostFacts
from lostbeat.analyzer.findings import Evidence, Finding, Severity
from lostbeat.analyzer.parsers.vmkernel_log import Signal, SignalKind
from lostbeat.analyzer.result import Crash, CrashType
from lostbeat.analyzer.rules._rule import rule
from lostbeat.analyzer.rules.timeline import Timeline

__all__ = ["CrashJudgement", "judge_crash"]

_LOST = "lost heartbeat"
_VMKERNEL_KINDS = (
    SignalKind.PCPU_LOCKUP,
    SignalKind.PF_EXCEPTION,
    SignalKind.NOT_IMPLEMENTED,
)


@dataclass(frozen=True, slots=True)
class CrashJudgement:
    crash: Crash
    findings: tuple[Finding, ...]


def _is_lost(sig: Signal) -> bool:
    if sig.kind is SignalKind.HB_ALERT:
        return True
    return (
        sig.kind in (SignalKind.COS_ERROR, SignalKind.BLUESCREEN)
        and _LOST in (sig.message or "").lower()
    )


def _classify(facts: HostFacts, timeline: Timeline) -> tuple[CrashType, list[Signal]]:
    signals = list(facts.signals)
    messages = [(s.message or "").lower() for s in facts.screens]
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
    if vmk or facts.screens:
        return CrashType.VMKERNEL, vmk
    if timeline.crashed:
        return CrashType.UNKNOWN, []
    if facts.summary or facts.recording is not None:
        return CrashType.NONE, []
    return CrashType.UNKNOWN, []


def _build(facts: HostFacts, timeline: Timeline) -> int | None:
    """The build of the crashed host: the screen's, else the last hourly line's, else the
    version files' (written after the reboot, so possibly a newer build)."""
    for screen in facts.screens:
        if screen.build is not None:
            return screen.build
    incident = timeline.incident
    if incident is not None:
        for line in reversed(incident.lines):
            if line.vmk_build is not None:
                return line.vmk_build
    return next((v.build for v in facts.versions if v.build is not None), None)


def _crash_uptime(facts: HostFacts, crash_signals: list[Signal]) -> float | None:
    for screen in facts.screens:
        if screen.vmk_uptime_s is not None:
            return screen.vmk_uptime_s
    cos = [s.uptime_s for s in crash_signals if s.uptime_s is not None]
    return max(cos) if cos else None


def _linux_crash(facts: HostFacts) -> CrashJudgement:
    """A lostbeat monitor capture: a lost heartbeat declared at a known time."""
    cap = min(facts.captures, key=lambda c: c.declared_at or float("inf"))
    stopped = cap.declared_at - cap.t if cap.declared_at is not None and cap.t is not None else None
    crash = Crash(
        type=CrashType.LOST_HEARTBEAT,
        message="Lost heartbeat",
        release=f"Linux {cap.kernel}",
        crashed_at=cap.declared_at,
        heartbeat_stopped_at=stopped,
        uptime_s=cap.uptime_s,
        alert_comm=cap.comm,
        evidence=cap.evidence,
    )
    detail = (
        f"lostbeat monitor on {cap.host} declared the heartbeat of {cap.comm} "
        f"(pid {cap.pid}) lost after {cap.t} s (timeout {cap.to:g} s)"
        if cap.t is not None and cap.to is not None
        else "lostbeat monitor capture"
    )
    return CrashJudgement(
        crash,
        (
            Finding(
                "crash.lost_heartbeat",
                Severity.CRITICAL,
                "Lost heartbeat: the watched domain stopped answering",
                detail,
                cap.evidence,
            ),
        ),
    )


@rule("crash", artifacts=("psod", "vmkernel_log", "vmksummary", "version", "capture"))
def judge_crash(facts: HostFacts, timeline: Timeline) -> CrashJudgement:
    """Classify the crash and place it in time."""
    if facts.captures and not facts.screens and not facts.signals:
        return _linux_crash(facts)
    kind, signals = _classify(facts, timeline)
    build = _build(facts, timeline)
    release = release_of(build, version=facts.product_line)
    incident = timeline.incident
    last = incident.lines[-1] if incident and incident.lines else None
    uptime = _crash_uptime(facts, signals)
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
        if incident and incident.ended_at is not None and crashed_at > incident.ended_at:
            crashed_at = None  # the screen belongs to another boot
    alerts = [s for s in signals if s.kind is SignalKind.HB_ALERT]
    last_alert = max(alerts, key=lambda s: (s.t or 0, s.uptime_s or 0.0)) if alerts else None
    silence = last_alert.t if last_alert else None
    timeout = last_alert.to if last_alert else None
    stopped_at: float | None = None
    if kind is CrashType.LOST_HEARTBEAT and crashed_at is not None:
        stopped_at = crashed_at - 60.0 * float(silence if silence is not None else timeout or 30)
    evidence: list[Evidence] = [e for screen in facts.screens for e in screen.evidence[:2]]
    evidence.extend(s.evidence for s in signals[:6])
    if kind in (CrashType.UNKNOWN, CrashType.NONE) and incident is not None:
        evidence.extend(ln.evidence for ln in incident.end_lines)
    crash = Crash(
        type=kind,
        message=next((s.message for s in facts.screens if s.message), None)
        or next((s.message for s in signals if s.message), None),
        build=build,
        release=release.name if release else None,
        crashed_at=crashed_at,
        heartbeat_stopped_at=stopped_at,
        vmk_uptime_s=uptime,
        heartbeat_silence_min=silence,
        heartbeat_timeout_min=timeout,
        uptime_s=last.cos_uptime_s if last and kind is not CrashType.NONE else None,
        vms_affected=last.vms if last and kind is not CrashType.NONE else None,
        alert_comm=last_alert.comm if last_alert else None,
        evidence=tuple(evidence),
    )
    return CrashJudgement(crash, tuple(_findings(crash, release is not None and release.verified)))


def _findings(crash: Crash, verified_release: bool) -> list[Finding]:
    out: list[Finding] = []
    titles = {
        CrashType.LOST_HEARTBEAT: "Lost heartbeat: the Service Console stopped answering",
        CrashType.COS_OOPS: "Service Console Oops (not a lost heartbeat)",
        CrashType.COS_PANIC: "Service Console panic (not a lost heartbeat)",
        CrashType.VMKERNEL: "VMkernel purple screen (not a lost heartbeat)",
        CrashType.UNKNOWN: "A crash whose screen is not in the inputs",
        CrashType.NONE: "No crash in the history",
    }
    detail = []
    if crash.message:
        detail.append(f"message: {crash.message}")
    if crash.release:
        note = "" if verified_release else " (build table entry unverified)"
        detail.append(f"build {crash.build} = {crash.release}{note}")
    if crash.vms_affected is not None:
        detail.append(f"{crash.vms_affected} VMs were running")
    if crash.alert_comm:
        detail.append(
            f"the alert names comm={crash.alert_comm}: the process current at the check, "
            "not the cause (the VMkernel log does not show the cause)"
        )
    severity = Severity.INFO if crash.type is CrashType.NONE else Severity.CRITICAL
    out.append(
        Finding(
            f"crash.{crash.type.value}",
            severity,
            titles[crash.type],
            "; ".join(detail),
            crash.evidence,
        )
    )
    return out
