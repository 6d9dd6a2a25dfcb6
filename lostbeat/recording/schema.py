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

__all__ = [
    "MARKER_NAME",
    "MARKER_SCHEMA",
    "SCHEMA_VERSION",
    "Identity",
    "ProcAggregate",
    "ProcSample",
    "ProcessKey",
    "Snapshot",
    "SystemAggregate",
    "SystemSample",
    "Tier",
]

SCHEMA_VERSION = 1
"""Version of the shard line format; a reader refuses shards newer than itself."""

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


@dataclass(frozen=True, slots=True)
class Identity:
    """A process as first seen: its key plus what does not change often."""

    key: ProcessKey
    ppid: int | None = None
    uid: int | None = None


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


@dataclass(frozen=True, slots=True)
class Snapshot:
    """Everything one sample saw: what the sampler hands the store."""

    ts: float
    """Wall clock, epoch seconds."""
    boot_time: float
    """Epoch of the host's boot (``btime``)."""
    system: SystemSample
    procs: tuple[tuple[Identity, ProcSample], ...]
