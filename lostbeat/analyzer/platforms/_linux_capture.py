"""The Linux profile's reading of lostbeat's own capture: the loss it declares, the cgroup's
state it saw, and the processes' command lines and units it kept.

The monitor also captures before any loss (lostbeat/agent/capture.py): at an early warning
(``pre-loss``) or at an OOM kill or hang in the kernel log (``kernel``). Such a capture
declares nothing lost; its state is still the domain's, and a kernel capture's line is read
by the kernel log scanner, as a log's or a recording's lines are.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from lostbeat.analyzer.facts import Domain
from lostbeat.analyzer.parsers._frames import KERNEL, Frame
from lostbeat.analyzer.parsers.capture import LOSS, CaptureManifest, LinuxScreen
from lostbeat.analyzer.parsers.host_log import HostLog, host_log_of
from lostbeat.analyzer.parsers.procfiles import ProcFile
from lostbeat.analyzer.parsers.recordings import Recording
from lostbeat.analyzer.platforms._profile import Parsed
from lostbeat.analyzer.result import Crash, CrashClass, CrashType

__all__ = [
    "FULL",
    "Captures",
    "capture_crash",
    "no_loss",
    "proc_files",
    "split_captures",
    "watched_domain",
]


@dataclass(frozen=True, slots=True)
class Captures:
    """The captures given, by what they were written for."""

    losses: tuple[LinuxScreen, ...]
    """Each declared a heartbeat lost."""
    before: tuple[LinuxScreen, ...]
    """Each was written before any loss: an early warning's or a kernel event's."""
    kernel: tuple[HostLog, ...]
    """The kernel lines that made the monitor capture, as logs."""

    @property
    def shown(self) -> tuple[LinuxScreen, ...]:
        """The captures whose state stands for the domain's: the losses', else the others'."""
        return self.losses or self.before


def _trigger(cap: LinuxScreen, manifests: Sequence[CaptureManifest]) -> str | None:
    """The capture's manifest's trigger (the manifest written with it: same time and host),
    else what its screen says (a loss, or ``None``: written before one)."""
    for m in manifests:
        if m.declared_at is None or cap.declared_at is None or m.host not in (None, cap.host):
            continue
        if abs(m.declared_at - cap.declared_at) < 0.002:  # both written from one clock reading
            return m.trigger
    if len(manifests) == 1 and manifests[0].declared_at is None:
        return manifests[0].trigger
    return cap.trigger


def split_captures(parsed: Parsed) -> Captures:
    losses: list[LinuxScreen] = []
    before: list[LinuxScreen] = []
    kernel: list[HostLog] = []
    for cap in parsed.captures:
        trigger = _trigger(cap, parsed.manifests)
        if trigger == LOSS:
            losses.append(cap)
            continue
        before.append(cap)
        if trigger == "pre-loss" or not cap.message:
            continue
        path = cap.evidence[0].path if cap.evidence else "screen.txt"
        log = host_log_of((Frame(2, cap.message, KERNEL, cap.declared_at),), path=path)
        if log.incidents:
            kernel.append(log)
    return Captures(tuple(losses), tuple(before), tuple(kernel))


def no_loss(crash: Crash, before: Sequence[LinuxScreen]) -> Crash:
    """A verdict of no crash says that the captures given were written before any loss."""
    if crash.type is not CrashType.NONE or not before:
        return crash
    cap = before[0]
    what = cap.message or "an early warning"
    return replace(
        crash,
        message=f"no heartbeat was lost: the monitor captured before any loss ({what})",
        evidence=cap.evidence,
        release=f"Linux {cap.kernel}",
    )


def capture_crash(caps: Sequence[LinuxScreen]) -> Crash:
    """The capture that declared the first loss places it; without one, nothing was lost."""
    if not caps:
        return Crash(CrashType.NONE, class_=CrashClass.NONE)
    cap = min(caps, key=lambda c: c.declared_at or float("inf"))
    stopped = cap.declared_at - cap.t if cap.declared_at is not None and cap.t is not None else None
    return Crash(
        type=CrashType.LOST_HEARTBEAT,
        message="Lost heartbeat",
        release=f"Linux {cap.kernel}",
        crashed_at=cap.declared_at,
        heartbeat_stopped_at=stopped,
        uptime_s=cap.uptime_s,
        alert_comm=cap.comm,
        evidence=cap.evidence,
        class_=CrashClass.MEMORY_EXHAUSTION,
    )


def proc_files(parsed: Parsed) -> dict[int, ProcFile]:
    merged: dict[int, ProcFile] = {}
    for item in parsed.proc_files:
        have = merged.get(item.pid, ProcFile(item.pid))
        merged[item.pid] = ProcFile(item.pid, item.cmdline or have.cmdline, item.unit or have.unit)
    return merged


FULL = 0.97
"""A cgroup using this share of its limit is exhausted: the rest is rounding and the pages
the kernel keeps back."""


def _exhausted(cap: LinuxScreen) -> float | None:
    """When the capture saw its cgroup exhausted: at the limit, or in its OOM state. The
    heartbeat stopped because it could not get a page, so it stopped then at the latest."""
    full = cap.under_oom or (
        cap.usage_bytes is not None
        and cap.limit_bytes is not None
        and cap.usage_bytes >= FULL * cap.limit_bytes
    )
    if not full or cap.declared_at is None:
        return None
    return cap.declared_at - cap.t if cap.t is not None else cap.declared_at


def watched_domain(caps: Sequence[LinuxScreen], rec: Recording | None) -> Domain:
    for cap in caps:
        if cap.limit_bytes:
            return Domain(
                ram_kb=cap.mem_total_kb,
                swap_total_kb=cap.swap_total_kb,
                limit_kb=cap.limit_bytes / 1024.0,
                evidence=cap.evidence,
                exhausted_at=_exhausted(cap),
            )
    if rec is not None and rec.system:
        last = rec.system[-1]
        return Domain(
            ram_kb=last.mem_total / 1024.0 if last.mem_total else None,
            swap_total_kb=last.swap_total / 1024.0 if last.swap_total is not None else None,
        )
    if caps:
        return Domain(ram_kb=caps[0].mem_total_kb, swap_total_kb=caps[0].swap_total_kb)
    return Domain()
