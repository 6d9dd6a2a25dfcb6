"""The signals one line of an ESX log carries (not a parser itself: the vmkernel-log and
purple-screen parsers share it).

Crash signals (esx-artifacts.md §2.4): the Service Console's ``HB: NNN: Lost heartbeat
(comm=.. pid=.. t=.. to=.. clt=..)`` alert, ``COS Error: <message>``, ``@BlueScreen:
<message>``, an Oops, a COS panic, ``PCPU n locked up``, ``#PF Exception``, ``NOT_IMPLEMENTED``
and the COS core dump. The per-CPU warning ``Heartbeat: NNN: PCPU n didn't have a heartbeat``
is the VMkernel's lockup detector, never a lost heartbeat (Broadcom KB 430676).

Events that are no purple screen (docs/reference/esxi-bundles.md): a user world's core dump
(``UserDump: NNN: <name>: Dumping cartel N ... to file /var/core/<name>-zdump.000``, ``User:
NNN: <name>: wantCoreDump:...``, KB 2017008, KB 433552, KB 367598); a management agent found
hung (``hostd detected to be non-responsive``, KB 442474, KB 373203); a full ramdisk (``The
file table of the ramdisk 'root' is full``, ``esx.problem.visorfs.ramdisk.inodetable.full``,
KB 2040707); a power-off ESXi did not cause (``esx.audit.host.poweroff.reason.unavailable``,
KB 317245, KB 432839); and a reboot or shutdown someone asked for (hostd's ``Host is shutting
down`` event and ``vim.HostSystem.reboot``/``shutdown`` tasks, the shell's ``reboot``, the
power button, KB 317245).

Examples:
    >>> [s.kind.value for s in classify(1, "cpu10:7448)UserDump: 1485: Dumping cartel 5551 "
    ...     "(from world 7448) to file /var/core/vix-async-pipe-zdump.000 ...", path="messages")]
    ['agent_dump']
    >>> classify(1, "0:00:02:00.250 cpu1:1024)Host: 4781: COS Error: Oops", path="p")[0].uptime_s
    120.25
"""

from __future__ import annotations

import re
from collections import deque
from dataclasses import dataclass
from enum import StrEnum

from lostbeat.analyzer.findings import Evidence
from lostbeat.analyzer.parsers._gate import has_any
from lostbeat.analyzer.parsers._lines import parse_uptime, strip_newline, to_int, undecorate

__all__ = ["LineScanner", "Signal", "SignalKind", "classify", "era_of", "line_uptime"]


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
    AGENT_DUMP = "agent_dump"  # a user world dumped core: UserDump, wantCoreDump
    AGENT_HUNG = "agent_hung"  # hostd detected to be non-responsive
    RAMDISK_FULL = "ramdisk_full"  # the ramdisk 'root' is full (or its file table)
    POWER_LOST = "power_lost"  # powered off, not by a kernel error, a reboot or a shutdown
    USER_STOP = "user_stop"  # a reboot or shutdown someone asked for


@dataclass(frozen=True, slots=True)
class Signal:
    kind: SignalKind
    evidence: Evidence
    uptime_s: float | None = None  # VMkernel uptime of the line, from D:HH:MM:SS.mmm
    message: str | None = None
    comm: str | None = None  # HB alert's comm=; the dumped or hung program
    pid: int | None = None
    t: int | None = None  # minutes without heartbeat
    to: int | None = None  # timeout, minutes
    clt: int | None = None
    target: str | None = None  # core dump target path
    cpu: int | None = None  # the PCPU of PCPU_HEARTBEAT / PCPU_LOCKUP
    overdue: bool = False
    """A PCPU_HEARTBEAT whose silence has reached the detector's own timeout (``for 15 seconds,
    timeout is 10``): the CPU is declared locked up, no longer only late (KB 394262)."""


_A = re.ASCII
_STAMP = re.compile(
    r"(?:^|\s)([0-9]+:[0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]+)?) cpu[0-9]+:[0-9]+\)", _A
)
_BLUESCREEN = re.compile(r"@BlueScreen:\s*(.*)$", _A)
_COS_ERROR = re.compile(r"COS Error:\s*(.*)$", _A)
_HB = re.compile(r"\bHB:(?:\s*[0-9]+:)?\s*Lost heartbeat\b(.*)$", _A)
_COMM_END = re.compile(r"\s[a-z]+=|\)", _A)
"""Where ``comm=``'s value ends: the next ``key=`` field or the closing parenthesis."""
_FIELDS = {name: re.compile(rf"\b{name}=([0-9]+)", _A) for name in ("pid", "t", "to", "clt")}
# "Heartbeat: 961: PCPU 40 ..." (ESXi 5-8) or "Heartbeat: HandleLockup:827: PCPU 8 ..." (7.0+)
_PCPU_HB = re.compile(
    r"Heartbeat:(?:\s{0,4}[A-Za-z_]\w{0,60}:)?(?:\s{0,4}[0-9]{1,9}:)?\s{0,4}"
    r"(PCPU ([0-9]+) didn't have a heartbeat.*)$",
    _A,
)
_PCPU_SILENCE = re.compile(r"heartbeat for ([0-9]+) seconds?, timeout is ([0-9]+)", _A)
# the rest of a PCPU heartbeat warning a mail's wrap put on a line of its own
_PCPU_REST = re.compile(r"(?:timeout |is |[0-9]+,? )", _A)
_PCPU_LOCKUP = re.compile(r"(PCPU ([0-9]+) locked up.*)$", _A)
_PF = re.compile(r"(#PF Exception.*)$", _A)
_NOT_IMPLEMENTED = re.compile(r"(NOT_IMPLEMENTED\b.*)$", _A)
_OOPS = re.compile(r"(?:^|[:)>]\s*)(Oops\b.*)$", _A)
_COS_PANIC = re.compile(r"\b(?:COS Panic|CosPanic)\b:?\s*(.*)$", _A)
_DUMP = re.compile(r"Dumping core to\s+(?:'([^']*)'|(\S+))", _A)
_USERDUMP = re.compile(
    r"UserDump: [0-9]+: (?:(?P<name>[\w.\-]+): )?Dumping cartel [0-9#]+ .*?to file (?P<file>\S+)",
    _A,
)
_WANTCORE = re.compile(
    r"\bUser: [0-9]+: (?P<name>[\w.\-]+)\s*: wantCoreDump\s*:|wantCoreDump\s*:\s*(?P<w>[\w.\-]+)",
    _A,
)
_CORE_FILE = re.compile(
    r"/var/core/(?:core-)?(?P<name>[\w.]+(?:-[a-z][\w.]*)*?)(?:-zdump|-pid)", _A
)
_HUNG = re.compile(r"\b(?P<name>hostd|vpxa|fdm)\b detected to be non-responsive", _A)
_RAMDISK = re.compile(
    r"(?:file table of the |inode table of the )?ramdisk [('\"]?(?P<name>[\w\-]+)[)'\"]? is full"
    r"|visorfs\.ramdisk\.(?:inodetable\.)?full",
    _A | re.IGNORECASE,
)
_APPLICATION = re.compile(r"by the application '([\w.\-]+)'", _A)  # hostd's event (B2)
_POWER_LOST = re.compile(
    r"host\.poweroff\.reason\.unavailable|Host had been powered off\. The power ?off was not",
    _A,
)
_USER_STOP = re.compile(
    r"vim\.HostSystem\.(?:reboot|shutdown)|Event [0-9]+ : Host is (?:shutting down|rebooting)"
    r"|\[root\]: (?:reboot|poweroff|halt)\b|Power button pressed",
    _A,
)
# Words the regexes above that begin with a choice cannot match without (re searches such a
# regex from every position of a line; a substring test first costs tens of nanoseconds)
_POWER_WORDS = ("poweroff.reason.unavailable", "Host had been powered off")
_STOP_WORDS = ("vim.HostSystem.", "Host is ", "[root]: ", "Power button pressed")
_ESXI_FORMS = re.compile(
    r"^(?:[0-9]{4}|YYYY|<YYYY)-[0-9MD]{2}-[0-9D]{2}(?:>)?T|\bIn\([0-9#]+\) |"
    r"@(?:vmkernel|\(\w+\))#(?:nover|<None>)|VMware ESXi [5-9]\.",
    _A,
)
_WORLD_ID = re.compile(r"\bcpu[0-9]+:([0-9]{7,9})\)|\bin world ([0-9]{7,9}):", _A)
_CLASSIC_FORMS = re.compile(
    r"VMNIX|COS Error|COS Panic|CosPanic|vmnixhbd|Service Console|@vmkernel:nover|@esx:nover"
    r"|VMware ESX Server|VMware ESX (?:[34]\.|\[)",
    _A,
)


# A line without any of these holds no signal (a cheap test before the regexes).
_KEYS = (
    "Lost heartbeat", "Heartbeat:", "COS ", "CosPanic", "@BlueScreen", "Oops", "locked up",
    "#PF", "NOT_IMPLEMENTED", "Dump", "core", "non-responsive", "amdisk", "owered off",
    "poweroff", "HostSystem.", "Host is", "[root]:", "Power button",
)  # fmt: skip


def line_uptime(text: str) -> float | None:
    """VMkernel uptime of a log line (after any syslog prefix), or None."""
    m = _STAMP.search(text)
    return parse_uptime(m[1]) if m else None


def era_of(text: str) -> int | None:
    """1 for a form only ESXi 5 and later write (ISO-8601 log stamps, ``@vmkernel#nover``
    frames, an ESXi 5+ header, world ids from 2097152 up, which ESXi 7 and 8 give), 0 for an
    ESX classic one (VMNIX, the Service Console, ``@vmkernel:nover`` frames of 4.1), None for
    neither."""
    if _ESXI_FORMS.search(text):
        return 1
    world = _WORLD_ID.search(text)
    if world and 2_097_152 <= int(world[1] or world[2]) < 100_000_000:
        return 1
    if _CLASSIC_FORMS.search(text):
        return 0
    return None


class EraVotes:
    """The lines' votes for ESXi 5+ or ESX classic (:func:`era_of`); ``esxi`` is None when
    neither side has a vote, or both do."""

    __slots__ = ("classic", "esxi_5")

    def __init__(self) -> None:
        self.classic = self.esxi_5 = 0

    def add(self, text: str) -> None:
        era = era_of(text)
        if era == 1:
            self.esxi_5 += 1
        elif era == 0:
            self.classic += 1

    @property
    def esxi(self) -> bool | None:
        if self.classic == self.esxi_5 or min(self.classic, self.esxi_5):
            return None
        return self.esxi_5 > self.classic


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


def _events(text: str, ev: Evidence, uptime: float | None) -> list[Signal]:
    """The events of a line that are no purple screen."""
    out: list[Signal] = []
    if m := _USERDUMP.search(text):
        file = m["file"]
        named = _CORE_FILE.search(file)
        name = m["name"] or (named["name"] if named else None)
        out.append(Signal(SignalKind.AGENT_DUMP, ev, uptime, comm=name, target=file))
    elif has_any(text, ("wantCoreDump",)) and (m := _WANTCORE.search(text)):
        out.append(Signal(SignalKind.AGENT_DUMP, ev, uptime, comm=m["name"] or m["w"]))
    elif (m := _CORE_FILE.search(text)) and "core" in text.lower():
        out.append(Signal(SignalKind.AGENT_DUMP, ev, uptime, comm=m["name"]))
    if has_any(text, ("non-responsive",)) and (m := _HUNG.search(text)):
        out.append(Signal(SignalKind.AGENT_HUNG, ev, uptime, comm=m["name"]))
    if has_any(text.lower(), ("ramdisk",)) and (m := _RAMDISK.search(text)):
        app = _APPLICATION.search(text)
        table = "file table of the " if "table" in m[0].lower() else ""
        what = f"the {table}ramdisk '{m['name']}' is full" if m["name"] else None
        out.append(
            Signal(
                SignalKind.RAMDISK_FULL,
                ev,
                uptime,
                message=what,
                target=m["name"],
                comm=app[1] if app else None,
            )
        )
    if has_any(text, _POWER_WORDS) and _POWER_LOST.search(text):
        out.append(Signal(SignalKind.POWER_LOST, ev, uptime))
    if has_any(text, _STOP_WORDS) and _USER_STOP.search(text):
        out.append(Signal(SignalKind.USER_STOP, ev, uptime))
    return out


def classify(line_no: int, raw: str, *, path: str) -> list[Signal]:
    """The signals of one log line (most lines have none); read without what a paste adds
    (Markdown's escapes, bullets: :func:`undecorate`)."""
    text = undecorate(raw)
    ev = Evidence(path, line_no, raw)
    uptime = line_uptime(text)
    out: list[Signal] = []
    if m := _BLUESCREEN.search(text):
        out.append(Signal(SignalKind.BLUESCREEN, ev, uptime, message=_rest(m)))
    if m := _COS_ERROR.search(text):
        out.append(Signal(SignalKind.COS_ERROR, ev, uptime, message=_rest(m)))
    if has_any(text, ("Lost heartbeat",)) and (m := _HB.search(text)):
        # t=/to= read as minutes: to=30 is KB 308590's 30-minute timeout (DERIVED, §2.2)
        fields = {k: to_int(f[1]) if (f := rx.search(m[1])) else None for k, rx in _FIELDS.items()}
        out.append(
            Signal(
                SignalKind.HB_ALERT,
                ev,
                uptime,
                message="Lost heartbeat",
                comm=_comm(m[1]),
                pid=fields["pid"],
                t=fields["t"],
                to=fields["to"],
                clt=fields["clt"],
            )
        )
    if m := _PCPU_HB.search(text):
        late = _PCPU_SILENCE.search(m[1])
        overdue = late is not None and int(late[1]) >= int(late[2])
        out.append(
            Signal(
                SignalKind.PCPU_HEARTBEAT,
                ev,
                uptime,
                message=m[1],
                cpu=to_int(m[2]),
                overdue=overdue,
            )
        )
    elif m := _PCPU_LOCKUP.search(text):
        out.append(Signal(SignalKind.PCPU_LOCKUP, ev, uptime, message=m[1], cpu=to_int(m[2])))
    if m := _PF.search(text):
        out.append(Signal(SignalKind.PF_EXCEPTION, ev, uptime, message=m[1].strip()))
    if m := _NOT_IMPLEMENTED.search(text):
        out.append(Signal(SignalKind.NOT_IMPLEMENTED, ev, uptime, message=m[1].strip()))
    if has_any(text, ("Oops",)) and (m := _OOPS.search(text)):
        out.append(Signal(SignalKind.COS_OOPS, ev, uptime, message=m[1].strip()))
    if has_any(text, ("COS Panic", "CosPanic")) and (m := _COS_PANIC.search(text)):
        out.append(Signal(SignalKind.COS_PANIC, ev, uptime, message=_rest(m)))
    if m := _DUMP.search(text):
        out.append(
            Signal(SignalKind.COREDUMP, ev, uptime, target=m[1] if m[1] is not None else m[2])
        )
    out.extend(_events(text, ev, uptime))
    return out


MAX_SIGNALS = 4000
"""Signals a scanner keeps, the newest (a crash is at the end of what it reads)."""


class LineScanner:
    """Turns numbered lines into signals, joining a wrapped HB alert with its ``pid=`` line
    and a wrapped PCPU heartbeat warning with the rest of it.

    Shared by the vmkernel-log and purple-screen parsers. Feed every line in order (or
    every line that may hold a signal), then call :meth:`finish`.
    """

    def __init__(self, *, path: str) -> None:
        self.path = path
        self.signals: deque[Signal] = deque(maxlen=MAX_SIGNALS)  # the newest
        self.pending: tuple[int, str] | None = None

    def feed(self, line_no: int, line: str) -> None:
        """Scan one line (with or without its newline)."""
        if self.pending is not None:
            stripped = line.strip()
            if not stripped:
                return
            first_no, first = self.pending
            self.pending = None
            if stripped.startswith("pid=") or (
                _PCPU_HB.search(first) and _PCPU_REST.match(stripped)
            ):
                self.signals.extend(
                    classify(first_no, f"{first.rstrip()} {stripped}", path=self.path)
                )
                return
            self.signals.extend(classify(first_no, first, path=self.path))
        raw = strip_newline(line)
        if not any(k in raw for k in _KEYS):
            return
        m = _HB.search(raw) if "heartbeat" in raw else None
        if m and "(" in m[1] and ")" not in m[1]:
            self.pending = (line_no, raw)
            return
        if (pcpu := _PCPU_HB.search(raw)) and not _PCPU_SILENCE.search(pcpu[1]):
            self.pending = (line_no, raw)  # a wrap cut it before its timeout
            return
        self.signals.extend(classify(line_no, raw, path=self.path))

    def finish(self) -> tuple[Signal, ...]:
        """All signals, flushing an HB alert whose continuation never came."""
        if self.pending is not None:
            self.signals.extend(classify(*self.pending, path=self.path))
            self.pending = None
        return tuple(self.signals)
