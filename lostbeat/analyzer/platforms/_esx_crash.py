"""What happened to an ESX host, from its screens, logs and hourly summary.

The type follows docs/reference/esx-artifacts.md §2.4: ``Lost heartbeat`` on the screen, in an
``HB: NNN: Lost heartbeat`` alert or a ``COS Error``/``COS Panic: Lost heartbeat`` line is a lost
heartbeat; Oops and COS Panic are Service Console faults; any other panic the screens or logs
show (an exception, a lockup, a machine check, an NMI, an assertion, a bare backtrace) is a
VMkernel purple screen, and so is a restart the hourly summary marks ``VMkernel error`` (KB
1019238). The VMkernel's per-CPU ``Heartbeat: ... PCPU`` warning is its lockup detector and
never a lost heartbeat; one past its own timeout, with no panic shown, leaves the outcome
``unknown``. With no panic shown, a processor's fatal fault in the management controller's
event log (IERR, non-recoverable) is ``none``: the hardware stopped the host below ESXi, with
no purple screen (KB 421431). A restart with no clean stop and nothing said why is ``unknown``
(a crash or a power loss, KB 317245); logs or a history that show no crash are ``none``, and
then a reboot or shutdown someone asked for (``Rebooting system...``, ``bootstop: Host is
rebooting``, hostd's reboot task) is said to be the user's, and a management agent that
dumped core or hung (hostd, vpxa) is named: no purple screen here. A gdb session on a user
world's core shows no purple screen either.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from lostbeat.analyzer.facts import BootEnd, ReleaseInfo
from lostbeat.analyzer.findings import Evidence
from lostbeat.analyzer.parsers._panic import Frame, Involved, Panic, PanicKind
from lostbeat.analyzer.parsers.psod import PsodScreen
from lostbeat.analyzer.parsers.vmkernel_log import Signal, SignalKind
from lostbeat.analyzer.parsers.vmksummary import LineKind, SummaryLine
from lostbeat.analyzer.platforms._esx_class import Verdict
from lostbeat.analyzer.platforms._summary import SummaryBoot
from lostbeat.analyzer.result import Crash, CrashType

__all__ = ["Shown", "crash_type", "esx_crash", "merge_panics"]

_LOST = "lost heartbeat"
_VMKERNEL_KINDS = (SignalKind.PCPU_LOCKUP, SignalKind.PF_EXCEPTION, SignalKind.NOT_IMPLEMENTED)
_RANK = tuple(PanicKind)
# The management agents (docs/reference/esxi-bundles.md): a dumped thread is its agent's
# (hostd-worker, vpxa-worker; vix-async-pipe is hostd's, KB 2017008).
_AGENTS = {"vix-async-pipe": "hostd", "hostd-probe": "hostd"}
_AGENT_KINDS = (SignalKind.AGENT_DUMP, SignalKind.AGENT_HUNG, SignalKind.RAMDISK_FULL)


@dataclass(frozen=True, slots=True)
class Shown:
    """What one host's screens and logs show."""

    screens: tuple[PsodScreen, ...]
    panics: tuple[Panic, ...]
    """Every panic the screens and logs show, screens first (no user world's core)."""
    signals: tuple[Signal, ...]
    logs: int
    """Logs read: a log that shows no crash says the host did not crash while it wrote."""
    dumps: tuple[str, ...] = ()
    """User worlds' core dumps by name (``var/core/hostd-worker-zdump.000``)."""
    summary: tuple[SummaryLine, ...] = ()
    """The hourly summary's lines, every boot, oldest first."""
    halted: tuple[Evidence, ...] = ()
    """The management controller's records of a processor's fatal fault (IERR, non-
    recoverable): the hardware stopped the host below ESXi, with no purple screen."""


def merge_panics(panics: Sequence[Panic]) -> Panic | None:
    """One view of the panic several inputs show: the most telling message, the first
    backtrace, every module and hardware line named."""
    if not panics:
        return None
    told = [p for p in panics if p.kind is not None]
    best = min(told, key=lambda p: _RANK.index(p.kind or PanicKind.OTHER)) if told else None
    header = next((p for p in panics if p.build is not None or p.product), None)
    frames: tuple[Frame, ...] = next((p.frames for p in panics if p.frames), ())
    involved: tuple[Involved, ...] = tuple(i for p in panics for i in p.involved)
    return Panic(
        kind=best.kind if best else None,
        message=best.message if best else None,
        message_evidence=best.message_evidence if best else None,
        build=header.build if header else None,
        version=header.version if header else None,
        product=header.product if header else None,
        header_evidence=header.header_evidence if header else None,
        frames=frames,
        involved=involved,
        mce_bank=next((p.mce_bank for p in panics if p.mce_bank is not None), None),
        device=next((p.device for p in panics if p.device is not None), None),
        hardware=tuple(e for p in panics for e in p.hardware),
        process_core=False,
        context=any(p.context for p in panics),
    )


def _is_lost(sig: Signal) -> bool:
    if sig.kind is SignalKind.HB_ALERT:
        return True
    return (
        sig.kind in (SignalKind.COS_ERROR, SignalKind.BLUESCREEN, SignalKind.COS_PANIC)
        and _LOST in (sig.message or "").lower()
    )


def crash_type(shown: Shown, boots: Sequence[SummaryBoot]) -> tuple[CrashType, list[Signal]]:
    """The crash type and the signals that show it."""
    signals = shown.signals
    texts = [(s.message or "").lower() for s in shown.screens] + [
        (p.message or "").lower() for p in shown.panics
    ]
    lost = [s for s in signals if _is_lost(s)]
    if lost or any(_LOST in m for m in texts):
        return CrashType.LOST_HEARTBEAT, lost
    kinds = {p.kind for p in shown.panics}
    said = (SignalKind.COS_ERROR, SignalKind.BLUESCREEN)
    oops = [
        s
        for s in signals
        if s.kind is SignalKind.COS_OOPS or (s.kind in said and "oops" in (s.message or "").lower())
    ]
    if oops or PanicKind.COS_OOPS in kinds or any(m.startswith("oops") for m in texts):
        return CrashType.COS_OOPS, oops
    panic = [
        s
        for s in signals
        if s.kind is SignalKind.COS_PANIC
        or any(w in (s.message or "").lower() for w in ("cos panic", "cospanic"))
    ]
    if panic or PanicKind.COS_PANIC in kinds or any("cos panic" in m for m in texts):
        return CrashType.COS_PANIC, panic
    vmk = [s for s in signals if s.kind in _VMKERNEL_KINDS or s.kind is SignalKind.BLUESCREEN]
    if vmk or shown.panics or any(b.boot.end is BootEnd.CRASH for b in boots):
        return CrashType.VMKERNEL, vmk
    if shown.halted:
        # the processor failed below the OS: the hardware halted or reset the host before
        # ESXi could panic or log (KB 421431): no purple screen, whatever the summary lacks
        return CrashType.NONE, []
    if any(b.boot.end is BootEnd.UNCLEAN for b in boots):
        return CrashType.UNKNOWN, []
    overdue = [s for s in signals if s.kind is SignalKind.PCPU_HEARTBEAT and s.overdue]
    if overdue:
        # the lockup detector declared a CPU locked up; whether the host then went down (a
        # purple screen, a reset without a dump, KB 394262) the inputs do not say
        return CrashType.UNKNOWN, overdue[-1:]
    if boots or shown.logs:
        return CrashType.NONE, []
    return CrashType.UNKNOWN, []


def _crash_uptime(screens: Sequence[PsodScreen], found: list[Signal]) -> float | None:
    for screen in screens:
        if screen.vmk_uptime_s is not None:
            return screen.vmk_uptime_s
    cos = [s.uptime_s for s in found if s.uptime_s is not None]
    return max(cos) if cos else None


def _agent(shown: Shown) -> tuple[str | None, str | None, list[Evidence]]:
    """(agent, what happened to it, evidence) when a management agent failed, or a ramdisk
    filled up."""
    events = [s for s in shown.signals if s.kind in _AGENT_KINDS]
    names = [s.comm for s in events if s.comm] + [
        path.rsplit("/", 1)[-1].split("-zdump", 1)[0] for path in shown.dumps
    ]
    fulls = [s for s in events if s.kind is SignalKind.RAMDISK_FULL]
    full = next((s for s in fulls if s.message), fulls[0] if fulls else None)
    evidence = [s.evidence for s in events[:4]]
    full_what = (full.message or "a ramdisk is full") if full is not None else None
    if not names:
        return None, full_what, evidence if full_what else []
    raw = names[0]
    agent = _AGENTS.get(raw, raw.removesuffix("-worker"))
    if full_what is not None:
        what = f"{agent} failed: {full_what}"
    elif any(s.kind is SignalKind.AGENT_DUMP for s in events) or shown.dumps:
        thread = f" (a core dump of {raw})" if raw != agent else ""
        what = f"{agent} crashed{thread}"
    else:
        what = f"{agent} stopped answering"
    return agent, what, evidence


def _stop(shown: Shown) -> tuple[str | None, list[Evidence]]:
    """``user`` when the last stop the summary shows was one someone asked for (``Rebooting
    system...``, ``Host is rebooting``, ``Host is halting``: KB 1019238, KB 317245), or, with
    no summary, when a log shows one asked for."""
    stops = [
        ln
        for ln in shown.summary
        if ln.kind in (LineKind.REBOOTING, LineKind.HALTING, LineKind.STARTING)
        or ln.kind is LineKind.VMKERNEL_ERROR
    ]
    if stops:
        starts = [i for i, ln in enumerate(stops) if ln.kind is LineKind.STARTING]
        before = stops[starts[-2] + 1 if len(starts) > 1 else 0 : starts[-1]] if starts else stops
        if starts and starts[-1] == len(stops) - 1 or not starts:
            asked = [ln for ln in before if ln.kind in (LineKind.REBOOTING, LineKind.HALTING)]
            if asked:
                return "user", [asked[-1].evidence]
        return None, []
    asked_log = [s for s in shown.signals if s.kind is SignalKind.USER_STOP]
    return ("user", [asked_log[-1].evidence]) if asked_log else (None, [])


def _no_crash_message(shown: Shown, boots: Sequence[SummaryBoot]) -> tuple[Crash, list[Evidence]]:
    agent, what, agent_ev = _agent(shown)
    reboot, stop_ev = _stop(shown)
    lost = [s for s in shown.signals if s.kind is SignalKind.POWER_LOST]
    parts = []
    if shown.halted:
        said = shown.halted[0].text.split("Message:", 1)[-1].strip()
        parts.append(
            f"no purple screen: a processor failed and the hardware stopped the host ({said})"
        )
    if what:
        parts.append(f"no purple screen here: {what}")
    if reboot:
        parts.append("the host was restarted or shut down on purpose")
    if lost:
        parts.append("the host lost power: not a kernel error, a reboot or a shutdown")
    evidence = list(shown.halted[:2]) + agent_ev + stop_ev + [s.evidence for s in lost[:1]]
    crash = Crash(CrashType.NONE, message="; ".join(parts) or None, reboot=reboot, agent=agent)
    return crash, evidence


def esx_crash(
    shown: Shown,
    boots: Sequence[SummaryBoot],
    incident: SummaryBoot | None,
    *,
    kind: tuple[CrashType, list[Signal]],
    panic: Panic | None,
    verdict: Verdict,
    build: int | None,
    release: ReleaseInfo | None,
) -> Crash:
    """The crash, classified, and placed in time (the screen's VMkernel uptime against the
    last hourly line's)."""
    crash_type_, found = kind
    last = incident.lines[-1] if incident and incident.lines else None
    uptime = _crash_uptime(shown.screens, found)
    evidence: list[Evidence] = [e for screen in shown.screens for e in screen.evidence[:2]]
    if panic is not None and panic.message_evidence is not None:
        evidence.append(panic.message_evidence)
    evidence.extend(s.evidence for s in found[:6])
    if panic is not None:
        evidence.extend(panic.hardware[:3])
    if crash_type_ is CrashType.NONE:
        none, extra = _no_crash_message(shown, boots)
        evidence.extend(extra)
        if incident is not None:
            evidence.extend(incident.boot.end_evidence)
        return Crash(
            CrashType.NONE,
            message=none.message,
            build=build,
            release=release.name if release else None,
            evidence=tuple(dict.fromkeys(evidence)),
            class_=verdict.class_,
            reboot=none.reboot,
            agent=none.agent,
        )
    crashed_at: float | None = None
    if (
        last is not None
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
    if crash_type_ is CrashType.LOST_HEARTBEAT and crashed_at is not None:
        stopped_at = crashed_at - 60.0 * float(silence if silence is not None else timeout or 30)
    if crash_type_ is CrashType.UNKNOWN and incident is not None:
        evidence.extend(incident.boot.end_evidence)
    message = next((s.message for s in shown.screens if s.message), None)
    message = message or (panic.message if panic else None)
    message = message or next((s.message for s in found if s.message), None)
    if message is None and crash_type_ is CrashType.VMKERNEL and incident is not None:
        message = "VMkernel error (the purple screen itself is not in the inputs)"
        evidence.extend(incident.boot.end_evidence)
    suspect = verdict.suspect
    return Crash(
        type=crash_type_,
        message=message,
        build=build,
        release=release.name if release else None,
        crashed_at=crashed_at,
        heartbeat_stopped_at=stopped_at,
        vmk_uptime_s=uptime,
        heartbeat_silence_min=silence,
        heartbeat_timeout_min=timeout,
        uptime_s=last.cos_uptime_s if last else None,
        vms_affected=last.vms if last else None,
        alert_comm=last_alert.comm if last_alert else None,
        evidence=tuple(dict.fromkeys(evidence)),
        class_=verdict.class_,
        suspect_module=suspect.module if suspect else None,
        suspect_vendor=suspect.vendor if suspect else None,
        suspect_version=suspect.version if suspect else None,
        mce_bank=panic.mce_bank if panic else None,
        device=panic.device if panic else None,
    )
