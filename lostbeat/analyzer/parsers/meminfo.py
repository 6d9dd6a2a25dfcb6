"""meminfo - ``proc/meminfo``

STUB: types fixed; parse function to be written.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from lostbeat.analyzer.findings import Evidence


@dataclass(frozen=True, slots=True)
class MemInfo:
    total: int | None  # bytes; None when absent
    free: int | None
    swap_total: int | None
    swap_free: int | None
    low_total: int | None
    high_total: int | None
    evidence: tuple[Evidence, ...]  # the MemTotal and SwapTotal lines


def parse_meminfo(lines: Iterable[str], *, path: str) -> MemInfo:
    raise NotImplementedError
