"""vmksummary - ``var/log/vmksummary*`` (ESX 3.x/4.x Service Console)

``/etc/cron.hourly/vmkheartbeat`` logs one ``hb: vmk loaded`` line a minute after each
hour; ``vmkhalt`` and ``logger`` add boot, reboot, halt and crash lines (KB 1009016,
KB 1019238). Heartbeat fields, in order: COS uptime (s), VMkernel uptime (s), running
VMs, VMkernel build, VMM build, COS swap used (bytes), then up to three top memory
consumers as ``<name>-<KB>`` with the name cut to 8 characters (``vmware-h``).

The swap field is kept as written, in bytes: KB 1019238's ESX 4.0 example shows ``356``,
which may be kB (open question, reference §1.2). A token is split on its last ``-``.
Lines of other programs are skipped; a ``logger``/``vmkhalt`` line that cannot be read
is kept in ``problems`` and the rest of the file still counts. A file keeps its newest
``MAX_LINES`` record lines (over a year of hours), parsed once the file is read; the others
are counted in ``omitted``. The ESXi 5.x-8.x ``vmksummary.log`` (``heartbeat: up
0d17h24m17s, ...``) has a parser of its own (:mod:`~.vmksummary_log`); a file of that form
met here is handed to it.

Sample data (KB 1019238, a crash: no ``Rebooting`` line before ``Starting``)::

    Sep 1 02:01:09 vsphere5 logger: (1251788469) hb: vmk loaded, 3597562.98, 3597450.113, 13,
    164009, 164009, 356, vmware-h-79976, vpxa-54148, sfcbd-12600
    Sep 1 04:26:35 vsphere5 vmkhalt: (1251797195) Starting system...
    Sep 1 04:26:46 vsphere5 logger: (1251797206) VMkernel error
    Sep 1 04:27:41 vsphere5 logger: (1251797261) loaded VMkernel

Examples:
    >>> summary = parse_vmksummary([
    ...     "Nov 13 03:01:35 esxhostname logger: (1258099291) hb: vmk loaded, 11795301.25, "
    ...     "11795288.970, 73, 153875, 153875, 567468032, VMap-583524, vmware-h-82812",
    ...     "Nov 13 07:13:58 esxhostname vmkhalt: (1258114439) Starting system\u2026",
    ... ], path="var/log/vmksummary")
    >>> hb = summary.lines[0]
    >>> hb.vms, hb.vmk_build, hb.swap_used_bytes, hb.top[0]
    (73, 153875, 567468032, Consumer(token='VMap', kb=583524))
    >>> summary.lines[1].kind, summary.lines[1].epoch
    (<LineKind.STARTING: 'starting'>, 1258114439)
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from itertools import chain, islice
from typing import NamedTuple

from lostbeat.analyzer.findings import Evidence
from lostbeat.analyzer.parsers._lines import (
    Problems,
    head,
    kept_note,
    newest_records,
    to_float,
    to_int,
    undecorate,
    undecorated,
)
from lostbeat.errors import ParseError

__all__ = [
    "MAX_LINES",
    "Consumer",
    "LineKind",
    "SummaryLine",
    "VmkSummary",
    "looks_like_vmksummary",
    "parse_vmksummary",
]


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
    problems: tuple[ParseError, ...] = ()  # logger/vmkhalt lines that could not be read
    omitted: str = ""  # what was left out (older record lines, problems past 100), if any


MAX_LINES = 10_000
"""Record lines (``logger``/``vmkhalt``) kept per file, the newest: 14 months of hours."""
_PEEK = 64  # lines read before deciding the file is ESXi's vmksummary.log


_A = re.ASCII
_LINE = re.compile(
    r"\s*(?P<stamp>[A-Z][a-z]{2} {1,2}[0-9]{1,2} [0-9]{2}:[0-9]{2}:[0-9]{2})"
    r" (?P<host>\S+) (?P<tag>logger|vmkhalt)(?:\[[0-9]+\])?: \((?P<epoch>[0-9]{1,12})\)"
    r"\s*(?P<text>.*)",
    _A,
)
_SNIFF = re.compile(
    r"^[\s>\u2022]*[A-Z][a-z]{2} {1,2}[0-9]{1,2} [0-9:]{8} \S+ (?:logger|vmkhalt)(?:\[[0-9]+\])?:"
    r" \([0-9]+\) (?:hb: vmk|Starting system|Rebooting system|Halting system|loaded VMkernel"
    r"|VMkernel error)",
    re.MULTILINE | _A,
)
_HEARTBEAT = "hb: vmk loaded"
_EVENTS = (
    ("Rebooting system", LineKind.REBOOTING),
    ("Halting system", LineKind.HALTING),
    ("Starting system", LineKind.STARTING),
    ("VMkernel error", LineKind.VMKERNEL_ERROR),
    ("loaded VMkernel", LineKind.LOADED_VMKERNEL),
)
_EXPECTED_LINE = "expected '<Mon> <day> <hh:mm:ss> <host> logger|vmkhalt: (<epoch>) <event>'"
_EXPECTED_HB = (
    "expected 'hb: vmk loaded, <cos uptime>, <vmk uptime>, <vms>, <vmk build>, <vmm build>,"
    " <swap bytes>[, <name>-<KB>...]'"
)


class _Heartbeat(NamedTuple):
    cos_uptime_s: float
    vmk_uptime_s: float
    vms: int
    vmk_build: int
    vmm_build: int
    swap_used_bytes: int
    top: tuple[Consumer, ...]


def _heartbeat(rest: str) -> _Heartbeat | None:
    """The fields after ``hb: vmk loaded``, or None if malformed."""
    # The KB page ends its examples with "..." or "\u2026"; a real line has neither.
    parts = [p.strip() for p in rest.strip().rstrip(".\u2026").split(",")]
    if parts and not parts[0]:
        parts = parts[1:]
    while parts and not parts[-1]:
        parts.pop()
    if len(parts) < 6:
        return None
    cos, vmk = to_float(parts[0]), to_float(parts[1])
    vms, vmk_build, vmm_build, swap = (to_int(p) for p in parts[2:6])
    if cos is None or vmk is None or vms is None or swap is None:
        return None
    if vmk_build is None or vmm_build is None:
        return None
    top: list[Consumer] = []
    for token in parts[6:]:
        # names contain "-" ("vmware-h-82812"): the KB value follows the last one
        name, dash, kb = token.rpartition("-")
        kb_value = to_int(kb)
        if not dash or not name or kb_value is None:
            return None
        top.append(Consumer(token=name, kb=kb_value))
    return _Heartbeat(cos, vmk, vms, vmk_build, vmm_build, swap, tuple(top))


def _looks_like_record(text: str) -> bool:
    return "hb: vmk" in text or "vmkhalt" in text


def _is_candidate(text: str) -> bool:
    """A line :data:`_LINE` may match, or one that is a malformed record."""
    return "logger" in text or "vmkhalt" in text or "hb: vmk" in text


def looks_like_vmksummary(text: str) -> bool:
    """Whether ``text`` (a file's start) has vmksummary heartbeat or boot lines."""
    return _SNIFF.search(undecorated(head(text))) is not None


def parse_vmksummary(lines: Iterable[str], *, path: str) -> VmkSummary:
    """Read every heartbeat and boot/stop line of a vmksummary file.

    Args:
        lines: the file's lines, with or without newlines.
        path: the file's path in the bundle, for evidence and errors.

    Raises:
        ArtifactMissing: no non-blank line.
        ParseError: not a single vmksummary line; the first unreadable one if all were.
    """
    it = iter(lines)
    peek = list(islice(it, _PEEK))
    if not any(_is_candidate(t) for t in peek):
        # ESXi's var/log/vmksummary.log (a 5.x+ bundle) matches this artifact's path too
        from lostbeat.analyzer.parsers.vmksummary_log import (  # noqa: PLC0415 - it imports this
            looks_like_vmksummary_log,
            parse_vmksummary_log,
        )

        if looks_like_vmksummary_log("\n".join(t.rstrip("\r\n") for t in peek)):
            return parse_vmksummary_log(chain(peek, it), path=path)
    newest = newest_records(
        chain(peek, it), _is_candidate, keep=MAX_LINES, artifact="vmksummary", path=path
    )
    out: list[SummaryLine] = []
    problems = Problems()
    for line_no, raw in newest.records:
        text = undecorate(raw)  # a post quotes the lines (">\t"), a page bullets them
        m = _LINE.match(text)
        if m is None:
            if _looks_like_record(text):
                problems.append(ParseError(_EXPECTED_LINE, path=path, line_no=line_no, line=text))
            continue
        event = m["text"]
        epoch, stamp, host = int(m["epoch"]), m["stamp"], m["host"]
        evidence = Evidence(path, line_no, raw)
        if not event.startswith(_HEARTBEAT):
            kind = next((k for prefix, k in _EVENTS if event.startswith(prefix)), LineKind.OTHER)
            out.append(SummaryLine(kind, epoch, stamp, host, evidence))
            continue
        hb = _heartbeat(event[len(_HEARTBEAT) :])
        if hb is None:
            problems.append(ParseError(_EXPECTED_HB, path=path, line_no=line_no, line=text))
            continue
        out.append(
            SummaryLine(
                LineKind.HEARTBEAT,
                epoch,
                stamp,
                host,
                evidence,
                cos_uptime_s=hb.cos_uptime_s,
                vmk_uptime_s=hb.vmk_uptime_s,
                vms=hb.vms,
                vmk_build=hb.vmk_build,
                vmm_build=hb.vmm_build,
                swap_used_bytes=hb.swap_used_bytes,
                top=hb.top,
            )
        )
    if not out:
        if problems:
            raise problems.first
        line_no, text = newest.first
        raise ParseError(_EXPECTED_LINE, path=path, line_no=line_no, line=text)
    return VmkSummary(tuple(out), tuple(problems.kept), kept_note(newest.note(), problems.note()))
