"""Errors render as one line with file and line, and survive a trip to a worker process."""

from __future__ import annotations

import pickle

import pytest

from lostbeat.errors import (
    AccessDenied,
    ArtifactMissing,
    HeartbeatRefused,
    InputError,
    MonitorUnavailable,
    ParseError,
    ProcessGone,
    RecordingCorrupt,
    UnsafeMember,
)

ERRORS = [
    InputError("not a tar archive", path="x.tgz"),
    UnsafeMember("absolute path", path="/etc/passwd"),
    ArtifactMissing("meminfo", path="proc/meminfo"),
    ArtifactMissing("meminfo"),
    ParseError("expected 'Key: value kB'", path="proc/meminfo", line_no=3, line="bad"),
    RecordingCorrupt("bad CRC", path="raw/2026-11-25.jsonl", line_no=7),
    ProcessGone(42),
    HeartbeatRefused("refused", reason="uid-not-allowed"),
    MonitorUnavailable("no monitor on /run/lostbeat.sock"),
    AccessDenied(42, "smaps"),
]


@pytest.mark.parametrize("err", ERRORS, ids=lambda e: type(e).__name__)
def test_errors_pickle_round_trip_and_are_one_line(err: Exception) -> None:
    back = pickle.loads(pickle.dumps(err))
    assert type(back) is type(err)
    assert str(back) == str(err)
    assert back.__dict__ == err.__dict__
    assert "\n" not in str(err)


def test_parse_error_names_file_and_line() -> None:
    err = ParseError("expected 'Key: value kB'", path="proc/meminfo", line_no=3, line="x")
    assert str(err).startswith("proc/meminfo:3: ")
