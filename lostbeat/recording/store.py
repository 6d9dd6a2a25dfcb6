"""The recording directory: daily shards in three tiers, bounded in age and size.

Layout, in the manner of below's store (one shard per day, whole shards unlinked)::

    lostbeat-recording.json       marker: schema, host, lostbeat version
    raw/2024-05-02.jsonl          today: every sample, appended (UTC days)
    raw/2024-05-01.jsonl.gz       yesterday, compressed when the day rolled
    minute/2024-05-01.jsonl.gz    min / mean / max per minute of each closed day
    hour/2024-05-01.jsonl.gz      min / mean / max per hour of each closed day

When the day rolls, each closed raw shard is downsampled into its minute and hour shards
and compressed (each file written to a temporary name, synced, then renamed, so a crash
leaves either the old file or the new one). Then :meth:`Store.prune` drops shards past
their tier's age, and, while the directory is over its size cap, the oldest shard of all
(for one day: raw first, then minute, then hour). The open shard is never dropped.

Examples:
    >>> parse_shard_path("minute/2024-05-01.jsonl.gz")
    (<Tier.MINUTE: 'minute'>, datetime.date(2024, 5, 1), True)
    >>> parse_shard_path("vmksummary") is None
    True
    >>> day_of(1714608000.0)
    datetime.date(2024, 5, 2)
"""

from __future__ import annotations

import gzip
import os
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import cast

from lostbeat.recording.downsample import KEYFRAME_EVERY, Downsampler, downsample_into
from lostbeat.recording.schema import Snapshot, Tier
from lostbeat.recording.writer import RawShardWriter

__all__ = [
    "DAY",
    "Retention",
    "ShardFile",
    "Store",
    "day_of",
    "day_start",
    "inflate",
    "list_shards",
    "parse_shard_path",
    "shard_name",
    "shards_by_day",
]

DAY = 86400.0
_SHARD = re.compile(r"(?:^|/)(raw|minute|hour)/(\d{4}-\d{2}-\d{2})\.jsonl(\.gz)?$")


@dataclass(frozen=True, slots=True)
class Retention:
    """How long each tier is kept, and the cap on the whole directory."""

    raw_s: float = DAY
    minute_s: float = 7 * DAY
    hour_s: float = 30 * DAY
    max_bytes: int | None = 256 << 20

    @classmethod
    def from_options(cls, *, retention_s: float, max_bytes: int | None) -> Retention:
        """The defaults, with every tier shortened to at most ``retention_s``."""
        return cls(
            raw_s=min(DAY, retention_s),
            minute_s=min(7 * DAY, retention_s),
            hour_s=retention_s,
            max_bytes=max_bytes,
        )

    def keep_s(self, tier: Tier) -> float:
        return {Tier.RAW: self.raw_s, Tier.MINUTE: self.minute_s, Tier.HOUR: self.hour_s}[tier]


@dataclass(frozen=True, slots=True)
class ShardFile:
    tier: Tier
    day: date
    path: Path
    compressed: bool
    size: int


def day_of(ts: float) -> date:
    """The UTC day of an epoch (shards are cut at UTC midnight, which DST never moves)."""
    return datetime.fromtimestamp(ts, UTC).date()


def day_start(day: date) -> float:
    return datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp()


def shard_name(tier: Tier, day: date, *, compressed: bool) -> str:
    return f"{tier.value}/{day.isoformat()}.jsonl{'.gz' if compressed else ''}"


def parse_shard_path(path: str) -> tuple[Tier, date, bool] | None:
    """``(tier, day, compressed)`` of a shard's relative path, or ``None`` for other files."""
    match = _SHARD.search(path)
    if not match:
        return None
    try:
        day = date.fromisoformat(match[2])
    except ValueError:
        return None
    return Tier(match[1]), day, match[3] is not None


def shards_by_day(paths: Iterable[str]) -> dict[date, list[str]]:
    """Each day's shards in the order a reader tries them: the finest tier first (raw, then
    minute, then hour), a tier's original plain file before its compressed copy. A reader
    uses the first that gives data and falls back to the next: a day whose raw shard is
    corrupt is still read, from its minute buckets (or its hour buckets). Other files are
    left out. This is the one place the tier choice is made.

    >>> shards_by_day(["hour/2024-05-01.jsonl.gz", "raw/2024-05-01.jsonl.gz",
    ...                "minute/2024-05-01.jsonl.gz", "hour/2024-04-30.jsonl.gz", "vmksummary"])
    {datetime.date(2024, 4, 30): ['hour/2024-04-30.jsonl.gz'], \
datetime.date(2024, 5, 1): ['raw/2024-05-01.jsonl.gz', 'minute/2024-05-01.jsonl.gz', \
'hour/2024-05-01.jsonl.gz']}
    """
    found: dict[date, list[tuple[int, bool, str]]] = {}
    for path in paths:
        parsed = parse_shard_path(path)
        if parsed is not None:
            tier, day, compressed = parsed
            found.setdefault(day, []).append((tier.rank, compressed, path))
    return {day: [p for _, _, p in sorted(found[day])] for day in sorted(found)}


MAX_INFLATED = 512 * 2**20
"""A shard inflates to far less (a day of raw samples is ~10 MB); past this it is a bomb."""


def inflate(data: bytes, *, limit: int = MAX_INFLATED) -> bytes:
    """The shard's lines: gzip data is inflated (at most ``limit`` bytes), anything else
    returned as is.

    Raises:
        ValueError: a damaged gzip stream, or one that inflates past ``limit``.
    """
    if data[:2] != b"\x1f\x8b":
        return data
    from isal import isal_zlib  # imported here: the recorder needs it once a day at most

    out = bytearray()
    rest = data
    try:
        while rest:
            inflater = isal_zlib.decompressobj(31)  # 31: a gzip header and trailer
            out += inflater.decompress(rest, limit + 1 - len(out))
            if len(out) > limit:
                raise ValueError(f"inflates past {limit} bytes")
            if not inflater.eof:
                if inflater.unconsumed_tail:
                    raise ValueError(f"inflates past {limit} bytes")
                raise ValueError("truncated gzip stream")
            rest = inflater.unused_data  # a further gzip member, as `cat a.gz b.gz` makes
    except cast(type[Exception], isal_zlib.error) as err:  # not an OSError, unlike zlib's
        raise ValueError(f"damaged gzip stream: {err}") from err
    return bytes(out)


def list_shards(directory: Path) -> list[ShardFile]:
    """Every shard file of a recording, oldest day first (for one day: raw, minute, hour)."""
    found = []
    for tier in Tier:
        folder = directory / tier.value
        if not folder.is_dir():
            continue
        for entry in os.scandir(folder):
            parsed = parse_shard_path(f"{tier.value}/{entry.name}")
            if parsed and entry.is_file():
                size = entry.stat().st_size
                found.append(ShardFile(tier, parsed[1], Path(entry.path), parsed[2], size))
    return sorted(found, key=lambda s: (s.day, s.tier.rank, s.compressed))


class _AtomicGzip:
    """A gzip file written under a temporary name, synced, then renamed into place."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path, self._tmp = path, path.with_name(f".{path.name}.tmp")
        # 0640 like the open shard (writer.py): a recording names every process and its
        # command line, so it is not for every local user, whatever the umask
        fd = os.open(self._tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o640)
        os.fchmod(fd, 0o640)
        self._raw = os.fdopen(fd, "wb")
        self._gz = gzip.GzipFile(fileobj=self._raw, mode="wb", compresslevel=4, mtime=0)

    def write(self, data: bytes) -> None:
        self._gz.write(data)

    def commit(self) -> None:
        self._gz.close()
        self._raw.flush()
        os.fsync(self._raw.fileno())
        self._raw.close()
        os.replace(self._tmp, self.path)
        dir_fd = os.open(self.path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)

    def abort(self) -> None:
        self._gz.close()
        self._raw.close()
        self._tmp.unlink(missing_ok=True)


class Store:
    """Writes samples into a recording directory and keeps it within its bounds."""

    def __init__(
        self,
        directory: Path,
        *,
        host: str | None,
        interval_s: float,
        retention: Retention | None = None,
        clock: Callable[[], float] = time.time,
        fsync_every_s: float = 60.0,
    ) -> None:
        """
        Args:
            clock: wall clock for maintenance when no sample gives the time.
            fsync_every_s: flush the open shard to the disk at most this often (a killed
                process loses nothing written; a host crash loses at most this much).
        """
        self.directory = directory
        self._fsync_every_s = fsync_every_s
        self.retention = retention or Retention()
        self._host, self._interval_s, self._clock = host, interval_s, clock
        self._writer: RawShardWriter | None = None
        self._day: date | None = None
        self.pruned: list[Path] = []

    def shards(self) -> list[ShardFile]:
        """Every shard file, oldest day first (for one day: raw, minute, hour)."""
        return list_shards(self.directory)

    def total_bytes(self) -> int:
        total = 0
        for root, _, files in os.walk(self.directory):
            for name in files:
                try:
                    total += os.stat(os.path.join(root, name)).st_size
                except FileNotFoundError:
                    continue
        return total

    def append(self, snapshot: Snapshot) -> int:
        """Write one sample to today's shard, rolling the day over first when it changed.

        A clock that steps back over midnight keeps writing to the open shard: a closed
        day is never reopened. Returns the bytes written.
        """
        day = day_of(snapshot.ts)
        if self._day is None or day > self._day:
            if self._writer is not None:
                self._writer.close()
            self._day = day
            self._writer = RawShardWriter(
                self.directory / shard_name(Tier.RAW, day, compressed=False),
                host=self._host,
                interval_s=self._interval_s,
                fsync_every_s=self._fsync_every_s,
            )
            self.maintain(snapshot.ts)
        assert self._writer is not None
        return self._writer.append(snapshot)

    def maintain(self, now: float | None = None) -> None:
        """Downsample and compress closed days, then prune. Safe to repeat after a crash."""
        now = self._clock() if now is None else now
        for tier in Tier:  # left by a crash in the middle of an earlier roll
            for stale in (self.directory / tier.value).glob(".*.tmp"):
                stale.unlink(missing_ok=True)
        today = self._day or day_of(now)
        for shard in self.shards():
            if shard.tier is Tier.RAW and shard.day < today:
                self._close_day(shard)
        self.prune(now)

    def _close_day(self, shard: ShardFile) -> None:
        """Downsample a closed day and compress it, streaming: memory stays flat."""
        plain = self.directory / shard_name(Tier.RAW, shard.day, compressed=False)
        if shard.compressed and plain.exists():
            return  # the plain file is the original; it is handled on its own turn
        wanted = [
            t
            for t in (Tier.MINUTE, Tier.HOUR)
            if not (self.directory / shard_name(t, shard.day, compressed=True)).exists()
        ]
        if wanted:
            outputs = [
                _AtomicGzip(self.directory / shard_name(t, shard.day, compressed=True))
                for t in wanted
            ]
            try:
                samplers = [
                    Downsampler(t, keyframe_every=KEYFRAME_EVERY[t], write=out.write)
                    for t, out in zip(wanted, outputs, strict=True)
                ]
                opener = gzip.open if shard.compressed else open
                with opener(shard.path, "rb") as lines:
                    downsample_into(lines, path=str(shard.path), samplers=samplers)
                for sampler in samplers:
                    sampler.finish()
            except BaseException:
                for out in outputs:
                    out.abort()
                raise
            for out in outputs:
                out.commit()
        if not shard.compressed:
            packed = _AtomicGzip(self.directory / shard_name(Tier.RAW, shard.day, compressed=True))
            try:
                with open(shard.path, "rb") as source:
                    while chunk := source.read(1 << 20):
                        packed.write(chunk)
            except BaseException:
                packed.abort()
                raise
            packed.commit()
            shard.path.unlink()

    def prune(self, now: float) -> list[Path]:
        """Drop shards past their tier's age, then the oldest while over the size cap."""
        open_path = self._writer.path if self._writer is not None else None
        removed: list[Path] = []
        shards = [s for s in self.shards() if s.path != open_path]
        for shard in shards:
            if now - (day_start(shard.day) + DAY) >= self.retention.keep_s(shard.tier):
                removed.append(shard.path)
        cap = self.retention.max_bytes
        if cap is not None:
            total = self.total_bytes() - sum(s.size for s in shards if s.path in removed)
            for shard in shards:
                if total <= cap:
                    break
                if shard.path not in removed:
                    removed.append(shard.path)
                    total -= shard.size
        for path in removed:
            path.unlink(missing_ok=True)
        self.pruned.extend(removed)
        return removed

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None
