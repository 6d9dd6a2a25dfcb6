"""Minute and hour buckets: exact min / mean / max, checked against a brute-force count."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from lostbeat.recording.downsample import Downsampler, downsample, downsample_into
from lostbeat.recording.reader import ShardReader
from lostbeat.recording.schema import ProcAggregate, ProcessKey, Tier
from lostbeat.recording.writer import RawShardWriter

Buckets = dict[tuple[float, ProcessKey], tuple[int, int, int]]


def _raw_shard(path: Path, kit, tables: list[dict], interval: float, start: float = 0.0) -> bytes:
    writer = RawShardWriter(path, host="h", interval_s=interval, keyframe_every_s=1e9)
    for i, table in enumerate(tables):
        writer.append(kit.snapshot(start + interval * i, table))
    writer.close()
    return path.read_bytes()


def _expected(kit, tables: list[dict], interval: float, res: int, start: float = 0.0) -> Buckets:
    seen: dict[tuple[float, ProcessKey], list[int]] = defaultdict(list)
    for i, table in enumerate(tables):
        ts = start + interval * i
        for identity, kb in table.items():
            seen[(ts // res * res, identity.key)].append(kb)
    return {k: (min(v), round(sum(v) / len(v)), max(v)) for k, v in seen.items()}


def _replayed(data: bytes) -> Buckets:
    """Every (bucket, process) the aggregate shard says a process lived in."""
    out: Buckets = {}
    reader = ShardReader(data, path="agg")
    for frame in reader.frames():
        assert frame.segment.tier in (Tier.MINUTE, Tier.HOUR)
        for identity, row in reader.state.values():
            assert isinstance(row, ProcAggregate)
            assert row.rss_min is not None and row.rss_mean is not None and row.rss_max is not None
            out[(frame.ts, identity.key)] = (row.rss_min, row.rss_mean, row.rss_max)
    assert reader.problems == []
    return out


def test_one_spike_and_a_late_starter(tmp_path: Path, kit) -> None:
    a, b = kit.ident(1), kit.ident(2)
    tables = [{a: 100} for _ in range(6)] + [{a: 100, b: 7}] * 3 + [{a: 900, b: 7}] + [{a: 100}] * 2
    data = _raw_shard(tmp_path / "r.jsonl", kit, tables, interval=10.0)
    out = downsample(data, path="r")
    minute = _replayed(out[Tier.MINUTE])
    assert minute[(0.0, a.key)] == (100, 100, 100)
    assert minute[(60.0, a.key)] == (100, 233, 900)  # the spike survives in the max
    assert minute[(60.0, b.key)] == (7, 7, 7)
    assert minute == _expected(kit, tables, 10.0, 60)
    assert _replayed(out[Tier.HOUR]) == _expected(kit, tables, 10.0, 3600)


def test_buckets_carry_the_sample_count_and_the_worst_system_memory(tmp_path: Path, kit) -> None:
    a = kit.ident(1)
    writer = RawShardWriter(tmp_path / "r.jsonl", host="h", interval_s=20.0)
    for i, (avail, swap) in enumerate([(500, 0), (300, 10), (400, 30), (600, 0)]):
        writer.append(kit.snapshot(20.0 * i, {a: 1}, mem_available=avail, swap_used=swap))
    writer.close()
    frames = list(
        ShardReader(
            downsample((tmp_path / "r.jsonl").read_bytes(), path="r")[Tier.MINUTE], path="m"
        ).frames()
    )
    assert [f.samples for f in frames] == [3, 1]
    first = frames[0].system
    assert (first.mem_available_min, first.mem_available_mean, first.mem_available_max) == (
        300,
        400,
        500,
    )
    assert (first.swap_used_min, first.swap_used_max) == (0, 30)


def test_a_reboot_starts_a_new_aggregate_segment(tmp_path: Path, kit) -> None:
    before, after = kit.ident(1, start=5.0), kit.ident(1, start=7000.0)
    path = tmp_path / "r.jsonl"
    writer = RawShardWriter(path, host="h", interval_s=10.0)
    writer.append(kit.snapshot(0.0, {before: 50}, boot=0.0))
    writer.close()
    writer = RawShardWriter(path, host="h", interval_s=10.0)
    writer.append(kit.snapshot(7200.0, {after: 60}, boot=6990.0))
    writer.close()
    lines: list[bytes] = []
    hourly = Downsampler(Tier.HOUR, write=lines.append)
    with path.open("rb") as raw:  # streamed line by line, as the store does
        problems = downsample_into(raw, path="r", samplers=[hourly])
    assert hourly.finish() == b""  # everything went to the writer
    reader = ShardReader(b"".join(lines), path="h")
    frames = list(reader.frames())
    assert [s.boot_time for s in reader.segments] == [0.0, 6990.0]
    assert [f.ts for f in frames] == [0.0, 7200.0]
    assert [i.key.start for i in frames[1].gone] == [5.0]
    assert problems == []


tables_strategy = st.lists(
    st.dictionaries(st.integers(1, 6), st.sampled_from([10, 10, 10, 20, 500]), max_size=5),
    min_size=1,
    max_size=60,
)


@settings(max_examples=60, deadline=None)
@given(tables=tables_strategy, interval=st.sampled_from([7.0, 15.0, 60.0, 400.0]))
def test_buckets_match_brute_force(tmp_path_factory, kit, tables, interval) -> None:
    idents = {pid: kit.ident(pid) for pid in range(1, 7)}
    named = [{idents[pid]: kb for pid, kb in t.items()} for t in tables]
    path = tmp_path_factory.mktemp("ds") / "r.jsonl"
    data = _raw_shard(path, kit, named, interval=interval, start=1_714_521_590.0)
    out = downsample(data, path="r")
    for tier, res in ((Tier.MINUTE, 60), (Tier.HOUR, 3600)):
        assert _replayed(out[tier]) == _expected(kit, named, interval, res, start=1_714_521_590.0)
