"""Very long lines: each parser and sniffer must stay linear in the length of a line.

A bundle member may hold 64 MiB (``Limits.member_bytes``) and a loose file's kind is sniffed
from its first 64 KiB, all of it possibly one line. A regular expression that backtracks over
the rest of the line from every position (``\\w+=`` over a long word, ``.*`` before a fixed
string that recurs, ``\\s+`` in a lazy loop over a long run of blanks) is quadratic: a
50 000-character line then costs seconds instead of milliseconds, and 64 MiB costs days.

Each parser gets, for 16 of its sample lines of distinct shapes (``key=value`` lines
first), that line with a 30 000-character run (digits, blanks, tabs, letters, ``=``, ``:``,
a repeated word) inserted at its start, in its middle, at its end and after its first
separators, and the line (or its first half) repeated to 30 000 characters; the rest of the
sample stays around it. The bound is 1 s of CPU per input, against a few milliseconds for a
parser that is linear on such a line.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

import pytest

from lostbeat.analyzer.parsers import PARSERS, Parser
from lostbeat.errors import LostbeatError
from tests.fuzz.corpus import Corpus
from tests.fuzz.harness import report, run_inputs
from tests.fuzz.targets import (
    KNOWN_QUADRATIC,
    LINE_PARSERS,
    fuzz_path,
    memory_bound,
    seeds_of,
)

pytestmark = pytest.mark.timeout(120)

RUN = 30_000
FILLERS = ("9", " ", "\t", "a", "=", ":", "ab ")
LINES_PER_PARSER = 16


def _shape(line: str) -> str:
    return re.sub(r"[A-Za-z]+", "a", re.sub(r"[0-9]+", "9", line))[:40]


def chosen_lines(samples: list[str]) -> list[tuple[int, int]]:
    """(sample, line) indexes of up to 16 lines of distinct shapes, ``key=value`` ones first."""
    seen: dict[str, tuple[int, int]] = {}
    for number, sample in enumerate(samples):
        for index, line in enumerate(sample.split("\n")):
            if line.strip():
                seen.setdefault(_shape(line), (number, index))
    lines = [samples[n].split("\n")[i] for n, i in seen.values()]
    ranked = sorted(zip(lines, seen.values(), strict=True), key=lambda c: "=" not in c[0])
    return [where for _, where in ranked[:LINES_PER_PARSER]]


def long_versions(line: str) -> Iterator[str]:
    """The line with a long run inserted at its start, middle and end and after its first
    separators, then repeated, then its first half repeated (a prefix that recurs)."""
    keys = [m.end() for m in re.finditer(r"=", line)][:3]
    marks = [m.end() for m in re.finditer(r"[:(]", line)][:2]
    cuts = sorted({0, len(line) // 2, len(line), *keys, *marks})
    for filler in FILLERS:
        run = filler * (RUN // len(filler))
        for cut in cuts:
            yield line[:cut] + run + line[cut:]
    if line:
        half = line[: len(line) // 2 + 1]
        yield (line + " ") * (RUN // (len(line) + 1))
        yield line * (RUN // len(line))
        yield half * (RUN // len(half))


def inputs(samples: list[str]) -> Iterator[str]:
    for number, index in chosen_lines(samples):
        lines = samples[number].split("\n")
        for long in long_versions(lines[index]):
            yield "\n".join([*lines[:index], long, *lines[index + 1 :]])


def _param(parser: Parser | None) -> object:
    name = "sniffers" if parser is None else parser.artifact
    reason = KNOWN_QUADRATIC.get(name)
    marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
    return pytest.param(parser, id=name, marks=marks)


def _sniff_all(text: str) -> object:
    try:
        return [p.looks_like(text) for p in PARSERS if p.looks_like is not None]
    except LostbeatError as err:
        raise AssertionError(f"a sniffer raised {err!r}") from err


@pytest.mark.timeout(180)
@pytest.mark.parametrize("parser", [*(_param(p) for p in LINE_PARSERS), _param(None)])
def test_a_very_long_line_costs_linear_time(parser: Parser | None, corpus: Corpus) -> None:
    artifacts = sorted(corpus.texts) if parser is None else [parser.artifact]
    samples = [
        [piece.decode("utf-8", "replace") for piece in seeds_of(corpus, artifact)]
        for artifact in artifacts
    ]
    name = "sniffers" if parser is None else parser.artifact
    if parser is None:
        call: Callable[[bytes | str], object] = lambda text: _sniff_all(str(text))  # noqa: E731
    else:
        path = fuzz_path(name)
        call = lambda text: parser.parse(str(text).splitlines(), path=path)  # noqa: E731
    payloads = (text for group in samples for text in inputs(group))
    failures = run_inputs(
        f"{name} (long lines)",
        payloads,
        call,
        memory_bound=memory_bound,
        memory_every=10,
        measure_over=None,
        parser=False,
    )
    assert not failures, report(failures)


def test_the_long_line_inputs_are_what_they_claim() -> None:
    samples = ["MemTotal: 1 kB\nSwapTotal: 2 kB\n", "Swap total=2\n"]
    assert chosen_lines(samples) == [(1, 0), (0, 0)]  # one shape each; key=value first
    made = list(inputs(samples))
    # "Swap total=2": cuts 0, 6, 11, 12; "MemTotal: 1 kB": cuts 0, 7, 9, 14
    assert len(made) == 2 * (len(FILLERS) * 4 + 3)
    assert all(max(map(len, text.split("\n"))) >= RUN - 20 for text in made)
    assert [t for t in made if t.startswith("Swap total=9")] == ["Swap total=" + "9" * RUN + "2\n"]
    assert sum(text.endswith("\nSwapTotal: 2 kB\n") for text in made) == len(made) // 2
