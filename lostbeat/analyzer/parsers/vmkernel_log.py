"""ESX logs - ``var/log/vmkernel*``, ``var/run/log/*.log``, ``root/vmkernel-log.N``, ``messages``

The VMkernel log first: each line is ``D:HH:MM:SS.mmm cpuN:<world>)<Module>: <source line>:
<message>``, the stamp being the VMkernel uptime (KB 308590's screen; the zdump log of
vbrownbag.com). ESX 4 logs put a syslog stamp in front (``Nov 13 03:01:35 host vmkernel:
...``), ESXi 5-7 an ISO-8601 time (``2024-06-21T21:50:40.305Z cpu56:2097460)...``), ESXi 8 a
severity and tag too (``2026-02-20T13:34:30.434Z In(182) vmkernel: cpu23:)...``); all are
read, and so are the other logs of a bundle that carry crash or agent events: hostd
(``[2012-10-04 08:02:36.167 1F5BDB90 verbose 'X']``, ``2013-08-12T13:48:25.650Z [6FE81B90 info
'ha-eventmgr']``, ``... In(166) Hostd[####]: ...``), shell, vobd, LogEFI (where ESXi 8 re-logs
the last purple screen), the Service Console's ``messages`` and the log vmkdump extracts from a
zdump (docs/reference/esxi-bundles.md).

Only the lines that matter become :class:`Signal` s and feed the panic reader
(:mod:`~lostbeat.analyzer.parsers._panic`); everything else is skipped after a cheap substring
test over a batch of lines, so a 100 MB log takes seconds. ``WARNING`` and ``ALERT`` lines
and the log's last lines are kept, the newest :data:`MAX_KEPT`, for known-issue signatures.
Of the keyword lines, the newest :data:`MAX_KEPT` are read once the log is read (a real log
has a few dozen; a hostile one made of nothing else costs the same as a real one), and
``omitted`` says how many older ones were left.

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
    >>> log.signals[1].message, log.last_uptime_s, log.esxi
    ('Lost heartbeat', 3679409.508, False)
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass

from lostbeat.analyzer.findings import Evidence
from lostbeat.analyzer.parsers._lines import head, strip_newline
from lostbeat.analyzer.parsers._panic import Panic, PanicReader, undecorate
from lostbeat.analyzer.parsers._scan import Needles, line_numbers, texts
from lostbeat.analyzer.parsers._signals import (
    EraVotes,
    LineScanner,
    Signal,
    SignalKind,
    classify,
    era_of,
    line_uptime,
)
from lostbeat.errors import ArtifactMissing, ParseError

__all__ = [
    "MAX_KEPT",
    "LineScanner",
    "Signal",
    "SignalKind",
    "VmkernelLog",
    "classify",
    "era_of",
    "line_uptime",
    "looks_like_esx_log",
    "looks_like_vmkernel_log",
    "parse_vmkernel_log",
]

MAX_KEPT = 2000
"""Keyword lines kept, the newest, of each kind (crash and event lines; WARNING and ALERT lines)."""
TAIL = 200
"""The log's last lines, kept whatever they say: the lead-up to a crash that ends the log."""


@dataclass(frozen=True, slots=True)
class VmkernelLog:
    signals: tuple[Signal, ...]
    last_uptime_s: float | None  # uptime of the last timestamped line kept (its last lines')
    panic: Panic | None = None  # the purple screen the log shows, if any
    lines: tuple[Evidence, ...] = ()  # keyword, WARNING/ALERT and last lines, for signatures
    esxi: bool | None = None  # True: forms only ESXi 5+ writes; False: ESX classic's; None
    omitted: str = ""  # the older keyword lines left unread, when there were too many
    build: int | None = None  # an agent backtrace's header: "version: 6.7.0, build: build-N"
    version: str | None = None  # "6.7.0", from the same header


# Any of these substrings makes a line worth a regex; the rest is skipped unread. Each
# heartbeat form has its own ("Lost heartbeat": HB alerts and the screen's message;
# "Heartbeat:": the PCPU lockup warning; "no heartbeat": a PCPU's panic): an agent's log
# speaks of heartbeats of its own all day. Several stand for more than one form: "COS " (COS
# Error and COS Panic, an Oops among them), "anic" (Panic, CosPanic, the panic functions of a
# backtrace), "Dump" (Dumping core, UserDump, wantCoreDump), "[0x" (a frame). A panic's other
# forms (ASSERT, NOT_IMPLEMENTED, LINT1/NMI) come on its "@BlueScreen:" line in a log.
_KEYWORDS = (
    "Lost heartbeat",
    "Heartbeat:",
    "no heartbeat",
    "COS ",
    "@BlueScreen",
    "locked up",
    "xception",
    "anic",
    "Dump",
    "[0x",
    "MCA",
    "requested PSOD",
    "achine check",
    "build-",
    "ramdisk",
    "owered off",
    "non-responsive",
    "HostSystem.",
    "Host is",
    "[root]:",
    "Power button",
)
_NOTABLE = ("WARNING", "ALERT")
# A management agent's backtrace names the build it runs (hostd, vpxa: "--> [backtrace begin]
# product: VMware ESX, version: 6.7.0, build: build-13006603, tag: hostd"); the product is
# "VMware ESX" on ESXi too, so only the version tells the line.
_AGENT_BUILD = re.compile(
    r"\[backtrace begin\] product: VMware ESXi?, version: (?P<version>[0-9]+\.[0-9.]+), "
    r"build: build-(?P<build>[0-9]{4,9})\b",
    re.ASCII,
)

_A = re.ASCII
# The VMkernel's own line forms: the "cpuN:W)" prefix (its world id may be empty or redacted),
# or a syslog or ISO-8601 header tagged "vmkernel" (docs/reference/esxi-bundles.md).
_VMK_LINE = re.compile(
    r"\bcpu[0-9#]+:[0-9#]*(?: opID=\S+)?\)"
    r"|^\S+ (?:\S+ )?(?:In\([0-9#]+\) )?vmkernel: "
    r"|^[A-Z][a-z]{2} {1,2}[0-9]{1,2} [0-9:]{8}\S* (?:\S+ )?vmkernel: ",
    re.MULTILINE | _A,
)
# Other ESX logs: hostd (4.x "[2012-10-04 08:02:36.167 1F5BDB90 verbose 'X']", 5.x
# "2013-08-12T13:48:25.650Z [6FE81B90 info 'X']", 7.x "<time> info hostd[2100820] [Originator"
# (esxi-bundles.md B3)), any tagged ISO-8601 line (shell, vobd, 8.x hostd, LogEFI: "<time>
# [In(N) ]tag[pid]: "), the Service Console's syslog ("Mar 9 10:26:13 host
# Hostd: ..."), its kernel messages ("<3>..."), and VMkernel messages quoted without their prefix
# ("WARNING: Heartbeat: 961: ...", "Mirror.cswitch: VSwitchRspanDstSessionDestinationFind: ...").
# A KB quotes the ISO time in brackets, redacted ("[YYYY-MM-DDTHH:MM:SS] warning hostd[2104418]
# [Originator@6876 ...]", KB 392634); vobd writes "<time>: [<component>] <uptime>us: [vob...]";
# ESXi 8 tags every line with its severity ("In(166)", "Wa(180)", "Er(02)", "Db(167)"), a
# virtual machine's vmware.log and fdm.log too (KB 426030).
_ISO = r"\[?[0-9Y]{4}-[0-9M]{2}-[0-9D]{2}T[^\s\]]*\]?"
_ESX_LINE = re.compile(
    r"^\[[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9:.]+ [0-9A-F]{8} \w+ '"
    # hostd on ESX 3.5/4.0: "[2009-06-11 09:54:45.497 'App' 3076444304 info] ..."
    r"|^\[[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9:.]+ '[\w .-]+' [0-9]+ \w+\]"
    r"|^[0-9Y]{4}-[0-9M]{2}-[0-9D]{2}T\S+ \[[0-9A-F]{8} \w+ '"
    rf"|^{_ISO} (?:In\([0-9#]+\) |\w+ )?[A-Za-z][\w-]*(?:\[[0-9#]+\])?: "
    rf"|^{_ISO} \w+ [A-Za-z][\w-]*\[[0-9#]+\] \["
    rf"|^{_ISO}:? \[[A-Za-z]\w*\] [0-9]+us: "
    rf"|^{_ISO} [A-Z][a-z]\([0-9#]+\)\+? [A-Za-z][\w-]*"
    r"|^[A-Z][a-z]{2} {1,2}[0-9]{1,2} [0-9:]{8} (?:\S+ )?(?:Hostd|hostd|vpxa|vobd)(?:\[[0-9]+\])?: "
    r"|^<[0-7]>\S"
    r"|^(?:(?:WARNING|ALERT): )?[A-Z]\w*(?:\.\w+)?: (?:[0-9]+: |[A-Z]\w+(?::[0-9]+)?: )",
    re.MULTILINE | _A,
)


def looks_like_vmkernel_log(text: str) -> bool:
    """Whether ``text`` (a file's start) has VMkernel log lines.

    A transcribed PSOD has them too: test :func:`~.psod.looks_like_psod` first.
    """
    return _VMK_LINE.search(head(text)) is not None


def looks_like_esx_log(text: str) -> bool:
    """Whether ``text`` (a file's start) is another ESX log (hostd, shell, vobd, LogEFI, the
    Service Console's messages) or VMkernel messages quoted without their prefix. Asked after
    every other sniffer: these forms are loose, and a Linux log's are Linux's."""
    return _ESX_LINE.search(_undecorated(head(text))) is not None


def _undecorated(text: str) -> str:
    """``text`` with each line's decoration taken off (:func:`undecorate`)."""
    return "\n".join(undecorate(t) for t in text.splitlines())


_CRASH = Needles(_KEYWORDS)
_NOTABLE_LINES = Needles(_NOTABLE)
_NON_BLANK = re.compile(r"\S")
_HEAD_STEPS = (4096, 64 * 1024, 1 << 62)
"""Where the parts of a text asked for a log line in turn end (at the first line's end past)."""


def _line_at(text: str, start: int) -> str:
    """The line of ``text`` that starts at ``start``, without its newline."""
    return text[start : text.find("\n", start)]


def _next_line(text: str, start: int) -> int | None:
    """Where the first non-blank line of ``text`` from ``start`` starts."""
    m = _NON_BLANK.search(text, start)
    return None if m is None else text.rfind("\n", 0, m.start()) + 1


def _last_uptime(kept: dict[int, str]) -> float | None:
    """The uptime of the last line kept that has one (lines with "cpuN:W)"): the log's last
    lines are kept, so in a VMkernel log it is its last line's."""
    for raw in reversed(kept.values()):
        if "cpu" in raw and ")" in raw and (uptime := line_uptime(raw)) is not None:
            return uptime
    return None


def _tail_start(text: str) -> int:
    """Where the last :data:`TAIL` lines of ``text`` (which ends with a newline) start."""
    at = len(text) - 1
    for _ in range(TAIL):
        at = text.rfind("\n", 0, at)
        if at < 0:
            return 0
    return at + 1


def _seen_log_line(text: str) -> bool:
    """Whether ``text`` holds a VMkernel line or another ESX log's: its first lines are
    asked first (in a log, they are log lines), the rest only when they are not."""
    start = 0
    for size in _HEAD_STEPS:
        cut = text.find("\n", size) + 1 if size < len(text) else 0
        part = text[start:cut] if cut else text[start:]
        if _VMK_LINE.search(part) or _ESX_LINE.search(_undecorated(part)):
            return True
        if not cut:
            return False
        start = cut
    return False


def parse_vmkernel_log(lines: Iterable[str], *, path: str) -> VmkernelLog:
    """Read the crash-relevant signals, the panic and the notable lines of an ESX log.

    Args:
        lines: the log's lines, with or without newlines, or its text (``read``).
        path: the log's path in the bundle, for evidence and errors.

    Raises:
        ArtifactMissing: no non-blank line.
        ParseError: not a single line looks like an ESX log line.
    """
    base = 0  # lines before the piece
    first: tuple[int, str] | None = None
    seen_log_line = False
    crash: deque[tuple[int, str]] = deque(maxlen=MAX_KEPT)
    notable: deque[tuple[int, str]] = deque(maxlen=MAX_KEPT)
    tail: deque[tuple[int, str]] = deque(maxlen=TAIL)
    count = 0
    wrap = False  # the last keyword line is a wrapped HB alert whose rest is to come
    for text in texts(lines):  # each ends with a newline
        if first is None and (at := _next_line(text, 0)) is not None:
            first = (base + 1 + text.count("\n", 0, at), _line_at(text, at))
        if not seen_log_line:  # asked until a log line is seen: in a real log, once
            seen_log_line = _seen_log_line(text)
        if wrap and (at := _next_line(text, 0)) is not None:
            crash.append((base + 1 + text.count("\n", 0, at), _line_at(text, at)))
            wrap = False
        crash_at = _CRASH.line_starts(text)
        notable_at = _NOTABLE_LINES.line_starts(text)
        found, lines_in = line_numbers(text, sorted({*crash_at, *notable_at}))
        crash_set, notable_set = set(crash_at), set(notable_at)
        for index, start in found:
            if start in notable_set:
                notable.append((base + 1 + index, _line_at(text, start)))
            if start not in crash_set:
                continue
            line = base + 1 + index
            raw = _line_at(text, start)
            crash.append((line, raw))
            count += 1
            # a wrapped HB alert goes on in the next line, which holds no keyword (KB 1009607)
            if "(comm=" in raw and ")" not in raw[-3:]:
                at = _next_line(text, start + len(raw) + 1)
                if at is None:
                    wrap = True
                else:
                    crash.append((line + text.count("\n", start, at), _line_at(text, at)))
        ends = text[_tail_start(text) : -1].split("\n")
        tail.extend(
            zip(range(base + lines_in - len(ends) + 1, base + lines_in + 1), ends, strict=True)
        )
        base += lines_in
    if first is None:
        raise ArtifactMissing("vmkernel_log", path=path)
    if not seen_log_line:
        raise ParseError(
            "expected vmkernel log lines like 'D:HH:MM:SS.mmm cpuN:W)Module: message' "
            "(or another ESX log's: hostd, shell, LogEFI, messages)",
            path=path,
            line_no=first[0],
            line=first[1],
        )
    return _read(crash, notable, tail, path=path, count=count)


def _read(
    crash: Iterable[tuple[int, str]],
    notable: Iterable[tuple[int, str]],
    tail: Iterable[tuple[int, str]],
    *,
    path: str,
    count: int,
) -> VmkernelLog:
    """Signals, panic and notable lines of the kept lines, in file order."""
    kept = dict(sorted({*crash, *notable, *tail}))
    scanner = LineScanner(path=path)
    reader = PanicReader(path=path)
    votes = EraVotes()
    agent: re.Match[str] | None = None
    for line_no, raw in kept.items():
        scanner.feed(line_no, raw)
        reader.feed(line_no, raw)
        if "build-" in raw and (m := _AGENT_BUILD.search(raw)):
            agent = m
        votes.add(undecorate(raw))
    panic = reader.result()
    signals = scanner.finish()
    older = f"kept the last {MAX_KEPT} of {count} keyword lines" if count > MAX_KEPT else ""
    return VmkernelLog(
        signals=signals,
        last_uptime_s=_last_uptime(kept),
        # a backtrace alone may be a warning's: a log's panic says so, prints its context or
        # runs through the panic functions
        panic=panic
        if panic.kind or panic.involved or (panic.frames and (panic.context or panic.panicking))
        else None,
        lines=tuple(Evidence(path, n, strip_newline(t)) for n, t in kept.items()),
        esxi=votes.esxi,
        omitted=older,
        build=int(agent["build"]) if agent else None,
        version=agent["version"] if agent else None,
    )
