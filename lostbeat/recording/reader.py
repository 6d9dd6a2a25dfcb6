"""Read one shard back: CRC-checked lines in, frames of changes out.

The writer stores only what changed since the previous line, so the reader replays the
lines and hands out each sample (or bucket) as a :class:`Frame`: the processes whose
values changed, and the processes that are gone. Segments (one per recorder start and per
shard) are joined seamlessly: a segment's first keyframe is compared with what the
previous segment left, so a process that lived through a restart is unchanged, not new.

A process is followed by its pid and start time: a ``proc`` line that declares a known id
again (the process renamed itself or ran ``exec``) gives the rows its new identity, and the
next frame lists it as changed. The kernel log's records (``kmsg`` lines) are gathered in
:attr:`ShardReader.kernel` as the frames are read.

A bad line (torn by a crash, CRC mismatch, unknown id) is skipped and counted in
:attr:`ShardReader.problems`; after one, delta lines are skipped until the next keyframe
so that no frame is built on a missed change (a bad ``kmsg`` line loses only its records).

Examples:
    >>> from lostbeat.recording.codec import frame
    >>> lines = [
    ...     frame({"t": "open", "v": 1, "tier": "raw", "ts": 0.0, "interval": 10.0, "boot": 0}),
    ...     frame({"t": "proc", "id": 0, "pid": 7, "start": 1.0, "name": "a", "cmd": "a"}),
    ...     frame({"t": "s", "ts": 10.0, "k": 1, "m": [8, 4, 0, 0],
    ...            "p": [[0, 100, 0, 200, 1, 5, "S"]], "g": []}),
    ...     b'deadbeef {"torn',
    ... ]
    >>> reader = ShardReader(b"".join(lines), path="raw/1970-01-01.jsonl")
    >>> [(f.ts, [(i.key.pid, s.rss_kb) for i, s in f.changed]) for f in reader.frames()]
    [(10.0, [(7, 100)])]
    >>> str(reader.problems[0])
    'raw/1970-01-01.jsonl:4: torn line (no newline)'
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from lostbeat.errors import RecordingCorrupt
from lostbeat.recording.codec import (
    BadLine,
    decode_aggregate_row,
    decode_identity,
    decode_ids,
    decode_kernel,
    decode_sample_row,
    decode_system,
    decode_system_aggregate,
    unframe,
)
from lostbeat.recording.schema import (
    SCHEMA_VERSION,
    Identity,
    KernelCounts,
    KernelRecord,
    ProcAggregate,
    ProcSample,
    SystemAggregate,
    SystemSample,
    Tier,
)

__all__ = ["Frame", "Problem", "Segment", "ShardReader"]

Row = ProcSample | ProcAggregate
Ref = tuple[int, float]


@dataclass(frozen=True, slots=True)
class Problem:
    """A line that could not be used, and why."""

    path: str
    line_no: int | None
    reason: str

    @property
    def where(self) -> str:
        return f"{self.path}:{self.line_no}" if self.line_no is not None else self.path

    def __str__(self) -> str:
        return f"{self.where}: {self.reason}"


@dataclass(frozen=True, slots=True)
class Segment:
    """One uninterrupted stretch of writing: a recorder run within one shard."""

    tier: Tier
    opened: float
    interval_s: float | None
    boot_time: float | None
    host: str | None
    line_no: int


@dataclass(frozen=True, slots=True)
class Frame:
    """One sample (raw) or bucket (aggregate): what changed since the previous frame."""

    ts: float
    """Sample time, or the bucket's start."""
    segment: Segment
    system: SystemSample | SystemAggregate
    changed: tuple[tuple[Identity, Row], ...]
    """New processes and processes whose values changed, with their new values."""
    gone: tuple[Identity, ...]
    samples: int | None
    """Raw samples behind an aggregate bucket; ``None`` for a raw frame."""
    line_no: int


class ShardReader:
    """Replays one shard's lines (the shard's bytes, already inflated)."""

    def __init__(self, data: bytes | Iterable[bytes], *, path: str) -> None:
        """
        Args:
            data: the shard's bytes, or its lines (an open binary file streams them).
            path: the shard's path, for problems and errors.
        """
        self.path = path
        self._lines = io.BytesIO(data) if isinstance(data, bytes) else data
        self.problems: list[Problem] = []
        self.segments: list[Segment] = []
        self.state: dict[Ref, tuple[Identity, Row]] = {}
        """Every live process (by pid and start time) with its identity and latest values,
        as of the last frame handed out."""
        self.kernel: list[KernelRecord] = []
        """The kernel log records of the lines read so far."""
        self.kernel_counts = KernelCounts()
        """The kernel log records the recorder did not keep, as the lines read so far say."""

    def _problem(self, line_no: int | None, reason: str) -> None:
        self.problems.append(Problem(self.path, line_no, reason))

    def frames(self) -> Iterator[Frame]:
        """Yield every usable frame in order.

        Raises:
            RecordingCorrupt: a segment written by a newer, incompatible schema.
        """
        idents: dict[int, Identity] = {}
        segment: Segment | None = None
        synced = False
        skipped = 0
        for line_no, line in enumerate(self._lines, 1):
            try:
                record = unframe(line)
                kind = record["t"]
                if kind == "open":
                    segment = self._open(record, line_no)
                    self.segments.append(segment)
                    idents, synced = {}, False
                elif kind == "proc":
                    ident_id, identity = decode_identity(record)
                    idents[ident_id] = identity
                elif kind == "kmsg":
                    records, counts = decode_kernel(record)
                    self.kernel.extend(records)
                    self.kernel_counts += counts
                    continue  # independent of the deltas: no keyframe needed, none lost
                elif kind in ("s", "a"):
                    if segment is None:
                        raise BadLine("a sample before any 'open' record")
                    keyframe = record.get("k") == 1
                    if not (synced or keyframe):
                        skipped += 1
                        continue
                    yield self._frame(record, kind, keyframe, idents, segment, line_no)
                    synced = True
                else:
                    raise BadLine(f"unknown record type {kind!r}")
            except BadLine as err:
                self._problem(line_no, str(err))
                # a bad kernel line (its kind still readable) misses no delta: stay in step
                synced = synced and line[9:21] == b'{"t":"kmsg",'
        if skipped:
            self._problem(None, f"{skipped} records skipped while waiting for a keyframe")

    def _open(self, record: dict[str, Any], line_no: int) -> Segment:
        version = record.get("v")
        if not isinstance(version, int) or version > SCHEMA_VERSION:
            raise RecordingCorrupt(
                f"schema version {version!r} is not supported (this lostbeat reads up to "
                f"{SCHEMA_VERSION})",
                path=self.path,
                line_no=line_no,
            )
        try:
            tier = Tier(str(record.get("tier")))
        except ValueError as err:
            raise BadLine(f"unknown tier {record.get('tier')!r}") from err
        numbers = [record.get(k) for k in ("ts", "interval", "boot")]
        if not all(v is None or isinstance(v, int | float) for v in numbers):
            raise BadLine("open record needs numeric ts, interval and boot")
        ts, interval, boot = (None if v is None else float(v) for v in numbers)
        host = record.get("host")
        return Segment(
            tier=tier,
            opened=ts or 0.0,
            interval_s=interval,
            boot_time=boot,
            host=host if isinstance(host, str) else None,
            line_no=line_no,
        )

    def _frame(
        self,
        record: dict[str, Any],
        kind: str,
        keyframe: bool,
        idents: dict[int, Identity],
        segment: Segment,
        line_no: int,
    ) -> Frame:
        ts = record.get("ts")
        if not isinstance(ts, int | float):
            raise BadLine("a sample needs a numeric ts")
        decode_row = decode_sample_row if kind == "s" else decode_aggregate_row
        rows: list[tuple[Identity, Row]] = []
        for raw_row in record.get("p") or []:
            ident_id, row = decode_row(raw_row)
            identity = idents.get(ident_id)
            if identity is None:
                raise BadLine(f"row for unknown process id {ident_id}")
            rows.append((identity, row))
        gone_ids = decode_ids(record.get("g") or [])
        if not all(i in idents for i in gone_ids):
            raise BadLine("gone list names an unknown process id")
        system = (
            decode_system(record.get("m"))
            if kind == "s"
            else decode_system_aggregate(record.get("m"))
        )
        samples = record.get("n") if kind == "a" else None
        state = self.state
        if keyframe:
            present = {identity.key.ref for identity, _ in rows}
            gone = tuple(ident for ref, (ident, _) in state.items() if ref not in present)
        else:
            gone = tuple(state[r][0] for i in gone_ids if (r := idents[i].key.ref) in state)
        for identity in gone:
            del state[identity.key.ref]
        changed = []
        for identity, row in rows:
            ref = identity.key.ref
            old = state.get(ref)
            if old is None or old[1] != row or old[0] != identity:
                state[ref] = (identity, row)
                changed.append((identity, row))
        return Frame(
            ts=float(ts),
            segment=segment,
            system=system,
            changed=tuple(changed),
            gone=gone,
            samples=samples if isinstance(samples, int) else None,
            line_no=line_no,
        )
