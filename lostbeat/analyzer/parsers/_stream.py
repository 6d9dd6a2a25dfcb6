"""Reading a large Linux log for its incidents: only the lines that may matter are framed.

The log is read in large pieces (``_scan.texts``); each piece is searched (``_scan.Needles``)
for the words every incident line has (:data:`WORDS`), or in a syslog file for the senders that
matter first; only those lines, and the lines an open report may own (``follow``), are framed
(``_frames``). ``journalctl -o export`` entries (fields one a line, an empty line between
entries) are found by the kernel's transport and the killers' identifiers, and each is
assembled into one frame.

Examples:
    >>> [f.text for f in frames(["boot", "[ 1.0] Out of memory: Killed process 7 (a)", "x"])]
    ['Out of memory: Killed process 7 (a)']
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from itertools import chain

from lostbeat.analyzer.parsers._frames import Frame, entry_frame, frame
from lostbeat.analyzer.parsers._scan import Needles, texts

__all__ = ["WORDS", "Seen", "frames"]

_EXPORT_HEAD = re.compile(r"^_{0,2}[A-Z][A-Z0-9_]{0,63}(?:=|\n)")
# Every line an incident reader needs has one of these (docs/reference/linux-logs.md §2-§6),
# or is read while a report is open (``follow``): "oom" (invoked oom-killer, oom-kill:),
# "emory" (Out of memory, Memory cgroup, memory: usage, low memory!, Memory pressure), "Kill",
# "kill" (Kill/Killed process, killing process, systemd-oomd killed), "ask" (INFO: task, Task
# in, Tasks state, hung_task), "lockup", "LOCKUP", "stall", "panic", "ainted" (the kernel
# release), "SIG" (earlyoom's sending SIGTERM), "avail" (earlyoom's mem avail), "badness"
# (nohang), "OOM" (OOMKilled, SystemOOM), "ame:", 'ame":', "NAME" (kubectl's and docker's
# names), "page allocation"
# (the kernel's allocation failures and stalls: memory pressure), "exceeded" (nohang finding
# nothing to do after all). A unit's end after
# systemd-oomd's pressure line is read while ``follow`` says so.
WORDS = (
    "oom", "emory", "Kill", "kill", "ask", "lockup", "LOCKUP", "stall", "panic", "ainted",
    "SIG", "avail", "badness", "OOM", "ame:", 'ame":', "NAME", "page allocation", "exceeded",
)  # fmt: skip
# In a syslog file or journalctl's text, the lines that matter are the kernel's and the
# killers' (PID 1's on systemd-oomd's kills name it; a unit's end after its pressure line is
# read while ``follow`` says so; its word on a unit the kernel's OOM killer took from is
# found by that word): they are found by their sender first, then by a word.
_SENDERS = (" kernel:", "earlyoom", "oomd", "nohang", "OOM killer", "'oom-kill'")
_PLAIN_WORDS = tuple(w for w in WORDS if w not in ("emory", "ask")) + ("blocked for more",)
"""The words of a large file whose start has no time stamp (not a log the kernel or a killer
wrote: a program's own log, a dump of text): "memory" and "task" are everyday words there,
and every report's headline has another word (``Killed``, ``oom``, ``blocked for more``)."""
_PLAIN_HEAD = 65536
"""How much of a file's start decides that it is large and has no stamp."""
_KERNEL_WORDS = (*WORDS[:10], "page allocation")
"""The words a kernel line needs (a killer's and kubectl's are not the kernel's)."""
_UNIT_WORDS = ("oomd",)
"""The word of PID 1's lines on systemd-oomd's kills."""
_KILLER_IDENTS = frozenset({"earlyoom", "systemd-oomd", "nohang", "nohang-desktop"})


_ALL = Needles(WORDS)
_PLAIN = Needles(_PLAIN_WORDS)
_SENT = Needles(_SENDERS)


def _marks(text: str, syslog: bool, plain: bool = False) -> list[int]:
    """Where the lines of ``text`` that have a word start, sorted; in a syslog file, the
    lines of a sender that matters that have a word (the senders' lines are found first, and
    only their text is searched for the words)."""
    if not syslog:
        return (_PLAIN if plain else _ALL).line_starts(text)
    sent = _SENT.line_starts(text)
    if not sent:
        return []
    sub = "\n".join(text[at : text.find("\n", at)] for at in sent) + "\n"
    return [sent[j] for j, _ in _ALL.numbered(sub)]


@dataclass(slots=True)
class Seen:
    """Whether a log read by :func:`frames` held any text that is not blank."""

    text: bool = False


def _noting(pieces: Iterator[str], seen: Seen) -> Iterator[str]:
    for piece in pieces:
        if not seen.text and piece and not piece.isspace():
            seen.text = True
        yield piece


def frames(
    lines: Iterable[str],
    *,
    follow: Callable[[int], bool] | None = None,
    seen: Seen | None = None,
) -> Iterator[Frame]:
    """The frames of a log that may hold an incident, numbered from 1.

    The log is read in large pieces; only the lines with one of :data:`WORDS`, and every
    line for which ``follow(line_no)`` says a report is still being read, are framed: the
    rest of a large log is passed over at the speed of a substring search. ``journalctl -o
    export`` entries (fields one a line, an empty line between entries) are assembled into
    one frame each, and framed when they are the kernel's, a killer's or PID 1's and their
    message qualifies likewise. ``seen`` notes whether the log held any text at all (a log
    without an incident is no missing log).
    """
    pieces_ = texts(lines) if seen is None else _noting(texts(lines), seen)
    first = next(pieces_, "")
    head = next((ln for ln in first[:4096].split("\n") if ln.strip()), "")
    pieces = chain([first], pieces_)
    if _EXPORT_HEAD.match(head):  # the start, or a tail kept from mid-entry
        yield from _export(pieces, follow or _never)
    else:
        head_lines = first[:_PLAIN_HEAD].split("\n")[:-1]
        syslog = _syslog_file(head_lines)
        plain = not syslog and len(first) >= _PLAIN_HEAD and not _stamped(head_lines)
        yield from _lines(pieces, follow or _never, syslog=syslog, plain=plain)


def _syslog_file(head: list[str]) -> bool:
    """Whether every line of the file's start has a syslog or journal sender."""
    seen = False
    for line in head:
        f = frame(line)
        if f is not None and (f.clock is None or f.ident is None):
            return False
        seen = seen or f is not None
    return seen


def _stamped(head: list[str]) -> bool:
    """Whether a line of the file's start carries a time stamp a kernel log has."""
    for line in head:
        f = frame(line)
        if f is not None and (f.at is not None or f.clock is not None or f.mono is not None):
            return True
    return False


def _never(line_no: int) -> bool:
    return False


def _lines(
    pieces: Iterable[str], follow: Callable[[int], bool], *, syslog: bool, plain: bool = False
) -> Iterator[Frame]:
    """The frames of the lines with a word and of the lines an open report may own; the
    rest is skipped by position, never split out of the text."""
    base = 0  # line number before the piece
    for text in pieces:  # each ends with a newline
        marks = _marks(text, syslog, plain)
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
        base += line + text.count("\n", pos)  # the lines after the last one read


_EXPORTED = Needles(
    ("\n_TRANSPORT=kernel\n", "\nSYSLOG_IDENTIFIER=systemd\n")
    + tuple(f"\nSYSLOG_IDENTIFIER={ident}\n" for ident in sorted(_KILLER_IDENTS))
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
        line_no += body.count("\n")
    if carry.strip() and _may_matter("\n" + carry + "\n", follow, line_no):
        f = _export_entry(carry, line_no)
        if f is not None:
            yield f


def _hits(body: str) -> list[tuple[int, int]]:
    """(start, end) of the entries of ``body`` (which starts with a newline) that hold a
    needle, in order."""
    found: list[tuple[int, int]] = []
    end = -1  # the end of the last entry found: a further needle in it adds nothing
    for pos in _EXPORTED.spots(body):
        if pos >= end:
            start = body.rfind("\n\n", 0, pos + 1)
            start = start + 2 if start >= 0 else 1
            end = body.find("\n\n", pos + 1)
            end = end if end >= 0 else len(body)
            found.append((start, end))
    return found


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
    return entry_frame(entry, start)


def _binary_message(chunk: str) -> str | None:
    """A binary MESSAGE field (its name alone, then a 64-bit length and the bytes): the text
    after the length, up to the first newline."""
    fields = chunk.split("\n")
    for line_no, line in enumerate(fields):
        if line == "MESSAGE":
            rest = fields[line_no + 1 : line_no + 2]
            return rest[0][8:] if rest else ""
    return None
