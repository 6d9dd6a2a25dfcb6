"""meminfo - ``proc/meminfo`` (the Service Console's or a Linux host's, at collection time; a
supportconfig's ``memory.txt``, of which its ``/proc/meminfo`` entry is read)

``Key: value kB`` lines; the values here are converted to bytes. The totals are the
configured Service Console RAM and swap (KB 308590); free figures are post-reboot and say
nothing about the crash. A Linux 2.4 kernel (ESX 3.x COS) also prints a byte table first
(``total: used: free: ...`` then ``Mem:`` and ``Swap:`` rows); it is accepted and only used
when the ``kB`` lines are absent (2.4 layout: BACKGROUND, unverified on a real COS).

Sample data (KB 308590)::

    MemTotal:799732 kB
    HighTotal:0 kB
    LowTotal:799732 kB
    SwapTotal:554168 kB

Examples:
    >>> info = parse_meminfo(
    ...     ["MemTotal:799732 kB", "HighTotal:0 kB", "LowTotal:799732 kB", "SwapTotal:554168 kB"],
    ...     path="proc/meminfo",
    ... )
    >>> info.total, info.swap_total, info.high_total, info.swap_free
    (818925568, 567468032, 0, None)
    >>> [e.line_no for e in info.evidence]
    [1, 4]
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from lostbeat.analyzer.findings import Evidence
from lostbeat.analyzer.parsers._lines import head, require_lines, to_int
from lostbeat.errors import ArtifactMissing, ParseError
from lostbeat.procfs import meminfo_line

__all__ = ["MemInfo", "looks_like_meminfo", "parse_meminfo"]


@dataclass(frozen=True, slots=True)
class MemInfo:
    total: int | None  # bytes; None when absent
    free: int | None
    swap_total: int | None
    swap_free: int | None
    low_total: int | None
    high_total: int | None
    evidence: tuple[Evidence, ...]  # the MemTotal and SwapTotal lines


_A = re.ASCII
# Linux 2.4 byte table: "        total:    used:    free:  shared: buffers:  cached:"
_TABLE_HEADER = re.compile(r"\s*total:\s+used:\s+free:.*", _A)
_TABLE_ROW = re.compile(r"\s*(Mem|Swap):((?:\s+[0-9]+){2,})\s*", _A)
_SNIFF = re.compile(r"^\s*MemTotal:\s*[0-9]+\s*kB\s*$", re.MULTILINE | _A)
_FIELDS = {
    "MemTotal": "total",
    "MemFree": "free",
    "SwapTotal": "swap_total",
    "SwapFree": "swap_free",
    "LowTotal": "low_total",
    "HighTotal": "high_total",
}
_EXPECTED = "expected 'Key: value kB' (proc/meminfo)"


# supportconfig's files are entries, each a header, a "# <file or command>" label and its
# text (openSUSE/supportutils bin/supportconfig.rc, conf_files and log_cmd: VERIFIED from its
# source): its memory.txt holds /proc/meminfo beside vmstat, free and sysctl output.
_ENTRY = re.compile(r"#==\[ [A-Za-z ]+ \]=+#\s*", _A)


def _entry(numbered: list[tuple[int, str]], label: str, *, path: str) -> list[tuple[int, str]]:
    """The numbered lines of the entry of a supportconfig file labelled ``label``.

    Raises:
        ArtifactMissing: the file has no such entry.
    """
    kept: list[tuple[int, str]] = []
    inside = False
    for i, (line_no, text) in enumerate(numbered):
        if _ENTRY.fullmatch(text):
            nxt = numbered[i + 1][1].strip() if i + 1 < len(numbered) else ""
            inside = nxt == f"# {label}"
            continue
        if inside and text.strip() != f"# {label}":
            kept.append((line_no, text))
    if not kept:
        raise ArtifactMissing("meminfo", path=path)
    return kept


def looks_like_meminfo(text: str) -> bool:
    """Whether ``text`` (a file's start) has a ``MemTotal: N kB`` line."""
    return _SNIFF.search(head(text)) is not None


def parse_meminfo(lines: Iterable[str], *, path: str) -> MemInfo:
    """Read the Service Console's RAM and swap sizes, in bytes.

    Args:
        lines: the file's lines, with or without newlines.
        path: the file's path in the bundle, for evidence and errors.

    Raises:
        ArtifactMissing: no non-blank line, or a supportconfig file (``memory.txt``) without
            its ``/proc/meminfo`` entry.
        ParseError: a line that is neither ``Key: value [kB]`` nor the 2.4 byte table,
            or one of the fields above without its ``kB`` unit.
    """
    numbered = require_lines(lines, artifact="meminfo", path=path)
    if _ENTRY.match(numbered[0][1]):
        numbered = _entry(numbered, "/proc/meminfo", path=path)
    values: dict[str, int] = {}
    table: dict[str, tuple[tuple[int, ...], Evidence]] = {}
    evidence: list[Evidence] = []
    for line_no, text in numbered:
        if entry := meminfo_line(text):  # the line grammar the agent and recorder use too
            field = _FIELDS.get(entry.key)
            if field is None:
                continue
            if entry.unit != "kB":
                raise ParseError(
                    f"expected '{entry.key}: <n> kB'", path=path, line_no=line_no, line=text
                )
            values.setdefault(field, entry.bytes)
            if entry.key in ("MemTotal", "SwapTotal"):
                evidence.append(Evidence(path, line_no, text))
        elif m := _TABLE_ROW.fullmatch(text):
            row = tuple(to_int(n) for n in m[2].split())
            if None in row:
                raise ParseError(_EXPECTED, path=path, line_no=line_no, line=text)
            numbers = tuple(n for n in row if n is not None)
            table.setdefault(m[1], (numbers, Evidence(path, line_no, text)))
        elif not _TABLE_HEADER.fullmatch(text):
            raise ParseError(_EXPECTED, path=path, line_no=line_no, line=text)
    if not values and not table:
        line_no, text = numbered[0]
        raise ParseError(_EXPECTED, path=path, line_no=line_no, line=text)
    # 2.4 rows are "Mem: total used free ..." and "Swap: total used free", in bytes.
    for row_name, total, free in (("Mem", "total", "free"), ("Swap", "swap_total", "swap_free")):
        if row_name in table and total not in values:
            numbers, row_evidence = table[row_name]
            values[total] = numbers[0]
            if len(numbers) > 2:
                values.setdefault(free, numbers[2])
            evidence.append(row_evidence)
    return MemInfo(
        total=values.get("total"),
        free=values.get("free"),
        swap_total=values.get("swap_total"),
        swap_free=values.get("swap_free"),
        low_total=values.get("low_total"),
        high_total=values.get("high_total"),
        evidence=tuple(sorted(evidence, key=lambda e: e.line_no or 0)),
    )
