"""Downsample a day of raw samples into minute and hour buckets (min, mean, max).

Runs when the day rolls over, on a closed raw shard. The work follows the changes, not
the processes: a process whose values did not move during a bucket costs nothing, and its
row is written again only when it differs from the row of its previous bucket (the same
delta scheme as raw shards). Means are weighted by the number of samples a value held.

Examples:
    >>> from lostbeat.recording.reader import ShardReader
    >>> from lostbeat.recording.schema import *
    >>> from lostbeat.recording.writer import RawShardWriter
    >>> import pathlib, tempfile
    >>> shard = pathlib.Path(tempfile.mkdtemp()) / "raw.jsonl"
    >>> writer = RawShardWriter(shard, host="h", interval_s=10.0)
    >>> ident = Identity(ProcessKey("a", "a", 7, 0.0))
    >>> for i, rss in enumerate([100, 100, 400, 100]):
    ...     _ = writer.append(Snapshot(i * 10.0, 0.0, SystemSample(8, 4, 0, 0),
    ...                                ((ident, ProcSample(rss, 0)),)))
    >>> writer.close()
    >>> out = downsample(shard.read_bytes(), path="raw.jsonl")
    >>> [(f.ts, f.samples, f.changed[0][1].rss_max, f.changed[0][1].rss_mean)
    ...  for f in ShardReader(out[Tier.MINUTE], path="m").frames()]
    [(0.0, 4, 400, 175)]
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from lostbeat.recording.reader import Frame, Problem, ShardReader
from lostbeat.recording.schema import (
    Identity,
    KernelCounts,
    KernelRecord,
    ProcAggregate,
    ProcSample,
    SystemAggregate,
    SystemSample,
    Tier,
)
from lostbeat.recording.writer import DeltaEncoder, kernel_lines, open_record

Ref = tuple[int, float]

__all__ = ["KEYFRAME_EVERY", "Downsampler", "downsample", "downsample_into"]

KEYFRAME_EVERY = {Tier.MINUTE: 60, Tier.HOUR: 24}
"""Buckets between keyframes: hourly in the minute tier, daily in the hour tier."""


@dataclass(slots=True)
class _Acc:
    """Running min / sum / max of one series over one bucket; ``None`` values are skipped."""

    lo: int | None = None
    hi: int | None = None
    total: int = 0
    count: int = 0

    def add(self, value: int | None, weight: int) -> None:
        if value is None or weight <= 0:
            return
        self.lo = value if self.lo is None else min(self.lo, value)
        self.hi = value if self.hi is None else max(self.hi, value)
        self.total += value * weight
        self.count += weight

    def triple(self) -> tuple[int | None, int | None, int | None]:
        mean = round(self.total / self.count) if self.count else None
        return self.lo, mean, self.hi


@dataclass(slots=True, eq=False)
class _Proc:
    identity: Identity
    value: tuple[int | None, int | None]
    since: int
    """Global sample index from which ``value`` holds."""
    rss: _Acc = field(default_factory=_Acc)
    swap: _Acc = field(default_factory=_Acc)
    present: int = 0
    """Samples of the current bucket the process was alive in."""


class Downsampler:
    """Feeds raw frames in, collects one tier's lines."""

    def __init__(
        self,
        tier: Tier,
        *,
        keyframe_every: int = 60,
        write: Callable[[bytes], object] | None = None,
    ) -> None:
        """
        Args:
            tier: the minute or hour tier.
            keyframe_every: buckets between keyframes.
            write: where each line goes (a compressing file, say); kept in memory if not given.
        """
        resolution = tier.resolution_s
        if resolution is None:
            raise ValueError("downsampling needs an aggregate tier")
        self.tier, self._res, self._keyframe_every = tier, resolution, keyframe_every
        self._lines: list[bytes] = []
        self._write = write or self._lines.append
        # by pid and start time: a process that renamed itself is the same process
        self._procs: dict[Ref, _Proc] = {}
        self._ended: dict[Ref, _Proc] = {}
        self._touched: set[Ref] = set()
        self._prev_touched: set[Ref] = set()
        self._gone_next: list[Identity] = []
        self._encoder = DeltaEncoder()
        self._bucket: float | None = None
        self._bucket_index = 0
        self._first = 0  # global index of the bucket's first sample
        self._index = 0  # global index of the next sample
        self._boot: float | None = None
        self._system: list[SystemSample] = []

    def feed(self, frame: Frame) -> None:
        if not isinstance(frame.system, SystemSample):
            raise ValueError("downsampling reads raw frames only")
        segment = frame.segment
        bucket = frame.ts // self._res * self._res
        if self._bucket is None or segment.boot_time != self._boot:
            self._flush()
            self._write(
                open_record(
                    self.tier,
                    ts=bucket,
                    interval_s=segment.interval_s,
                    boot_time=segment.boot_time,
                    host=segment.host,
                )
            )
            self._encoder, self._boot, self._bucket_index = DeltaEncoder(), segment.boot_time, 0
            self._start(bucket)
        elif bucket != self._bucket:
            self._flush()
            self._start(bucket)
        index = self._index
        for identity in frame.gone:
            ref = identity.key.ref
            proc = self._procs.pop(ref, None)
            if proc is not None:
                self._close_run(proc, index)
                self._ended[ref] = proc
        for identity, row in frame.changed:
            assert isinstance(row, ProcSample)
            ref = identity.key.ref
            value = (row.rss_kb, row.swap_kb)
            proc = self._procs.get(ref)
            if proc is None:
                # back after a sample it missed (a read that failed): same bucket, same sums
                proc = self._ended.pop(ref, None)
                if proc is None:
                    proc = _Proc(identity, value, index)
                proc.value, proc.since = value, index
                self._procs[ref] = proc
            else:
                self._close_run(proc, index)
                proc.value, proc.since = value, index
            proc.identity = identity  # the name it has now, after a rename or an exec
            self._touched.add(ref)
        self._system.append(frame.system)
        self._index += 1

    def kernel(self, ts: float, records: list[KernelRecord], counts: KernelCounts) -> None:
        """Carry a raw shard's kernel log records into this tier, as they are."""
        self._write(kernel_lines(ts, records, counts))

    def finish(self) -> bytes:
        """Flush the last bucket; returns the lines kept in memory (none with ``write``)."""
        self._flush()
        return b"".join(self._lines)

    def _start(self, bucket: float) -> None:
        self._bucket, self._first, self._system = bucket, self._index, []

    def _close_run(self, proc: _Proc, end: int) -> None:
        weight = end - max(proc.since, self._first)
        if weight > 0:
            proc.rss.add(proc.value[0], weight)
            proc.swap.add(proc.value[1], weight)
            proc.present += weight
            proc.since = end

    def _flush(self) -> None:
        if self._bucket is None or not self._system:
            return
        end = self._index
        keyframe = self._bucket_index % self._keyframe_every == 0
        if keyframe:
            alive = list(self._procs.values())
        else:
            keys = self._touched | self._prev_touched
            alive = [self._procs[k] for k in keys if k in self._procs]
        for proc in alive:
            self._close_run(proc, end)
        rows = [
            (p.identity, ProcAggregate(*p.rss.triple(), *p.swap.triple()))
            for p in alive + list(self._ended.values())
            if p.present
        ]
        # An ended process keeps its row for the bucket it lived in, and is listed as gone
        # in the next one; one that ended right at the bucket's start is gone now.
        ended = self._ended.values()
        gone = [i.key for i in self._gone_next] + [p.identity.key for p in ended if not p.present]
        self._gone_next = [p.identity for p in ended if p.present]
        for proc in alive:
            proc.rss, proc.swap, proc.present = _Acc(), _Acc(), 0
        self._write(
            self._encoder.encode(
                "a",
                self._bucket,
                _system_aggregate(self._system),
                rows,
                gone=gone,
                complete=keyframe,
                keyframe=keyframe,
                samples=end - self._first,
            )
        )
        self._prev_touched, self._touched, self._ended = self._touched, set(), {}
        self._bucket_index += 1


def _system_aggregate(samples: list[SystemSample]) -> SystemAggregate:
    avail, swap = _Acc(), _Acc()
    for s in samples:
        avail.add(s.mem_available, 1)
        swap.add(s.swap_used, 1)
    last = samples[-1]
    return SystemAggregate(last.mem_total, *avail.triple(), last.swap_total, *swap.triple())


def downsample(
    data: bytes | Iterable[bytes],
    *,
    path: str,
    tiers: tuple[Tier, ...] = (Tier.MINUTE, Tier.HOUR),
) -> dict[Tier, bytes]:
    """Aggregate one raw shard (its bytes or its lines) into each tier's shard bytes.

    Corrupt lines of the raw shard are skipped, as any reader skips them; see
    :func:`downsample_into` to get them counted, and to stream the output.
    """
    samplers = [Downsampler(t, keyframe_every=KEYFRAME_EVERY[t]) for t in tiers]
    downsample_into(data, path=path, samplers=samplers)
    return {s.tier: s.finish() for s in samplers}


def downsample_into(
    data: bytes | Iterable[bytes], *, path: str, samplers: Sequence[Downsampler]
) -> list[Problem]:
    """Feed one raw shard to each downsampler in one pass; returns the shard's problems.

    The caller calls ``finish()`` on each.
    """
    reader = ShardReader(data, path=path)
    last = None
    for frame in reader.frames():
        if frame.segment.tier is Tier.RAW:
            for sampler in samplers:
                sampler.feed(frame)
            last = frame.ts
    if reader.kernel or reader.kernel_counts:
        for sampler in samplers:
            sampler.kernel(last or 0.0, reader.kernel, reader.kernel_counts)
    return reader.problems
