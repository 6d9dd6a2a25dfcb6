"""A recording shard's lines for ``ShardReader``, read within bounds (not a parser itself).

:class:`ShardLines` inflates a gzip shard as its lines are read, never the whole shard at
once, up to a limit, and keeps the reader's problems to the first ``MAX_PROBLEMS`` while it
reads; :class:`ShardProblems` gathers those of every shard of a recording.

Examples:
    >>> import gzip
    >>> list(ShardLines(gzip.compress(b"a\\nb"), limit=10))
    [b'a\\n', b'b']
    >>> lines = ShardLines(gzip.compress(b"x" * 100), limit=10)
    >>> list(lines), lines.error
    ([], 'inflates past 10 bytes')
"""

from __future__ import annotations

import io
from collections.abc import Iterator, Sequence
from typing import cast

from isal import isal_zlib

from lostbeat.recording.reader import Problem, ShardReader

__all__ = ["MAX_PROBLEMS", "ShardLines", "ShardProblems"]

MAX_PROBLEMS = 100
"""Unusable lines or files of a recording kept (the first ones); the others are counted."""
_INFLATE_ERROR = cast("type[Exception]", isal_zlib.error)  # a class at run time


class ShardLines:
    """A shard's lines as the reader takes them, inflated as they are read (never the whole
    shard at once), at most ``limit`` bytes of them; it keeps the reader's problems to the
    first :data:`MAX_PROBLEMS` meanwhile, counting the rest."""

    def __init__(self, data: bytes, *, limit: int) -> None:
        self.data, self.limit = data, limit
        self.reader: ShardReader | None = None
        self.dropped = 0
        self.error = ""  # why the inflation stopped early

    def _trim(self) -> None:
        problems = self.reader.problems if self.reader is not None else []
        if len(problems) > MAX_PROBLEMS:
            self.dropped += len(problems) - MAX_PROBLEMS
            del problems[MAX_PROBLEMS:]

    def __iter__(self) -> Iterator[bytes]:
        for count, line in enumerate(self._lines()):
            if count % 4096 == 0:
                self._trim()
            yield line
        self._trim()

    def _lines(self) -> Iterator[bytes]:
        if self.data[:2] != b"\x1f\x8b":
            yield from io.BytesIO(self.data)
            return
        carry = b""
        try:
            for chunk in _inflated(self.data, limit=self.limit):
                lines = (carry + chunk).split(b"\n")
                carry = lines.pop()
                for line in lines:
                    yield line + b"\n"
        except ValueError as err:
            self.error = str(err)
        if carry:
            yield carry


def _inflated(data: bytes, *, limit: int) -> Iterator[bytes]:
    """The inflated chunks of gzip ``data`` (concatenated members too), 1 MiB at a time.

    Raises:
        ValueError: damaged, truncated, or inflating past ``limit`` bytes.
    """
    done, rest = 0, data
    while rest:
        inflater = isal_zlib.decompressobj(31)
        pending = rest
        while pending and not inflater.eof:
            try:
                out = inflater.decompress(pending, 2**20)
            except _INFLATE_ERROR as err:
                raise ValueError(f"damaged gzip stream: {err}") from None
            done += len(out)
            if done > limit:
                raise ValueError(f"inflates past {limit} bytes")
            pending = inflater.unconsumed_tail
            if out:
                yield out
            elif not pending:
                break
        if not inflater.eof:
            raise ValueError("truncated gzip stream")
        rest = inflater.unused_data  # a further gzip member, as `cat a.gz b.gz` makes


class ShardProblems:
    """The first :data:`MAX_PROBLEMS` problems of a recording, and how many in all."""

    def __init__(self) -> None:
        self.kept: list[Problem] = []
        self.count = 0

    def add(self, found: Sequence[Problem], *, more: int = 0) -> None:
        self.count += len(found) + more
        self.kept.extend(found[: MAX_PROBLEMS - len(self.kept)])
