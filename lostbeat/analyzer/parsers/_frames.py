"""Line framing for Linux logs: whatever carried a line, its time, its sender and its message.

Every container of docs/reference/linux-logs.md §1 is taken off here, so that the kernel-log
and userspace-killer classifiers see only the message: raw ``dmesg`` (``[  123.456789]``, and
the vendor ``[  240.]``), ``dmesg -T``, journalctl ``short``, ``short-precise``, ``short-iso``
(precise or not), ``short-monotonic``, ``short-unix`` and ``json``, syslog files (RHEL
``messages`` with or without a host, Debian ``kern.log`` keeping the kernel's stamp, busybox's
facility and level before the sender), OpenWrt's ``logread`` (a ctime stamp with the year),
the ``kernel:`` prefix alone,
syslogd's wall broadcast, serial consoles (a prompt before the stamp, padding), pstore's
``<N>`` level, an editor's line numbers and mail quoting (``> ``). journalctl ``export`` is
multi-line: ``_stream`` assembles each entry and frames it with :func:`entry_frame`.

A wall-clock time is an epoch only where the line says the year (ISO, JSON, export,
``dmesg -T``, nohang's log); a syslog stamp without a year is kept as text (``clock``) and
the epoch is ``None``: a guessed year would be a wrong date in the verdict.

Examples:
    >>> f = frame("Nov 03 08:06:47.252691 localhost kernel: systemd-journal invoked oom-killer")
    >>> (f.ident, f.clock, f.text)
    ('kernel', 'Nov 03 08:06:47.252691', 'systemd-journal invoked oom-killer')
    >>> f = frame("May 15 23:13:51 host kernel: [  778.978329] Out of memory: Killed process 1")
    >>> (f.mono, f.text)
    (778.978329, 'Out of memory: Killed process 1')
    >>> frame("nas3 login: [86185.341902] ------------[ cut here ]------------").mono
    86185.341902
    >>> frame("2024-01-09T03:12:45Z In(05) vcpu-2 - Guest: <4>[812.5] db invoked oom").text
    'db invoked oom'
    >>> frame("2026-05-28T12:24:00.184235+00:00 vm-1 kernel:  kthread+0xef/0x120").at
    1779971040.184235
    >>> frame("Oct 07 19:16:10 <hostname> earlyoom[26328]: process exited").ident
    'earlyoom'
    >>> frame("Aug 11 16:28:11 kernel: Out of memory: Kill process 3080").ident
    'kernel'
"""

from __future__ import annotations

import json
import re
from calendar import timegm
from dataclasses import dataclass

__all__ = ["KERNEL", "Frame", "entry_frame", "frame"]

KERNEL = "kernel"

_MONTHS = {
    m: i
    for i, m in enumerate(
        ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"], 1
    )
}

# docs/reference/linux-logs.md §1, one pattern per container
_QUOTE = re.compile(r"^(?:> ?)+")  # mail archive (032)
# a paste numbered as a list or by an editor: "54. [Thu ...]", "36159 systemd-journal invoked"
# (no kernel message starts with a number that matters: "0 pages in swap cache" loses its 0);
# a number then numbers is the rest of a task-table row a paste wrapped, kept whole
_ENUMERATED = re.compile(r"^\d{1,7}[.):]?[ \t]+(?!-?\d+[ \t])(?=\S)")
_LINE_NO = re.compile(r"^\s*\d{1,9} +(?=\[)")  # an editor's line numbers (056)
_LEVEL = re.compile(r"^<\d{1,3}>")  # pstore / raw kmsg level
_MONO = re.compile(r"\[\s*(\d{1,10})\.(\d{0,9})\] ?")  # dmesg, kern.log, consoles
# "/ # [", "login: ["; a relay's "Guest: <4>[" (a VM's vmware.log keeps the guest's console
# with its level after its own stamp, level and vCPU)
_PROMPT = re.compile(r"^.{0,120}?[#$>:] (?:<\d{1,3}>)?(?=\[\s*\d{1,10}\.\d{0,9}\])")
_DMESG_T = re.compile(
    r"^\[(?:[A-Z][a-z]{2}) ([A-Z][a-z]{2}) +(\d{1,2}) (\d\d):(\d\d):(\d\d) (\d{4})\] ?"
)
_ISO = re.compile(
    r"^(\d{4})-(\d\d)-(\d\d)[T ](\d\d):(\d\d):(\d\d)(?:[.,](\d{1,9}))?"
    r"(Z|[+-]\d\d:?\d\d)?(?::? |$)"
)
_SYSLOG = re.compile(r"^([^\W\d_]{3,5})\.? {1,2}(\d{1,2}) (\d\d:\d\d:\d\d(?:\.\d{1,9})?)(?::? |$)")
# busybox's and OpenWrt's syslogd write the facility and level before the sender
# ("host kern.err kernel: "): it is passed over
_FACILITY = r"(?:[a-z]{2,8}\.[a-z]{3,7} )?"
_SENDER = re.compile(
    r"^(?:([^\s:\[\]]+) )?" + _FACILITY + r"([^\s\[\]:]{1,64})(?:\[(\d{1,10})\])?: ?"
)
# OpenWrt's logread (and other ctime stamps): "Mon Apr 12 18:29:48 2021 kern.warn kernel: "
_CTIME = re.compile(r"^[A-Z][a-z]{2} ([A-Z][a-z]{2}) +(\d{1,2}) (\d\d):(\d\d):(\d\d) (\d{4}) ")
_CTIME_SENDER = re.compile(r"^()" + _FACILITY + r"([^\s\[\]:]{1,64})(?:\[(\d{1,10})\])?: ?")
# dmesg -H / --reltime: the minute once ("[Mar 3 14:09] "), then the time since the line
# before ("[  +0.000012] "); neither is the time since boot (unverified: util-linux's format
# as documented, no real log of it found)
_RELTIME = re.compile(r"^\[(?:[A-Z][a-z]{2} {1,2}\d{1,2} \d\d:\d\d|\s*\+\s*\d+\.\d+)\] ?")
# journalctl -o short-unix: the epoch with its microseconds, then host and sender
_UNIX = re.compile(r"^(\d{9,10})\.(\d{6}) (?=\S+ \S)")
# after an ISO stamp the host is always there (journalctl's short-iso, rsyslog's ISO layout):
# without one it is `dmesg --time-format iso`, whose "INFO: task" is no sender
_ISO_SENDER = re.compile(r"^([^\s:\[\]]+) ([^\s\[\]:]{1,64})(?:\[(\d{1,10})\])?: ?")
# journalctl -o short-full: "Fri 2024-05-03 12:34:56 CEST host kernel: ..." (the zone a name)
_FULL = re.compile(
    r"^[A-Z][a-z]{2} (\d{4})-(\d\d)-(\d\d) (\d\d):(\d\d):(\d\d)(?:\.(\d{1,9}))?()"
    r" [A-Z][A-Za-z0-9+-]{0,5} "
)
# dmesg -x: "kern  :err   : " facility and level before the stamp
_DMESG_X = re.compile(r"^[a-z]{3,8} *:[a-z]{3,6} *: ")
# CONFIG_PRINTK_CALLER: "[ T1234] " or "[  C2] " after the stamp
_CALLER = re.compile(r"^\[ *[TC]\d{1,7}\] ?")
_SELF_SENDER = re.compile(r"^([\w.@-]{1,64})\[(\d{1,10})\]: ")  # short-monotonic
_WALL = re.compile(r"^Message from syslogd@")
_KERNEL_PREFIX = re.compile(r"^ ?kernel: ?")


@dataclass(frozen=True, slots=True)
class Frame:
    """One log line without its container."""

    line_no: int
    text: str
    """The message, right-stripped."""
    ident: str | None = None
    """Who logged it (``kernel``, ``earlyoom``, ``systemd-oomd``...); ``None`` where the
    container does not say (raw dmesg, a console, a killer's own stdout)."""
    at: float | None = None
    """Wall-clock epoch, where the line gives the year (UTC when no zone is given)."""
    clock: str | None = None
    """The wall-clock stamp as written, when there is one."""
    mono: float | None = None
    """Seconds since boot, from a dmesg-style stamp."""
    pid: int | None = None

    @property
    def kernelish(self) -> bool:
        """Sent by the kernel, or by nobody named (a raw or bare kernel log)."""
        return self.ident is None or self.ident == KERNEL


def _zone(text: str | None) -> int:
    if not text or text == "Z":
        return 0
    sign = -1 if text[0] == "-" else 1
    digits = text[1:].replace(":", "")
    return sign * (int(digits[:2]) * 3600 + int(digits[2:4]) * 60)


def _iso(m: re.Match[str]) -> float | None:
    """The stamp's epoch; None for a month that is none (found by fuzzing: timegm refuses it)."""
    year, mon, day, hh, mm, ss = (int(g) for g in m.groups()[:6])
    if not 1 <= mon <= 12:
        return None
    frac = m[7] or ""
    whole = timegm((year, mon, day, hh, mm, ss, 0, 0, 0)) - _zone(m[8])
    return whole + (int(frac) / 10 ** len(frac) if frac else 0.0)


def _mono(m: re.Match[str]) -> float:
    frac = m[2] or ""
    return int(m[1]) + (int(frac) / 10 ** len(frac) if frac else 0.0)


def _sender(rest: str, fields: dict[str, object], pattern: re.Pattern[str] = _SENDER) -> str:
    """Take ``[host] ident[pid]: `` off a syslog or journal line; the message is returned."""
    s = pattern.match(rest)
    if s is None:
        return rest
    fields["ident"] = s[2]
    fields["pid"] = int(s[3]) if s[3] else None
    return rest[s.end() :]


def _unwrap(line: str) -> str:
    line = line.lstrip()  # a paste indented as a block
    if line.startswith(">"):
        line = _QUOTE.sub("", line, count=1).lstrip()
    if line[:1].isdigit() and (n := _ENUMERATED.match(line)) is not None:
        line = line[n.end() :]
    if line[:1] == "<":
        line = _LEVEL.sub("", line, count=1)
    if line[:1] == " " or line[:1].isdigit():
        m = _LINE_NO.match(line)
        if m is not None:
            line = line[m.end() :]
    return line


def frame(line: str, line_no: int = 0) -> Frame | None:
    """The frame of one text line; ``None`` for a line that carries no message (blank, or
    syslogd's wall header)."""
    line = _unwrap(line.rstrip())
    if not line.strip() or _WALL.match(line):
        return None
    if line[:1] == "{":
        return _json(line, line_no) or Frame(line_no, line)
    fields: dict[str, object] = {}
    rest = line
    if (m := _ISO.match(rest)) is not None:
        fields["at"], fields["clock"] = _iso(m), m[0].rstrip(": ")
        rest = rest[m.end() :]
        if m[0].endswith(" ") and not m[0].endswith(": "):
            rest = _sender(rest, fields, _ISO_SENDER)
    elif (m := _FULL.match(rest)) is not None:
        # the zone is a name lostbeat cannot resolve: the time is read as UTC (unverified)
        fields["at"], fields["clock"] = _iso(m), m[0].strip()
        rest = _sender(rest[m.end() :], fields, _ISO_SENDER)
    elif (m := _DMESG_T.match(rest) or _CTIME.match(rest)) is not None:
        mon = _MONTHS.get(m[1].lower())
        fields["clock"] = m[0].strip(" []")
        if mon is not None and 1 <= int(m[2]) <= 31:
            hh, mm, ss = int(m[3]), int(m[4]), int(m[5])
            fields["at"] = float(timegm((int(m[6]), mon, int(m[2]), hh, mm, ss, 0, 0, 0)))
        rest = rest[m.end() :]
        if m.re is _CTIME:
            rest = _sender(rest, fields, _CTIME_SENDER)
    elif (m := _UNIX.match(rest)) is not None:
        fields["at"], fields["clock"] = int(m[1]) + int(m[2]) / 1e6, m[0].strip()
        rest = _sender(rest[m.end() :], fields, _ISO_SENDER)
    elif (m := _SYSLOG.match(rest)) is not None and not rest.startswith("kernel:"):
        fields["clock"] = m[0].rstrip(": ")
        rest = rest[m.end() :]
        if not m[0].endswith(": "):
            rest = _sender(rest, fields)
    elif (k := _KERNEL_PREFIX.match(rest)) is not None:
        fields["ident"] = KERNEL
        rest = rest[k.end() :]
    ident = fields.get("ident")
    if ident is None or ident == KERNEL:
        if rest[:1] != "[" and (p := _PROMPT.match(rest)) is not None:
            rest = rest[p.end() :]
        if rest[:1].islower() and (x := _DMESG_X.match(rest)) is not None:
            rest = rest[x.end() :]
        if rest[:1] == "[" and (r := _RELTIME.match(rest)) is not None:
            if "+" not in r[0]:  # (a delta is no clock)
                fields["clock"] = fields.get("clock") or r[0].strip(" []")
            rest = rest[r.end() :]
        if rest[:1] == "[" and (s := _MONO.match(rest)) is not None:
            fields["mono"] = _mono(s)
            rest = rest[s.end() :]
            if rest[:1] == "[" and (c := _CALLER.match(rest)) is not None:
                rest = rest[c.end() :]
            if ident is None and (own := _SELF_SENDER.match(rest)) is not None:
                fields["ident"], fields["pid"] = own[1], int(own[2])
                rest = rest[own.end() :]
    return Frame(line_no, rest.rstrip(), **fields)  # type: ignore[arg-type]


def _json(line: str, line_no: int) -> Frame | None:
    """One ``journalctl -o json`` entry."""
    try:
        entry = json.loads(line)
    except ValueError:
        return None
    if not isinstance(entry, dict) or "MESSAGE" not in entry:
        return None
    return entry_frame(entry, line_no)


def entry_frame(entry: dict[str, object], line_no: int) -> Frame:
    """A journal entry's fields (``json`` or ``export`` output) as a frame."""
    message = entry.get("MESSAGE")
    if isinstance(message, list):  # journald writes a non-UTF-8 message as a byte array
        message = bytes(b for b in message if isinstance(b, int) and 0 <= b < 256).decode(
            "utf-8", "replace"
        )
    text = str(message or "")
    transport = entry.get("_TRANSPORT")
    ident = (
        KERNEL if transport == "kernel" else entry.get("SYSLOG_IDENTIFIER") or entry.get("_COMM")
    )
    stamp = entry.get("__REALTIME_TIMESTAMP")
    at = (
        int(stamp) / 1e6 if isinstance(stamp, str) and stamp.isascii() and stamp.isdigit() else None
    )
    pid = entry.get("_PID")
    mono = _MONO.match(text) if ident == KERNEL else None
    if mono is not None:
        text = text[mono.end() :]
    return Frame(
        line_no,
        text.rstrip(),
        str(ident) if ident else None,
        at,
        None,
        _mono(mono) if mono is not None else None,
        int(pid) if isinstance(pid, str) and pid.isascii() and pid.isdigit() else None,
    )
