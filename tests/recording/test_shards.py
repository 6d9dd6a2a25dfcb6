"""Shard lines written by the raw writer and read back: deltas, keyframes, torn and bad lines."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lostbeat.errors import RecordingCorrupt
from lostbeat.recording.codec import BadLine, decode_sample_row, frame, unframe
from lostbeat.recording.reader import ShardReader
from lostbeat.recording.schema import ProcSample
from lostbeat.recording.writer import RawShardWriter


def _write(path: Path, snaps: list, **kw: float) -> RawShardWriter:
    writer = RawShardWriter(path, host="web1", interval_s=10.0, **kw)
    for snap in snaps:
        writer.append(snap)
    writer.close()
    return writer


def _replay(data: bytes, path: str = "raw/x.jsonl") -> tuple[ShardReader, list[dict[int, int]]]:
    """The reader and, for each frame, pid -> RSS of every live process."""
    reader = ShardReader(data, path=path)
    tables = []
    for _ in reader.frames():
        tables.append({i.key.pid: row.rss_kb for i, row in reader.state.values()})
    return reader, tables


def test_frame_round_trip_and_rejects() -> None:
    line = frame({"t": "proc", "name": "é\n\u2028"})
    assert unframe(line) == {"t": "proc", "name": "é\n\u2028"}
    assert line.count(b"\n") == 1  # control characters are escaped, the line stays one line
    for bad, why in (
        (line[:-1], "torn"),
        (line.replace(b"proc", b"prod"), "CRC"),
        (b"zzzzzzzz {}\n", "expected"),
        (frame({"x": 1}), "'t' field"),
        (b"%08x []\n" % __import__("zlib").crc32(b"[]"), "'t' field"),
    ):
        with pytest.raises(BadLine, match=why):
            unframe(bad)


def test_rows_keep_unknown_values_as_none() -> None:
    assert decode_sample_row([3, 100, None, None, None, None, None]) == (
        3,
        ProcSample(100, None, None, None, None, None),
    )
    with pytest.raises(BadLine):
        decode_sample_row([3, "100", 0, 0, 0, 0, "S"])
    with pytest.raises(BadLine):
        decode_sample_row([3, 100, 0])


def test_only_changes_are_written_and_replay_gives_every_table(tmp_path: Path, kit) -> None:
    a, b, c = kit.ident(10), kit.ident(11), kit.ident(12)
    tables = [{a: 100, b: 200}, {a: 100, b: 200}, {a: 150, b: 200, c: 5}, {a: 150, c: 5}, {c: 6}]
    shard = tmp_path / "raw" / "2024-05-01.jsonl"
    _write(shard, [kit.snapshot(10.0 * i, t) for i, t in enumerate(tables)])
    records = [unframe(line) for line in shard.read_bytes().splitlines(keepends=True)]
    samples = [r for r in records if r["t"] == "s"]
    assert [len(r["p"]) for r in samples] == [2, 0, 2, 0, 1]  # unchanged rows are left out
    assert [r.get("g", []) for r in samples][3:] == [[1], [0]]
    assert sum(r["t"] == "proc" for r in records) == 3
    reader, replayed = _replay(shard.read_bytes())
    assert replayed == [{i.key.pid: kb for i, kb in t.items()} for t in tables]
    assert reader.problems == []
    assert reader.segments[0].interval_s == 10.0 and reader.segments[0].host == "web1"


def test_reused_pid_is_a_new_process(tmp_path: Path, kit) -> None:
    old, new = kit.ident(10, "old", start=1.0), kit.ident(10, "new", start=50.0)
    shard = tmp_path / "s.jsonl"
    _write(shard, [kit.snapshot(0, {old: 100}), kit.snapshot(60, {new: 100})])
    reader = ShardReader(shard.read_bytes(), path="s")
    frames = list(reader.frames())
    assert [i.key.name for i in frames[1].gone] == ["old"]
    assert [i.key.name for i, _ in frames[1].changed] == ["new"]


def test_keyframes_come_back_and_carry_no_false_changes(tmp_path: Path, kit) -> None:
    a, b = kit.ident(1), kit.ident(2)
    shard = tmp_path / "s.jsonl"
    snaps = [kit.snapshot(10.0 * i, {a: 100, b: 200 + (i == 3)}) for i in range(7)]
    _write(shard, snaps, keyframe_every_s=20.0)
    keys = [r.get("k") for r in map(unframe, shard.read_bytes().splitlines(True)) if r["t"] == "s"]
    assert keys == [1, None, 1, None, 1, None, 1]
    frames = list(ShardReader(shard.read_bytes(), path="s").frames())
    assert [len(f.changed) for f in frames] == [2, 0, 0, 1, 1, 0, 0]


def test_torn_last_line_is_skipped_and_counted(tmp_path: Path, kit) -> None:
    a = kit.ident(1)
    shard = tmp_path / "s.jsonl"
    _write(shard, [kit.snapshot(10.0 * i, {a: 100 + i}) for i in range(5)])
    data = shard.read_bytes()
    torn = data[: data.rindex(b"\n", 0, len(data) - 1) + 20]  # the last line cut after 19 bytes
    reader, tables = _replay(torn)
    assert [t[1] for t in tables] == [100, 101, 102, 103]
    assert [(p.line_no, p.reason) for p in reader.problems] == [(7, "torn line (no newline)")]


def test_restart_after_a_torn_line_appends_a_new_segment(tmp_path: Path, kit) -> None:
    a, b = kit.ident(1), kit.ident(2)
    shard = tmp_path / "s.jsonl"
    _write(shard, [kit.snapshot(0, {a: 100, b: 5}), kit.snapshot(10, {a: 101, b: 5})])
    with shard.open("ab") as f:
        f.write(b'0badc0de {"t":"s","ts":20.0,"m":[1')  # a write cut by kill -9
    _write(shard, [kit.snapshot(60, {a: 101, b: 5}), kit.snapshot(70, {a: 102})])
    reader = ShardReader(shard.read_bytes(), path="s")
    frames = list(reader.frames())
    assert [f.ts for f in frames] == [0, 10, 60, 70]
    assert frames[2].changed == () and frames[2].gone == ()  # lived through the restart
    assert [i.key.pid for i in frames[3].gone] == [2]
    assert len(reader.segments) == 2
    assert len(reader.problems) == 1 and reader.problems[0].reason == "CRC mismatch"


def test_a_bad_line_mid_file_skips_deltas_until_a_keyframe(tmp_path: Path, kit) -> None:
    a = kit.ident(1)
    shard = tmp_path / "s.jsonl"
    _write(shard, [kit.snapshot(10.0 * i, {a: 100 + i}) for i in range(6)], keyframe_every_s=30)
    lines = shard.read_bytes().splitlines(keepends=True)
    lines[3] = lines[3].replace(b"101", b"999")  # bit rot in the second sample
    reader, tables = _replay(b"".join(lines))
    assert [t[1] for t in tables] == [100, 103, 104, 105]  # 102 followed the bad line: unsafe
    reasons = [p.reason for p in reader.problems]
    assert reasons == ["CRC mismatch", "1 records skipped while waiting for a keyframe"]
    assert reader.problems[0].where == "raw/x.jsonl:4"


def test_a_newer_schema_is_refused(kit) -> None:
    data = frame({"t": "open", "v": 99, "tier": "raw", "ts": 0})
    with pytest.raises(RecordingCorrupt, match="schema version 99"):
        list(ShardReader(data, path="raw/2024-05-01.jsonl").frames())


def test_unknown_ids_and_records_are_problems_not_crashes(kit) -> None:
    lines = [
        frame({"t": "open", "v": 1, "tier": "raw", "ts": 0, "interval": 1.0, "boot": 0}),
        frame({"t": "s", "ts": 1, "k": 1, "m": [1, 1, 0, 0], "p": [[5, 1, 0, 1, 1, 1, "S"]]}),
        frame({"t": "later-feature", "x": 1}),
        b"not a line at all\n",
    ]
    reader = ShardReader(b"".join(lines), path="p")
    assert list(reader.frames()) == []
    assert [p.line_no for p in reader.problems] == [2, 3, 4]
    assert "unknown process id 5" in reader.problems[0].reason
    assert json.loads(lines[0][9:])["v"] == 1


@settings(max_examples=40, deadline=None)
@given(
    tables=st.lists(
        st.dictionaries(st.integers(1, 5), st.integers(0, 3), max_size=5), min_size=1, max_size=30
    ),
    keyframe_every=st.sampled_from([10.0, 30.0, 1e9]),
)
def test_any_sequence_of_tables_replays_exactly(
    tmp_path_factory, kit, tables, keyframe_every
) -> None:
    idents = {pid: kit.ident(pid) for pid in range(1, 6)}
    shard = tmp_path_factory.mktemp("rt") / "s.jsonl"
    snaps = [
        kit.snapshot(10.0 * i, {idents[p]: kb for p, kb in t.items()}) for i, t in enumerate(tables)
    ]
    _write(shard, snaps, keyframe_every_s=keyframe_every)
    reader, replayed = _replay(shard.read_bytes())
    assert replayed == tables
    assert reader.problems == []
