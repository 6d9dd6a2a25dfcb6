"""The profile protocol, the artifact record, and the parsed inputs a profile reads.

A profile is one platform's knowledge: which artifacts it has and where a bundle holds them,
whether a set of parsed inputs is its own, how its artifacts become neutral
:class:`~lostbeat.analyzer.facts.Facts`, and its words and plan (carried inside the facts).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from lostbeat.analyzer.facts import Facts
from lostbeat.analyzer.parsers.capture import CaptureManifest, LinuxScreen
from lostbeat.analyzer.parsers.coredumps import CoredumpInventory
from lostbeat.analyzer.parsers.esx_conf import EsxConf
from lostbeat.analyzer.parsers.host_log import HostLog
from lostbeat.analyzer.parsers.ipmi_sel import IpmiSel
from lostbeat.analyzer.parsers.meminfo import MemInfo
from lostbeat.analyzer.parsers.packages import PackageList
from lostbeat.analyzer.parsers.processes import ProcessTable
from lostbeat.analyzer.parsers.procfiles import ProcFile
from lostbeat.analyzer.parsers.psod import PsodScreen
from lostbeat.analyzer.parsers.recordings import Recording
from lostbeat.analyzer.parsers.sar import SarLog
from lostbeat.analyzer.parsers.top import TopSnapshot
from lostbeat.analyzer.parsers.version import VersionInfo
from lostbeat.analyzer.parsers.vibs import VibList
from lostbeat.analyzer.parsers.vmkernel_log import VmkernelLog
from lostbeat.analyzer.parsers.vmksummary import VmkSummary

__all__ = ["Artifact", "Parsed", "Profile"]


@dataclass(frozen=True, slots=True)
class Artifact:
    """One logical artifact and where a bundle may hold it.

    Attributes:
        patterns: globs relative to the bundle root.
        many: several files may match (rotations, one per core).
        content: the files are read; ``False`` means only their names matter.
        doc: what the artifact is, in one line.
        tail: when a file is larger than the read cap, keep its end (the newest lines).
        by_path: the path says what the file is about (``proc/<pid>/cgroup``): two files
            of the same content are two inputs, not one file given twice.
    """

    patterns: tuple[str, ...]
    many: bool
    content: bool
    doc: str
    tail: bool = False
    by_path: bool = False


@dataclass
class Parsed:
    """Every parser output of one host's inputs, by kind, in input order."""

    host: str | None = None
    names: tuple[str, ...] = ()
    """Every member name seen, wanted or not (core dumps are known by name only)."""
    summaries: list[VmkSummary] = field(default_factory=list)
    logs: list[VmkernelLog] = field(default_factory=list)
    screens: list[PsodScreen] = field(default_factory=list)
    meminfo: list[MemInfo] = field(default_factory=list)
    conf: list[EsxConf] = field(default_factory=list)
    versions: list[VersionInfo] = field(default_factory=list)
    tables: list[ProcessTable] = field(default_factory=list)
    tops: list[TopSnapshot] = field(default_factory=list)
    sel: list[IpmiSel] = field(default_factory=list)
    """The management controller's event log (ESXi)."""
    vibs: list[VibList] = field(default_factory=list)
    """The installed VIBs, with their versions (ESXi)."""
    recordings: list[Recording] = field(default_factory=list)
    captures: list[LinuxScreen] = field(default_factory=list)
    manifests: list[CaptureManifest] = field(default_factory=list)
    """What each capture was written for (a loss, an early warning, a kernel event)."""
    proc_files: list[ProcFile] = field(default_factory=list)
    """Command lines and cgroups of processes (a capture's /proc state)."""
    packages: list[PackageList] = field(default_factory=list)
    """The host's installed packages (``rpm -qa``); for the fleet, no rule reads them."""
    cores: CoredumpInventory = field(default_factory=lambda: CoredumpInventory((), ()))
    host_logs: list[HostLog] = field(default_factory=list)
    """A Linux host's own logs (dmesg, journal, syslog, killers' and Kubernetes' output)."""
    sars: list[SarLog] = field(default_factory=list)
    """sysstat's reports: a Linux host's memory and swap history."""
    at: str | None = None
    """The incident asked for (``lostbeat analyze --at``); the last one when ``None``."""


class Profile(Protocol):
    """One platform. Adding a platform is adding a profile to ``PROFILES``."""

    name: str
    artifacts: dict[str, Artifact]

    def recognise(self, parsed: Parsed) -> int:
        """How strongly the inputs are this platform's: 0 not at all; the highest wins."""
        ...

    def facts(self, parsed: Parsed) -> Facts:
        """The neutral facts of the incident the inputs show."""
        ...
