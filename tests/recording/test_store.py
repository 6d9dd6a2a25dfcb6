"""The directory of shards: the day rolls over (downsample, compress), retention, size cap.

The clock is injected: days pass in a moment, never by waiting.
"""

from __future__ import annotations

import gzip
import os
from pathlib import Path

from lostbeat.recording.reader import ShardReader
from lostbeat.recording.schema import Tier
from lostbeat.recording.store import Retention, Store, inflate, list_shards

DAY = 86400.0
T0 = 1_714_521_600.0  # 2024-05-01 00:00:00 UTC


def _names(directory: Path) -> list[str]:
    return sorted(p.relative_to(directory).as_posix() for p in directory.rglob("*") if p.is_file())


def _record(store: Store, kit, start: float, end: float, step: float) -> None:
    a, b = kit.ident(1), kit.ident(2)
    ts = start
    while ts < end:
        store.append(kit.snapshot(ts, {a: 100 + int((ts - T0) // 3600), b: 50}))
        ts += step


def test_the_day_rolls_over_into_minute_and_hour_shards(tmp_path: Path, kit) -> None:
    store = Store(tmp_path, host="h", fsync_every_s=DAY, interval_s=60.0, clock=lambda: T0)
    _record(store, kit, T0, T0 + DAY + 120, 60.0)
    store.close()
    assert _names(tmp_path) == [
        "hour/2024-05-01.jsonl.gz",
        "minute/2024-05-01.jsonl.gz",
        "raw/2024-05-01.jsonl.gz",
        "raw/2024-05-02.jsonl",
    ]
    raw = inflate((tmp_path / "raw/2024-05-01.jsonl.gz").read_bytes())
    assert len(list(ShardReader(raw, path="r").frames())) == 1440
    hour = gzip.decompress((tmp_path / "hour/2024-05-01.jsonl.gz").read_bytes())
    reader = ShardReader(hour, path="h")
    frames = list(reader.frames())
    assert [f.samples for f in frames] == [60] * 24
    assert {i.key.pid: row.rss_max for i, row in reader.state.values()} == {1: 123, 2: 50}
    minute = ShardReader(inflate((tmp_path / "minute/2024-05-01.jsonl.gz").read_bytes()), path="m")
    assert len(list(minute.frames())) == 1440


def test_a_clock_stepping_back_over_midnight_keeps_the_open_shard(tmp_path: Path, kit) -> None:
    store = Store(tmp_path, host="h", fsync_every_s=DAY, interval_s=60.0)
    a = kit.ident(1)
    store.append(kit.snapshot(T0 + DAY + 5, {a: 1}))
    store.append(kit.snapshot(T0 + DAY - 5, {a: 2}))  # NTP stepped the clock back
    store.close()
    assert _names(tmp_path) == ["raw/2024-05-02.jsonl"]


def test_closed_days_left_by_a_stopped_recorder_are_caught_up(tmp_path: Path, kit) -> None:
    first = Store(tmp_path, host="h", fsync_every_s=DAY, interval_s=600.0)
    _record(first, kit, T0 + 3600, T0 + 7200, 600.0)
    first.close()  # stopped before midnight: the day was never rolled
    assert _names(tmp_path) == ["raw/2024-05-01.jsonl"]
    # a crash during an earlier catch-up left a half-written compressed copy beside it,
    # and a temporary file of a roll that never finished
    (tmp_path / "raw/2024-05-01.jsonl.gz").write_bytes(b"\x1f\x8b\x08garbage")
    (tmp_path / "minute").mkdir()
    (tmp_path / "minute/.2024-05-01.jsonl.gz.tmp").write_bytes(b"\x1f\x8b")
    later = Store(
        tmp_path, host="h", fsync_every_s=DAY, interval_s=600.0, clock=lambda: T0 + 1.5 * DAY
    )
    later.maintain()
    assert _names(tmp_path) == [
        "hour/2024-05-01.jsonl.gz",
        "minute/2024-05-01.jsonl.gz",
        "raw/2024-05-01.jsonl.gz",
    ]
    frames = list(
        ShardReader(inflate((tmp_path / "raw/2024-05-01.jsonl.gz").read_bytes()), path="r").frames()
    )
    assert len(frames) == 6


def test_each_tier_is_kept_for_its_time(tmp_path: Path, kit) -> None:
    retention = Retention(raw_s=DAY, minute_s=3 * DAY, hour_s=5 * DAY, max_bytes=None)
    store = Store(tmp_path, host="h", fsync_every_s=DAY, interval_s=3600.0, retention=retention)
    _record(store, kit, T0, T0 + 10 * DAY + 3600, 3600.0)  # day 11 (2024-05-11) is open
    store.close()
    by_tier = {t: sorted(s.day.day for s in list_shards(tmp_path) if s.tier is t) for t in Tier}
    assert by_tier[Tier.RAW] == [10, 11]  # today, and yesterday's whole day
    assert by_tier[Tier.MINUTE] == [8, 9, 10]
    assert by_tier[Tier.HOUR] == [6, 7, 8, 9, 10]
    assert all(p.parts[-2] in ("raw", "minute", "hour") for p in store.pruned)


def test_the_size_cap_drops_the_oldest_first_but_never_the_open_shard(tmp_path: Path, kit) -> None:
    store = Store(
        tmp_path, host="h", fsync_every_s=DAY, interval_s=600.0, retention=Retention(max_bytes=None)
    )
    _record(store, kit, T0, T0 + 6 * DAY + 600, 600.0)
    store.close()
    before = list_shards(tmp_path)
    open_shard = tmp_path / "raw/2024-05-07.jsonl"
    cap = sum(s.size for s in before) // 2
    capped = Store(
        tmp_path, host="h", fsync_every_s=DAY, interval_s=600.0, retention=Retention(max_bytes=cap)
    )
    removed = capped.prune(T0 + 6 * DAY + 700)
    after = list_shards(tmp_path)
    assert capped.total_bytes() <= cap
    assert removed == [s.path for s in before[: len(removed)]]  # a prefix: oldest first
    assert after == before[len(removed) :]
    assert removed[0].name == "2024-05-01.jsonl.gz"
    # a cap smaller than the open shard leaves the open shard alone
    tiny = Store(
        tmp_path, host="h", fsync_every_s=DAY, interval_s=600.0, retention=Retention(max_bytes=1)
    )
    tiny.append(kit.snapshot(T0 + 6 * DAY + 900, {kit.ident(1): 1}))
    tiny.prune(T0 + 6 * DAY + 900)
    tiny.close()
    assert [s.path for s in list_shards(tmp_path)] == [open_shard]


def test_retention_options_shorten_every_tier() -> None:
    short = Retention.from_options(retention_s=2 * DAY, max_bytes=5 << 20)
    assert (short.raw_s, short.minute_s, short.hour_s, short.max_bytes) == (
        DAY,
        2 * DAY,
        2 * DAY,
        5 << 20,
    )
    assert Retention.from_options(retention_s=3600, max_bytes=None).keep_s(Tier.RAW) == 3600


def test_every_shard_is_private_to_its_group_whatever_the_umask(tmp_path: Path, kit) -> None:
    old = os.umask(0)
    try:
        store = Store(tmp_path, host="h", fsync_every_s=DAY, interval_s=60.0, clock=lambda: T0)
        _record(store, kit, T0, T0 + DAY + 120, 60.0)
        store.close()
    finally:
        os.umask(old)
    modes = {
        p.relative_to(tmp_path).as_posix(): p.stat().st_mode & 0o777
        for p in tmp_path.rglob("*.jsonl*")
    }
    assert modes and set(modes.values()) == {0o640}, modes
