"""AnalysisResult: everything the analyzer concludes, and all that reports may read.

The field names mirror the JSON document ``lostbeat.analysis/2`` (see docs/json-schema.md).
Times are Unix epoch seconds (float) or ``None`` when unknown; sizes are bytes unless the
name says ``kb``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from lostbeat.analyzer.findings import Evidence, Finding

__all__ = [
    "Action",
    "AnalysisResult",
    "CauseKind",
    "Consumer",
    "Coredumps",
    "Crash",
    "CrashClass",
    "CrashType",
    "DumpList",
    "History",
    "HostPackage",
    "Incident",
    "InputRecord",
    "InputStatus",
    "KnownIssueMatch",
    "Memory",
    "Origin",
    "Platform",
    "ProcessSeries",
    "RootCause",
    "Setting",
    "TimelineEvent",
]

SCHEMA = "lostbeat.analysis/2"


class CrashType(StrEnum):
    LOST_HEARTBEAT = "lost_heartbeat"
    COS_OOPS = "cos_oops"
    COS_PANIC = "cos_panic"
    VMKERNEL = "vmkernel"
    # Linux look-alikes of the lost heartbeat (the kernel's log names each)
    OOM_KILL = "oom_kill"
    CGROUP_OOM = "cgroup_oom"
    HUNG_TASK = "hung_task"
    SOFT_LOCKUP = "soft_lockup"
    HARD_LOCKUP = "hard_lockup"
    RCU_STALL = "rcu_stall"
    KERNEL_PANIC = "kernel_panic"
    NONE = "none"
    UNKNOWN = "unknown"


class CrashClass(StrEnum):
    """What kind of fault it was, whatever the platform: the Service Console or a cgroup
    running out of memory, the hardware, a driver, the kernel (VMkernel on ESX)."""

    MEMORY_EXHAUSTION = "memory_exhaustion"
    HARDWARE = "hardware"
    DRIVER = "driver"
    VMKERNEL = "vmkernel"
    SERVICE_CONSOLE = "service_console"
    KERNEL = "kernel"
    NONE = "none"
    UNKNOWN = "unknown"


class CauseKind(StrEnum):
    LEAK = "leak"
    SPIKE = "spike"
    CONTENTION = "contention"
    INCONCLUSIVE = "inconclusive"
    NOT_MEMORY = "not_memory"


class Origin(StrEnum):
    VMWARE = "vmware"
    THIRD_PARTY = "third_party"
    UNKNOWN = "unknown"


class InputStatus(StrEnum):
    READ = "read"
    SKIPPED = "skipped"
    BROKEN = "broken"


@dataclass(frozen=True, slots=True)
class InputRecord:
    """What happened to one input file or archive member."""

    path: str
    status: InputStatus
    kind: str | None = None
    reason: str = ""


# A VMkernel purple screen may be the hardware's, a driver's or the VMkernel's own fault: its
# type alone does not settle its class.
_TYPE_CLASS = {
    CrashType.COS_OOPS: CrashClass.SERVICE_CONSOLE,
    CrashType.COS_PANIC: CrashClass.SERVICE_CONSOLE,
    CrashType.NONE: CrashClass.NONE,
}


@dataclass(frozen=True, slots=True)
class Platform:
    """The platform the inputs came from, and the words reports use for it."""

    name: str = "unknown"
    """``esx_classic``, ``esxi`` or ``linux``."""
    label: str = "unknown platform"
    domain: str = "the host"
    """The memory domain whose exhaustion stops the heartbeat: ``the Service Console``,
    ``the watched cgroup /lostbeat-sim``."""
    domain_short: str = "host"
    daemon: str | None = None
    """The heartbeat daemon: ``vmnixhbd``, ``lostbeat hbd``."""
    record: str = "sample"
    """One record of the memory history: ``hourly summary``, ``sample``."""


@dataclass(frozen=True, slots=True)
class Consumer:
    """One process as the crash's own report ranks it (an OOM report's task table, a killer's
    victim size): what it held, in KB, when memory ran out."""

    name: str
    pid: int | None = None
    kb: int | None = None
    """Resident plus swapped out, where the report says both."""
    oom_score_adj: int | None = None


@dataclass(frozen=True, slots=True)
class Crash:
    type: CrashType
    message: str | None = None
    build: int | None = None
    release: str | None = None
    crashed_at: float | None = None
    """Epoch of the crash, when it can be placed (PSOD uptime or the next boot)."""
    heartbeat_stopped_at: float | None = None
    """Epoch when the last heartbeat was received (crash time minus ``t=`` minutes)."""
    vmk_uptime_s: float | None = None
    """VMkernel uptime at the crash, from the screen."""
    heartbeat_silence_min: int | None = None
    """``t=`` of the last HB alert: minutes without a heartbeat."""
    heartbeat_timeout_min: int | None = None
    uptime_s: float | None = None
    """Host (COS) uptime at the last summary before the crash."""
    vms_affected: int | None = None
    alert_comm: str | None = None
    """``comm=`` of the HB alert: a weak hint only, never the culprit by itself."""
    evidence: tuple[Evidence, ...] = ()
    class_: CrashClass = field(default=CrashClass.UNKNOWN, metadata={"json": "class"})
    """What kind of fault (written ``class`` in the document)."""
    victim: str | None = None
    """The process the crash or kill hit, as the evidence names it."""
    killer: str | None = None
    """Who killed the victim: ``kernel``, ``earlyoom``, ``systemd-oomd``, ``kubelet``..."""
    suspect_module: str | None = None
    """The first module in the backtrace that is not the kernel's core."""
    suspect_vendor: str | None = None
    victim_pid: int | None = None
    constraint: str | None = None
    """An OOM's constraint: ``memcg`` (a memory cgroup reached its limit) or ``global`` (the
    host ran out), as the kernel's ``oom-kill:constraint=`` tells it."""
    cgroup: str | None = None
    """The memory cgroup whose limit was reached, where the log names it."""
    victim_was_grower: bool | None = None
    """Whether the victim was the consumer that used the memory (``False``: a bystander);
    ``None`` when the evidence cannot say."""
    top_consumers: tuple[Consumer, ...] = ()
    """The largest consumers when memory ran out, largest first (the article's "top
    consumers" line), as the crash's own report gives them."""
    top_consumers_more: int = 0
    """Processes of that report not listed."""
    suspect_version: str | None = None
    """The suspect module's version, as the panic report or the installed software shows it."""
    reboot: str | None = None
    """``user`` when the host was restarted or shut down on purpose and nothing crashed."""
    agent: str | None = None
    """A management agent that crashed or hung while the host stayed up (``hostd``)."""
    mce_bank: int | None = None
    """The machine-check bank a hardware error names."""
    device: str | None = None
    """The PCI address of the device a hardware error names (``0000:00:03.0``)."""

    def __post_init__(self) -> None:
        if self.class_ is CrashClass.UNKNOWN:
            # a crash given only its type takes the class that type always has
            object.__setattr__(self, "class_", _TYPE_CLASS.get(self.type, CrashClass.UNKNOWN))


@dataclass(frozen=True, slots=True)
class Incident:
    """One of several incidents the evidence shows (each OOM kill, hang, lockup, stall or
    panic of a log); the verdict is on the last one, or the one asked for."""

    type: CrashType
    at: float | None = None
    when: str | None = None
    """The time as the log wrote it (a syslog stamp without its year, ``[  243.565482]``
    seconds since boot)."""
    killer: str | None = None
    victim: str | None = None
    victim_pid: int | None = None
    victim_kb: int | None = None
    class_: CrashClass = field(default=CrashClass.UNKNOWN, metadata={"json": "class"})
    evidence: Evidence | None = None
    chosen: bool = False
    """The incident the verdict is on."""


@dataclass(frozen=True, slots=True)
class TimelineEvent:
    kind: str
    """``boot``, ``reboot``, ``halt``, ``crash``, ``vmkernel_error``, ``first_summary``,
    ``last_summary``."""
    at: float | None
    text: str
    evidence: Evidence | None = None


@dataclass(frozen=True, slots=True)
class Memory:
    at: float | None = None
    """Epoch of the last summary before the crash (or of the last one at all)."""
    swap_used_bytes: int | None = None
    swap_total_bytes: int | None = None
    swap_used_percent: float | None = None
    mem_total_bytes: int | None = None
    top_process: str | None = None
    top_process_kb: int | None = None
    top_process_ram_percent: float | None = None
    swap_danger_at: float | None = None
    """When swap use first crossed its danger line (80 % of SwapTotal) in the last boot."""
    ram_danger_at: float | None = None
    """When the top consumer first crossed its danger line (50 % of MemTotal)."""


@dataclass(frozen=True, slots=True)
class RootCause:
    kind: CauseKind
    process: str | None = None
    token: str | None = None
    origin: Origin | None = None
    confidence: float = 0.0
    rate_kb_per_hour: float | None = None
    since: float | None = None
    exhaustion_at: float | None = None
    hours_to_exhaustion: float | None = None
    """Implied time to exhaustion, from the first evidence of growth."""
    others: tuple[str, ...] = ()
    """Further leakers or contenders, by full name."""
    explanation: str = ""
    pid: int | None = None
    cmdline: str | None = None
    unit: str | None = None
    """The systemd unit (or the cgroup) that ran the culprit, where known."""
    held_kb: float | None = None
    """The culprit's size at the last record before the end."""
    held_percent: float | None = None
    """``held_kb`` as a share of the domain's memory."""


@dataclass(frozen=True, slots=True)
class KnownIssueMatch:
    kb: str
    title: str
    workaround: str
    evidence: tuple[Evidence, ...] = ()
    aliases: tuple[str, ...] = ()
    """The same article's other numbers (a Broadcom article's legacy VMware KB id)."""


@dataclass(frozen=True, slots=True)
class DumpList:
    """One kind of core dump and the ones found: ``VMkernel dumps``, ``COS cores``,
    ``core dumps of the top consumers``."""

    kind: str
    label: str
    paths: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Setting:
    """A setting the evidence depends on, and whether it is valid (``None``: not read)."""

    key: str
    label: str
    value: str | None = None
    valid: bool | None = None


@dataclass(frozen=True, slots=True)
class Coredumps:
    vmkernel: tuple[str, ...] = ()
    cos: tuple[str, ...] = ()
    cos_core_file: str | None = None
    cos_core_file_valid: bool | None = None
    """``None`` when no esx.conf was read."""
    dumps: tuple[DumpList, ...] = ()
    """Every kind of dump this platform leaves, in the platform's words."""
    settings: tuple[Setting, ...] = ()


@dataclass(frozen=True, slots=True)
class Action:
    kb: str | None
    text: str


@dataclass(frozen=True, slots=True)
class ProcessSeries:
    """One consumer's memory over time, in KB, for plots and trend rules."""

    token: str
    name: str
    points: tuple[tuple[float, int], ...]


@dataclass(frozen=True, slots=True)
class History:
    consumers: tuple[ProcessSeries, ...] = ()
    swap: tuple[tuple[float, int], ...] = ()
    """(epoch, swap used bytes)."""
    swap_total_bytes: int | None = None
    mem_total_bytes: int | None = None
    boots: tuple[float, ...] = ()
    resolution_s: float = 3600.0
    projection: tuple[tuple[float, float], ...] = ()
    """The leak's projected line (epoch, KB) up to exhaustion, when there is a leak."""


@dataclass(frozen=True, slots=True)
class HostPackage:
    """One installed package of the host (``rpm -qa``): the agents and their versions."""

    name: str
    version: str
    release: str
    vendor: str | None = None
    """Where the name tells it (``VMware``, ``HP``, ``Dell``...); None otherwise."""

    @property
    def full_version(self) -> str:
        """``version-release``, as rpm prints it after the name: ``8.2.0-164.rhel4``."""
        return f"{self.version}-{self.release}"


@dataclass(frozen=True, slots=True)
class AnalysisResult:
    host: str | None
    crash: Crash
    root_cause: RootCause
    memory: Memory
    coredumps: Coredumps
    timeline: tuple[TimelineEvent, ...] = ()
    known_issues: tuple[KnownIssueMatch, ...] = ()
    actions: tuple[Action, ...] = ()
    findings: tuple[Finding, ...] = ()
    inputs: tuple[InputRecord, ...] = ()
    history: History = field(default_factory=History)
    errors: tuple[str, ...] = ()
    """One line per parser or rule that failed; the analysis went on without it."""
    platform: Platform = field(default_factory=Platform)
    incidents: tuple[Incident, ...] = ()
    """Every incident the evidence shows, oldest first, when it shows more than one kind
    of event or more than one of a kind."""
    incidents_more: int = 0
    """Older incidents not listed."""
    host_packages: tuple[HostPackage, ...] = ()
    """The host's installed packages, when the inputs list them (``rpm -qa``)."""
    schema: str = SCHEMA
