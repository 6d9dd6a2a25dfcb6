"""PSOD screen - a transcribed purple diagnostic screen

STUB: types fixed; parse function to be written.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from lostbeat.analyzer.findings import Evidence
from lostbeat.analyzer.parsers.vmkernel_log import Signal


@dataclass(frozen=True, slots=True)
class PsodScreen:
    build: int | None  # Releasebuild-N
    message: str | None  # the error message (line 2, or @BlueScreen: ...)
    vmk_uptime_s: float | None  # VMK uptime: D:HH:MM:SS.mmm
    signals: tuple[Signal, ...]  # the log lines on the screen, as in a vmkernel log
    cpus: tuple[str, ...]  # "0:1024/console" world-per-PCPU entries
    evidence: tuple[Evidence, ...]  # header and message lines


def parse_psod(lines: Iterable[str], *, path: str) -> PsodScreen:
    raise NotImplementedError
