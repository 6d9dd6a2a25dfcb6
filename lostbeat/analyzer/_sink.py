"""One member on its way to a parser: its bounded tail, and then its lines.

A :class:`_Sink` receives a member's bytes as they are read (inflating a nested gzip on the
way) and keeps at most ``cap`` bytes and ``line_cap`` lines of them. A log keeps its tail,
the newest lines, cut to a whole line; any other artifact over either cap is "too large".
:func:`lines_of` then hands the kept text to a parser (:class:`KeptText`) one line at a
time, or a MiB of text at a time to a log reader that splits out only the lines it needs,
releasing each chunk once decoded, so that a member never exists as one ``bytes`` plus one
``str`` plus a list of lines; a line longer than ``LINE_MAX`` characters is cut there.

Examples:
    >>> from lostbeat.analyzer._limits import Limits
    >>> sink = _Sink(1000, 2, tail=True, limits=Limits())
    >>> for chunk in (b"one\\ntwo\\nth", b"ree\\nfour\\n"):
    ...     sink.write(chunk)
    >>> parts, note = sink.result()
    >>> list(lines_of(parts)), note
    (['three\\n', 'four\\n'], 'kept the last 2 lines (11 bytes) of 4 lines (19 bytes)')
"""

from __future__ import annotations

import codecs
import hashlib
from collections import deque
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING

from isal import isal_zlib

from lostbeat.analyzer._gunzip import _Broken, _Gunzip, _size
from lostbeat.analyzer._paste import codec_of, lf_ends, unpasted
from lostbeat.analyzer._unpack import unpacker
from lostbeat.analyzer._unwrap import unwrapped

if TYPE_CHECKING:
    from lostbeat.analyzer._limits import Limits

_STEP = 1024 * 1024  # nested .gz inflation step
_PIECE = 64 * 1024  # bytes decoded at a time by lines_of: the list of its lines stays small
_WHOLE = 1024 * 1024  # a text this small is decoded whole, so a wrapped paste can be unwrapped
_KEY_HEAD = 64 * 1024  # bytes of a member's start digested for its content key
LINE_MAX = 1024 * 1024
"""Characters of one line a parser is given at most; the rest of a longer line is dropped."""


class _Sink:
    """Keeps at most ``cap`` bytes and ``line_cap`` lines of one member.

    Whether a member is gzip is told by its first bytes, not its name (``vmkernel.2.gz``
    is, but a rotation may lack the suffix).
    """

    def __init__(
        self, cap: int, line_cap: int, *, tail: bool, limits: Limits, inflate: bool = True
    ) -> None:
        self.cap, self.line_cap, self.tail, self.limits = cap, line_cap, tail, limits
        self.inflate = inflate  # False: a gzip member is kept as it is (its parser inflates)
        self.gunzip: _Gunzip | None = None
        self.decided = False
        self.parts: deque[bytes] = deque()
        self.newlines: deque[int] = deque()  # newlines in each part
        self.kept = self.kept_lines = 0
        self.seen = 0  # all bytes of the (inflated) member so far
        self.seen_lines = 0
        self.counted = True  # seen_lines holds every line (nothing was skipped unread)
        self.done = False  # nothing more is wanted: too large, corrupt or a bomb
        self.too_large = ""  # the cap a whole-file artifact exceeded, said as a reason
        self.error = ""

    def decide(self, head: bytes) -> None:
        """Set gzip or plain from the member's first bytes."""
        if not self.decided:
            self.decided = True
            if self.inflate:
                self.gunzip = unpacker(head, self.limits)

    def skipped(self, n: int) -> None:
        """``n`` bytes of the member's start were skipped unread (a plain log's tail is
        all that is kept)."""
        self.seen += n
        self.counted = False

    def write(self, chunk: bytes) -> None:
        if self.done or not chunk:
            return
        self.decide(chunk)
        if self.gunzip is None:
            self._keep(chunk)
            return
        self.gunzip.feed(chunk)
        try:
            while not self.done and (out := self.gunzip.pull(_STEP)):
                self._keep(out)
        except _Broken as err:
            self.error, self.done = str(err), True

    def _keep(self, data: bytes) -> None:
        count = data.count(b"\n")
        self.seen += len(data)
        self.seen_lines += count
        self.parts.append(data)
        self.newlines.append(count)
        self.kept += len(data)
        self.kept_lines += count
        if self.kept <= self.cap and self.kept_lines <= self.line_cap:
            return
        if not self.tail:
            over = f"more than {self.line_cap} lines" if self.kept_lines > self.line_cap else ""
            self.too_large = over or f"larger than the {_size(self.cap)} read cap"
            self.parts.clear()
            self.newlines.clear()
            self.kept = self.kept_lines = 0
            self.done = True
            return
        # drop whole chunks while the tail still starts after them (see result())
        while len(self.parts) > 1 and (
            self.kept - len(self.parts[0]) >= self.cap
            or self.kept_lines - self.newlines[0] > self.line_cap
        ):
            self.kept -= len(self.parts.popleft())
            self.kept_lines -= self.newlines.popleft()

    def _cut(self) -> None:
        """Cut the first chunk where the tail starts: at most ``cap`` bytes and ``line_cap``
        newlines, from the start of a line."""
        first = self.parts[0]
        start = max(self.kept - self.cap, 0)
        skip = self.kept_lines - self.line_cap
        if skip > 0:  # after the skip-th newline, which _keep left in the first chunk
            at = -1
            for _ in range(skip):
                at = first.find(b"\n", at + 1)
            start = max(start, at + 1)
        dropped = self.seen - self.kept + start
        if dropped and (start == 0 or first[start - 1 : start] != b"\n"):
            start = self._line_start(start)
        self._trim(start)

    def _line_start(self, start: int) -> int:
        """The offset, in the kept chunks, after the first newline at or after ``start``;
        chunks before it are dropped."""
        while self.parts:
            at = self.parts[0].find(b"\n", start)
            if at >= 0:
                return at + 1
            self.kept -= len(self.parts.popleft())
            self.newlines.popleft()
            start = 0
        return 0

    def _trim(self, start: int) -> None:
        if not self.parts or not start:
            return
        first = self.parts.popleft()
        count = self.newlines.popleft()
        gone = first[:start].count(b"\n")
        self.kept -= start
        self.kept_lines -= gone
        if start < len(first):
            self.parts.appendleft(first[start:])
            self.newlines.appendleft(count - gone)

    def result(self) -> tuple[deque[bytes], str]:
        """The kept chunks (for :func:`lines_of`) and a note on what was left out."""
        if self.gunzip is not None and not self.gunzip.finished() and not self.done:
            self.error = f"{self.gunzip.kind} data truncated after {_size(self.seen)}"
        if self.tail and self.parts:
            self._cut()
        if not self.tail or self.kept == self.seen:
            return self.parts, ""
        lines = f"{self.kept_lines} lines" if self.kept_lines >= self.line_cap else ""
        kept = f"{lines} ({_size(self.kept)})" if lines else _size(self.kept)
        if self.counted and self.seen_lines > self.kept_lines and lines:
            whole = f"{self.seen_lines} lines ({_size(self.seen)})"
        else:
            whole = _size(self.seen)
        return self.parts, f"kept the last {kept} of {whole}"

    def digest(self) -> bytes:
        """The kept bytes' :func:`content_key`."""
        return content_key(self.parts)


def content_key(parts: Iterable[bytes]) -> bytes:
    """What tells two members' kept bytes apart, so that the same content given twice is
    read once: their length and CRC-32 (isal's, at memory speed; a cryptographic digest
    costs a tenth of a second per 100 MiB), and a digest of their first 64 KiB."""
    crc, size = 0, 0
    head = hashlib.blake2b(digest_size=16)
    for part in parts:
        if size < _KEY_HEAD:
            head.update(part[: _KEY_HEAD - size])
        crc = isal_zlib.crc32(part, crc)
        size += len(part)
    return size.to_bytes(8, "little") + crc.to_bytes(4, "little") + head.digest()


class KeptText:
    """The text of the kept chunks in ``parts``, decoded as UTF-8 (or UTF-16 after its
    byte-order mark; a bad byte becomes U+FFFD), what a paste adds undone
    (:func:`~lostbeat.analyzer._paste.unpasted`: a byte-order mark, no-break spaces,
    typographic quotes, HTML entities; a text of at most 1 MiB, read whole, has the lines a
    mail wrapped joined back, :func:`~lostbeat.analyzer._unwrap.unwrapped`), ``\\r\\n`` and
    ``\\r`` read as ``\\n`` as ``open()`` does, a line longer than :data:`LINE_MAX`
    characters cut there; each chunk leaves ``parts`` as it is decoded.

    Iterated, it gives the lines one at a time; :meth:`read` gives the text in large pieces
    instead, for a parser that searches a log's text at C speed and splits out only the lines
    that matter. A reader uses one or the other.
    """

    __slots__ = ("_carried", "_decoder", "_held_cr", "_lines", "_parts", "_pieces")

    def __init__(self, parts: deque[bytes]) -> None:
        self._parts = parts
        codec = codec_of(parts[0]) if parts else "utf-8"
        self._decoder = codecs.getincrementaldecoder(codec)("replace")
        self._held_cr = False  # a piece ended in "\r": a "\n" may follow in the next one
        self._carried = 0  # characters of the unfinished last line given so far
        self._lines: Iterator[str] | None = None
        self._pieces = self._texts()  # one decoding, whichever way the text is read

    def __iter__(self) -> KeptText:
        return self

    def __next__(self) -> str:
        if self._lines is None:
            self._lines = self._split()
        return next(self._lines)

    def read(self, size: int) -> str:
        """At least ``size`` characters of the text (less only at its end), or "" at the end."""
        out: list[str] = []
        got = 0
        for text in self._pieces:
            out.append(text)
            got += len(text)
            if got >= size:
                break
        return "".join(out)

    def _texts(self) -> Iterator[str]:
        """The text in pieces of at most :data:`_PIECE` bytes' worth, lines cut to
        :data:`LINE_MAX`; the last piece ends with what the decoder held back."""
        parts = self._parts
        if sum(len(part) for part in parts) <= _WHOLE:  # a paste, perhaps wrapped: read whole
            whole = b"".join(parts)
            parts.clear()
            text = unpasted(self._decoder.decode(whole, final=True))
            if text:
                yield self._cut(unwrapped(lf_ends(text)))
            return
        while parts:
            chunk = parts.popleft()
            for at in range(0, len(chunk), _PIECE):
                text = self._decoder.decode(chunk[at : at + _PIECE])
                yield self._cut(self._normal(unpasted(text)))
        rest = ("\r" if self._held_cr else "") + self._decoder.decode(b"", final=True)
        self._held_cr = False
        if rest:
            yield self._cut(lf_ends(unpasted(rest)))

    def _normal(self, text: str) -> str:
        """``text`` with its line ends made ``\\n``, a trailing ``\\r`` held for the next."""
        if self._held_cr:
            text = "\r" + text
        self._held_cr = text.endswith("\r")
        if self._held_cr:
            text = text[:-1]
        return lf_ends(text) if "\r" in text else text

    def _cut(self, text: str) -> str:
        """``text`` with the line that runs on from earlier pieces cut at :data:`LINE_MAX`
        (a piece is shorter than ``LINE_MAX``: only a line across pieces can be longer)."""
        first = text.find("\n")
        run = len(text) if first < 0 else first
        if self._carried + run > LINE_MAX:
            keep = max(LINE_MAX - self._carried, 0)
            text = text[:keep] + ("" if first < 0 else text[first:])
        if first < 0:
            self._carried += run
        else:
            self._carried = len(text) - text.rfind("\n") - 1
        return text

    def _split(self) -> Iterator[str]:
        carry: list[str] = []  # the start of a line that goes on in the next piece
        for text in self._pieces:
            pieces = text.split("\n")
            if len(pieces) == 1:
                carry.append(pieces[0])
                continue
            if carry:
                carry.append(pieces[0])
                yield "".join(carry) + "\n"
                carry = []
            else:
                yield pieces[0] + "\n"
            for line in pieces[1:-1]:
                yield line + "\n"
            carry = [pieces[-1]] if pieces[-1] else []
        if carry:
            yield "".join(carry)


def lines_of(parts: deque[bytes]) -> KeptText:
    """The kept text of ``parts``: its lines when iterated, its pieces by ``read()``."""
    return KeptText(parts)
