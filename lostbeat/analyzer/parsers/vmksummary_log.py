"""vmksummary.log - ``var/run/log/vmksummary.log`` (ESXi 5.x-8.x)

ESXi writes its boots and stops and, every hour, a leaderboard of the top memory and CPU
consumers (VMware KB 2004566 for 5.x; Broadcom KB 317245 for 7.x/8.x, whose lines carry
milliseconds and the writer's pid; docs/reference/esxi-bundles.md):

* ``<ISO time> bootstop[pid]: Host has booted`` | ``is rebooting`` | ``is powering off`` |
  ``is halting``, or ``<ISO time> Host has booted`` with no tag;
* ``<ISO time> heartbeat[pid]: up 0d17h24m17s, 0 VMs; [[pid name NkB] ...] [[pid name N%max]
  ...]``: uptime, running VMs, the three largest memory consumers (names cut to 16
  characters) and the three busiest;
* ``<ISO time> mark: <what>``: a boot milestone.

A ``Host is rebooting``/``is halting`` line before ``Host has booted`` is a stop someone asked
for; ``Host has booted`` with neither before it is a crash or a power loss (KB 317245). The
lines become the :class:`~.vmksummary.SummaryLine` s of ESX's hourly summary, so the same
history and boots follow: a heartbeat line's uptime is the VMkernel's, its leaderboard the top
consumers, in KB.

Sample data (KB 2004566)::

    2011-08-30T04:00:01Z heartbeat: up 0d17h24m17s, 0 VMs; [[3411 sfcb-pycim 12516kB] [3041
    vpxa-worker 12668kB] [2723 hostd-worker 33844kB]] [[3348 sfcb-vmware_int 2%max] ...]

Examples:
    >>> s = parse_vmksummary_log([
    ...     "2011-08-30T04:00:01Z heartbeat: up 0d17h24m17s, 0 VMs; [[3411 sfcb-pycim 12516kB] "
    ...     "[2723 hostd-worker 33844kB]] [[3348 sfcb-vmware_int 2%max]]",
    ...     "2025-09-18T04:25:00.360Z bootstop[137121]: Host is rebooting",
    ...     "2025-09-18T04:27:00.360Z Host has booted",
    ... ], path="var/run/log/vmksummary.log")
    >>> [ln.kind.value for ln in s.lines]
    ['heartbeat', 'rebooting', 'starting']
    >>> s.lines[0].vmk_uptime_s, s.lines[0].vms, s.lines[0].top[1]
    (62657.0, 0, Consumer(token='hostd-worker', kb=33844))
    >>> s.lines[1].epoch
    1758169500
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Iterable

from lostbeat.analyzer.findings import Evidence
from lostbeat.analyzer.parsers._lines import (
    Problems,
    head,
    kept_note,
    newest_records,
    to_int,
    undecorate,
    undecorated,
)
from lostbeat.analyzer.parsers.vmksummary import (
    MAX_LINES,
    Consumer,
    LineKind,
    SummaryLine,
    VmkSummary,
)
from lostbeat.errors import ParseError

__all__ = ["looks_like_vmksummary_log", "parse_vmksummary_log"]

_A = re.ASCII
_TIME = r"(?P<time>[0-9Y]{4}-[0-9M]{2}-[0-9D]{2}T[0-9:.HMS]+Z?)"
# 8.x writes the syslog severity after the time: "<time> In(14) heartbeat[pid]: ...",
# "<time> No(13) bootstop[pid]: Host has booted"
_SEVERITY = r"(?:[A-Z][a-z]\([0-9]+\)\s+)?"
_LINE = re.compile(
    rf"{_TIME}\s+{_SEVERITY}(?:(?P<tag>bootstop|heartbeat|mark)(?:\[[0-9]+\])?:\s*)?"
    r"(?P<text>.*)",
    _A,
)
_ISO = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})", _A)
_UP = re.compile(
    r"up (?:(?P<d>[0-9]+)d)?(?:(?P<h>[0-9]+)h)?(?:(?P<m>[0-9]+)m)?(?:(?P<s>[0-9]+)s)?"
    r",\s*(?P<vms>[0-9]+) VMs?;\s*(?P<mem>\[.*?\]\])?",
    _A,
)
_CONSUMER = re.compile(r"\[(?:[0-9]+ )?(?P<name>[^\s\[\]][^\[\]]*?) (?P<kb>[0-9]+)kB\]", _A)
_SNIFF = re.compile(
    r"^[0-9Y]{4}-[0-9M]{2}-[0-9D]{2}T[0-9:.HMS]+Z?\s+"
    + _SEVERITY
    + r"(?:(?:bootstop|heartbeat)(?:\[[0-9]+\])?: |Host has booted)",
    re.MULTILINE | _A,
)
_EVENTS = (
    ("has booted", LineKind.STARTING),
    ("is rebooting", LineKind.REBOOTING),
    ("is halting", LineKind.HALTING),
    ("is powering off", LineKind.HALTING),
    ("is shutting down", LineKind.HALTING),
)
_WORDS = ("heartbeat", "bootstop", "mark", *(words for words, _ in _EVENTS))
_EXPECTED = (
    "expected ESXi vmksummary.log lines like '<ISO time> bootstop: Host has booted' or "
    "'<ISO time> heartbeat: up 0d1h2m3s, 4 VMs; [[pid name NkB] ...]'"
)


def looks_like_vmksummary_log(text: str) -> bool:
    """Whether ``text`` (a file's start) has ESXi vmksummary.log lines."""
    return _SNIFF.search(undecorated(head(text))) is not None


def _epoch(stamp: str) -> int | None:
    m = _ISO.match(stamp)
    if m is None:
        return None
    year, month, day, hour, minute, second = (int(g) for g in m.groups())
    if not (1 <= month <= 12 and 1 <= day <= 31 and hour < 24 and minute < 60 and second < 61):
        return None
    return calendar.timegm((year, month, day, hour, minute, second, 0, 0, 0))


def _heartbeat(text: str) -> tuple[float, int, tuple[Consumer, ...]] | None:
    m = _UP.search(text)
    if m is None:
        return None
    days, hours, minutes, seconds = (int(m[g] or 0) for g in ("d", "h", "m", "s"))
    up = float(((days * 24 + hours) * 60 + minutes) * 60 + seconds)
    top = tuple(
        Consumer(token=c["name"], kb=kb)
        for c in _CONSUMER.finditer(m["mem"] or "")
        if (kb := to_int(c["kb"])) is not None
    )
    return up, int(m["vms"]), top


def _is_record(text: str) -> bool:
    """A line :data:`_LINE` may read: tagged, or saying a boot or a stop (a cheap test)."""
    return any(word in text for word in _WORDS)


def parse_vmksummary_log(lines: Iterable[str], *, path: str) -> VmkSummary:
    """Read the boots, stops and hourly leaderboards of an ESXi vmksummary.log: its newest
    ``MAX_LINES`` record lines, parsed once the file is read (the others are counted in
    ``omitted``, as :func:`~.vmksummary.parse_vmksummary` does).

    Raises:
        ArtifactMissing: no non-blank line.
        ParseError: not a single vmksummary.log line; the first unreadable heartbeat if
            every line was one.
    """
    newest = newest_records(lines, _is_record, keep=MAX_LINES, artifact="vmksummary_log", path=path)
    out: list[SummaryLine] = []
    problems = Problems()
    for line_no, raw in newest.records:
        m = _LINE.match(undecorate(raw))
        if m is None:
            continue
        tag, text, stamp = m["tag"], m["text"], m["time"]
        evidence = Evidence(path, line_no, raw)
        epoch = _epoch(stamp)
        if tag == "heartbeat":
            hb = _heartbeat(text)
            if hb is None:
                problems.append(ParseError(_EXPECTED, path=path, line_no=line_no, line=raw))
                continue
            up, vms, top = hb
            out.append(
                SummaryLine(LineKind.HEARTBEAT, epoch, stamp, "", evidence, vmk_uptime_s=up,
                            cos_uptime_s=up, vms=vms, top=top)
            )  # fmt: skip
            continue
        kind = next((k for words, k in _EVENTS if words in text), None)
        if kind is None and tag == "bootstop" and "core" in text and "enabled" not in text:
            # KB 317245: a crash leaves a core-file line; "No disk, file or network coredump
            # enabled" (8.x, at every boot without a dump target) is no crash
            kind = LineKind.VMKERNEL_ERROR
        if kind is None and tag is None:
            continue
        out.append(SummaryLine(kind or LineKind.OTHER, epoch, stamp, "", evidence))
    if not out:
        if problems:
            raise problems.first
        raise ParseError(_EXPECTED, path=path, line_no=newest.first[0], line=newest.first[1])
    return VmkSummary(tuple(out), tuple(problems.kept), kept_note(newest.note(), problems.note()))
