"""The recording parser on mutated recordings: damaged shards, names, markers and gzip.

The seed is a recording written by the recorder's own store (corpus.py): a compressed raw
day with its minute and hour shards, the open raw shard and the marker. Each input changes
one file: its lines mutated and their CRC recomputed (so that the mutation gets past the
CRC check into the JSON and the schema), its bytes mutated as they are, its gzip stream
mutated before or after inflation, its name changed, or the file dropped or copied under
another day. ``parse_recording`` may only return a recording (bad lines and files listed in
``problems``) or raise ParseError, ArtifactMissing or RecordingCorrupt.

Memory bound: ``256 KiB + 128 bytes per inflated input byte`` (targets.py's reasoning, for
the lines of every shard once inflated).
"""

from __future__ import annotations

import gzip
import random
import zlib
from collections.abc import Iterator

import pytest

from lostbeat.analyzer.parsers.recordings import parse_recording
from tests.fuzz.corpus import Corpus
from tests.fuzz.harness import KiB, MiB, Mutator, report, run_inputs, scaled
from tests.fuzz.targets import bound_of

pytestmark = pytest.mark.timeout(120)

Files = tuple[tuple[str, bytes], ...]

NAMES = (
    "raw/2024-13-40.jsonl",
    "raw/0001-01-01.jsonl",
    "raw/9999-12-31.jsonl.gz",
    "hour/2024-05-01.jsonl",
    "minute/2024-05-02.jsonl.gz",
    "raw/2024-05-01.jsonl",
    "../raw/2024-05-01.jsonl",
    "x/raw/2024-05-03.jsonl",
    "raw/2024-05-01.jsonl.gz.tmp",
    "lostbeat-recording.json",
)


def reframe(line: bytes) -> bytes:
    """A shard line with its CRC made right again for whatever its payload now is."""
    payload = line[9:].rstrip(b"\n")
    return b"%08x %s\n" % (zlib.crc32(payload), payload)


class RecordingMutator:
    def __init__(self, files: Files) -> None:
        self.files = files
        texts = [gzip.decompress(d) if d[:2] == b"\x1f\x8b" else d for _, d in files]
        self.bytes = Mutator(texts, seed="recording")
        self.rng = random.Random("recording-files")

    def _lines(self, text: bytes) -> bytes:
        lines = text.splitlines(keepends=True) or [b""]
        for _ in range(self.rng.choice((1, 1, 2, 4))):
            at = self.rng.randrange(len(lines))
            line = lines[at]
            if len(line) > 9 and line[8:9] == b" ":
                payload = self.bytes.mutate(line[9:].rstrip(b"\n")).replace(b"\n", b" ")
                lines[at] = reframe(line[:9] + payload)
            else:
                lines[at] = self.bytes.mutate(line)
        return b"".join(lines)

    def mutate(self) -> Files:
        rng = self.rng
        files = list(self.files)
        at = rng.randrange(len(files))
        name, data = files[at]
        gz = data[:2] == b"\x1f\x8b"
        text = gzip.decompress(data) if gz else data
        op = rng.randrange(8)
        if op <= 2:  # lines, CRC fixed
            changed = self._lines(text)
            files[at] = (name, gzip.compress(changed, mtime=0) if gz else changed)
        elif op == 3:  # bytes as they are (CRC, gzip header and trailer broken)
            files[at] = (name, self.bytes.mutate(data))
        elif op == 4:  # the inflated bytes, then compressed again
            files[at] = (name, gzip.compress(self.bytes.mutate(text), mtime=0))
        elif op == 5:  # another name
            files[at] = (rng.choice(NAMES), data)
        elif op == 6:  # dropped
            del files[at]
        else:  # copied under another name
            files.append((rng.choice(NAMES), data))
        return tuple(files)

    def inputs(self, count: int) -> Iterator[Files]:
        yield self.files
        for _ in range(count - 1):
            yield self.mutate()


def inflated_size(files: object) -> int:
    assert isinstance(files, tuple)
    total = 0
    for _, data in files:
        if data[:2] == b"\x1f\x8b":
            inflater = zlib.decompressobj(31)
            try:  # as much as the data really holds, up to 64 MiB
                total += len(inflater.decompress(data, 64 * MiB))
            except zlib.error:
                total += len(data)
        else:
            total += len(data)
    return total


@pytest.mark.timeout(120)
def test_mutated_recordings_raise_only_documented_errors(corpus: Corpus) -> None:
    mutator = RecordingMutator(tuple(corpus.recording))

    def call(files: Files) -> object:
        return parse_recording(files, path="fuzz/recording")

    failures = run_inputs(
        "recording",
        mutator.inputs(scaled(2000)),
        call,
        memory_bound=lambda files: bound_of(inflated_size(files)),
        memory_every=4,
        measure_over=64 * KiB,
        size=inflated_size,
    )
    assert not failures, report(failures)


def test_reframe_makes_a_line_the_reader_accepts() -> None:
    from lostbeat.recording.codec import frame, unframe

    line = frame({"t": "s", "ts": 1.5})
    changed = reframe(line.replace(b"1.5", b"2.5"))
    assert unframe(changed) == {"t": "s", "ts": 2.5}
