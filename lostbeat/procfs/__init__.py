"""``/proc``: one reader (:class:`Procfs`) and one pure parser per file format.

The lowest layer, beside :mod:`lostbeat.errors`: the agent, the recorder and the simulator
read a live procfs through :class:`Procfs`, and the analyzer parses ``meminfo`` found in a
bundle with the same :func:`meminfo_line`. Standard library only (the agent's rule).
"""

from __future__ import annotations

from lostbeat.procfs.formats import (
    PAGE_KB,
    Mapping,
    MeminfoLine,
    ProcStat,
    ProcStatus,
    meminfo_line,
    parse_maps_line,
    parse_meminfo,
    parse_stat,
    parse_status,
    status_field,
)
from lostbeat.procfs.reader import Procfs, RawProc

__all__ = [
    "Mapping",
    "MeminfoLine",
    "PAGE_KB",
    "ProcStat",
    "ProcStatus",
    "Procfs",
    "RawProc",
    "meminfo_line",
    "parse_maps_line",
    "parse_meminfo",
    "parse_stat",
    "parse_status",
    "status_field",
]
