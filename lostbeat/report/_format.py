"""Words and numbers shared by the terminal and HTML reports, so both say the same thing.

Every string that came from a bundle goes through :func:`~lostbeat.safetext.clean` (the one
sanitiser, re-exported here) before it is shown: control characters (terminal escapes, C1
controls, bidi overrides) are made visible instead of acted on. HTML
escaping is the template's job (jinja2 autoescape), not this module's.

Examples:
    >>> clean("VMap\\x1b[2J")
    'VMap\\\\x1b[2J'
    >>> size_kb(586196)
    '572 MB'
    >>> percent(73.3)
    '73 %'
    >>> when(1258102905.0)
    '2009-11-13 09:01:45 UTC'
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime

from lostbeat.analyzer.result import (
    AnalysisResult,
    CauseKind,
    CrashType,
    InputStatus,
    Origin,
    RootCause,
)
from lostbeat.safetext import clean

__all__ = [
    "CAUSE_LABELS",
    "CRASH_LABELS",
    "InputCounts",
    "ORIGIN_LABELS",
    "VerdictLine",
    "clean",
    "culprit",
    "hours",
    "input_counts",
    "iso_utc",
    "percent",
    "size_bytes",
    "size_kb",
    "verdict_lines",
    "when",
]

CRASH_LABELS: dict[CrashType, str] = {
    CrashType.LOST_HEARTBEAT: "Lost heartbeat (the Service Console stopped heartbeating)",
    CrashType.COS_OOPS: "Service Console kernel Oops",
    CrashType.COS_PANIC: "Service Console panic",
    CrashType.VMKERNEL: "VMkernel crash (not a lost heartbeat)",
    CrashType.NONE: "No crash found",
    CrashType.UNKNOWN: "Unknown: the inputs do not show what happened",
}

CAUSE_LABELS: dict[CauseKind, str] = {
    CauseKind.LEAK: "memory leak",
    CauseKind.SPIKE: "memory spike within the hour",
    CauseKind.CONTENTION: "memory contention (no single leaker)",
    CauseKind.INCONCLUSIVE: "inconclusive",
    CauseKind.NOT_MEMORY: "not memory exhaustion",
}

ORIGIN_LABELS: dict[Origin, str] = {
    Origin.VMWARE: "VMware component",
    Origin.THIRD_PARTY: "third-party software",
    Origin.UNKNOWN: "origin unknown",
}

_UNKNOWN = "unknown"


def iso_utc(epoch: float | None) -> str | None:
    """ISO-8601 UTC to the second, or ``None`` when the time is unknown.

    >>> iso_utc(1258114439.0)
    '2009-11-13T12:13:59Z'
    """
    if epoch is None or not math.isfinite(epoch):
        return None
    try:
        return datetime.fromtimestamp(epoch, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    except (OverflowError, OSError, ValueError):
        return None


def when(epoch: float | None) -> str:
    """A readable UTC time, or ``unknown``."""
    iso = iso_utc(epoch)
    return iso.replace("T", " ").replace("Z", " UTC") if iso else _UNKNOWN


def size_kb(kb: float | None) -> str:
    """A size given in KB (1024 bytes), in the unit a person reads.

    Whole MB are rounded down, as KB 308590 does (799732 KB is "780MB").
    """
    if kb is None or not math.isfinite(kb):
        return _UNKNOWN
    if abs(kb) < 1024:
        return f"{kb:.0f} KB"
    if abs(kb) < 10 * 1024 * 1024:
        return f"{math.floor(kb / 1024)} MB"
    return f"{kb / 1024 / 1024:.1f} GB"


def size_bytes(n: int | None) -> str:
    """A size given in bytes, as :func:`size_kb` shows it."""
    return _UNKNOWN if n is None else size_kb(n / 1024)


def percent(value: float | None) -> str:
    """A percentage already scaled 0-100."""
    if value is None or not math.isfinite(value):
        return _UNKNOWN
    if 0 < value < 1:
        return "<1 %"
    return f"{value:.0f} %"


def hours(value: float | None) -> str:
    """A duration in hours, in hours below three days and in days above; a recording's
    short durations in minutes or seconds.

    >>> hours(0.004), hours(0.5), hours(5.25), hours(100)
    ('14 s', '30 min', '5.2 h', '4.2 days')
    """
    if value is None or not math.isfinite(value):
        return _UNKNOWN
    if 0 <= value < 1 / 60:
        return f"{value * 3600:.0f} s"
    if 0 <= value < 1:
        return f"{value * 60:.0f} min"
    if value < 72:
        return f"{value:.1f} h" if value < 10 else f"{value:.0f} h"
    return f"{value / 24:.1f} days"


def culprit(cause: RootCause) -> str | None:
    """The culprit's full name, with its vmksummary token when that differs."""
    name = cause.process or cause.token
    if name is None:
        return None
    if cause.token and cause.process and cause.token != cause.process:
        return f"{clean(name)} (token {clean(cause.token)!r})"
    return clean(name)


@dataclass(frozen=True, slots=True)
class VerdictLine:
    """One labelled line of the verdict, the same in every report."""

    label: str
    text: str


def _crash_line(result: AnalysisResult) -> str:
    crash = result.crash
    parts = [CRASH_LABELS[crash.type]]
    if crash.build is not None or crash.release:
        build = f"build {crash.build}" if crash.build is not None else "build unknown"
        parts.append(f"{build} ({clean(crash.release)})" if crash.release else build)
    if crash.crashed_at is not None:
        parts.append(f"at {when(crash.crashed_at)}")
    if crash.vms_affected is not None:
        parts.append(f"{crash.vms_affected} VMs running")
    return ", ".join(parts)


def _heartbeat_line(result: AnalysisResult) -> str | None:
    crash = result.crash
    parts = []
    if crash.heartbeat_stopped_at is not None:
        parts.append(f"last heartbeat at {when(crash.heartbeat_stopped_at)}")
    if crash.heartbeat_silence_min is not None:
        timeout = crash.heartbeat_timeout_min
        limit = f" (timeout {timeout} min)" if timeout is not None else ""
        parts.append(f"no heartbeat for {crash.heartbeat_silence_min} min{limit}")
    if crash.alert_comm:
        parts.append(f"alert named comm={clean(crash.alert_comm)} (a hint only, not the cause)")
    return "; ".join(parts) if parts else None


def _cause_line(cause: RootCause) -> str:
    text = CAUSE_LABELS[cause.kind]
    who = culprit(cause)
    if who:
        text += f" in {who}"
    if cause.origin is not None:
        text += f" [{ORIGIN_LABELS[cause.origin]}]"
    return f"{text}, confidence {percent(cause.confidence * 100)}"


def _exhaustion_line(cause: RootCause) -> str | None:
    parts = []
    if cause.rate_kb_per_hour is not None:
        since = f" since {when(cause.since)}" if cause.since is not None else ""
        parts.append(f"growing {size_kb(cause.rate_kb_per_hour)}/h{since}")
    if cause.hours_to_exhaustion is not None:
        parts.append(f"memory exhausted after {hours(cause.hours_to_exhaustion)}")
    if cause.exhaustion_at is not None:
        parts.append(f"exhaustion at {when(cause.exhaustion_at)}")
    return "; ".join(parts) if parts else None


def verdict_lines(result: AnalysisResult) -> tuple[VerdictLine, ...]:
    """The verdict, most important first: what crashed, why, and the memory arithmetic.

    The memory lines follow KB 308590: swap used (vmksummary) against SwapTotal
    (proc/meminfo), and the top process's KB against MemTotal.
    """
    lines = [VerdictLine("Crash", _crash_line(result))]
    heartbeat = _heartbeat_line(result)
    if heartbeat:
        lines.append(VerdictLine("Heartbeat", heartbeat))
    lines.append(VerdictLine("Root cause", _cause_line(result.root_cause)))
    if result.root_cause.explanation:
        lines.append(VerdictLine("Why", clean(result.root_cause.explanation)))
    mem = result.memory
    before = len(lines)
    if mem.swap_used_bytes is not None or mem.swap_total_bytes is not None:
        used, total = size_bytes(mem.swap_used_bytes), size_bytes(mem.swap_total_bytes)
        lines.append(
            VerdictLine("Swap", f"{used} of {total} used ({percent(mem.swap_used_percent)})")
        )
    if mem.top_process is not None or mem.top_process_kb is not None:
        name = clean(mem.top_process) if mem.top_process else "top process"
        ram = size_bytes(mem.mem_total_bytes)
        share = percent(mem.top_process_ram_percent)
        lines.append(
            VerdictLine(
                "Top process", f"{name}: {size_kb(mem.top_process_kb)} of {ram} RAM ({share})"
            )
        )
    if mem.at is not None and len(lines) > before:
        lines.append(VerdictLine("Measured", f"last summary at {when(mem.at)}"))
    exhaustion = _exhaustion_line(result.root_cause)
    if exhaustion:
        lines.append(VerdictLine("Exhaustion", exhaustion))
    if result.root_cause.others:
        others = ", ".join(clean(o) for o in result.root_cause.others)
        lines.append(VerdictLine("Also", others))
    for issue in result.known_issues:
        lines.append(VerdictLine("Known issue", f"KB {clean(issue.kb)}: {clean(issue.title)}"))
    return tuple(lines)


@dataclass(frozen=True, slots=True)
class InputCounts:
    read: int
    skipped: int
    broken: int


def input_counts(result: AnalysisResult) -> InputCounts:
    """How many inputs were read, skipped and broken."""
    statuses = [record.status for record in result.inputs]
    return InputCounts(
        read=statuses.count(InputStatus.READ),
        skipped=statuses.count(InputStatus.SKIPPED),
        broken=statuses.count(InputStatus.BROKEN),
    )
