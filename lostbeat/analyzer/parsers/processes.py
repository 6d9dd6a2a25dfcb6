"""processes - ``tmp/ps.*.txt`` (ps -auxwww) and ``tmp/pstree.*.txt`` (pstree -ap)

STUB: types fixed; parse functions to be written.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from lostbeat.analyzer.findings import Evidence


@dataclass(frozen=True, slots=True)
class ProcessEntry:
    pid: int | None
    name: str  # executable base name: "vmware-hostd", "cimserver"
    command: str  # the full command line as shown
    rss_kb: int | None
    vsz_kb: int | None
    user: str | None
    evidence: Evidence


@dataclass(frozen=True, slots=True)
class ProcessTable:
    processes: tuple[ProcessEntry, ...]


def parse_ps(lines: Iterable[str], *, path: str) -> ProcessTable:
    raise NotImplementedError


def parse_pstree(lines: Iterable[str], *, path: str) -> ProcessTable:
    raise NotImplementedError
