"""Fuzzing throughput: what one input costs each target, bare and under the harness's checks.

For every line parser, the sniffers and the archive reader, generates the same mutated
inputs as tests/fuzz (seeded, so every run sees the same inputs) and times three ways of
running them: the bare call, the call under the harness's CPU alarm (what every input
pays), and under tracemalloc as well (what the memory check costs the inputs it measures).
Prints a table of microseconds per input and inputs per second.

Usage::

    .venv/bin/python benchmarks/fuzz.py [--inputs 2000]
"""

from __future__ import annotations

import argparse
import gc
import gzip
import sys
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the tests' fuzz harness

from lostbeat.analyzer.parsers import PARSERS  # noqa: E402
from lostbeat.analyzer.sources import open_source  # noqa: E402
from lostbeat.errors import LostbeatError  # noqa: E402
from tests.fuzz.corpus import build  # noqa: E402
from tests.fuzz.harness import Mutator, Runner, as_text  # noqa: E402
from tests.fuzz.targets import LIMITS, LINE_PARSERS, every_seed, seeds_of  # noqa: E402


def _time(
    calls: list[Callable[[], object]], wrap: Callable[[Callable[[], object]], object]
) -> float:
    gc.collect()
    started = time.perf_counter()
    for call in calls:
        wrap(call)
    return time.perf_counter() - started


def _bare(call: Callable[[], object]) -> object:
    try:
        return call()
    except LostbeatError:
        return None


def _parse(parse: Callable[..., object], text: str) -> object:
    return parse(text.splitlines(), path="bench")


def _sniff(sniffers: list[Callable[[str], bool]], text: str) -> object:
    return [looks_like(text) for looks_like in sniffers]


def _collect(path: Path) -> object:
    return open_source(path, limits=LIMITS).collect()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--inputs", type=int, default=2000, help="inputs per target")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="lostbeat-fuzz-bench-"))
    corpus = build(work)
    targets: list[tuple[str, list[Callable[[], object]]]] = []
    for p in LINE_PARSERS:
        mutator = Mutator(seeds_of(corpus, p.artifact), others=every_seed(corpus), seed=p.artifact)
        texts = [as_text(d, i % 3) for i, d in enumerate(mutator.inputs(args.inputs))]
        targets.append((p.artifact, [partial(_parse, p.parse, t) for t in texts]))
    sniffers = [p.looks_like for p in PARSERS if p.looks_like is not None]
    texts = [
        as_text(d, 0) for d in Mutator(every_seed(corpus), seed="sniffers").inputs(args.inputs)
    ]
    targets.append(("sniffers", [partial(_sniff, sniffers, t) for t in texts]))
    archives = []
    for i, data in enumerate(Mutator(corpus.tars, seed="tar").inputs(args.inputs // 4)):
        path = work / f"in-{i}.{'tgz' if i % 2 else 'tar'}"
        path.write_bytes(gzip.compress(data, mtime=0) if i % 2 else data)
        archives.append(path)
    targets.append(("archive (tar)", [partial(_collect, p) for p in archives]))

    head = ("target", "inputs", "bare us", "alarm us", "traced us", "alarm/s")
    print("{:<16} {:>7} {:>9} {:>9} {:>10} {:>9}".format(*head))
    with Runner(cpu_s=5.0) as runner:
        for name, calls in targets:
            bare = _time(calls, _bare)
            alarmed = _time(calls, lambda c: runner.check(c, memory_bound=None))
            traced = _time(calls, lambda c: runner.check(c, memory_bound=1 << 40))
            n = len(calls)
            print(
                f"{name:<16} {n:>7} {bare / n * 1e6:>9.0f} {alarmed / n * 1e6:>9.0f} "
                f"{traced / n * 1e6:>10.0f} {n / alarmed:>9.0f}"
            )


if __name__ == "__main__":
    main()
