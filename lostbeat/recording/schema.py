"""The recording's values: what the recorder samples and what the store keeps.

Raw counters only (below's "store raw, derive later"): sizes in KB or bytes as the kernel
reports them, CPU as clock ticks; slopes and rates belong to the analyzer. Unknown values
are ``None``, never ``0``.

A recording directory holds::

    lostbeat-recording.json   the marker: schema, host, lostbeat version
    raw/YYYY-MM-DD.jsonl      every sample of one UTC day (the open shard; closed ones .gz)
    minute/YYYY-MM-DD.jsonl.gz  min, mean and max per minute of a closed day
    hour/YYYY-MM-DD.jsonl.gz    min, mean and max per hour of a closed day
    vmksummary, vmksummary.1  the hourly ESX-format summary lines
    recorder.pid, recorder.state  the running recorder's lock and its last boot

Examples:
    >>> key = ProcessKey(name="java", cmdline="java -jar app.jar", pid=42, start=1700000000.5)
    >>> key.label, key.token
    ('java[42]', 'java')
    >>> Tier.MINUTE.resolution_s
    60
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import NamedTuple

__all__ = [
    "MARKER_NAME",
    "MARKER_SCHEMA",
    "SCHEMA_VERSION",
    "Identity",
    "KernelCounts",
    "KernelRecord",
    "ProcAggregate",
    "ProcSample",
    "ProcessKey",
    "Snapshot",
    "SystemAggregate",
    "SystemSample",
    "Tier",
]

SCHEMA_VERSION = 2
"""Version of the shard line format; a reader refuses shards newer than itself.

2 added the kernel log's records (``kmsg`` lines), each process's cgroup (``cg`` of a
``proc`` line), and ``proc`` lines that declare an id again when its process renamed
itself or ran ``exec``. A version 1 shard has none of these and reads as it always did."""

MARKER_NAME = "lostbeat-recording.json"
MARKER_SCHEMA = "lostbeat.recording/1"


class Tier(StrEnum):
    """The three resolutions the store keeps, finest first."""

    RAW = "raw"
    MINUTE = "minute"
    HOUR = "hour"

    @property
    def resolution_s(self) -> int | None:
        """Bucket length of an aggregate tier; ``None`` for raw (the sample interval)."""
        return {Tier.RAW: None, Tier.MINUTE: 60, Tier.HOUR: 3600}[self]

    @property
    def rank(self) -> int:
        """0 for raw, 1 for minute, 2 for hour: the order in which a day's data is dropped."""
        return (Tier.RAW, Tier.MINUTE, Tier.HOUR).index(self)


@dataclass(frozen=True, slots=True)
class ProcessKey:
    """A process's stable identity: the same process has the same key in every shard."""

    name: str
    """``comm``: the executable's base name, at most 15 characters."""
    cmdline: str
    pid: int
    start: float
    """Start time, epoch seconds (boot time plus ``starttime`` ticks, to 0.01 s)."""

    @property
    def label(self) -> str:
        return f"{self.name}[{self.pid}]"

    @property
    def token(self) -> str:
        """The name as ESX's vmksummary writes it: cut to 8 characters."""
        return self.name[:8]

    @property
    def ref(self) -> tuple[int, float]:
        """What identifies the process whatever it is called now: pid and start time."""
        return self.pid, self.start


@dataclass(frozen=True, slots=True)
class Identity:
    """A process as last seen: its key (with the name and command line it has now) plus
    what does not change often."""

    key: ProcessKey
    ppid: int | None = None
    uid: int | None = None
    cgroup: str | None = None
    """The cgroup that names its service (``/system.slice/db.service``), from
    ``/proc/PID/cgroup``: the unified hierarchy's, else systemd's, else the memory
    controller's, the first that is not ``/``; ``None`` if unknown."""


@dataclass(frozen=True, slots=True)
class ProcSample:
    """One process at one sample (``/proc/PID/stat`` and ``VmSwap`` of ``status``)."""

    rss_kb: int | None
    swap_kb: int | None
    vsz_kb: int | None = None
    threads: int | None = None
    cpu_ticks: int | None = None
    """utime + stime, clock ticks since the process started."""
    state: str | None = None
    """One letter, as in ``ps``: R, S, D, Z, T..."""


@dataclass(frozen=True, slots=True)
class ProcAggregate:
    """One process over one minute or hour bucket (KB)."""

    rss_min: int | None
    rss_mean: int | None
    rss_max: int | None
    swap_min: int | None
    swap_mean: int | None
    swap_max: int | None


@dataclass(frozen=True, slots=True)
class SystemSample:
    """The host's memory at one sample, in bytes (``/proc/meminfo``)."""

    mem_total: int | None
    mem_available: int | None
    swap_total: int | None
    swap_used: int | None


@dataclass(frozen=True, slots=True)
class SystemAggregate:
    """The host's memory over one bucket, in bytes."""

    mem_total: int | None
    mem_available_min: int | None
    mem_available_mean: int | None
    mem_available_max: int | None
    swap_total: int | None
    swap_used_min: int | None
    swap_used_mean: int | None
    swap_used_max: int | None


class KernelRecord(NamedTuple):
    """One record of the kernel log (a tuple: a flood may bring many).

    ``text`` is the message of a ``/dev/kmsg`` record without its
    ``PRIORITY,SEQ,USEC,FLAGS;`` prefix and its dictionary lines (fragments continued with
    ``KERN_CONT`` arrive joined, as the kernel gives them); ``priority`` is that prefix's
    syslog value (facility * 8 + level: the kernel's own lines have facility 0, so it is
    their level, 0 emergency to 7 debug); ``seq`` the kernel's sequence number within the
    boot (``None`` when the record came from the journal or pstore). ``epoch`` is the
    boot time plus the record's microseconds since boot (the kernel's clock does not count
    suspended time, so after a suspend it runs behind the wall clock).
    """

    epoch: float
    priority: int | None
    seq: int | None
    text: str


@dataclass(frozen=True, slots=True)
class KernelCounts:
    """Kernel log records not kept, by reason; each counted, never silent."""

    dropped: int = 0
    """Over the recording's bound (the rate limit or a shard's cap)."""
    unparsed: int = 0
    """Records that did not parse (skipped)."""
    overwritten: int = 0
    """Records the kernel's ring overwrote before they were read."""

    def __add__(self, other: KernelCounts) -> KernelCounts:
        return KernelCounts(
            self.dropped + other.dropped,
            self.unparsed + other.unparsed,
            self.overwritten + other.overwritten,
        )

    def __bool__(self) -> bool:
        return bool(self.dropped or self.unparsed or self.overwritten)


@dataclass(frozen=True, slots=True)
class Snapshot:
    """Everything one sample saw: what the sampler hands the store."""

    ts: float
    """Wall clock, epoch seconds."""
    boot_time: float
    """Epoch of the host's boot (``btime``)."""
    system: SystemSample
    procs: tuple[tuple[Identity, ProcSample], ...]
    kernel: tuple[KernelRecord, ...] = ()
    """Kernel log records read since the previous sample."""
    kernel_counts: KernelCounts = KernelCounts()
    """Kernel log records not kept since the previous sample."""
