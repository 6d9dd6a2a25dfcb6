"""sar - ``var/log/sa/sarDD``, ``sos_commands/sar/sarDD`` (sysstat's ``sar -A`` text) -> SarLog

The memory (``-r``) and swap (``-S``) sections of sysstat's report, its ``LINUX RESTART``
lines and its header; every other section is passed over. A sosreport keeps these text files
(sysstat's own daily ``sarDD``, and sos's ``sar -A -f saDD`` of the last week,
docs/reference/linux-logs.md §8): they are the host's memory history, as vmksummary is
ESX's. sysstat prints the host's local time and the file does not name its zone: times are
read as UTC (unverified for any given host).

Sample data::

    Linux 5.14.0-362.el9.x86_64 (web01) 	05/01/2024 	_x86_64_	(4 CPU)

    12:00:01 AM kbmemfree   kbavail kbmemused  %memused kbbuffers  kbcached  kbcommit   %commit
    12:10:01 AM   5520968   6878592   1383812     17.50      4228   1482228   3153948     23.44

Examples:
    >>> log = parse_sar([
    ...     "Linux 5.14.0-362.el9.x86_64 (web01) \\t05/01/2024 \\t_x86_64_\\t(4 CPU)",
    ...     "12:00:01 AM kbmemfree   kbavail kbmemused  %memused kbbuffers  kbcached",
    ...     "12:10:01 AM   5520968   6878592   1383812     17.50      4228   1482228",
    ...     "12:00:01 AM kbswpfree kbswpused  %swpused  kbswpcad   %swpcad",
    ...     "12:10:01 AM   4194300      1024      0.02         0      0.00",
    ... ], path="sar01")
    >>> (log.host, log.memory[0].used_kb, log.memory[0].total_kb, log.swap[0].used_kb)
    ('web01', 1383812, 6904780, 1024)
    >>> log.memory[0].at
    1714522201.0
"""

from __future__ import annotations

import re
from calendar import timegm
from collections.abc import Iterable
from dataclasses import dataclass

from lostbeat.analyzer.parsers._lines import active_lines, head
from lostbeat.errors import ArtifactMissing, ParseError

__all__ = ["MAX_POINTS", "SarLog", "SarMemory", "SarSwap", "looks_like_sar", "parse_sar"]

MAX_POINTS = 20_000
"""Points kept per section (the newest): a month of one-minute samples."""


@dataclass(frozen=True, slots=True)
class SarMemory:
    at: float
    free_kb: int
    used_kb: int
    available_kb: int | None = None

    @property
    def total_kb(self) -> int:
        return self.free_kb + self.used_kb


@dataclass(frozen=True, slots=True)
class SarSwap:
    at: float
    free_kb: int
    used_kb: int


@dataclass(frozen=True, slots=True)
class SarLog:
    path: str
    host: str | None
    release: str | None
    memory: tuple[SarMemory, ...]
    swap: tuple[SarSwap, ...]
    restarts: tuple[float, ...]
    problems: tuple[ParseError, ...] = ()


_HEADER = re.compile(
    r"^Linux (?P<release>\S+) \((?P<host>[^)]*)\)\s+"
    r"(?:(?P<y>\d{4})-(?P<m>\d\d)-(?P<d>\d\d)|(?P<us>\d\d)/(?P<ud>\d\d)/(?P<uy>\d{2,4})"
    r"|(?P<ed>\d\d)\.(?P<em>\d\d)\.(?P<ey>\d{4}))"
)
_TIME = re.compile(r"^(\d\d):(\d\d):(\d\d)(?: ([AP]M))?\s+")
_SNIFF = re.compile(r"^Linux \S+ \([^)]*\)\s+\S+\s+_\w+_\s+\(\d+ CPU\)", re.MULTILINE)


def looks_like_sar(text: str) -> bool:
    """Whether ``text`` (a file's start) is sysstat's text report."""
    return _SNIFF.search(head(text)) is not None


def _day(m: re.Match[str]) -> int | None:
    if m["y"]:
        y, mo, d = int(m["y"]), int(m["m"]), int(m["d"])
    elif m["uy"]:
        y, mo, d = int(m["uy"]), int(m["us"]), int(m["ud"])
    else:
        y, mo, d = int(m["ey"]), int(m["em"]), int(m["ed"])
    y += 2000 if y < 100 else 0
    if not (1 <= mo <= 12 and 1 <= d <= 31):
        return None  # not a date: the report's rows cannot be placed
    return timegm((y, mo, d, 0, 0, 0, 0, 0, 0))


def _seconds(m: re.Match[str]) -> int:
    hh, mm, ss = int(m[1]), int(m[2]), int(m[3])
    if m[4]:
        hh = hh % 12 + (12 if m[4] == "PM" else 0)
    return hh * 3600 + mm * 60 + ss


def parse_sar(lines: Iterable[str], *, path: str) -> SarLog:
    """Read the memory and swap sections of a ``sar -A`` (or ``-r``/``-S``) report.

    Raises:
        ArtifactMissing: an empty file.
        ParseError: a file without sysstat's header line.
    """
    host = release = None
    start: int | None = None  # the report's day
    day: int | None = None  # the day of the row being read
    last = -1
    cols: list[str] | None = None
    memory: list[SarMemory] = []
    swap: list[SarSwap] = []
    restarts: list[float] = []
    problems: list[ParseError] = []
    seen = False
    for line_no, text in active_lines(lines):
        seen = True
        if (h := _HEADER.match(text)) is not None:
            host, release, start, last = h["host"], h["release"], _day(h), -1
            day = start
            continue
        t = _TIME.match(text)
        if t is None or day is None:
            cols = None if not text.startswith("Average") else cols
            continue
        secs = _seconds(t)
        words = text[t.end() :].split()
        if secs < last and (not words or _number(words[0]) or words[0] == "LINUX"):
            day += 86400  # past midnight
        last = secs
        at = float(day + secs)
        if words[:2] == ["LINUX", "RESTART"]:
            restarts.append(at)
            continue
        if words and not _number(words[0]):
            # a section's header repeats the report's first time: its rows start that day
            cols, day, last = words, start, secs
            continue
        if cols is None or len(words) != len(cols):
            continue
        row = dict(zip(cols, words, strict=True))
        try:
            if "kbmemused" in row and "kbmemfree" in row:
                avail = int(row["kbavail"]) if "kbavail" in row else None
                memory.append(SarMemory(at, int(row["kbmemfree"]), int(row["kbmemused"]), avail))
            elif "kbswpused" in row and "kbswpfree" in row:
                swap.append(SarSwap(at, int(row["kbswpfree"]), int(row["kbswpused"])))
        except ValueError:
            if len(problems) < 100:
                problems.append(
                    ParseError("expected sar's numbers", path=path, line_no=line_no, line=text)
                )
    if not seen:
        raise ArtifactMissing("sar", path=path)
    if host is None:
        raise ParseError("expected sysstat's 'Linux <release> (<host>) <date>' header", path=path)
    return SarLog(path, host, release, tuple(memory[-MAX_POINTS:]), tuple(swap[-MAX_POINTS:]),
                  tuple(restarts[-MAX_POINTS:]), tuple(problems))  # fmt: skip


def _number(word: str) -> bool:
    return word.replace(".", "", 1).replace(",", "", 1).isdigit()
