"""parse_recording: a recording folder's files in, per-process series out.

Happy path across tiers, empty input, corrupt lines, a newer schema, and the doctest.
"""

from __future__ import annotations

import doctest
from pathlib import Path

import pytest

from lostbeat.analyzer.parsers import recordings
from lostbeat.analyzer.parsers.recordings import Point, parse_recording
from lostbeat.errors import ArtifactMissing, ParseError, RecordingCorrupt
from lostbeat.recording.codec import frame
from lostbeat.recording.marker import open_directory
from lostbeat.recording.schema import Tier
from lostbeat.recording.store import Retention, Store, inflate

DAY = 86400.0
T0 = 1_714_521_600.0  # 2024-05-01 00:00:00 UTC


def _recorded(tmp_path: Path, kit, days: float, step: float, spike_at: float | None = None):
    """A leaker growing 1 MB an hour, a steady one, and one that spikes once."""
    open_directory(tmp_path, host="web1", interval_s=step, now=T0)
    store = Store(
        tmp_path,
        host="web1",
        interval_s=step,
        fsync_every_s=DAY,
        retention=Retention(raw_s=DAY, minute_s=2 * DAY, hour_s=30 * DAY, max_bytes=None),
    )
    leak, steady, spiky = kit.ident(10, "leaky"), kit.ident(11, "steady"), kit.ident(12, "spiky")
    ts = T0
    while ts < T0 + days * DAY:
        spike = 500_000 if spike_at is not None and spike_at <= ts < spike_at + 3 * step else 0
        store.append(
            kit.snapshot(ts, {leak: 1000 + int((ts - T0) / 3.6), steady: 5000, spiky: 2000 + spike})
        )
        ts += step
    store.close()
    return kit.files(tmp_path)


def test_happy_path_uses_the_finest_tier_of_each_day(tmp_path: Path, kit) -> None:
    files = _recorded(tmp_path, kit, days=4.5, step=600.0, spike_at=T0 + 4 * DAY + 3600)
    rec = parse_recording(files, path=str(tmp_path))
    assert rec.host == "web1" and rec.interval_s == 600.0 and rec.boots == (0.0,)
    assert [(c.tier, c.resolution_s) for c in rec.coverage] == [
        (Tier.HOUR, 3600),
        (Tier.HOUR, 3600),
        (Tier.MINUTE, 60),
        (Tier.RAW, 600.0),
        (Tier.RAW, 600.0),
    ]
    assert rec.problems == ()
    by_name = {p.key.name: p for p in rec.processes}
    leak = by_name["leaky"].points
    assert leak[0] == Point(T0, 1000 + int(3000 / 3.6), 0)  # hour 0's max, at 00:00
    assert leak[-1].rss_kb == 1000 + int((T0 + 4.5 * DAY - 600 - T0) / 3.6)
    assert [p.epoch for p in leak] == sorted(p.epoch for p in leak)
    # the hour buckets of day 1 hold each hour's maximum, at the hour's start
    assert Point(T0 + 3600, 1000 + int(3000 / 3.6) + 1000, 0) in leak
    steady = by_name["steady"].points
    assert {p.rss_kb for p in steady} == {5000}
    # the spike within an hour is in the raw samples, exactly, with its time
    spiky = by_name["spiky"].points
    spike_points = [p for p in spiky if p.rss_kb == 502_000]
    assert [p.epoch for p in spike_points] == [T0 + 4 * DAY + 3600, T0 + 4 * DAY + 4800]
    assert by_name["spiky"].peak_kb == 502_000
    assert rec.system[-1].mem_total == 8 << 30 and rec.system[-1].swap_total == 1 << 30


def test_points_give_back_every_raw_sample(tmp_path: Path, kit) -> None:
    a = kit.ident(1)
    values = [5, 5, 5, 9, 9, 2, 2, 2, 2, 7]
    open_directory(tmp_path, host="h", interval_s=10.0, now=T0)
    store = Store(tmp_path, host="h", interval_s=10.0, fsync_every_s=DAY)
    for i, kb in enumerate(values):
        store.append(kit.snapshot(T0 + 10 * i, {a: kb}))
    store.close()
    points = parse_recording(kit.files(tmp_path), path="r").processes[0].points
    assert [(p.epoch - T0, p.rss_kb) for p in points] == [
        (0, 5),
        (20, 5),
        (30, 9),
        (40, 9),
        (50, 2),
        (80, 2),
        (90, 7),
    ]

    def at(t: float) -> float:  # straight lines between points
        after = next(i for i, p in enumerate(points) if p.epoch >= t)
        p1 = points[after]
        if p1.epoch == t:
            return float(p1.rss_kb or 0)
        p0 = points[after - 1]
        return (p0.rss_kb or 0) + ((p1.rss_kb or 0) - (p0.rss_kb or 0)) * (t - p0.epoch) / (
            p1.epoch - p0.epoch
        )

    assert [at(T0 + 10 * i) for i in range(len(values))] == values
    history = parse_recording(kit.files(tmp_path), path="r").processes[0]
    assert [history.at(T0 + 10 * i).rss_kb for i in range(len(values))] == values
    assert history.at(T0 - 1) is None and history.at(T0 + 91) is None


def test_members_inflated_by_the_source_or_not(tmp_path: Path, kit) -> None:
    files = _recorded(tmp_path, kit, days=1.2, step=3600.0)
    inflated = [(name, inflate(data)) for name, data in files]
    nested = [(f"recordings/web1/{name}", data) for name, data in files]
    expected = parse_recording(files, path="r")
    assert parse_recording(inflated, path="r").processes == expected.processes
    assert parse_recording(nested, path="r").processes == expected.processes


def test_empty_input_is_missing_not_malformed() -> None:
    with pytest.raises(ArtifactMissing):
        parse_recording([], path="rec")
    marker = b'{"schema": "lostbeat.recording/1", "schema_version": 1}'
    with pytest.raises(ArtifactMissing):
        parse_recording(
            [("lostbeat-recording.json", marker), ("raw/2024-05-01.jsonl", b"")], path="rec"
        )
    with pytest.raises(ArtifactMissing):
        parse_recording(
            [("vmksummary", b"Nov 13 03:01:35 h vmkhalt: (1) Starting system...\n")], path="rec"
        )


def test_corrupt_lines_are_counted_with_path_and_line(tmp_path: Path, kit) -> None:
    files = dict(_recorded(tmp_path, kit, days=0.1, step=600.0))
    name = "raw/2024-05-01.jsonl"
    lines = files[name].splitlines(keepends=True)
    lines[5] = lines[5].replace(b'"ts"', b'"tz"')
    files[name] = b"".join(lines) + b"0000 torn"
    rec = parse_recording(sorted(files.items()), path="rec")
    assert [(p.path, p.line_no) for p in rec.problems] == [
        (name, 6),
        (name, len(lines) + 1),
        (name, None),
    ]
    assert rec.problems[0].reason == "CRC mismatch"
    # 15 samples: the bad one (00:10) is lost, and the four deltas after it (00:20 to 00:50)
    # wait for the hourly keyframe at 01:00, since they may build on what the bad line held
    assert len(rec.system) == 15 - 1 - 4
    assert rec.problems[-1].reason == "4 records skipped while waiting for a keyframe"


def test_nothing_readable_is_corrupt_and_a_bad_marker_is_malformed() -> None:
    with pytest.raises(RecordingCorrupt, match="no readable sample") as err:
        parse_recording([("raw/2024-05-01.jsonl", b"12345678 nonsense\n")], path="rec")
    assert err.value.path == "raw/2024-05-01.jsonl"
    with pytest.raises(RecordingCorrupt, match="cannot inflate|no readable"):
        parse_recording([("raw/2024-05-01.jsonl.gz", b"\x1f\x8b\x08\x00broken")], path="rec")
    with pytest.raises(ParseError, match="lostbeat-recording.json:1"):
        parse_recording([("lostbeat-recording.json", b"{oops")], path="rec")
    newer = frame({"t": "open", "v": 2})
    with pytest.raises(RecordingCorrupt, match="schema version 2"):
        parse_recording([("raw/2024-05-01.jsonl", newer)], path="rec")


def test_the_doctest_runs() -> None:
    result = doctest.testmod(recordings)
    assert result.attempted > 5 and result.failed == 0


def test_a_day_whose_raw_shard_is_corrupt_is_read_from_its_minute_shard(
    tmp_path: Path, kit
) -> None:
    """However the recording is given, a folder or its files, the day is not lost."""
    from lostbeat.analyzer.sources import open_source

    files = dict(_recorded(tmp_path, kit, days=4.5, step=600.0))
    day = "2024-05-04"
    raw = next(n for n in files if n.startswith(f"raw/{day}"))
    assert any(n.startswith(f"minute/{day}") for n in files)
    (tmp_path / raw).write_bytes(b"\x1f\x8b\x08\x00 not gzip at all")
    for given in ("folder", "files"):
        if given == "folder":
            collected = open_source(tmp_path).collect()
            shards = [(m.path, m.data) for m in collected.members if m.artifact == "recording"]
            said = [r.path for r in collected.records]  # the folder's reader says it broke
        else:
            shards = [(n, (tmp_path / n).read_bytes()) for n in files]
            said = []
        rec = parse_recording(shards, path=str(tmp_path))
        tiers = {c.path.split("/")[1][:10]: c.tier for c in rec.coverage}
        assert tiers[day] is Tier.MINUTE, given
        assert len(rec.coverage) == 5, given  # every day, none lost
        assert raw in said + [p.path for p in rec.problems], given
