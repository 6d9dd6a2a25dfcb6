"""Line framing for Linux logs: whatever carried a line, its time, its sender and its message.

Every container of docs/reference/linux-logs.md §1 is taken off here, so that the kernel-log
and userspace-killer classifiers see only the message: raw ``dmesg`` (``[  123.456789]``, and
the vendor ``[  240.]``), ``dmesg -T``, journalctl ``short``, ``short-precise``, ``short-iso``
(precise or not), ``short-monotonic`` and ``json``, syslog files (RHEL ``messages`` with or
without a host, Debian ``kern.log`` keeping the kernel's stamp), the ``kernel:`` prefix alone,
syslogd's wall broadcast, serial consoles (a prompt before the stamp, padding), pstore's
``<N>`` level, an editor's line numbers and mail quoting (``> ``). journalctl ``export`` is
multi-line and is assembled by :func:`frames` itself.

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
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from itertools import chain, islice

__all__ = ["WORDS", "Frame", "frame", "frames"]

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
# (no kernel message starts with a number that matters: "0 pages in swap cache" loses its 0)
_ENUMERATED = re.compile(r"^\d{1,7}[.):]?[ \t]+(?=\S)")
_LINE_NO = re.compile(r"^\s*\d{1,9} +(?=\[)")  # an editor's line numbers (056)
_LEVEL = re.compile(r"^<\d{1,3}>")  # pstore / raw kmsg level
_MONO = re.compile(r"\[\s*(\d{1,10})\.(\d{0,9})\] ?")  # dmesg, kern.log, consoles
_PROMPT = re.compile(r"^.{0,120}?[#$>:] (?=\[\s*\d{1,10}\.\d{0,9}\])")  # "/ # [", "login: ["
_DMESG_T = re.compile(
    r"^\[(?:[A-Z][a-z]{2}) ([A-Z][a-z]{2}) +(\d{1,2}) (\d\d):(\d\d):(\d\d) (\d{4})\] ?"
)
_ISO = re.compile(
    r"^(\d{4})-(\d\d)-(\d\d)[T ](\d\d):(\d\d):(\d\d)(?:[.,](\d{1,9}))?"
    r"(Z|[+-]\d\d:?\d\d)?(?::? |$)"
)
_SYSLOG = re.compile(r"^([^\W\d_]{3,5})\.? {1,2}(\d{1,2}) (\d\d:\d\d:\d\d(?:\.\d{1,9})?)(?::? |$)")
_SENDER = re.compile(r"^(?:([^\s:\[\]]+) )?([^\s\[\]:]{1,64})(?:\[(\d{1,10})\])?: ?")
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


def _iso(m: re.Match[str]) -> float:
    year, mon, day, hh, mm, ss = (int(g) for g in m.groups()[:6])
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
    elif (m := _DMESG_T.match(rest)) is not None:
        mon = _MONTHS.get(m[1].lower())
        fields["clock"] = m[0].strip(" []")
        if mon is not None:
            hh, mm, ss = int(m[3]), int(m[4]), int(m[5])
            fields["at"] = float(timegm((int(m[6]), mon, int(m[2]), hh, mm, ss, 0, 0, 0)))
        rest = rest[m.end() :]
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
    return _entry(entry, line_no)


def _entry(entry: dict[str, object], line_no: int) -> Frame:
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


_EXPORT_HEAD = re.compile(r"^_{0,2}[A-Z][A-Z0-9_]{0,63}(?:=|\n)")
_EXPORT_BINARY = re.compile(r"^_{0,2}[A-Z0-9][A-Z0-9_]{0,63}$")
BATCH = 8192
"""Lines read at a time from a source that gives lines: their text is searched for the words
of an incident at C speed."""
CHUNK_CHARS = 4 << 20
"""Characters read at a time from a text stream."""
# Every line an incident reader needs has one of these (docs/reference/linux-logs.md §2-§6),
# or is read while a report is open (``follow``): "oom" (invoked oom-killer, oom-kill:),
# "emory" (Out of memory, Memory cgroup, memory: usage, low memory!, Memory pressure), "Kill",
# "kill" (Kill/Killed process, killing process, systemd-oomd killed), "ask" (INFO: task, Task
# in, Tasks state, hung_task), "lockup", "LOCKUP", "stall", "panic", "ainted" (the kernel
# release), "SIG" (earlyoom's sending SIGTERM), "avail" (earlyoom's mem avail), "badness"
# (nohang), "OOM" (OOMKilled, SystemOOM), "ame:", 'ame":', "NAME" (kubectl's and docker's
# names), "page allocation"
# (the kernel's allocation failures and stalls: memory pressure). A unit's end after
# systemd-oomd's pressure line is read while ``follow`` says so.
WORDS = (
    "oom", "emory", "Kill", "kill", "ask", "lockup", "LOCKUP", "stall", "panic", "ainted",
    "SIG", "avail", "badness", "OOM", "ame:", 'ame":', "NAME", "page allocation",
)  # fmt: skip
# In a syslog file or journalctl's text, the lines that matter are the kernel's and the
# killers' (PID 1's on systemd-oomd's kills name it; a unit's end after its pressure line is
# read while ``follow`` says so): they are found by their sender first, then by a word.
_SENDERS = (" kernel:", "earlyoom", "oomd", "nohang")
_KERNEL_WORDS = (*WORDS[:10], "page allocation")
"""The words a kernel line needs (a killer's and kubectl's are not the kernel's)."""
_UNIT_WORDS = ("oomd",)
"""The word of PID 1's lines on systemd-oomd's kills."""
_KILLER_IDENTS = frozenset({"earlyoom", "systemd-oomd", "nohang", "nohang-desktop"})


def _marks(text: str, syslog: bool) -> list[int]:
    """Where the lines of ``text`` that have a word start, sorted; in a syslog file, the
    lines of a sender that matters that have a word (the senders' lines are found first, and
    only their text is searched for the words)."""
    if not syslog:
        return _starts(text, WORDS)
    sent = _starts(text, _SENDERS)
    if not sent:
        return []
    sub = "\n".join(text[at : text.find("\n", at)] for at in sent) + "\n"
    return [sent[j] for j in _lines_of(sub, WORDS)]


def _starts(text: str, needles: tuple[str, ...]) -> list[int]:
    """Where the lines of ``text`` holding a needle start, sorted."""
    return sorted({text.rfind("\n", 0, at) + 1 for word in needles for at in _finds(text, word)})


def _lines_of(text: str, needles: tuple[str, ...]) -> list[int]:
    """Indexes of the lines of ``text`` (lines ending in newlines) holding a needle, sorted."""
    spots = sorted({at for word in needles for at in _finds(text, word)})
    found: list[int] = []
    line, last = 0, 0
    for at in spots:
        line += text.count("\n", last, at)
        last = at
        if not found or found[-1] != line:
            found.append(line)
    return found


def _finds(text: str, word: str) -> Iterator[int]:
    at = text.find(word)
    while at >= 0:
        yield at
        at = text.find(word, at + len(word))


def _texts(lines: Iterable[str]) -> Iterator[str]:
    """The log's text in pieces that end at a line's end: a text stream is read in large
    pieces, other line sources :data:`BATCH` lines at a time."""
    read = getattr(lines, "read", None)
    if callable(read):
        carry = ""
        while piece := read(CHUNK_CHARS):
            piece = carry + piece
            cut = piece.rfind("\n") + 1
            carry = piece[cut:]
            if cut:
                yield piece[:cut]
        if carry:
            yield carry + "\n"
        return
    it = iter(lines.splitlines(True) if isinstance(lines, str) else lines)
    while batch := list(islice(it, BATCH)):
        text = _joined(batch)
        yield text if text.endswith("\n") else text + "\n"


def frames(lines: Iterable[str], *, follow: Callable[[int], bool] | None = None) -> Iterator[Frame]:
    """The frames of a log that may hold an incident, numbered from 1.

    The log is read in large pieces; only the lines with one of :data:`WORDS`, and every
    line for which ``follow(line_no)`` says a report is still being read, are framed: the
    rest of a large log is passed over at the speed of ``str.find``. ``journalctl -o
    export`` entries (fields one a line, an empty line between entries) are assembled into
    one frame each, and framed when they are the kernel's, a killer's or PID 1's and their
    message qualifies likewise.
    """
    texts = _texts(lines)
    first = next(texts, "")
    head = next((ln for ln in first[:4096].split("\n") if ln.strip()), "")
    pieces = chain([first], texts)
    if _EXPORT_HEAD.match(head):  # the start, or a tail kept from mid-entry
        yield from _export(pieces, follow or _never)
    else:
        syslog = _syslog_file(first[:65536].split("\n")[:-1])
        yield from _lines(pieces, follow or _never, syslog=syslog)


def _syslog_file(head: list[str]) -> bool:
    """Whether every line of the file's start has a syslog or journal sender."""
    if not head:
        return False
    for line in head:
        f = frame(line)
        if f is not None and (f.clock is None or f.ident is None):
            return False
    return True


def _never(line_no: int) -> bool:
    return False


def _lines(
    pieces: Iterable[str], follow: Callable[[int], bool], *, syslog: bool
) -> Iterator[Frame]:
    """The frames of the lines with a word and of the lines an open report may own; the
    rest is skipped by position, never split out of the text."""
    base = 0  # line number before the piece
    for text in pieces:  # each ends with a newline
        marks = _marks(text, syslog)
        pos = line = k = 0  # a line's start and index in the piece; the next mark
        while pos < len(text):
            if k < len(marks) and marks[k] == pos:
                k += 1
            elif not follow(base + line + 1):
                if k == len(marks):
                    break
                line += text.count("\n", pos, marks[k])  # to the next line with a word
                pos = marks[k]
                continue
            end = text.find("\n", pos)
            f = frame(text[pos:end], base + line + 1)
            if f is not None:
                yield f
            pos, line = end + 1, line + 1
        base += text.count("\n")


_EXPORT_NEEDLES = ("\n_TRANSPORT=kernel\n", "\nSYSLOG_IDENTIFIER=systemd\n") + tuple(
    f"\nSYSLOG_IDENTIFIER={ident}\n" for ident in sorted(_KILLER_IDENTS)
)


def _export(pieces: Iterable[str], follow: Callable[[int], bool]) -> Iterator[Frame]:
    """Entries found by ``str.find`` of the kernel's transport and the killers' identifiers:
    another service's entry is never split out of the text."""
    carry = ""
    line_no = 1  # of carry's first line
    for piece in pieces:
        text = carry + piece
        cut = text.rfind("\n\n")
        if cut < 0:
            carry = text
            continue
        body, carry = "\n" + text[: cut + 1], text[cut + 2 :]
        at, seen = 0, line_no - 1  # the newline put before the body
        for start, end in _hits(body):
            chunk = body[start:end]
            if not _may_matter(chunk, follow, seen + 1):
                continue
            seen += body.count("\n", at, start)  # counted only for the entries read
            at = start
            f = _export_entry(chunk, seen)
            if f is not None:
                yield f
        line_no += body.count("\n", 0, len(body)) + 1 - 1
    if carry.strip() and _may_matter("\n" + carry + "\n", follow, line_no):
        f = _export_entry(carry, line_no)
        if f is not None:
            yield f


def _hits(body: str) -> list[tuple[int, int]]:
    """(start, end) of the entries of ``body`` (which starts with a newline) that hold a
    needle, in order."""
    found: dict[int, int] = {}
    for needle in _EXPORT_NEEDLES:
        pos = body.find(needle)
        while pos >= 0:
            start = body.rfind("\n\n", 0, pos + 1)
            start = start + 2 if start >= 0 else 1
            end = body.find("\n\n", pos + 1)
            end = end if end >= 0 else len(body)
            found[start] = end
            pos = body.find(needle, end)
    return sorted(found.items())


def _joined(batch: list[str]) -> str:
    """The batch's text, whether its lines kept their newlines (a file) or not (a list)."""
    return "".join(batch) if batch[0].endswith("\n") else "\n".join(batch) + "\n"


def _field(chunk: str, name: str) -> str | None:
    at = chunk.find(f"\n{name}=") if not chunk.startswith(f"{name}=") else -1 - len(name)
    if at == -1:
        return None
    begin = at + len(name) + 2
    end = chunk.find("\n", begin)
    return chunk[begin : end if end >= 0 else len(chunk)]


def _may_matter(chunk: str, follow: Callable[[int], bool], near: int) -> bool:
    """Whether an entry found by a needle may matter, told from its text alone: the kernel's
    with a word or while a report is open (its other fields, hex and names, hold no word),
    PID 1's on systemd-oomd, any of a killer's."""
    if "\n_TRANSPORT=kernel\n" in chunk:
        return follow(near) or any(w in chunk for w in _KERNEL_WORDS)
    if "\nSYSLOG_IDENTIFIER=systemd\n" in chunk:
        return any(w in chunk for w in _UNIT_WORDS)
    return True


def _export_entry(chunk: str, start: int) -> Frame | None:
    """One export entry as a frame, or ``None`` when it has no message."""
    chunk = chunk.strip("\n")
    ident = _field(chunk, "SYSLOG_IDENTIFIER")
    message = _field(chunk, "MESSAGE")
    if message is None:
        message = _binary_message(chunk)
        if message is None:
            return None
    entry: dict[str, object] = {"MESSAGE": message, "SYSLOG_IDENTIFIER": ident}
    for key in ("__REALTIME_TIMESTAMP", "_TRANSPORT", "_PID"):
        entry[key] = _field(chunk, key)
    return _entry(entry, start)


def _binary_message(chunk: str) -> str | None:
    """A binary MESSAGE field (its name alone, then a 64-bit length and the bytes): the text
    after the length, up to the first newline."""
    for line_no, line in enumerate(chunk.split("\n")):
        if line == "MESSAGE" and _EXPORT_BINARY.match(line):
            rest = chunk.split("\n")[line_no + 1 : line_no + 2]
            return rest[0][8:] if rest else ""
    return None
