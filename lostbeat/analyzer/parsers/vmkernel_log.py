"""vmkernel log - ``var/log/vmkernel*``, ``var/log/vmkwarning*``, ``root/vmkernel-log.N``

Each line is ``D:HH:MM:SS.mmm cpuN:<world>)<Module>: <source line>: <message>``, the
stamp being the VMkernel uptime (KB 308590's screen; the zdump log of vbrownbag.com).
ESX 4 logs put a syslog stamp in front (``Nov 13 03:01:35 host vmkernel: ...``): both are
read. Only the few lines that matter for a crash become :class:`Signal` s; everything
else is skipped after a cheap substring test, so a 100 MB log takes seconds. Of the lines
that pass the test, the newest ``MAX_CANDIDATES`` are classified once the log is read (a
real log has a few dozen; a hostile one made of nothing else costs the same as a real one),
and ``omitted`` says how many older ones were left.

The numbers after ``HB:`` / ``Host:`` / ``Heartbeat:`` are source line numbers (the same
in builds 64607, 123630 and the cimserver case) and are never matched literally.
The per-CPU lockup warning ``Heartbeat: 961: PCPU 3 didn't have a heartbeat`` is
``PCPU_HEARTBEAT``, not a lost Service Console heartbeat (Broadcom KB 430676).

A container line yields its own signal plus the classification of its message:
``COS Error: Oops`` gives ``COS_ERROR`` and ``COS_OOPS``; ``@BlueScreen: #PF Exception(14)``
gives ``BLUESCREEN`` and ``PF_EXCEPTION``. An HB alert wrapped after ``comm=...`` (KB 1009607)
is joined with its ``pid=...`` continuation; its evidence is the first line's number and
both texts joined by a space.

Sample data (KB 1009607, wrapped as in the source)::

    0:08:04:55.679 cpu0:1024)VMNIX: ALERT: HB: 365: Lost heartbeat (comm=cimserver
    pid=3588 t=30 to=30 clt=1).
    0:08:04:55.818 cpu0:1024)Host: 4781: COS Error: Lost heartbeat

Examples:
    >>> log = parse_vmkernel_log([
    ...     "42:14:02:29.347 cpu0:1024)VMNIX: ALERT: HB: 365: Lost heartbeat "
    ...     "(comm=vmnixhbd pid=20 t=29 to=30 clt=1).",
    ...     "42:14:03:29.508 cpu0:1024)Host: 4781: COS Error: Lost heartbeat",
    ... ], path="var/log/vmkernel")
    >>> [(s.kind.value, s.comm, s.t, s.to) for s in log.signals]
    [('hb_alert', 'vmnixhbd', 29, 30), ('cos_error', None, None, None)]
    >>> log.signals[1].message, log.last_uptime_s
    ('Lost heartbeat', 3679409.508)
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from itertools import accumulate, islice

from lostbeat.analyzer.findings import Evidence
from lostbeat.analyzer.parsers._lines import head, parse_uptime, strip_newline, to_int
from lostbeat.errors import ArtifactMissing, ParseError

__all__ = [
    "MAX_CANDIDATES",
    "LineScanner",
    "Signal",
    "SignalKind",
    "VmkernelLog",
    "looks_like_vmkernel_log",
    "parse_vmkernel_log",
]


class SignalKind(StrEnum):
    HB_ALERT = (
        "hb_alert"  # VMNIX: ALERT: HB: NNN: Lost heartbeat (comm=.. pid=.. t=.. to=.. clt=..)
    )
    COS_ERROR = "cos_error"  # Host: NNN: COS Error: <message>
    BLUESCREEN = "bluescreen"  # @BlueScreen: <message>
    COS_OOPS = "cos_oops"  # Oops / COS Error: Oops
    COS_PANIC = "cos_panic"  # COS Panic / CosPanic
    PCPU_HEARTBEAT = (
        "pcpu_heartbeat"  # Heartbeat: NNN: PCPU n didn't have a heartbeat (lockup detector)
    )
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
    cpu: int | None = None  # the PCPU of PCPU_HEARTBEAT / PCPU_LOCKUP


@dataclass(frozen=True, slots=True)
class VmkernelLog:
    signals: tuple[Signal, ...]
    last_uptime_s: float | None  # uptime of the last timestamped line
    omitted: str = ""  # the older keyword lines left unread, when there were too many


MAX_CANDIDATES = 2000
"""Lines holding a crash keyword that are classified, the newest; older ones are counted."""


# Any of these substrings makes a line worth a regex; the rest is skipped unread.
_KEYWORDS = (
    "heartbeat",
    "COS ",
    "CosPanic",
    "@BlueScreen",
    "Oops",
    "locked up",
    "#PF",
    "NOT_IMPLEMENTED",
    "Dumping core",
)
_BATCH = 2048

_A = re.ASCII
_LOGLINE = re.compile(r"\bcpu[0-9]+:[0-9]+\)", _A)
_STAMP = re.compile(
    r"(?:^|\s)([0-9]+:[0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]+)?) cpu[0-9]+:[0-9]+\)", _A
)
_BLUESCREEN = re.compile(r"@BlueScreen:\s*(.*)$", _A)
_COS_ERROR = re.compile(r"COS Error:\s*(.*)$", _A)
_HB = re.compile(r"\bHB:(?:\s*[0-9]+:)?\s*Lost heartbeat\b(.*)$", _A)
_COMM_END = re.compile(r"\s[a-z]+=|\)", _A)
"""Where ``comm=``'s value ends: the next ``key=`` field or the closing parenthesis."""
_FIELDS = {name: re.compile(rf"\b{name}=([0-9]+)", _A) for name in ("pid", "t", "to", "clt")}
_PCPU_HB = re.compile(r"Heartbeat:(?:\s*[0-9]+:)?\s*(PCPU ([0-9]+) didn't have a heartbeat.*)$", _A)
_PCPU_LOCKUP = re.compile(r"(PCPU ([0-9]+) locked up.*)$", _A)
_PF = re.compile(r"(#PF Exception.*)$", _A)
_NOT_IMPLEMENTED = re.compile(r"(NOT_IMPLEMENTED\b.*)$", _A)
_OOPS = re.compile(r"(?:^|[:)>]\s*)(Oops\b.*)$", _A)
_COS_PANIC = re.compile(r"(?:COS Panic|CosPanic)\b:?\s*(.*)$", _A)
_DUMP = re.compile(r"Dumping core to\s+(?:'([^']*)'|(\S+))", _A)


def _is_candidate(line: str) -> bool:
    """``any(k in line for k in _KEYWORDS)``, written out: it runs once a line."""
    return (
        "heartbeat" in line
        or "COS " in line
        or "CosPanic" in line
        or "@BlueScreen" in line
        or "Oops" in line
        or "locked up" in line
        or "#PF" in line
        or "NOT_IMPLEMENTED" in line
        or "Dumping core" in line
    )


def line_uptime(text: str) -> float | None:
    """VMkernel uptime of a log line (after any syslog prefix), or None."""
    m = _STAMP.search(text)
    return parse_uptime(m[1]) if m else None


def _comm(fields: str) -> str | None:
    """``comm=``'s value (it may hold blanks). Searched for its end rather than matched
    lazily, which costs quadratic time on a long line."""
    at = fields.find("comm=")
    while at > 0 and (fields[at - 1].isalnum() or fields[at - 1] == "_"):
        at = fields.find("comm=", at + 1)
    if at < 0:
        return None
    rest = fields[at + 5 :]
    end = _COMM_END.search(rest)
    return (rest[: end.start()] if end else rest).strip() or None


def _rest(m: re.Match[str] | None) -> str | None:
    return (m[1].strip() or None) if m else None


def classify(line_no: int, raw: str, *, path: str) -> list[Signal]:
    """The signals of one log line (most lines have none)."""
    text = raw.strip()
    ev = Evidence(path, line_no, raw)
    uptime = line_uptime(text)
    out: list[Signal] = []
    if m := _BLUESCREEN.search(text):
        out.append(Signal(SignalKind.BLUESCREEN, ev, uptime, message=_rest(m)))
    if m := _COS_ERROR.search(text):
        out.append(Signal(SignalKind.COS_ERROR, ev, uptime, message=_rest(m)))
    if m := _HB.search(text):
        # t=/to= read as minutes: to=30 is KB 308590's 30-minute timeout (DERIVED, §2.2)
        fields = {k: to_int(f[1]) if (f := rx.search(m[1])) else None for k, rx in _FIELDS.items()}
        comm = _comm(m[1])
        out.append(
            Signal(
                SignalKind.HB_ALERT,
                ev,
                uptime,
                message="Lost heartbeat",
                comm=comm,
                pid=fields["pid"],
                t=fields["t"],
                to=fields["to"],
                clt=fields["clt"],
            )
        )
    if m := _PCPU_HB.search(text):
        out.append(Signal(SignalKind.PCPU_HEARTBEAT, ev, uptime, message=m[1], cpu=to_int(m[2])))
    elif m := _PCPU_LOCKUP.search(text):
        out.append(Signal(SignalKind.PCPU_LOCKUP, ev, uptime, message=m[1], cpu=to_int(m[2])))
    if m := _PF.search(text):
        out.append(Signal(SignalKind.PF_EXCEPTION, ev, uptime, message=m[1].strip()))
    if m := _NOT_IMPLEMENTED.search(text):
        out.append(Signal(SignalKind.NOT_IMPLEMENTED, ev, uptime, message=m[1].strip()))
    if m := _OOPS.search(text):
        out.append(Signal(SignalKind.COS_OOPS, ev, uptime, message=m[1].strip()))
    if m := _COS_PANIC.search(text):
        out.append(Signal(SignalKind.COS_PANIC, ev, uptime, message=_rest(m)))
    if m := _DUMP.search(text):
        out.append(
            Signal(SignalKind.COREDUMP, ev, uptime, target=m[1] if m[1] is not None else m[2])
        )
    return out


class LineScanner:
    """Turns numbered lines into signals, joining a wrapped HB alert with its ``pid=`` line.

    Shared by this parser and the PSOD parser. Feed every line in order, then call
    :meth:`finish`.
    """

    def __init__(self, *, path: str) -> None:
        self.path = path
        self.signals: list[Signal] = []
        self.pending: tuple[int, str] | None = None

    def feed(self, line_no: int, line: str) -> None:
        """Scan one line (with or without its newline)."""
        if self.pending is not None:
            stripped = line.strip()
            if not stripped:
                return
            first_no, first = self.pending
            self.pending = None
            if stripped.startswith("pid="):
                self.signals += classify(first_no, f"{first.rstrip()} {stripped}", path=self.path)
                return
            self.signals += classify(first_no, first, path=self.path)
        if not _is_candidate(line):
            return
        raw = strip_newline(line)
        m = _HB.search(raw)
        if m and "(" in m[1] and ")" not in m[1]:
            self.pending = (line_no, raw)
            return
        self.signals += classify(line_no, raw, path=self.path)

    def finish(self) -> tuple[Signal, ...]:
        """All signals, flushing an HB alert whose continuation never came."""
        if self.pending is not None:
            self.signals += classify(*self.pending, path=self.path)
            self.pending = None
        return tuple(self.signals)


def looks_like_vmkernel_log(text: str) -> bool:
    """Whether ``text`` (a file's start) has vmkernel log lines.

    A transcribed PSOD has them too: test :func:`~.psod.looks_like_psod` first.
    """
    return _LOGLINE.search(head(text)) is not None


def parse_vmkernel_log(lines: Iterable[str], *, path: str) -> VmkernelLog:
    """Read the crash-relevant signals of a vmkernel log.

    Args:
        lines: the log's lines, with or without newlines.
        path: the log's path in the bundle, for evidence and errors.

    Raises:
        ArtifactMissing: no non-blank line.
        ParseError: not a single line looks like a vmkernel log line.
    """
    if isinstance(lines, str):
        lines = lines.splitlines()
    it = iter(lines)
    base = 0
    first: tuple[int, str] | None = None
    seen_log_line = False
    last_uptime: float | None = None
    kept: deque[_Candidate] = deque(maxlen=MAX_CANDIDATES)
    count = 0
    waiting: _Candidate | None = None  # the last candidate, until its next line comes
    while batch := list(islice(it, _BATCH)):
        # One C-level search per keyword over the whole batch; most batches stop here.
        blob = "\n".join(batch)
        if first is None:
            for i, line in enumerate(batch, base + 1):
                if line.strip():
                    first = (i, strip_newline(line))
                    break
        if not seen_log_line:
            seen_log_line = _LOGLINE.search(blob) is not None
        if waiting is not None and (nxt := _next_line(batch, 0)) is not None:
            waiting.next_no, waiting.next_line = base + 1 + nxt, batch[nxt]
            waiting = None
        for at in _candidate_lines(batch, blob):
            waiting = _Candidate(base + 1 + at, batch[at])
            kept.append(waiting)
            count += 1
            if (nxt := _next_line(batch, at + 1)) is not None:
                waiting.next_no, waiting.next_line = base + 1 + nxt, batch[nxt]
                waiting = None
        if "cpu" in blob and (uptime := _last_uptime(batch)) is not None:
            last_uptime = uptime
        base += len(batch)
    if first is None:
        raise ArtifactMissing("vmkernel_log", path=path)
    if not seen_log_line:
        raise ParseError(
            "expected vmkernel log lines like 'D:HH:MM:SS.mmm cpuN:W)Module: message'",
            path=path,
            line_no=first[0],
            line=first[1],
        )
    older = f"kept the last {MAX_CANDIDATES} of {count} keyword lines" if count > len(kept) else ""
    return VmkernelLog(_scan(kept, path=path), last_uptime, older)


def _candidate_lines(batch: list[str], blob: str) -> list[int]:
    """The indexes of the lines of ``batch`` (``blob`` is them joined by ``\\n``) holding a
    keyword: found by ``str.find`` over the blob, a C search per keyword line, not a Python
    test per line."""
    starts: list[int] | None = None  # where each line starts in blob
    found: set[int] = set()
    for keyword in _KEYWORDS:
        at = blob.find(keyword)
        if at >= 0 and starts is None:
            starts = [0, *accumulate(len(line) + 1 for line in batch)]
        while at >= 0 and starts is not None:
            index = bisect_right(starts, at) - 1
            found.add(index)
            at = blob.find(keyword, starts[index + 1])
    return sorted(found)


def _next_line(batch: list[str], start: int) -> int | None:
    """The index of the first non-blank line of ``batch`` from ``start``."""
    return next((i for i in range(start, len(batch)) if batch[i].strip()), None)


def _last_uptime(batch: list[str]) -> float | None:
    """The uptime of the last line of ``batch`` that has one."""
    for line in reversed(batch):
        # the stamp is "D:HH:MM:SS.mmm cpuN:W)": both tests are cheap, the regex is not
        if "cpu" in line and ")" in line and (uptime := line_uptime(line)) is not None:
            return uptime
    return None


class _Candidate:
    """A keyword line, and the next non-blank line (a wrapped HB alert goes on there)."""

    __slots__ = ("line", "line_no", "next_line", "next_no")

    def __init__(self, line_no: int, line: str) -> None:
        self.line_no, self.line = line_no, line
        self.next_no, self.next_line = 0, ""


def _scan(kept: Iterable[_Candidate], *, path: str) -> tuple[Signal, ...]:
    """The signals of the kept keyword lines; a line's successor is fed too when the scanner
    waits for it (a wrapped HB alert's ``pid=`` line holds no keyword)."""
    scanner = LineScanner(path=path)
    for c in kept:
        scanner.feed(c.line_no, c.line)
        if scanner.pending is not None and c.next_no and not _is_candidate(c.next_line):
            scanner.feed(c.next_no, c.next_line)
    return scanner.finish()
