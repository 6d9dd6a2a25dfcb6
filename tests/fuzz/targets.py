"""What the fuzz tests share: the targets, their bounds, their seeds and the known bugs.

Parser memory bound: ``256 KiB + 128 bytes per input byte``. A parser holds one
``(line_no, text)`` pair per line (a tuple, a str header and a list slot: about 115 bytes)
plus its records, so a file of one-byte lines, the worst case, costs some 60-100 bytes per
input byte; the real samples peak at 4-17 bytes per byte (measured with tracemalloc), and
256 KiB covers the fixed records. Anything quadratic, or sized by a number read from the
input, exceeds it.

Archive memory bound: ``kept_bytes + 3 x 4 MiB + 2 MiB``. The reader holds what it keeps,
plus one 4 MiB tar chunk (``_tarstream._CHUNK``: ``read(4 MiB)`` allocates its buffer before
the file's end shrinks it), one inflated chunk of at most 4 MiB, and the join of a tar
header that straddles two chunks; 2 MiB covers a 1 MiB compressed read and the records.
"""

from __future__ import annotations

from lostbeat.analyzer.artifacts import ARTIFACTS
from lostbeat.analyzer.parsers import PARSERS, ParserInput
from lostbeat.analyzer.sources import Collected, Limits
from tests.fuzz.corpus import Corpus
from tests.fuzz.harness import KiB, MiB

LINE_PARSERS = [p for p in PARSERS if p.takes is ParserInput.LINES]


def fuzz_path(artifact: str, where: str = "fuzz") -> str:
    """The bundle path a parser is given: its artifact's name, or, where the path itself
    says what the file is about (``proc/<pid>/cmdline``), a path of that form."""
    return f"{where}/proc/4300/cmdline" if artifact == "proc_file" else f"{where}/{artifact}"


SEED_BYTES = 1536  # mutations start from pieces of this size: small inputs, many of them

# Parsers with an open bug found by the fuzzers, by artifact name: the reason marks that
# parser's fuzz test xfail(strict=True) (test_parsers.py, test_long_lines.py), and the bug's
# minimal case goes to test_regressions.py, xfail too, until it is fixed. Empty: none open.
KNOWN_BUGS: dict[str, str] = {}
"""Undocumented exceptions, memory over the bound."""
KNOWN_QUADRATIC: dict[str, str] = {}
"""Time quadratic in the length of one line."""


def bound_of(size: int) -> int:
    """The parsers' allocation bound for an input of ``size`` bytes (module docstring)."""
    return 256 * KiB + 128 * size


def memory_bound(data: object) -> int:
    """:func:`bound_of` the input's length."""
    return bound_of(len(data) if isinstance(data, bytes | str) else 0)


def pieces(sample: bytes) -> list[bytes]:
    """A sample as it is, when small, else its first and last whole lines within 1.5 KiB."""
    if len(sample) <= SEED_BYTES:
        return [sample]
    head = sample[:SEED_BYTES].rsplit(b"\n", 1)[0] + b"\n"
    tail = sample[-SEED_BYTES:].split(b"\n", 1)[-1]
    return [head, tail]


def seeds_of(corpus: Corpus, artifact: str) -> list[bytes]:
    return [piece for sample in corpus.texts[artifact] for piece in pieces(sample)]


def every_seed(corpus: Corpus) -> list[bytes]:
    return [piece for artifact in sorted(corpus.texts) for piece in seeds_of(corpus, artifact)]


LIMITS = Limits(
    member_bytes=64 * KiB,
    kept_bytes=256 * KiB,
    inflated_bytes=32 * MiB,
    max_ratio=500,
    ratio_after=1 * MiB,
    listed=400,
    recorded=400,
)
"""Small caps, so that the fuzzed archives reach them."""
CHUNK = 4 * MiB


def archive_bound(data: object) -> int:
    """The archive reader's allocation bound (see the module docstring)."""
    return LIMITS.kept_bytes + 3 * CHUNK + 2 * MiB


def check_promises(collected: Collected, *, loose: str | None = None) -> None:
    """What the sources docstring promises of any result, whatever the input (a loose
    file's one member is named by the path given, ``loose``).

    Raises:
        AssertionError: a promise is broken (the harness reports it as a failure).
    """
    kept = 0
    for member in collected.members:
        if member.path != loose and (member.path.startswith("/") or ".." in member.path.split("/")):
            raise AssertionError(f"unsafe member kept: {member.path!r}")
        if member.artifact not in ARTIFACTS:
            raise AssertionError(f"unknown artifact {member.artifact!r}")
        if len(member.data) > LIMITS.member_bytes:
            raise AssertionError(f"{member.path}: {len(member.data)} bytes kept")
        lines = member.data.count(b"\n")
        if lines > LIMITS.member_lines:
            raise AssertionError(f"{member.path}: {lines} lines kept")
        kept += len(member.data)
    if kept > LIMITS.kept_bytes:
        raise AssertionError(f"{kept} bytes kept in all")
    if len(collected.names) > LIMITS.listed or len(collected.records) > LIMITS.recorded + 2:
        raise AssertionError(f"{len(collected.names)} names, {len(collected.records)} records")
