"""Sizes, durations and times as typed; the marker that makes a folder a recording."""

from __future__ import annotations

import json
import time
from datetime import datetime
from pathlib import Path

import pytest

from lostbeat.errors import InputError, ParseError, RecordingCorrupt
from lostbeat.recording.marker import open_directory, read_marker
from lostbeat.recording.units import parse_duration, parse_size, parse_time


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("20M", 20 << 20),
        ("20MiB", 20 << 20),
        ("512k", 512 << 10),
        ("1G", 1 << 30),
        ("100", 100),
        ("1.5M", 3 << 19),
        (" 2 gb ", 2 << 30),
    ],
)
def test_sizes(text: str, expected: int) -> None:
    assert parse_size(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("30d", 30 * 86400),
        ("12h", 43200),
        ("10m", 600),
        ("90s", 90),
        ("2w", 14 * 86400),
        ("1h30m", 5400),
        ("45", 45),
        ("0.5h", 1800),
    ],
)
def test_durations(text: str, expected: float) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["", "-5m", "10x", "d30", "1h 3y", "M"])
def test_bad_sizes_and_durations_say_what_was_expected(text: str) -> None:
    with pytest.raises(ValueError, match="expected a duration"):
        parse_duration(text)
    with pytest.raises(ValueError, match="expected a size"):
        parse_size(text)


def test_times() -> None:
    now = 1_714_608_000.0
    assert parse_time("-10m", now=now) == now - 600
    assert parse_time("-1h30m", now=now) == now - 5400
    assert parse_time("now", now=now) == now
    assert parse_time("@1700000000", now=now) == 1_700_000_000
    assert parse_time("2024-05-02T00:00:00Z", now=now) == now
    assert parse_time("2024-05-02T02:00:00+02:00", now=now) == now
    local = datetime(2024, 5, 1, 13, 0, 5).timestamp()  # naive: the local clock
    assert parse_time("2024-05-01 13:00:05", now=now) == local
    assert parse_time("2024-05-01 13:00", now=now) == local - 5
    for bad in ("yesterday", "-", "-x", "@soon", "2024-13-01 10:00"):
        with pytest.raises(ValueError, match="expected a time"):
            parse_time(bad, now=now)


def test_a_new_directory_gets_a_marker(tmp_path: Path) -> None:
    folder = tmp_path / "rec" / "deep"
    marker = open_directory(folder, host="web1", interval_s=10.0, now=time.time())
    doc = json.loads((folder / "lostbeat-recording.json").read_text())
    assert doc["schema"] == "lostbeat.recording/1" and doc["host"] == "web1"
    assert marker.interval_s == 10.0
    again = open_directory(folder, host="other", interval_s=1.0, now=0.0)
    assert again.host == "web1"  # an existing recording keeps its marker


def test_a_folder_that_is_not_a_recording_is_refused(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(InputError, match="not a recording"):
        open_directory(tmp_path, host="h", interval_s=1.0, now=0.0)
    with pytest.raises(InputError, match="expected a directory"):
        open_directory(tmp_path / "notes.txt", host="h", interval_s=1.0, now=0.0)


def test_broken_or_newer_markers(tmp_path: Path) -> None:
    with pytest.raises(ParseError) as err:
        read_marker(b'{\n "schema": oops\n}', path="m.json")
    assert err.value.line_no == 2
    with pytest.raises(ParseError, match="JSON object"):
        read_marker(b"[1]", path="m.json")
    with pytest.raises(RecordingCorrupt, match="schema_version 7"):
        read_marker(b'{"schema": "lostbeat.recording/1", "schema_version": 7}', path="m.json")
    (tmp_path / "lostbeat-recording.json").write_text('{"schema": "x"}')
    with pytest.raises(RecordingCorrupt, match="expected schema"):
        open_directory(tmp_path, host="h", interval_s=1.0, now=0.0)
