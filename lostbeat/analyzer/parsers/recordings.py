"""recordings - a ``lostbeat record`` directory (``lostbeat-recording.json`` at its top)

The recorder's shards hold every process's memory at every sample for the last day, then
per-minute and per-hour min/mean/max for weeks (see lostbeat/recording/store.py). This
parser turns the files of such a directory, already read, into one time series per process
at the finest resolution kept for each day: raw samples where they are kept, else the
minute buckets' maximum, else the hour buckets' maximum (a bucket's point is at its start).

Points are the samples where a process's RSS or swap changed, plus the last sample of
each run of equal values, plus its first and last sample: drawing straight lines between
the points gives back every raw sample exactly, for a fraction of the size.

What is kept is bounded whatever the recording: at most ``MAX_POINTS`` process points and
as many system points (past that, every series is thinned to every other point, its first
and last kept, as often as needed), a shard inflates to at most 64 MiB, and the first 100
unusable lines are listed; ``Recording.omitted`` says what was left out.

Sample data (one raw shard line: CRC-32, then JSON)::

    a0e716c8 {"t":"s","ts":1714608000.2,"m":[25276502016,24718536704,0,0],
              "p":[[0,18364,0,49548,13,513,"S"]]}

Examples:
    >>> from lostbeat.recording.writer import DeltaEncoder, open_record
    >>> from lostbeat.recording.schema import *
    >>> enc, ident = DeltaEncoder(), Identity(ProcessKey("leaky", "leaky -x", 7, 0.0))
    >>> lines = [open_record(Tier.RAW, ts=0, interval_s=10.0, boot_time=0.0, host="web1")]
    >>> for i, rss in enumerate([100, 100, 100, 200, 300]):
    ...     lines.append(enc.encode("s", 10.0 * i, SystemSample(8192, 4096, 0, 0),
    ...                             [(ident, ProcSample(rss, 0))], complete=True, keyframe=i == 0))
    >>> rec = parse_recording([("raw/1970-01-01.jsonl", b"".join(lines))], path="/rec")
    >>> rec.host, rec.interval_s, rec.boots
    ('web1', 10.0, (0.0,))
    >>> [tuple(p) for p in rec.processes[0].points]
    [(0.0, 100, 0), (20.0, 100, 0), (30.0, 200, 0), (40.0, 300, 0)]
    >>> rec.processes[0].key.label, len(rec.system)
    ('leaky[7]', 5)
    >>> [rec.processes[0].at(p.epoch).rss_kb for p in rec.system]  # every sample, held
    [100, 100, 100, 200, 300]
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from lostbeat.analyzer.parsers._shard import ShardLines, ShardProblems
from lostbeat.errors import ArtifactMissing, RecordingCorrupt
from lostbeat.recording.marker import read_marker
from lostbeat.recording.reader import Frame, Problem, Segment, ShardReader
from lostbeat.recording.schema import (
    MARKER_NAME,
    Identity,
    ProcAggregate,
    ProcessKey,
    ProcSample,
    SystemSample,
    Tier,
)
from lostbeat.recording.store import parse_shard_path, shards_by_day

__all__ = [
    "Coverage",
    "Point",
    "ProcessHistory",
    "Recording",
    "SystemPoint",
    "parse_recording",
]


class Point(NamedTuple):
    """A process's memory at one moment, KB (a tuple: a day holds many)."""

    epoch: float
    rss_kb: int | None
    swap_kb: int | None


class SystemPoint(NamedTuple):
    """The host's memory at one moment, bytes; aggregates give the worst of the bucket."""

    epoch: float
    mem_total: int | None
    mem_available: int | None
    swap_total: int | None
    swap_used: int | None


@dataclass(frozen=True, slots=True)
class ProcessHistory:
    key: ProcessKey
    ppid: int | None
    uid: int | None
    points: tuple[Point, ...]

    @property
    def peak_kb(self) -> int:
        """Largest RSS + swap seen."""
        return max(((p.rss_kb or 0) + (p.swap_kb or 0) for p in self.points), default=0)

    def at(self, epoch: float) -> Point | None:
        """The values the process held at ``epoch``: its last point at or before it
        (exact at every raw sample), or ``None`` outside its recorded life."""
        points = self.points
        if not points or not points[0].epoch <= epoch <= points[-1].epoch:
            return None
        return points[bisect_right(points, epoch, key=lambda p: p.epoch) - 1]


@dataclass(frozen=True, slots=True)
class Coverage:
    """Which tier the series come from over one span of time."""

    tier: Tier
    start: float
    end: float
    resolution_s: float | None
    """The sample interval for raw, the bucket length for aggregates."""
    path: str


@dataclass(frozen=True, slots=True)
class Recording:
    path: str
    host: str | None
    interval_s: float | None
    boots: tuple[float, ...]
    """Boot epochs seen, oldest first."""
    processes: tuple[ProcessHistory, ...]
    """Ordered by start time, then pid."""
    system: tuple[SystemPoint, ...]
    coverage: tuple[Coverage, ...]
    problems: tuple[Problem, ...]
    """Lines and files that could not be used (torn, bad CRC, bad gzip), with where: the
    first 100."""
    omitted: str = ""
    """What was left out (thinned series, problems past 100), when anything was."""


MAX_POINTS = 200_000
"""Process points kept in all (and system points): some 30 MB each, weeks of a busy host."""
MAX_SHARD = 64 * 2**20
"""Bytes a shard inflates to at most: a day of raw samples is about 10 MB."""


def _thin(points: list[Any]) -> list[Any]:
    """Every other point, the first and the last kept."""
    return points[:-1:2] + points[-1:] if len(points) > 2 else points


class _Series:
    """Turns frames into change points, one stretch (shard or recorder run) at a time."""

    def __init__(self) -> None:
        self.points: dict[ProcessKey, list[Point]] = {}
        self.identities: dict[ProcessKey, Identity] = {}
        self.system: list[SystemPoint] = []
        self._runs: dict[ProcessKey, tuple[tuple[int | None, int | None], float]] = {}
        self._prev: float | None = None
        self.count = 0  # process points held
        self.thinned = 0  # times every series was thinned

    def _bound(self) -> None:
        """Thin every series once the points pass MAX_POINTS (process or system)."""
        if self.count > MAX_POINTS:
            for key, points in self.points.items():
                self.points[key] = _thin(points)
            self.count = sum(len(p) for p in self.points.values())
            self.thinned += 1
        if len(self.system) > MAX_POINTS:
            self.system = _thin(self.system)
            self.thinned += 1

    def end_stretch(self) -> None:
        for key in list(self._runs):
            self._close(key)
        self._prev = None

    def _close(self, key: ProcessKey) -> None:
        run = self._runs.pop(key, None)
        if run is not None and self._prev is not None and run[1] != self._prev:
            self.points[key].append(Point(self._prev, *run[0]))
            self.count += 1

    def add(
        self, frame: Frame, rows: Sequence[tuple[Identity, ProcSample | ProcAggregate]]
    ) -> None:
        ts = frame.ts
        for identity in frame.gone:
            self._close(identity.key)
        for identity, row in rows:
            key = identity.key
            if isinstance(row, ProcSample):
                value = (row.rss_kb, row.swap_kb)
            else:
                value = (row.rss_max, row.swap_max)
            run = self._runs.get(key)
            if run is not None and run[0] == value:
                continue
            if run is None:
                self.identities.setdefault(key, identity)
            elif self._prev is not None and run[1] != self._prev:
                self.points[key].append(Point(self._prev, *run[0]))
                self.count += 1
            self.points.setdefault(key, []).append(Point(ts, *value))
            self.count += 1
            self._runs[key] = (value, ts)
        system = frame.system
        if isinstance(system, SystemSample):
            self.system.append(
                SystemPoint(
                    ts,
                    *(system.mem_total, system.mem_available),
                    system.swap_total,
                    system.swap_used,
                )
            )
        else:
            self.system.append(
                SystemPoint(
                    ts,
                    system.mem_total,
                    system.mem_available_min,
                    system.swap_total,
                    system.swap_used_max,
                )
            )
        self._prev = ts
        self._bound()


def parse_recording(files: Sequence[tuple[str, bytes]], *, path: str) -> Recording:
    """Parse a recording directory's files (relative path, bytes), already read.

    Raises:
        ArtifactMissing: no shard, or only empty ones.
        ParseError: the marker is not JSON.
        RecordingCorrupt: the marker or a shard is of a newer schema, or no line of any
            shard can be read.
    """
    host: str | None = None
    interval: float | None = None
    problems = ShardProblems()
    data: dict[str, bytes] = {}
    for name, content in files:
        if name.endswith(MARKER_NAME):
            marker = read_marker(content, path=name)
            host, interval = marker.host, marker.interval_s
        elif content and parse_shard_path(name) is not None:
            data[name] = content
    by_day = shards_by_day(data)
    if not by_day:
        raise ArtifactMissing("recording", path=path)
    series, coverage = _Series(), []
    boots: list[float] = []
    hosts: list[str] = []
    for shards in by_day.values():
        for name in shards:  # the finest usable one (lostbeat/recording/store.py)
            used = _read_shard(name, data[name], series, problems)
            if used is not None:
                coverage.append(used[0])
                boots.extend(s.boot_time for s in used[1] if s.boot_time is not None)
                hosts.extend(s.host for s in used[1] if s.host)
                if used[0].tier is Tier.RAW and used[0].resolution_s is not None:
                    interval = used[0].resolution_s
                break
    if not series.system:
        first = sorted(data)[0]
        raise RecordingCorrupt(
            f"no readable sample ({problems.count} bad lines or files)", path=first
        )
    omitted = []
    if series.thinned:
        omitted.append(f"series thinned {series.thinned} times to stay under {MAX_POINTS} points")
    if problems.count > len(problems.kept):
        omitted.append(f"{problems.count} unusable lines or files in all, the first 100 kept")
    return Recording(
        path=path,
        host=host or (hosts[-1] if hosts else None),
        interval_s=interval,
        boots=_distinct(boots),
        processes=tuple(
            ProcessHistory(
                key, series.identities[key].ppid, series.identities[key].uid, tuple(points)
            )
            for key, points in sorted(
                series.points.items(), key=lambda kv: (kv[0].start, kv[0].pid)
            )
        ),
        system=tuple(series.system),
        coverage=tuple(coverage),
        problems=tuple(problems.kept),
        omitted="; ".join(omitted),
    )


MAX_RATIO = 200
"""A shard inflates to a few times its size (JSON lines compress ~4x); far past that it is a
bomb, say a shard gzipped twice, which the source inflated once under its own guard."""


def _read_shard(
    name: str, data: bytes, series: _Series, problems: ShardProblems
) -> tuple[Coverage, list[Segment]] | None:
    """Feed one shard's frames into ``series``; ``None`` if it held no usable frame."""
    lines = ShardLines(data, limit=min(max(MAX_RATIO * len(data), 2**20), MAX_SHARD))
    reader = lines.reader = ShardReader(lines, path=name)
    first = last = None
    segment: Segment | None = None
    for frame in reader.frames():
        if frame.segment is not segment:  # a new recorder run: restart every series
            series.end_stretch()
            segment = frame.segment
            rows = [(identity, row) for identity, row in reader.state.values()]
        else:
            rows = list(frame.changed)
        series.add(frame, rows)
        first = frame.ts if first is None else first
        last = frame.ts
    series.end_stretch()
    if lines.error:
        problems.add([Problem(name, None, f"cannot inflate: {lines.error}")])
    problems.add(reader.problems, more=lines.dropped)
    if first is None or last is None or segment is None:
        return None
    tier = segment.tier
    resolution = segment.interval_s if tier is Tier.RAW else tier.resolution_s
    end = last + (tier.resolution_s or 0)
    return Coverage(tier, first, end, resolution, name), reader.segments


def _distinct(boots: list[float]) -> tuple[float, ...]:
    """Boot epochs, merging ones within a minute (the clock stepped, not a reboot)."""
    merged: list[float] = []
    for boot in sorted(boots):
        if not merged or boot - merged[-1] > 60.0:
            merged.append(boot)
    return tuple(merged)
