"""vmksummary - ``var/log/vmksummary*`` (ESX 3.x/4.x Service Console)

STUB: types fixed; parse function to be written.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from lostbeat.analyzer.findings import Evidence


class LineKind(StrEnum):
    HEARTBEAT = "heartbeat"  # (epoch) hb: vmk loaded, ...
    REBOOTING = "rebooting"  # vmkhalt: (epoch) Rebooting system...
    HALTING = "halting"  # vmkhalt: (epoch) Halting system...
    STARTING = "starting"  # vmkhalt: (epoch) Starting system...
    VMKERNEL_ERROR = "vmkernel_error"  # logger: (epoch) VMkernel error
    LOADED_VMKERNEL = "loaded_vmkernel"  # logger: (epoch) loaded VMkernel
    OTHER = "other"  # any other logger:/vmkhalt: line, kept opaque


@dataclass(frozen=True, slots=True)
class Consumer:
    token: str  # name as logged, at most 8 characters ("vmware-h")
    kb: int


@dataclass(frozen=True, slots=True)
class SummaryLine:
    kind: LineKind
    epoch: int | None  # the Unix time in parentheses
    stamp: str  # the syslog stamp as written, "Nov 13 03:01:35"
    host: str
    evidence: Evidence
    cos_uptime_s: float | None = None
    vmk_uptime_s: float | None = None
    vms: int | None = None
    vmk_build: int | None = None
    vmm_build: int | None = None
    swap_used_bytes: int | None = None
    top: tuple[Consumer, ...] = ()


@dataclass(frozen=True, slots=True)
class VmkSummary:
    lines: tuple[SummaryLine, ...]  # in file order


def parse_vmksummary(lines: Iterable[str], *, path: str) -> VmkSummary:
    raise NotImplementedError
