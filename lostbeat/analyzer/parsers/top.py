"""top batch output - ``tmp/top.*.txt`` (top -d 1 -n 10 -b)

vm-support runs ``top`` ten times a second apart; each iteration starts with an uptime
line and ends with its process table, and the last one is kept. The Service Console's
top is procps 2.0.x on ESX 3.x and 3.2.x on ESX 4.x (reference §8, BACKGROUND): 2.0.x
starts with `` 12:00:01  up ...``, says ``Mem: 268548k av`` and names its columns
``SIZE RSS``; 3.2.x starts with ``top - 12:00:01 up ...``, says ``Mem: 268548k total``
and names them ``VIRT RES``. Header sizes are read by their labels (``k`` suffix, plain
numbers in kB, or ``KiB Mem``/``MiB Mem`` from later procps); row sizes may carry
``m``/``g`` suffixes. Rows that cannot be read go to ``problems``.

Sample data (procps 3.2.x)::

    top - 03:01:35 up 136 days,  2:03,  1 user,  load average: 0.50, 0.40, 0.30
    Tasks:  95 total,   1 running,  94 sleeping,   0 stopped,   0 zombie
    Mem:    799732k total,   790000k used,     9732k free,     1024k buffers
    Swap:   554168k total,   554000k used,      168k free,    20480k cached

      PID USER      PR  NI  VIRT  RES  SHR S %CPU %MEM    TIME+  COMMAND
     3588 root      16   0  572m 300m 1200 S  2.0 38.4  10:01.02 VMap

Examples:
    >>> snap = parse_top([
    ...     "top - 03:01:35 up 136 days,  2:03,  1 user,  load average: 0.50, 0.40, 0.30",
    ...     "Mem:    799732k total,   790000k used,     9732k free,     1024k buffers",
    ...     "Swap:   554168k total,   554000k used,      168k free,    20480k cached",
    ...     "",
    ...     "  PID USER      PR  NI  VIRT  RES  SHR S %CPU %MEM    TIME+  COMMAND",
    ...     " 3588 root      16   0  572m 300m 1200 S  2.0 38.4  10:01.02 VMap",
    ... ], path="tmp/top.4711.txt")
    >>> snap.mem_total_kb, snap.swap_used_kb, snap.evidence.line_no
    (799732, 554000, 1)
    >>> p = snap.processes[0]
    >>> p.pid, p.name, p.vsz_kb, p.rss_kb
    (3588, 'VMap', 585728, 307200)
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from lostbeat.analyzer.findings import Evidence
from lostbeat.analyzer.parsers._lines import Problems, head, require_lines, to_float, to_int
from lostbeat.analyzer.parsers.processes import ProcessEntry, exe_name
from lostbeat.errors import ParseError

__all__ = ["TopSnapshot", "looks_like_top", "parse_top"]


@dataclass(frozen=True, slots=True)
class TopSnapshot:
    mem_total_kb: int | None
    mem_used_kb: int | None
    swap_total_kb: int | None
    swap_used_kb: int | None
    processes: tuple[ProcessEntry, ...]  # of the last iteration
    evidence: Evidence  # its "top - " header line
    problems: tuple[ParseError, ...] = ()  # rows and Mem/Swap lines that could not be read
    omitted: str = ""  # what was left out of problems (the first 100 are kept), when anything


_A = re.ASCII
_ITERATION = re.compile(
    r"\s*(?:top\s*-\s*)?[0-9]{1,2}:[0-9]{2}:[0-9]{2}\s+up\b.*\bload averages?:.*", _A
)
_SNIFF = re.compile(
    r"^\s*(?:top\s*-\s*)?[0-9]{1,2}:[0-9]{2}:[0-9]{2}\s+up\b.*\bload averages?:", re.M | _A
)
_MEMORY = re.compile(r"\s*(?:([KMGT]iB)\s+)?(Mem|Swap)\s*:(.*)", _A)
# (?<![0-9.]): a number starts only once, so a long run of digits is scanned once, not n times
_AMOUNT = re.compile(r"(?<![0-9.])([0-9]+(?:\.[0-9]+)?)([kKmMgG]?)[\s,]+(total|av|used)\b", _A)
_SCALE = {"": 1, "k": 1, "K": 1, "m": 1024, "M": 1024, "g": 1024**2, "G": 1024**2}
_UNIT = {None: 1, "KiB": 1, "MiB": 1024, "GiB": 1024**2, "TiB": 1024**3}
_SIZE = re.compile(r"([0-9]+(?:\.[0-9]+)?)([kKmMgGtT]?)", _A)
_EXPECTED = "expected a top batch header 'top - HH:MM:SS up ..., load average: ...'"
_EXPECTED_ROW = "expected a top row with a numeric PID and sizes"
_EXPECTED_MEMORY = "expected 'Mem:|Swap: <n>k total|av, <n>k used, ...'"


def _size_kb(text: str) -> int | None:
    """A top size in kB: ``1200``, ``572m``, ``1.2g``; None when unreadable."""
    m = _SIZE.fullmatch(text)
    if m is None:
        return None
    number = to_float(m[1])
    scale = _SCALE.get(m[2], 1024**3)
    return round(number * scale) if number is not None else None


def looks_like_top(text: str) -> bool:
    """Whether ``text`` (a file's start) is top batch output."""
    start = head(text)
    return _SNIFF.search(start) is not None and re.search(r"\bPID\s+USER\b", start) is not None


class _Iteration:
    """What one top iteration has shown so far."""

    def __init__(self, evidence: Evidence) -> None:
        self.evidence = evidence
        self.memory: dict[str, int] = {}
        self.columns: list[str] | None = None
        self.rows: list[ProcessEntry] = []

    def memory_line(self, kind: str, unit: str | None, text: str) -> bool:
        amounts = _AMOUNT.findall(text)
        if not amounts:
            return False
        for number, suffix, label in amounts:
            value = to_float(number)
            if value is None:
                return False
            kb = round(value * _SCALE[suffix] * _UNIT.get(unit, 1))
            self.memory[f"{kind.lower()}_{'total' if label == 'av' else label}"] = kb
        return True

    def row(self, line_no: int, text: str, *, path: str) -> ProcessEntry | None:
        cols = self.columns or []
        parts = text.split(None, len(cols) - 1)
        if len(parts) < len(cols) or "PID" not in cols:
            return None
        at = {name: i for i, name in enumerate(cols)}
        pid = to_int(parts[at["PID"]])
        vsz_at = next((at[n] for n in ("VIRT", "SIZE", "VSZ") if n in at), None)
        rss_at = next((at[n] for n in ("RES", "RSS") if n in at), None)
        vsz = _size_kb(parts[vsz_at]) if vsz_at is not None else None
        rss = _size_kb(parts[rss_at]) if rss_at is not None else None
        if (
            pid is None
            or (vsz_at is not None and vsz is None)
            or (rss_at is not None and rss is None)
        ):
            return None
        command = parts[-1].strip()
        return ProcessEntry(
            pid=pid,
            name=exe_name(command),
            command=command,
            rss_kb=rss,
            vsz_kb=vsz,
            user=parts[at["USER"]] if "USER" in at else None,
            evidence=Evidence(path, line_no, text),
        )


def parse_top(lines: Iterable[str], *, path: str) -> TopSnapshot:
    """Read the memory header and process table of top's last batch iteration.

    Args:
        lines: the file's lines, with or without newlines.
        path: the file's path in the bundle, for evidence and errors.

    Raises:
        ArtifactMissing: no non-blank line.
        ParseError: not a single iteration header.
    """
    numbered = require_lines(lines, artifact="top", path=path)
    current: _Iteration | None = None
    problems = Problems()
    for line_no, text in numbered:
        if _ITERATION.fullmatch(text):
            current = _Iteration(Evidence(path, line_no, text))
            continue
        if current is None:
            continue
        if current.columns is None:
            if m := _MEMORY.fullmatch(text):
                if not current.memory_line(m[2], m[1], m[3]):
                    problems.append(
                        ParseError(_EXPECTED_MEMORY, path=path, line_no=line_no, line=text)
                    )
            elif "PID" in (cols := text.split()) and cols[-1] in ("COMMAND", "CMD", "Command"):
                current.columns = cols
            continue
        entry = current.row(line_no, text, path=path)
        if entry is None:
            problems.append(ParseError(_EXPECTED_ROW, path=path, line_no=line_no, line=text))
        else:
            current.rows.append(entry)
    if current is None:
        line_no, text = numbered[0]
        raise ParseError(_EXPECTED, path=path, line_no=line_no, line=text)
    memory = current.memory
    return TopSnapshot(
        mem_total_kb=memory.get("mem_total"),
        mem_used_kb=memory.get("mem_used"),
        swap_total_kb=memory.get("swap_total"),
        swap_used_kb=memory.get("swap_used"),
        processes=tuple(current.rows),
        evidence=current.evidence,
        problems=tuple(problems.kept),
        omitted=problems.note(),
    )
