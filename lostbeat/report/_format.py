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

from dataclasses import dataclass

from lostbeat.analyzer.result import (
    AnalysisResult,
    CauseKind,
    Coredumps,
    CrashType,
    InputStatus,
    Origin,
    RootCause,
)
from lostbeat.analyzer.units import (
    duration,
    iso_utc,
    percent,
    rate_kb_h,
    size_bytes,
    size_kb,
    when,
)
from lostbeat.safetext import clean

__all__ = [
    "CAUSE_LABELS",
    "CRASH_LABELS",
    "InputCounts",
    "ORIGIN_LABELS",
    "VerdictLine",
    "clean",
    "coredump_rows",
    "crash_label",
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
    CrashType.LOST_HEARTBEAT: "Lost heartbeat ({domain} stopped heartbeating)",
    CrashType.COS_OOPS: "Service Console kernel Oops",
    CrashType.COS_PANIC: "Service Console panic",
    CrashType.VMKERNEL: "VMkernel crash (not a lost heartbeat)",
    CrashType.OOM_KILL: "OOM kill: a process was killed to free memory (the host's, or a cgroup's)",
    CrashType.CGROUP_OOM: "memory cgroup OOM: the cgroup reached its limit and nothing was killed",
    CrashType.HUNG_TASK: "hung task: a process blocked past the kernel's timeout",
    CrashType.SOFT_LOCKUP: "soft lockup: a CPU stuck in the kernel",
    CrashType.HARD_LOCKUP: "hard lockup: a CPU stopped taking interrupts",
    CrashType.RCU_STALL: "RCU stall: a CPU held up the kernel's grace period",
    CrashType.KERNEL_PANIC: "kernel panic",
    CrashType.NONE: "No crash found",
    CrashType.UNKNOWN: "Unknown: the inputs do not show what happened",
}
"""``{domain}`` is the platform's memory domain (``the Service Console``)."""

CAUSE_LABELS: dict[CauseKind, str] = {
    CauseKind.LEAK: "memory leak",
    CauseKind.SPIKE: "memory spike",
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


hours = duration
"""A duration in hours, as every section writes it (:func:`lostbeat.analyzer.units.duration`)."""


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


def crash_label(result: AnalysisResult) -> str:
    """What crashed, in the platform's words; when nothing did, what the inputs show instead
    (a restart on purpose, a management agent's crash)."""
    label = CRASH_LABELS[result.crash.type].format(domain=result.platform.domain)
    if result.crash.type is CrashType.NONE and result.crash.message:
        return f"{label}; {clean(result.crash.message)}"
    return label


def _crash_line(result: AnalysisResult) -> str:
    crash = result.crash
    parts = [crash_label(result)]
    if crash.build is not None:
        build = f"build {crash.build}"
        parts.append(f"{build} ({clean(crash.release)})" if crash.release else build)
    elif crash.release:
        parts.append(clean(crash.release))
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


def _process_line(cause: RootCause) -> str | None:
    """The culprit's pid, command line and unit, where the history recorded them."""
    parts = []
    if cause.pid is not None:
        parts.append(f"pid {cause.pid}")
    if cause.cmdline:
        parts.append(f"command {clean(cause.cmdline, limit=200)!r}")
    if cause.unit:
        parts.append(f"unit {clean(cause.unit)}")
    return ", ".join(parts) if parts else None


def _exhaustion_line(result: AnalysisResult) -> str | None:
    cause = result.root_cause
    parts = []
    if cause.rate_kb_per_hour is not None:
        since = f" since {when(cause.since)}" if cause.since is not None else ""
        parts.append(f"growing {rate_kb_h(cause.rate_kb_per_hour)}{since}")
    if cause.hours_to_exhaustion is not None:
        parts.append(f"memory exhausted after {duration(cause.hours_to_exhaustion)}")
    if cause.exhaustion_at is not None:
        parts.append(f"exhaustion at {when(cause.exhaustion_at)}")
    elif cause.held_kb is not None and cause.held_percent is not None:
        parts.append(
            f"held {size_kb(cause.held_kb)} ({percent(cause.held_percent)} of "
            f"{result.platform.domain}) at the last {result.platform.record}"
        )
    return "; ".join(parts) if parts else None


def coredump_rows(dumps: Coredumps) -> list[tuple[str, str]]:
    """(label, text) rows of the dumps and settings, in the platform's words; a document
    written before the platform words (no ``dumps``) shows the ESX rows it has."""
    rows = [(d.label, ", ".join(clean(p) for p in d.paths) or "none found") for d in dumps.dumps]
    for setting in dumps.settings:
        if setting.valid is None:
            rows.append((setting.label, "not known (its configuration was not in the inputs)"))
        else:
            state = "valid" if setting.valid else "NOT valid"
            rows.append((setting.label, f"{clean(setting.value or '(unset)')} ({state})"))
    if dumps.dumps or dumps.settings:
        return rows
    if not (dumps.vmkernel or dumps.cos or dumps.cos_core_file_valid is not None):
        return [("Core dumps", "none found")]
    rows = [
        ("VMkernel dumps", ", ".join(clean(p) for p in dumps.vmkernel) or "none found"),
        ("COS cores", ", ".join(clean(p) for p in dumps.cos) or "none found"),
    ]
    if dumps.cos_core_file_valid is not None:
        state = "valid" if dumps.cos_core_file_valid else "NOT valid"
        rows.append(("Misc.CosCoreFile", f"{clean(dumps.cos_core_file or '(unset)')} ({state})"))
    return rows


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
    process = _process_line(result.root_cause)
    if process:
        lines.append(VerdictLine("Process", process))
    if result.root_cause.explanation:
        lines.append(VerdictLine("Why", clean(result.root_cause.explanation)))
    mem = result.memory
    before = len(lines)
    words = result.platform
    if mem.swap_total_bytes == 0:
        lines.append(VerdictLine("Swap", "none configured"))
    elif mem.swap_used_bytes is not None or mem.swap_total_bytes is not None:
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
                "Top process",
                f"{name}: {size_kb(mem.top_process_kb)} of {words.domain}'s {ram} ({share})",
            )
        )
    if mem.at is not None and len(lines) > before:
        lines.append(VerdictLine("Measured", f"last {words.record} at {when(mem.at)}"))
    exhaustion = _exhaustion_line(result)
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
