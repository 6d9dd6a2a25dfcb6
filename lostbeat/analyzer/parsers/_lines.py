"""Line helpers shared by the parsers (not a parser itself).

Numbering, blank-line skipping, the ``D:HH:MM:SS.mmm`` uptime format, number conversions
that never raise (a parser decides itself what a bad number means), and the bound on the
malformed lines a parser keeps (:class:`Problems`).

Examples:
    >>> list(active_lines(["a\\n", "  \\n", "b\\r\\n"]))
    [(1, 'a'), (3, 'b')]
    >>> parse_uptime("42:14:03:58.308")
    3679438.308
    >>> to_int("12x") is None
    True
    >>> problems = Problems()
    >>> for n in range(150):
    ...     problems.append(ParseError("expected x", path="f", line_no=n + 1))
    >>> len(problems.kept), problems.first.line_no, problems.note()
    (100, 1, '150 malformed lines in all, the first 100 kept')
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from lostbeat.errors import ArtifactMissing, ParseError

__all__ = [
    "MAX_PROBLEMS",
    "SNIFF_CHARS",
    "Newest",
    "Problems",
    "kept_note",
    "active_lines",
    "newest_records",
    "head",
    "parse_uptime",
    "require_lines",
    "strip_newline",
    "to_float",
    "to_int",
    "undecorate",
    "undecorated",
]

SNIFF_CHARS = 65536
"""How much of a file the ``looks_like_*`` sniffers read."""

MAX_PROBLEMS = 100
"""Malformed lines a parser keeps from one file (the first ones); the others are counted."""


class Problems:
    """The malformed lines of one file: the first :data:`MAX_PROBLEMS` kept, all counted."""

    __slots__ = ("count", "kept")

    def __init__(self) -> None:
        self.kept: list[ParseError] = []
        self.count = 0

    def append(self, problem: ParseError) -> None:
        self.count += 1
        if len(self.kept) < MAX_PROBLEMS:
            self.kept.append(problem)

    def __bool__(self) -> bool:
        return self.count > 0

    @property
    def first(self) -> ParseError:
        return self.kept[0]

    def note(self) -> str:
        """What was left out, or "" when nothing was."""
        if self.count <= len(self.kept):
            return ""
        return f"{self.count} malformed lines in all, the first {len(self.kept)} kept"


def kept_note(*notes: str) -> str:
    """The notes that say something, joined: a parser's ``omitted`` field."""
    return "; ".join(n for n in notes if n)


_UPTIME = re.compile(r"([0-9]{1,7}):([0-9]{1,2}):([0-9]{1,2}):([0-9]{1,2})(?:\.([0-9]{1,9}))?")
_ESCAPES = re.compile(r"(?:\x1b|\^\[)\[[0-9;]*m")
# Markdown's escapes (a note or wiki exported to Markdown writes "\[", "\@", "\$", "\'"...)
# and its hard line break, a backslash that ends the line
_MARKDOWN = re.compile(r"\\([\\`*_{}\[\]()#+\-.!@$<>'\"|~=])|\\$")
# bullets, Markdown and mail quotes, pastebin's "  1. " and an editor's bare "1234 " numbers
_LEAD = re.compile(r"^(?:\s*(?:\u2022|>|[0-9]{1,5}\.(?=\s)|[0-9]{1,6} (?=[^\s0-9])))+\s*")
_INT = re.compile(r"[0-9]{1,18}")
_FLOAT = re.compile(r"[0-9]{1,18}(?:\.[0-9]{1,12})?")


def strip_newline(line: str) -> str:
    """The line without its trailing newline (``\\n``, ``\\r\\n`` or ``\\r``)."""
    return line.rstrip("\r\n")


def active_lines(lines: Iterable[str]) -> Iterator[tuple[int, str]]:
    """Number lines from 1 and drop the blank ones.

    Args:
        lines: the file's lines, with or without their newlines. A single ``str`` is
            split into lines rather than iterated character by character.

    Returns:
        ``(line_no, text)`` pairs; ``text`` is the line stripped of its newline only.
    """
    if isinstance(lines, str):
        lines = lines.splitlines()
    for line_no, line in enumerate(lines, 1):
        text = line.rstrip("\r\n")
        if text.strip():
            yield line_no, text


@dataclass(frozen=True, slots=True)
class Newest:
    """The newest record lines of a file, the first non-blank line and how many records in
    all (:func:`newest_records`)."""

    first: tuple[int, str]
    records: tuple[tuple[int, str], ...]
    count: int

    def note(self) -> str:
        """What was left out, or "" when nothing was."""
        if self.count <= len(self.records):
            return ""
        return f"kept the last {len(self.records)} of {self.count} record lines"


def newest_records(
    lines: Iterable[str], is_record: Callable[[str], bool], *, keep: int, artifact: str, path: str
) -> Newest:
    """The newest ``keep`` numbered lines that ``is_record`` accepts, read in one pass.

    Raises:
        ArtifactMissing: when there is not a single non-blank line.
    """
    first: tuple[int, str] | None = None
    records: deque[tuple[int, str]] = deque(maxlen=keep)
    count = 0
    for line_no, text in active_lines(lines):
        first = first or (line_no, text)
        if is_record(text):
            records.append((line_no, text))
            count += 1
    if first is None:
        raise ArtifactMissing(artifact, path=path)
    return Newest(first, tuple(records), count)


def require_lines(lines: Iterable[str], *, artifact: str, path: str) -> list[tuple[int, str]]:
    """:func:`active_lines` as a list.

    Raises:
        ArtifactMissing: when there is not a single non-blank line.
    """
    numbered = list(active_lines(lines))
    if not numbered:
        raise ArtifactMissing(artifact, path=path)
    return numbered


def head(text: str) -> str:
    """The part of ``text`` a sniffer looks at."""
    return text[:SNIFF_CHARS]


def parse_uptime(text: str) -> float | None:
    """Seconds from a VMkernel uptime ``D:HH:MM:SS.mmm``; None when it is not one.

    The sum is done in integers and divided once, so the result is the float nearest
    to the decimal value (``42:14:03:58.308`` gives exactly ``3679438.308``).
    """
    m = _UPTIME.fullmatch(text.strip())
    if m is None:
        return None
    days, hours, minutes, seconds = (int(g) for g in m.groups()[:4])
    frac: str | None = m[5]
    whole = ((days * 24 + hours) * 60 + minutes) * 60 + seconds
    if not frac:
        return float(whole)
    scale: int = 10 ** len(frac)
    return (whole * scale + int(frac)) / scale


def to_int(text: str) -> int | None:
    """An ASCII decimal integer, or None (no signs, no Unicode digits, no huge values)."""
    text = text.strip()
    return int(text) if _INT.fullmatch(text) else None


def to_float(text: str) -> float | None:
    """An ASCII decimal ``123`` or ``123.45``, or None (no exponent, nan or inf)."""
    text = text.strip()
    return float(text) if _FLOAT.fullmatch(text) else None


def undecorated(text: str) -> str:
    """``text`` with each of its lines' decoration taken off (:func:`undecorate`): what a
    sniffer looks at, so a quoted, bulleted or numbered paste is told as what it quotes.

    >>> undecorated("  1. a\\n> b")
    'a\\nb'
    """
    return "\n".join(undecorate(t) for t in text.splitlines())


def undecorate(line: str) -> str:
    """The line without what a paste adds: colour codes, Markdown's backslash escapes,
    bullets, quotes, line numbers, the quoted ``'@'``; surrounding blanks too (a page's
    characters are mapped back before, by ``lostbeat.analyzer._paste.unpasted``).

    >>> undecorate("  10. 2017-01-03T17:45:49.661Z cpu7:69126)0x43913029be30:[0x4180]F'@'vmkernel")
    '2017-01-03T17:45:49.661Z cpu7:69126)0x43913029be30:[0x4180]F@vmkernel'
    >>> undecorate(">\\tMar 9 10:24:42 localhost vmkhalt: (1268148282) Rebooting system...")
    'Mar 9 10:24:42 localhost vmkhalt: (1268148282) Rebooting system...'
    >>> undecorate("    \\\\@BlueScreen: Spin count exceeded \\\\[0x4180\\\\]\\\\")
    '@BlueScreen: Spin count exceeded [0x4180]'
    """
    text = _ESCAPES.sub("", line)
    if "\\" in text:
        text = _MARKDOWN.sub(r"\1", text.rstrip())
    text = _LEAD.sub("", text, count=1)
    if "'@'" in text:
        text = text.replace("'@'", "@")
    return text.strip()
