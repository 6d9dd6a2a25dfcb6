"""Replay a recording to one moment: the process table nearest a time, as ``atop -r`` does.

The finest tier that has a shard around the moment answers: raw samples for the last
day, then minute buckets, then hour buckets (whose rows are min/mean/max).

Examples:
    >>> import pathlib, tempfile
    >>> from lostbeat.recording.schema import *
    >>> from lostbeat.recording.store import Store
    >>> rec = pathlib.Path(tempfile.mkdtemp())
    >>> store = Store(rec, host="web1", interval_s=10.0)
    >>> ident = Identity(ProcessKey("java", "java -jar app.jar", 42, 0.0))
    >>> for i in range(6):
    ...     _ = store.append(Snapshot(1714608000.0 + 10 * i, 0.0, SystemSample(8, 4, 0, 0),
    ...                               ((ident, ProcSample(100 + i, 0)),)))
    >>> store.close()
    >>> table = table_at(rec, at=1714608021.0)
    >>> table.ts, table.tier.value, [(i.key.pid, row.rss_kb) for i, row in table.rows]
    (1714608020.0, 'raw', [(42, 102)])
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from lostbeat.errors import ArtifactMissing, InputError, RecordingCorrupt
from lostbeat.recording.reader import Problem, ShardReader
from lostbeat.recording.schema import (
    Identity,
    ProcAggregate,
    ProcSample,
    SystemAggregate,
    SystemSample,
    Tier,
)
from lostbeat.recording.store import ShardFile, day_of, inflate, list_shards

__all__ = ["ProcessTable", "table_at"]


@dataclass(frozen=True, slots=True)
class ProcessTable:
    ts: float
    """The sample's time (or the bucket's start)."""
    tier: Tier
    resolution_s: float | None
    host: str | None
    system: SystemSample | SystemAggregate
    rows: tuple[tuple[Identity, ProcSample | ProcAggregate], ...]
    path: str
    problems: tuple[Problem, ...] = ()


def _reader(shard: ShardFile) -> ShardReader:
    try:
        data = inflate(shard.path.read_bytes())
    except (OSError, ValueError) as err:
        raise RecordingCorrupt(f"cannot read shard: {err}", path=str(shard.path)) from err
    return ShardReader(data, path=str(shard.path))


def table_at(directory: Path, *, at: float | None) -> ProcessTable:
    """The recorded process table nearest ``at`` (the latest one when ``None``).

    Raises:
        InputError: ``directory`` is not a recording directory.
        ArtifactMissing: the recording holds no sample.
        RecordingCorrupt: a shard cannot be inflated or is of a newer schema.
    """
    if not directory.is_dir():
        raise InputError("expected a recording directory", path=str(directory))
    shards = list_shards(directory)
    if not shards:
        raise ArtifactMissing("recording", path=str(directory))
    if at is None:
        newest = shards[-1].day
        tiers = [[s for s in shards if s.day == newest and s.tier is t] for t in Tier]
    else:
        day = day_of(at)
        near = {day - timedelta(days=1), day, day + timedelta(days=1)}
        # the finest tier holding the moment's own day, then any tier near it (a gap day)
        covering = [t for t in Tier if any(s.tier is t and s.day == day for s in shards)]
        order = covering[:1] + [t for t in Tier if t not in covering[:1]]
        tiers = [[s for s in shards if s.tier is t and s.day in near] for t in order]
    for tier_shards in tiers:
        best = _nearest(tier_shards, at)
        if best is not None:
            return _table(best[0], best[1])
    stamp = "the latest moment" if at is None else datetime.fromtimestamp(at, UTC).isoformat()
    raise ArtifactMissing(f"a sample within a day of {stamp}", path=str(directory))


def _nearest(shards: list[ShardFile], at: float | None) -> tuple[ShardFile, int] | None:
    """The shard and frame index nearest ``at`` (first pass: times only)."""
    best: tuple[float, ShardFile, int] | None = None
    for shard in shards:
        for index, frame in enumerate(_reader(shard).frames()):
            distance = -frame.ts if at is None else abs(frame.ts - at)
            if best is None or distance <= best[0]:
                best = (distance, shard, index)
    return None if best is None else (best[1], best[2])


def _table(shard: ShardFile, index: int) -> ProcessTable:
    reader = _reader(shard)
    for n, frame in enumerate(reader.frames()):
        if n == index:
            segment = frame.segment
            tier = segment.tier
            return ProcessTable(
                ts=frame.ts,
                tier=tier,
                resolution_s=segment.interval_s if tier is Tier.RAW else tier.resolution_s,
                host=segment.host,
                system=frame.system,
                rows=tuple(reader.state.values()),
                path=str(shard.path),
                problems=tuple(reader.problems),
            )
    raise RecordingCorrupt("shard changed while it was read", path=str(shard.path))
