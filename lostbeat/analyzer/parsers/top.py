"""top batch output - ``tmp/top.*.txt`` (top -d 1 -n 10 -b)

STUB: types fixed; parse function to be written.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from lostbeat.analyzer.findings import Evidence
from lostbeat.analyzer.parsers.processes import ProcessEntry


@dataclass(frozen=True, slots=True)
class TopSnapshot:
    mem_total_kb: int | None
    mem_used_kb: int | None
    swap_total_kb: int | None
    swap_used_kb: int | None
    processes: tuple[ProcessEntry, ...]  # of the last iteration
    evidence: Evidence  # its "top - " header line


def parse_top(lines: Iterable[str], *, path: str) -> TopSnapshot:
    raise NotImplementedError
