"""The process table at a moment, from the finest tier that covers it."""

from __future__ import annotations

from pathlib import Path

import pytest

from lostbeat.errors import ArtifactMissing, InputError
from lostbeat.recording.replay import table_at
from lostbeat.recording.schema import ProcAggregate, ProcSample, Tier
from lostbeat.recording.store import Retention, Store

DAY = 86400.0
T0 = 1_714_521_600.0  # 2024-05-01 00:00:00 UTC


@pytest.fixture
def recording(tmp_path: Path, kit) -> Path:
    """Four days at 5-minute samples; a process starts at day 2, 12:00."""
    retention = Retention(raw_s=DAY, minute_s=2 * DAY, hour_s=30 * DAY, max_bytes=None)
    store = Store(tmp_path, host="web1", interval_s=300.0, retention=retention, fsync_every_s=DAY)
    steady, late = kit.ident(1, "steady"), kit.ident(2, "late")
    for i in range(int(4 * DAY / 300)):
        ts = T0 + 300 * i
        table = {steady: 1000 + i}
        if ts >= T0 + 1.5 * DAY:
            table[late] = 77
        store.append(kit.snapshot(ts, table))
    store.close()
    return tmp_path


def _rss(rows) -> dict[str, int | None]:
    out = {}
    for identity, row in rows:
        out[identity.key.name] = row.rss_kb if isinstance(row, ProcSample) else row.rss_max
    return out


def test_latest_and_nearest_raw_sample(recording: Path) -> None:
    latest = table_at(recording, at=None)
    assert latest.ts == T0 + 4 * DAY - 300 and latest.tier is Tier.RAW
    assert _rss(latest.rows) == {"steady": 1000 + 1151, "late": 77}
    assert latest.host == "web1" and latest.resolution_s == 300.0
    near = table_at(recording, at=T0 + 3 * DAY + 3600 + 140)  # nearer 01:00 than 01:05
    assert near.ts == T0 + 3 * DAY + 3600
    assert _rss(near.rows)["steady"] == 1000 + int((3 * DAY + 3600) / 300)


def test_older_moments_come_from_the_aggregates(recording: Path) -> None:
    minute = table_at(recording, at=T0 + 1.5 * DAY + 61)  # day 2: raw pruned, minutes kept
    assert minute.tier is Tier.MINUTE and minute.ts == T0 + 1.5 * DAY
    assert all(isinstance(row, ProcAggregate) for _, row in minute.rows)
    assert _rss(minute.rows) == {"steady": 1000 + int(1.5 * DAY / 300), "late": 77}
    hour = table_at(recording, at=T0 + 7200 + 100)  # day 1: only hours are left
    assert hour.tier is Tier.HOUR and hour.ts == T0 + 7200
    assert _rss(hour.rows) == {"steady": 1000 + 24 + 11}  # the hour's maximum


def test_not_a_recording(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="expected a recording directory"):
        table_at(tmp_path / "absent", at=None)
    with pytest.raises(ArtifactMissing):
        table_at(tmp_path, at=None)


def test_a_moment_far_from_the_recording(recording: Path) -> None:
    with pytest.raises(ArtifactMissing, match="within a day of 2024-04-01"):
        table_at(recording, at=T0 - 30 * DAY)
