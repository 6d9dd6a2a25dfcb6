"""The fuzz harness: deterministic mutations, a CPU deadline and a memory bound per input.

Every input is run by :func:`run_inputs`, which checks three things:

* only the documented errors escape (:data:`DOCUMENTED`); anything else is a failure whose
  signature is the exception type and the innermost ``lostbeat/`` frame that raised it;
* the call ends within a CPU-time bound (``ITIMER_PROF``, so a loaded machine does not
  make it fire: only a call that keeps computing does). The handler raises :class:`Hang`
  inside the looping code; a C call that cannot be interrupted is caught afterwards by
  the CPU time it took;
* the peak of the memory it allocates (``tracemalloc``, measured from the call's start)
  stays under a bound that is linear in the input's size (targets.py gives the bounds and
  the reasoning behind them).

Failures are shrunk (lines, then characters or bytes, while the signature stays the same)
so that each distinct bug is reported once, with a minimal reproducer.

Mutations are those of classic fuzzers (bit flips, interesting bytes, deletions,
duplications, splices of other samples), plus line-level ones and tokens known to trip
parsers: numbers beyond Python's 4300-digit ``int`` limit, Unicode digits that
``str.isdigit`` accepts but ``int`` refuses, line separators that ``splitlines`` honours.
All randomness comes from ``random.Random(seed)``: the same seed gives the same inputs.
"""

from __future__ import annotations

import os
import random
import re
import signal
import time
import traceback
import tracemalloc
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from types import FrameType
from typing import Any, TypeVar

from lostbeat.errors import ArtifactMissing, InputError, ParseError, RecordingCorrupt

DOCUMENTED = (ParseError, ArtifactMissing, InputError, RecordingCorrupt)
"""The errors a parser or the archive reader may raise on bad input (``UnsafeMember`` is an
``InputError``)."""

SCALE = float(os.environ.get("LOSTBEAT_FUZZ_SCALE", "1"))
"""Multiplies every input count: ``LOSTBEAT_FUZZ_SCALE=10`` for a longer local run."""

KiB = 1024
MiB = 1024 * KiB
_P = TypeVar("_P", bytes, str)
MAX_INPUT = 256 * KiB
"""Mutations are cut to this size: the bounds are about per-byte cost, not sheer size."""
MAX_LINE = 1 * KiB
"""And their lines to this length: very long lines have a test of their own
(test_long_lines.py), so that a parser that is slow on them does not hide its other bugs."""


def scaled(count: int) -> int:
    return max(1, int(count * SCALE))


class Hang(BaseException):  # noqa: N818 - not an error of the code under test, a verdict
    """Raised by the CPU-time alarm inside a call that exceeded its bound. A BaseException,
    so that no ``except Exception`` in the code under test can swallow it."""


@dataclass(frozen=True)
class Failure:
    target: str
    kind: str  # "exception", "hang" or "memory"
    signature: str
    detail: str
    data: object  # the (shrunk) input

    def describe(self) -> str:
        shown = repr(self.data)
        if len(shown) > 600:
            shown = shown[:600] + f"... ({len(shown)} chars)"
        return (
            f"[{self.target}] {self.kind}: {self.signature}\n    {self.detail}\n    input: {shown}"
        )


@dataclass
class Tally:
    """What the session fuzzed; printed by conftest's terminal summary."""

    inputs: Counter[str] = field(default_factory=Counter)
    failures: list[Failure] = field(default_factory=list)
    parsers: set[str] = field(default_factory=set)

    def total(self) -> int:
        return sum(self.inputs.values())


TALLY = Tally()


# --- running one input -------------------------------------------------------------------


class _Alarm:
    """A CPU-time deadline: ``ITIMER_PROF`` counts the process's user and system time."""

    def __init__(self) -> None:
        self.armed = False
        self._previous = signal.signal(signal.SIGPROF, self._fire)

    def _fire(self, signum: int, frame: FrameType | None) -> None:
        if self.armed:
            self.armed = False
            raise Hang

    def arm(self, seconds: float) -> None:
        self.armed = True
        signal.setitimer(signal.ITIMER_PROF, seconds)

    def disarm(self) -> None:
        self.armed = False
        signal.setitimer(signal.ITIMER_PROF, 0)

    def close(self) -> None:
        self.disarm()
        signal.signal(signal.SIGPROF, self._previous)


def _where(err: BaseException) -> str:
    """The innermost frame of lostbeat's own code in the traceback (else the innermost
    frame), as ``path:line`` relative to the repository."""
    frames = traceback.extract_tb(err.__traceback__)
    ours = [f for f in frames if f"{os.sep}lostbeat{os.sep}" in f.filename]
    ours = [f for f in ours if f"{os.sep}tests{os.sep}" not in f.filename] or frames
    if not ours:
        return "?"
    frame = ours[-1]
    name = frame.filename
    for marker in (f"{os.sep}lostbeat{os.sep}", f"{os.sep}tests{os.sep}"):
        if marker in name:
            name = marker.strip(os.sep) + os.sep + name.rsplit(marker, 1)[1]
            break
    return f"{name}:{frame.lineno}"


@dataclass(frozen=True)
class Verdict:
    kind: str  # "ok", "exception", "hang", "memory"
    signature: str = ""
    detail: str = ""


class Runner:
    """Runs calls under the CPU deadline, and under tracemalloc when given a memory bound."""

    def __init__(self, *, cpu_s: float) -> None:
        self.cpu_s = cpu_s

    def __enter__(self) -> Runner:
        self._alarm = _Alarm()
        return self

    def __exit__(self, *exc: object) -> None:
        self._alarm.close()

    def check(self, call: Callable[[], object], *, memory_bound: int | None) -> Verdict:
        """Run ``call`` once; with ``memory_bound``, its allocation peak is measured too."""
        tracing = memory_bound is not None and not tracemalloc.is_tracing()
        if tracing:
            tracemalloc.start(1)
        try:
            return self._check(call, memory_bound)
        finally:
            if tracing:
                tracemalloc.stop()

    def _check(self, call: Callable[[], object], memory_bound: int | None) -> Verdict:
        if memory_bound is not None:
            tracemalloc.reset_peak()
            base = tracemalloc.get_traced_memory()[0]
        started = time.process_time()
        try:
            self._alarm.arm(self.cpu_s)
            try:
                call()
            finally:
                self._alarm.disarm()
        except Hang as err:
            return Verdict("hang", f"Hang at {_where(err)}", f"more than {self.cpu_s:g} s of CPU")
        except DOCUMENTED:
            pass
        except Exception as err:  # noqa: BLE001 - the point: anything else is a finding
            sig = f"{type(err).__name__} at {_where(err)}"
            return Verdict("exception", sig, f"{type(err).__name__}: {str(err)[:200]}")
        spent = time.process_time() - started
        if spent > self.cpu_s:
            return Verdict("hang", "Hang in a call that ignored signals", f"took {spent:.2f} s")
        if memory_bound is not None:
            peak = tracemalloc.get_traced_memory()[1] - base
            if peak > memory_bound:
                return Verdict(
                    "memory",
                    "allocation peak over the bound",
                    f"peak {peak} bytes > bound {memory_bound} bytes",
                )
        return Verdict("ok")


# --- shrinking ---------------------------------------------------------------------------


def shrink(
    data: bytes | str, still_fails: Callable[[bytes | str], bool], *, budget: int = 1500
) -> bytes | str:
    """A smaller input that still fails the same way: drop chunks of lines, then of
    characters, halving the chunk size (ddmin-like), within ``budget`` tries."""
    tries = 0

    def attempt(candidate: bytes | str) -> bool:
        nonlocal tries
        tries += 1
        return tries <= budget and still_fails(candidate)

    def reduce(parts: list[_P], join: Callable[[list[_P]], bytes | str]) -> list[_P]:
        chunk = max(1, len(parts) // 2)
        while chunk >= 1 and tries < budget:
            i, progressed = 0, False
            while i < len(parts) and tries < budget:
                candidate = parts[:i] + parts[i + chunk :]
                if candidate and attempt(join(candidate)):
                    parts, progressed = candidate, True
                else:
                    i += chunk
            if not progressed:
                chunk //= 2
        return parts

    if isinstance(data, bytes):
        joined_b = b"".join(reduce(data.splitlines(keepends=True), b"".join))
        return b"".join(reduce([joined_b[i : i + 1] for i in range(len(joined_b))], b"".join))
    joined_s = "".join(reduce(data.splitlines(keepends=True), "".join))
    return "".join(reduce(list(joined_s), "".join))


# --- the loop ----------------------------------------------------------------------------


def run_inputs(
    target: str,
    payloads: Iterable[Any],
    call: Callable[[Any], object],
    *,
    cpu_s: float = 1.0,
    memory_bound: Callable[[Any], int] | None = None,
    memory_every: int = 1,
    measure_over: int | None = 16 * KiB,
    size: Callable[[Any], int] = len,
    parser: bool = True,
    after_hang_s: float = 0.25,
) -> list[Failure]:
    """Feed every payload to ``call``; returns one failure per distinct signature.

    Args:
        target: the name counted in the session summary.
        payloads: the inputs (bytes or text, or any value ``size`` measures), made lazily.
        call: runs the code under test on one payload.
        cpu_s: the CPU-time bound of one call.
        memory_bound: the allocation bound for one payload, or None for no check.
        memory_every: check the memory of every n-th payload (tracemalloc slows a call
            several times)...
        measure_over: ...and of every payload larger than this, if not None.
        size: a payload's size in bytes.
        parser: count ``target`` among the parsers in the summary.
        after_hang_s: the CPU bound once a hang was found: the target has failed already,
            so further hangs (other signatures) are cut short rather than waited for.
    """
    seen: dict[str, Failure] = {}
    count = 0
    with Runner(cpu_s=cpu_s) as runner:

        def verdict(data: Any, *, measure: bool) -> Verdict:
            bound = memory_bound(data) if memory_bound is not None and measure else None
            return runner.check(lambda: call(data), memory_bound=bound)

        for data in payloads:
            count += 1
            measure = count % memory_every == 0 or (
                measure_over is not None and size(data) > measure_over
            )
            found = verdict(data, measure=measure)
            if found.kind == "ok" or found.signature in seen:
                continue
            if found.kind == "hang":
                runner.cpu_s = min(runner.cpu_s, after_hang_s)
            small = data
            if found.kind == "exception" and isinstance(data, bytes | str):

                def same(candidate: bytes | str, want: str = found.signature) -> bool:
                    return verdict(candidate, measure=False).signature == want

                small = shrink(data, same)
            seen[found.signature] = Failure(
                target, found.kind, found.signature, found.detail, small
            )
    TALLY.inputs[target] += count
    if parser:
        TALLY.parsers.add(target)
    failures = list(seen.values())
    TALLY.failures.extend(failures)
    return failures


def report(failures: Sequence[Failure]) -> str:
    return f"{len(failures)} distinct failures:\n" + "\n".join(f.describe() for f in failures)


# --- mutations ---------------------------------------------------------------------------

TOKENS: tuple[bytes, ...] = (
    b"0",
    b"-1",
    b"-0",
    b"18446744073709551615",
    b"9" * 40,
    b"9" * 4400,  # past CPython's 4300-digit int() limit
    "١٢٣".encode(),  # Arabic-Indic digits: \d and int() accept them
    "²".encode(),  # str.isdigit() says yes, int() says no
    "１２".encode(),  # fullwidth digits
    b"1e999",
    b"nan",
    b"inf",
    b"0x1f",
    b"1.2.3",
    b"..",
    b"/",
    b"../../etc/passwd",
    b":",
    b"=",
    b" ",
    b"\t",
    b"\x00",
    b"\r",
    b"\n",
    b"\r\n",
    "\u2028".encode(),  # a line separator for str.splitlines
    b"\x85",  # NEL when decoded as latin-1
    b"\x0b",
    b"\x1c",
    b"\xff\xfe",
    b"\xc3",
    b"%s%n",
    b"{}",
    b"[",
    b"]",
    b"(",
    b")",
    b'"',
    b"\\",
    b"kB",
    b"MB",
    b" " * 300,
    b"A" * 5000,
    b"[" * 2000,
    b"{" * 2000,
)


_DIGITS = re.compile(rb"[0-9]+")


class Mutator:
    """Deterministic mutations of sample files."""

    def __init__(self, seeds: Sequence[bytes], *, others: Sequence[bytes] = (), seed: str) -> None:
        if not seeds:
            raise ValueError("a mutator needs at least one seed")
        self.seeds = list(seeds)
        self.others = list(others) or self.seeds
        self.rng = random.Random(seed)

    def _span(self, data: bytearray) -> tuple[int, int]:
        start = self.rng.randrange(len(data) + 1)
        length = min(len(data) - start, int(self.rng.expovariate(1 / 16)) + 1)
        return start, start + length

    def _lines(self, data: bytes) -> list[bytes]:
        return data.splitlines(keepends=True) or [b""]

    def mutate(self, data: bytes) -> bytes:
        rng = self.rng
        buf = bytearray(data)
        for _ in range(rng.choice((1, 1, 2, 3, 5))):
            op = rng.randrange(12)
            if op == 0 and buf:  # flip bits
                at = rng.randrange(len(buf))
                buf[at] ^= 1 << rng.randrange(8)
            elif op == 1 and buf:  # an interesting byte
                buf[rng.randrange(len(buf))] = rng.choice(b"\x00\xff\x7f\x80\n\r :=-./09aZ")
            elif op == 2:  # delete a span
                a, b = self._span(buf)
                del buf[a:b]
            elif op == 3:  # duplicate a span
                a, b = self._span(buf)
                buf[a:a] = buf[a:b] * rng.choice((1, 2, 8))
            elif op == 4:  # insert a token
                at = rng.randrange(len(buf) + 1)
                buf[at:at] = rng.choice(TOKENS)
            elif op == 5:  # replace a number by a token
                numbers = list(_DIGITS.finditer(buf))
                if numbers:
                    found = rng.choice(numbers)
                    buf[found.start() : found.end()] = rng.choice(TOKENS[:16])
            elif op == 6:  # random bytes
                at = rng.randrange(len(buf) + 1)
                buf[at:at] = rng.randbytes(rng.randrange(1, 24))
            elif op == 7:  # splice lines of another sample
                lines, other = self._lines(bytes(buf)), self._lines(rng.choice(self.others))
                at, take = rng.randrange(len(lines) + 1), rng.randrange(len(other))
                lines[at:at] = other[take : take + rng.randrange(1, 8)]
                buf = bytearray(b"".join(lines))
            elif op == 8:  # repeat one line many times
                lines = self._lines(bytes(buf))
                at = rng.randrange(len(lines))
                times = min(rng.choice((2, 50, 500)), MAX_INPUT // max(1, len(lines[at])))
                lines[at:at] = [lines[at]] * times
                buf = bytearray(b"".join(lines))
            elif op == 9:  # drop or swap lines
                lines = self._lines(bytes(buf))
                a, b = rng.randrange(len(lines)), rng.randrange(len(lines))
                if rng.random() < 0.5:
                    del lines[min(a, b) : max(a, b) + 1]
                else:
                    lines[a], lines[b] = lines[b], lines[a]
                buf = bytearray(b"".join(lines))
            elif op == 10:  # truncate
                del buf[rng.randrange(len(buf) + 1) :]
            else:  # a long line (the very long ones are test_long_lines.py's)
                at = rng.randrange(len(buf) + 1)
                buf[at:at] = rng.choice((b"x", b"9", b" ", b"\t", b"=", b"ab ")) * rng.choice(
                    (200, 2000)
                )
            del buf[MAX_INPUT:]  # later steps work on a bounded buffer
        lines = bytes(buf).split(b"\n")
        if max(map(len, lines)) > MAX_LINE:
            return b"\n".join(line[:MAX_LINE] for line in lines)
        return bytes(buf)

    def inputs(self, count: int) -> Iterable[bytes]:
        """``count`` inputs: mostly mutations of a seed, some seeds as they are, some noise."""
        rng = self.rng
        for i in range(count):
            roll = rng.random()
            if i < len(self.seeds):
                yield self.seeds[i]
            elif roll < 0.05:
                yield rng.randbytes(rng.randrange(0, 512))
            elif roll < 0.08:
                yield bytes(rng.choice(b" \n:=0123456789abcdefkB.-/()[]") for _ in range(200))
            else:
                yield self.mutate(rng.choice(self.seeds))


def as_text(data: bytes, form: int) -> str:
    """A file's bytes as a parser's caller decodes them: the engine's UTF-8 with
    replacement (``form`` 0 or 1), or latin-1 (``form`` 2: every byte a character, so NEL,
    NUL and the C1 controls reach the parser)."""
    return data.decode("latin-1") if form == 2 else data.decode("utf-8", "replace")
