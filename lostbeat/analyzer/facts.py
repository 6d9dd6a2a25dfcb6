"""HostFacts: one typed view of a host, merged from every parser's output.

Parsers each see one file; HostFacts puts them together (rotated vmksummary files in time
order, the crash signals of every screen and log, the process tables) so that rules read one
object and never a file.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from lostbeat.analyzer.parsers.capture import LinuxScreen
from lostbeat.analyzer.parsers.coredumps import CoredumpInventory
from lostbeat.analyzer.parsers.esx_conf import EsxConf
from lostbeat.analyzer.parsers.meminfo import MemInfo
from lostbeat.analyzer.parsers.processes import ProcessEntry, ProcessTable
from lostbeat.analyzer.parsers.psod import PsodScreen
from lostbeat.analyzer.parsers.recordings import Recording
from lostbeat.analyzer.parsers.top import TopSnapshot
from lostbeat.analyzer.parsers.version import VersionInfo
from lostbeat.analyzer.parsers.vmkernel_log import Signal, VmkernelLog
from lostbeat.analyzer.parsers.vmksummary import SummaryLine, VmkSummary

__all__ = ["HostFacts", "crash_signals", "merge_processes", "merge_summaries"]


@dataclass(frozen=True, slots=True)
class HostFacts:
    host: str | None
    summary: tuple[SummaryLine, ...] = ()
    """Every vmksummary line of every file, oldest first."""
    screens: tuple[PsodScreen, ...] = ()
    signals: tuple[Signal, ...] = ()
    """Crash signals of the screens and the VMkernel logs."""
    meminfo: MemInfo | None = None
    esx_conf: EsxConf | None = None
    versions: tuple[VersionInfo, ...] = ()
    processes: tuple[ProcessEntry, ...] = ()
    """ps, pstree and top entries, for name resolution."""
    top: TopSnapshot | None = None
    coredumps: CoredumpInventory = CoredumpInventory((), ())
    recording: Recording | None = None
    """lostbeat's own per-process history, when the inputs hold a recording."""
    captures: tuple[LinuxScreen, ...] = ()
    """Screens of ``lostbeat monitor`` captures: a Linux lost heartbeat."""

    @property
    def product_line(self) -> tuple[int, int] | None:
        """(major, minor) of the first version file that names one: "3.5.0" -> (3, 5).
        It tells a 3.5 patch build from a 4.0 one where the build numbers overlap."""
        for info in self.versions:
            parts = (info.version or "").split(".")
            if len(parts) >= 2 and parts[0].isdigit() and parts[1].isdigit():
                return int(parts[0]), int(parts[1])
        return None

    @property
    def domain_kb(self) -> float | None:
        """Memory of the watched domain: the cgroup limit of a capture, else the console's
        MemTotal, else the recorded host's."""
        for cap in self.captures:
            if cap.limit_bytes:
                return cap.limit_bytes / 1024.0
        if self.meminfo is not None and self.meminfo.total:
            return self.meminfo.total / 1024.0
        rec = self.recording
        totals = [p.mem_total for p in rec.system if p.mem_total] if rec is not None else []
        return totals[-1] / 1024.0 if totals else None


def _rotation(path: str) -> int:
    """Rotation number of a log path: ``vmksummary`` 0, ``vmksummary.2.gz`` 2."""
    parts = path.rsplit("/", 1)[-1].split(".")
    for part in parts[1:]:
        if part.isdigit():
            return int(part)
    return 0


def merge_summaries(files: Iterable[VmkSummary]) -> tuple[SummaryLine, ...]:
    """All lines of all files, oldest first, duplicates (overlapping rotations) dropped.

    The epoch in parentheses orders lines across files and across a year boundary (syslog
    stamps carry no year). A line without an epoch keeps its place after the line before it.
    Files are first put oldest-rotation first, so that order also holds without epochs.
    """
    ordered = sorted(files, key=lambda f: -_rotation(f.lines[0].evidence.path) if f.lines else 0)
    keyed: list[tuple[float, int, SummaryLine]] = []
    seen: set[tuple[int | None, str, str]] = set()
    last = float("-inf")
    for index, line in enumerate(ln for f in ordered for ln in f.lines):
        ident = (line.epoch, line.kind.value, line.evidence.text.strip())
        if line.epoch is not None and ident in seen:
            continue
        seen.add(ident)
        if line.epoch is not None:
            last = float(line.epoch)
        keyed.append((last, index, line))
    keyed.sort(key=lambda item: (item[0], item[1]))
    return tuple(line for _, _, line in keyed)


def merge_processes(
    tables: Iterable[ProcessTable], top: TopSnapshot | None
) -> tuple[ProcessEntry, ...]:
    entries = [p for t in tables for p in t.processes]
    if top is not None:
        entries.extend(top.processes)
    return tuple(entries)


def crash_signals(screens: Iterable[PsodScreen], logs: Iterable[VmkernelLog]) -> tuple[Signal, ...]:
    return tuple(s for screen in screens for s in screen.signals) + tuple(
        s for log in logs for s in log.signals
    )
