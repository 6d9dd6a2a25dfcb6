"""Reading a large log: its text in large pieces (:func:`texts`), searched for the words its
reader needs (:class:`Needles`, by ahocorasick-rs).

A log reader searches a piece of text of a MiB for the words every line it needs has, and
splits out only the lines that hold one; the rest of the log is never split into lines. An
ASCII text (the usual log) is searched as bytes, a word at a time, by SIMD substring search
at tens of GB/s (``str.find`` manages about two); any other text by one automaton over its
code points. Positions are the text's own.

Examples:
    >>> words = Needles(("Lost heartbeat", "COS "))
    >>> text = "boot\\nHB: Lost heartbeat\\nok\\nCOS Error: x\\n"
    >>> words.line_starts(text), words.numbered(text)
    ([5, 27], [(1, 5), (3, 27)])
    >>> words.line_starts("é COS x\\nplain\\n"), words.line_starts("nothing here\\n")
    ([0], [])
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from itertools import islice

from ahocorasick_rs import AhoCorasick, BytesAhoCorasick

__all__ = ["BATCH", "CHUNK_CHARS", "Needles", "line_numbers", "texts"]

BATCH = 8192
"""Lines read at a time from a source that gives lines."""
CHUNK_CHARS = 1 << 20
"""Characters read at a time from a source that gives its text in pieces (``read``)."""


def texts(lines: Iterable[str]) -> Iterator[str]:
    """A log's text in pieces that each end at a line's end: a source with ``read`` (a text
    stream, the kept text of a member) :data:`CHUNK_CHARS` characters at a time, other line
    sources :data:`BATCH` lines at a time, whether their lines keep their newlines or not."""
    read = getattr(lines, "read", None)
    if callable(read):
        carry = ""
        piece = read(CHUNK_CHARS)
        while piece:
            ahead = read(CHUNK_CHARS)  # the end is known before the last piece is given
            piece = carry + piece
            cut = len(piece) if not ahead else piece.rfind("\n") + 1
            carry = piece[cut:]
            if cut:
                yield piece[:cut] if piece[cut - 1] == "\n" else piece[:cut] + "\n"
            piece = ahead
        return
    it = iter(lines.splitlines(True) if isinstance(lines, str) else lines)
    while batch := list(islice(it, BATCH)):
        yield _joined(batch)


def _joined(batch: list[str]) -> str:
    """The lines of ``batch`` as one text, one line each, whether they keep their newlines
    or not (a newline inside a given line is read as a blank: the lines stay the lines)."""
    lines = [line[:-1] if line.endswith("\n") else line for line in batch]
    if any("\n" in line for line in lines):
        lines = [line.replace("\n", " ") for line in lines]
    return "\n".join(lines) + "\n"


class Needles:
    """A set of words, searched for together."""

    __slots__ = ("_each", "_as_text", "words")

    def __init__(self, words: Iterable[str]) -> None:
        self.words = tuple(words)
        # one finder a word: a single word is searched by SIMD substring search (memchr's
        # memmem, tens of GB/s), faster than one automaton for all of a log's few words
        self._each = [BytesAhoCorasick([w.encode()]) for w in self.words]
        self._as_text: AhoCorasick | None = None  # built for the first text not ASCII

    def spots(self, text: str) -> list[int]:
        """Where the words found start in ``text``, in order (overlapping ones may be
        passed over: a line holding one is found all the same)."""
        if not text.isascii():
            if self._as_text is None:
                self._as_text = AhoCorasick(list(self.words))
            return [start for _, start, _ in self._as_text.find_matches_as_indexes(text)]
        data = text.encode("ascii")
        found: list[int] = []
        for finder in self._each:
            found.extend(start for _, start, _ in finder.find_matches_as_indexes(data))
        found.sort()
        return found

    def line_starts(self, text: str) -> list[int]:
        """Where the lines of ``text`` (ending in ``\\n``) that hold a word start, in order."""
        starts: list[int] = []
        end = -1  # the end of the last line found: a further spot in it adds nothing
        for at in self.spots(text):
            if at > end:
                start = text.rfind("\n", 0, at) + 1
                starts.append(start)
                end = text.find("\n", at)
                if end < 0:
                    end = len(text)
        return starts

    def numbered(self, text: str) -> list[tuple[int, int]]:
        """The lines of ``text`` that hold a word, in order: each one's index (from 0) and
        where it starts."""
        return line_numbers(text, self.line_starts(text))[0]


def line_numbers(text: str, starts: Iterable[int]) -> tuple[list[tuple[int, int]], int]:
    """Each of ``starts`` (where lines of ``text`` start, in order) with its line's index
    (from 0), and how many newlines ``text`` holds: each character is counted once.

    >>> line_numbers("a\\nb\\nc\\n", [2, 4])
    ([(1, 2), (2, 4)], 3)
    """
    found: list[tuple[int, int]] = []
    line, last = 0, 0
    for start in starts:
        line += text.count("\n", last, start)
        last = start
        found.append((line, start))
    return found, line + text.count("\n", last)
