"""Facts: the neutral view of one incident that every rule judges, whatever the platform.

A platform profile (``analyzer/platforms/``) turns its parsed artifacts into these records:
the memory domain and what counts as exhausted, each consumer's memory over time at a stated
resolution, the pressure before the end, the crash or loss event, the boots, the processes
known by name, the evidence inventory, and the words and plan that fit the platform. Rules
read only this module's types (and the result's), so a rule never needs to know whether the
history came from ESX's hourly vmksummary, an ESXi vmksummary.log or a lostbeat recording.

Sizes are KB (1024 bytes) unless a name says bytes; times are Unix epochs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from lostbeat.analyzer.findings import Evidence
from lostbeat.analyzer.issues import Affects, KnownIssue, ReleaseInfo, Signs
from lostbeat.analyzer.result import (
    Action,
    Crash,
    CrashClass,
    CrashType,
    Incident,
    Origin,
    Platform,
    TimelineEvent,
)

__all__ = [
    "Affects",
    "Boot",
    "BootEnd",
    "Catalog",
    "Catalogued",
    "Domain",
    "DumpSet",
    "Facts",
    "Grower",
    "MemoryHistory",
    "KnownIssue",
    "Measure",
    "PlanBook",
    "ReleaseInfo",
    "Pressure",
    "ProcessInfo",
    "Sampling",
    "Series",
    "SettingCheck",
    "Signs",
]


class BootEnd(StrEnum):
    CRASH = "crash"  # restarted without a clean stop, with the crash recorded
    UNCLEAN = "unclean"  # restarted without a clean stop, and nothing said why
    REBOOT = "reboot"
    HALT = "halt"
    OPEN = "open"  # still running when the evidence was taken


@dataclass(frozen=True, slots=True)
class Boot:
    started_at: float | None
    end: BootEnd
    ended_at: float | None
    end_evidence: tuple[Evidence, ...] = ()
    last_evidence: Evidence | None = None
    """The last memory record of this boot, shown beside how it ended."""
    samples: int = 0
    source: str = ""
    """Where the boots were read: ``vmksummary``, ``the recording``."""
    detail: str = ""
    """How the evidence shows the end, in the source's terms."""


@dataclass(frozen=True, slots=True)
class Domain:
    """The memory domain whose exhaustion stops the heartbeat.

    ``limit_kb`` is a hard limit (a memory cgroup's): the domain is exhausted when its use
    reaches it, swap or not. Otherwise RAM plus swap is what there is.
    """

    ram_kb: float | None = None
    swap_total_kb: float | None = None
    """``None`` when unknown, ``0`` when none is configured."""
    limit_kb: float | None = None
    evidence: tuple[Evidence, ...] = ()
    """The lines the sizes were read from."""
    exhausted_at: float | None = None
    """When the evidence saw the domain exhausted (a cgroup at its limit, in its OOM state);
    ``None`` when it did not see it so."""

    @property
    def size_kb(self) -> float | None:
        """The domain's memory: its limit, else its RAM."""
        return self.limit_kb if self.limit_kb is not None else self.ram_kb

    @property
    def capacity_kb(self) -> float | None:
        """What the domain can hold before it is exhausted."""
        if self.limit_kb is not None:
            return self.limit_kb
        if self.ram_kb is None:
            return None
        return self.ram_kb + (self.swap_total_kb or 0.0)


class Measure(StrEnum):
    """What a series' KB are: resident memory (RSS plus swap) can say when a domain fills up;
    virtual size (vmksummary's, KB 308590) cannot, only how much a process held."""

    RESIDENT = "resident"
    VIRTUAL = "virtual"


@dataclass(frozen=True, slots=True)
class Sampling:
    """What a history can show, set by how it was sampled.

    An hourly log of the top three consumers needs hours to show a trend and cannot see a
    jump within the hour; samples every few seconds of every process see both, but a sample
    may catch an allocation half-made, so a jump may straddle a few steps.
    """

    resolution_s: float
    min_samples: int
    """Samples needed before any verdict on memory."""
    min_span_s: float
    """Time a leak must span."""
    jump_steps: int
    """Consecutive steps one allocation may show in."""
    shows_jumps: bool
    """Every process at every sample: a sudden rise is seen, and a no-crash history is judged
    in full (an ongoing leak is a verdict of its own)."""
    measure: Measure
    unit: str
    """What one sample is called: ``hourly points``, ``samples``."""
    name_cut: int | None = None
    """The length the source cuts names to (vmksummary's 8), ``None`` when names are whole."""


@dataclass(frozen=True, slots=True)
class Series:
    """One consumer's memory over time."""

    key: str
    """Unique within the history."""
    token: str
    """The name as the source logs it (vmksummary cuts it to 8 characters, Linux to 15)."""
    points: tuple[tuple[float, float], ...]
    """(epoch, KB), oldest first."""
    name: str | None = None
    """The full name, where the source gives it; else the culprit rule resolves ``token``."""
    pid: int | None = None
    cmdline: str | None = None
    unit: str | None = None
    """The systemd unit (or cgroup) that runs it, where known."""
    evidence: tuple[Evidence, ...] = ()
    """The source lines that show it, oldest first."""


@dataclass(frozen=True, slots=True)
class Pressure:
    """How full the domain was before the end, in percent.

    A domain that hung is full at its very last moment, so this is taken where the history
    can still tell contention from a sudden end: the last hourly summary, or four fifths into
    a fine record.
    """

    swap_used_percent: float | None = None
    ram_used_percent: float | None = None
    swap_free_kb: float | None = None
    """Swap still free at the last point; ``None`` when the history cannot say."""


@dataclass(frozen=True, slots=True)
class MemoryHistory:
    """The memory history judged: the boot that ended in the incident, up to its end."""

    sampling: Sampling
    series: tuple[Series, ...] = ()
    samples: int = 0
    end: float | None = None
    """The last sample of the window."""
    swap: tuple[tuple[float, int], ...] = ()
    """(epoch, swap used bytes)."""
    pressure: Pressure = field(default_factory=Pressure)
    last_evidence: tuple[Evidence, ...] = ()
    """The last record of the window (the last hourly line), shown with memory verdicts."""
    domain_used: tuple[tuple[float, float], ...] = ()
    """(epoch, KB) the domain as a whole held, where a source measures the domain itself
    and not each consumer: a rise in it names no process. Oldest first, up to the end."""

    def last_top(self, n: int = 3) -> list[tuple[str, float]]:
        """The ``n`` largest consumers at the window's last sample: (key, KB).

        Where every process is sampled, a process holds its value between its points; a
        top-three log says nothing of a process it no longer lists.
        """
        end = self.end
        if end is None:
            return []
        last: list[tuple[str, float]] = []
        for s in self.series:
            held = [kb for t, kb in s.points if t <= end + 1.0]
            if held and (self.sampling.shows_jumps or s.points[-1][0] >= end - 1.0):
                last.append((s.key, held[-1]))
        return sorted(last, key=lambda kv: -kv[1])[:n]


@dataclass(frozen=True, slots=True)
class ProcessInfo:
    """A process the inputs name in full (ps, pstree, top, a capture's /proc state)."""

    name: str
    command: str = ""
    pid: int | None = None
    vsz_kb: int | None = None
    rss_kb: int | None = None
    unit: str | None = None
    evidence: Evidence | None = None


@dataclass(frozen=True, slots=True)
class Catalogued:
    """Who ships a program, and where that is written down."""

    origin: Origin
    note: str


@dataclass(frozen=True, slots=True)
class Catalog:
    """The platform's knowledge of who ships which program."""

    by_name: dict[str, Catalogued] = field(default_factory=dict)
    by_path: tuple[tuple[str, Origin], ...] = ()
    """Install-path prefixes and the origin they imply (``/opt/hp`` is third-party)."""
    wrappers: tuple[str, ...] = ()
    """Interpreters whose script, not themselves, is the program (``java -jar x.jar``)."""

    def lookup(self, name: str) -> Catalogued | None:
        return self.by_name.get(name)

    def candidates(self, token: str, cut: int | None) -> tuple[str, ...]:
        """Catalogued names a token may stand for, when names are cut to ``cut``."""
        if cut is None or len(token) < cut:
            return (token,) if token in self.by_name else ()
        return tuple(sorted(n for n in self.by_name if n[:cut] == token))


@dataclass(frozen=True, slots=True)
class DumpSet:
    """One kind of core dump the evidence should hold."""

    key: str
    """Stable id used in finding ids: ``vmkernel``, ``cos``, ``captured``."""
    label: str
    paths: tuple[str, ...]
    expected: bool
    """Warn when a crash left none."""
    missing: str = ""
    """Title of the warning when none is there."""
    advice: str = ""


@dataclass(frozen=True, slots=True)
class SettingCheck:
    """A setting the evidence depends on (the Service Console core file, say)."""

    key: str
    label: str
    value: str | None
    valid: bool | None
    """``None`` when the configuration was not in the inputs."""
    requirement: str = ""
    evidence: tuple[Evidence, ...] = ()


@dataclass(frozen=True, slots=True)
class PlanBook:
    """The platform's steps for each verdict, each with its KB where one is cited.

    ``{name}`` in a text is the culprit; a step that is ``None`` does not apply here.
    """

    remove_third_party: Action | None = None
    disable_leaker: Action | None = None
    engage_for_leak: Action | None = None
    """``{who}`` is "a VMware component" or "of unknown origin"."""
    raise_memory: Action | None = None
    record_finer: Action | None = None
    engage: Action | None = None
    interpret: Action | None = None
    for_class: dict[CrashClass, Action] = field(default_factory=dict)
    """A crash that is not a memory fault, by its class (else ``interpret``): ``{module}``,
    ``{version}``, ``{vendor}``, ``{bank}`` and ``{device}`` name what the crash shows."""
    agent: Action | None = None
    """No crash, but a management agent failed (``{agent}``)."""
    find_leaker: Action | None = None
    """The domain's own memory leaked and no record names the process: what to collect so
    that the next incident names it."""
    fix_setting: dict[str, Action] = field(default_factory=dict)
    """By :class:`SettingCheck` key: the step when that setting is invalid."""


@dataclass(frozen=True, slots=True)
class Grower:
    """The consumer the crash's own evidence shows using the memory, where no history can:
    the largest in an OOM report's task table, the one that grew between successive reports,
    a victim that held most of the memory, or one a killer chose by its usage."""

    name: str
    pid: int | None = None
    kb: float | None = None
    share_percent: float | None = None
    """``kb`` as a share of the domain's memory, where known."""
    grew_kb: float | None = None
    """How much it grew between the first and the last report that list it."""
    how: str = ""
    """How the evidence shows it, in one sentence."""
    evidence: tuple[Evidence, ...] = ()


@dataclass(frozen=True, slots=True)
class Facts:
    """One incident, as every rule sees it."""

    words: Platform
    """The platform's words: its memory domain, heartbeat daemon and records."""
    crash: Crash
    history: MemoryHistory
    host: str | None = None
    domain: Domain = field(default_factory=Domain)
    boots: tuple[Boot, ...] = ()
    events: tuple[TimelineEvent, ...] = ()
    plot: MemoryHistory | None = None
    """Every point for the plots (all boots); the judged window when ``None``."""
    boot_times: tuple[float, ...] = ()
    processes: tuple[ProcessInfo, ...] = ()
    catalog: Catalog = field(default_factory=Catalog)
    dumps: tuple[DumpSet, ...] = ()
    settings: tuple[SettingCheck, ...] = ()
    known_issues: tuple[KnownIssue, ...] = ()
    signs: Signs = field(default_factory=Signs)
    """The lines known-issue signatures are looked for in (screens, logs' notable lines)."""
    plan: PlanBook = field(default_factory=PlanBook)
    release: ReleaseInfo | None = None
    """The release of the crashed host, where its build or version says."""
    incidents: tuple[Incident, ...] = ()
    """Every incident of the evidence when there are several; ``crash`` is the chosen one."""
    incidents_more: int = 0
    grower: Grower | None = None
    memory_crashes: frozenset[CrashType] | None = None
    """The crash types the memory domain running out can cause (on ESX, a lost heartbeat, or
    a crash whose screen is missing); ``None``: any. Another crash is not a memory fault,
    whatever its class."""
