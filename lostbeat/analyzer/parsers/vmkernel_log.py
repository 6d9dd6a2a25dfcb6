"""vmkernel log - ``var/log/vmkernel*``, ``var/log/vmkwarning*``, ``root/vmkernel-log.N``

STUB: types fixed; parse function to be written.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from lostbeat.analyzer.findings import Evidence


class SignalKind(StrEnum):
    HB_ALERT = "hb_alert"  # VMNIX: ALERT: HB: NNN: Lost heartbeat (comm=.. pid=.. t=.. to=.. clt=..)
    COS_ERROR = "cos_error"  # Host: NNN: COS Error: <message>
    BLUESCREEN = "bluescreen"  # @BlueScreen: <message>
    COS_OOPS = "cos_oops"  # Oops / COS Error: Oops
    COS_PANIC = "cos_panic"  # COS Panic / CosPanic
    PCPU_HEARTBEAT = "pcpu_heartbeat"  # Heartbeat: NNN: PCPU n didn't have a heartbeat (lockup detector)
    PCPU_LOCKUP = "pcpu_lockup"  # PCPU n locked up
    PF_EXCEPTION = "pf_exception"  # #PF Exception(14) / #PF Exception 14
    NOT_IMPLEMENTED = "not_implemented"  # NOT_IMPLEMENTED <file>:<line>
    COREDUMP = "coredump"  # Dump: NNN: Dumping core to '<target>'


@dataclass(frozen=True, slots=True)
class Signal:
    kind: SignalKind
    evidence: Evidence
    uptime_s: float | None = None  # VMkernel uptime of the line, from D:HH:MM:SS.mmm
    message: str | None = None
    comm: str | None = None
    pid: int | None = None
    t: int | None = None  # minutes without heartbeat
    to: int | None = None  # timeout, minutes
    clt: int | None = None
    target: str | None = None  # core dump target path


@dataclass(frozen=True, slots=True)
class VmkernelLog:
    signals: tuple[Signal, ...]
    last_uptime_s: float | None  # uptime of the last timestamped line


def parse_vmkernel_log(lines: Iterable[str], *, path: str) -> VmkernelLog:
    raise NotImplementedError
