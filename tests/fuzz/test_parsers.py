"""Every registered parser, and every sniffer, on mutated real samples and on noise.

Each input must end in a parsed value or one of the documented errors, within the CPU bound
(1 s, against well under a millisecond for a typical input), and, on every fourth input and
every input over 16 KiB, allocate no more than ``256 KiB + 128 bytes per input byte`` at its
peak (the reasoning is in targets.py). Lines are cut to 1 KiB here; longer ones have
test_long_lines.py.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import pytest

from lostbeat.analyzer.artifacts import sniff_kind
from lostbeat.analyzer.parsers import PARSERS, Parser, parser_for
from lostbeat.analyzer.parsers.coredumps import parse_coredumps
from lostbeat.errors import LostbeatError
from tests.fuzz.corpus import Corpus
from tests.fuzz.harness import Mutator, as_text, report, run_inputs, scaled
from tests.fuzz.targets import (
    KNOWN_BUGS,
    LINE_PARSERS,
    every_seed,
    fuzz_path,
    memory_bound,
    seeds_of,
)

PER_PARSER = 5500


def _param(parser: Parser) -> object:
    reason = KNOWN_BUGS.get(parser.artifact)
    marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
    return pytest.param(parser, id=parser.artifact, marks=marks)


@pytest.mark.timeout(240)
@pytest.mark.parametrize("parser", [_param(p) for p in LINE_PARSERS])
def test_mutated_samples_raise_only_documented_errors(parser: Parser, corpus: Corpus) -> None:
    seeds = seeds_of(corpus, parser.artifact)
    assert seeds, f"no sample for {parser.artifact}"
    mutator = Mutator(seeds, others=every_seed(corpus), seed=parser.artifact)
    whole = corpus.texts[parser.artifact]  # the full-size samples too, once each

    def payloads() -> Iterator[str]:
        inputs = itertools.chain(whole, mutator.inputs(scaled(PER_PARSER)))
        return (as_text(data, i % 3) for i, data in enumerate(inputs))

    def call(text: bytes | str) -> object:
        assert isinstance(text, str)
        return parser.parse(text.splitlines(), path=fuzz_path(parser.artifact))

    failures = run_inputs(
        parser.artifact, payloads(), call, memory_bound=memory_bound, memory_every=4
    )
    assert not failures, report(failures)


@pytest.mark.timeout(120)
def test_sniffers_answer_true_or_false_and_nothing_else(corpus: Corpus) -> None:
    mutator = Mutator(every_seed(corpus), seed="sniffers")
    sniffers = [p.looks_like for p in PARSERS if p.looks_like is not None]

    def call(data: bytes | str) -> object:
        text = data.decode("utf-8", "replace") if isinstance(data, bytes) else data
        try:
            answers = [looks_like(text) for looks_like in sniffers]
            kind, parser = sniff_kind(text), parser_for(text)
        except LostbeatError as err:  # documented for parsers, never for a sniffer
            raise AssertionError(f"a sniffer raised {err!r}") from err
        if not all(isinstance(a, bool) for a in answers):
            raise AssertionError(f"a sniffer answered {answers!r}")
        if (kind is None) != (parser is None):
            raise AssertionError(f"sniff_kind {kind!r} but parser_for {parser!r}")
        return answers

    failures = run_inputs(
        "sniffers", mutator.inputs(scaled(10000)), call, memory_bound=memory_bound, parser=False
    )
    assert not failures, report(failures)


@pytest.mark.timeout(120)
def test_core_dump_inventory_of_mutated_member_names(corpus: Corpus) -> None:
    listings = ["\n".join(names).encode() for names in corpus.names]
    mutator = Mutator(listings, seed="coredumps")

    def call(data: bytes | str) -> object:
        text = data.decode("utf-8", "replace") if isinstance(data, bytes) else data
        inventory = parse_coredumps(text.split("\n"))
        for found in (*inventory.vmkernel, *inventory.cos):
            if found not in text:
                raise AssertionError(f"{found!r} is not one of the names given")
        return inventory

    failures = run_inputs(
        "coredumps", mutator.inputs(scaled(14000)), call, memory_bound=memory_bound, memory_every=4
    )
    assert not failures, report(failures)
