"""The Linux profile's reading of lostbeat's own capture: the loss it declares, the cgroup's
state it saw, and the processes' command lines and units it kept.
"""

from __future__ import annotations

from collections.abc import Sequence

from lostbeat.analyzer.facts import Domain
from lostbeat.analyzer.parsers.capture import LinuxScreen
from lostbeat.analyzer.parsers.procfiles import ProcFile
from lostbeat.analyzer.parsers.recordings import Recording
from lostbeat.analyzer.platforms._profile import Parsed
from lostbeat.analyzer.result import Crash, CrashClass, CrashType

__all__ = ["FULL", "capture_crash", "proc_files", "watched_domain"]


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
