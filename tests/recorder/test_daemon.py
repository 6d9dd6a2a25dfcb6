"""The recorder's loop over days, on a fake /proc and a clock that moves when it waits."""

from __future__ import annotations

import fcntl
import json
import os
from pathlib import Path

import pytest

from lostbeat.analyzer.parsers.recordings import parse_recording
from lostbeat.analyzer.parsers.vmksummary import LineKind, parse_vmksummary
from lostbeat.errors import AgentError
from lostbeat.recorder.daemon import Recorder, RecorderConfig
from lostbeat.recorder.summary import syslog_stamp
from lostbeat.recording.store import Retention

DAY = 86400.0
T0 = 1_714_521_630.0  # 2024-05-01 00:00:30 UTC


def _files(directory: Path) -> list[tuple[str, bytes]]:
    return sorted(
        (p.relative_to(directory).as_posix(), p.read_bytes())
        for p in directory.rglob("*")
        if p.is_file()
    )


def _config(tmp_path: Path, fake_proc, **kw) -> RecorderConfig:
    base = {
        "directory": tmp_path / "rec",
        "interval_s": 60.0,
        "procfs_root": fake_proc.root,
        "host": "web1",
        "fsync_every_s": DAY,
        "retention": Retention(max_bytes=None),
    }
    base.update(kw)
    return RecorderConfig(**base)


def _run(config: RecorderConfig, clocks) -> object:
    recorder = Recorder(config, clock=clocks.wall, monotonic=clocks.monotonic, wait=clocks.wait)
    return recorder.run()


def test_two_days_roll_over_and_summarise_every_hour(tmp_path: Path, fake_proc, clocks_at) -> None:
    fake_proc.add(100, "steady-service", 40_000)
    fake_proc.add(200, "leaky-agent", 10_000)
    fake_proc.add(300, "qemu-system-x86", 20_000)
    clocks = clocks_at(T0)
    grown = {"kb": 10_000}

    def leak(now: float) -> None:  # 4 KB a minute, and a short-lived helper at 13:00 on day 1
        grown["kb"] += 4
        fake_proc.set(200, "leaky-agent", grown["kb"])
        if T0 + 13 * 3600 <= now < T0 + 13 * 3600 + 300 and not (fake_proc.root / "400").exists():
            fake_proc.add(400, "helper", 500)
        elif now >= T0 + 13 * 3600 + 300 and (fake_proc.root / "400").exists():
            fake_proc.remove(400)

    clocks.on_wait = leak
    stats = _run(_config(tmp_path, fake_proc, duration_s=2 * DAY), clocks)
    rec = tmp_path / "rec"
    names = sorted(p.relative_to(rec).as_posix() for p in rec.rglob("*") if p.is_file())
    assert names == [
        "hour/2024-05-01.jsonl.gz",
        "hour/2024-05-02.jsonl.gz",
        "lostbeat-recording.json",
        "minute/2024-05-01.jsonl.gz",
        "minute/2024-05-02.jsonl.gz",
        "raw/2024-05-02.jsonl.gz",
        "raw/2024-05-03.jsonl",
        "recorder.state",
        "vmksummary",
    ]  # raw of day 1 is past its day of retention; recorder.pid is gone after the stop
    assert stats.samples == 2 * 24 * 60 + 1
    summary = parse_vmksummary((rec / "vmksummary").read_text().splitlines(), path="vmksummary")
    kinds = [line.kind for line in summary.lines]
    assert kinds[0] is LineKind.STARTING and summary.lines[0].epoch == 1_714_500_000
    assert kinds[1:] == [LineKind.HEARTBEAT] * 48
    hb = summary.lines[1]
    assert hb.epoch == T0 + 60 and hb.stamp == syslog_stamp(T0 + 60)  # first sample past 00:01
    assert all((line.epoch or 0) % 3600 == 90 for line in summary.lines[1:])  # HH:01:30 each
    assert hb.vms == 1 and hb.vmk_build == 60155 and hb.swap_used_bytes == 0
    assert [c.token for c in hb.top] == ["steady-s", "qemu-sys", "leaky-ag"]
    assert [c.token for c in summary.lines[-1].top][:1] == ["steady-s"]
    assert summary.lines[-1].top[-1].kb > summary.lines[1].top[-1].kb  # the leak, hour by hour
    recording = parse_recording(_files(rec), path=str(rec))
    leaky = next(p for p in recording.processes if p.key.name == "leaky-agent")
    assert leaky.points[-1].rss_kb == grown["kb"]
    helper = next(p for p in recording.processes if p.key.name == "helper")
    assert helper.peak_kb == 500
    assert json.loads((rec / "recorder.state").read_text())["boot_id"] == "b-1"


def test_starting_system_is_logged_once_per_boot(tmp_path: Path, fake_proc, clocks_at) -> None:
    fake_proc.add(100, "svc", 1000)
    for wall in (T0, T0 + 600):
        _run(_config(tmp_path, fake_proc, duration_s=120), clocks_at(wall))
    (fake_proc.root / "sys/kernel/random/boot_id").write_text("b-2\n")
    (fake_proc.root / "stat").write_text("cpu 0\nbtime 1714525000\n")
    _run(_config(tmp_path, fake_proc, duration_s=120), clocks_at(T0 + 7200))
    log = (tmp_path / "rec" / "vmksummary").read_text()
    assert [line.split(") ")[0][-10:] for line in log.splitlines() if "Starting" in line] == [
        "1714500000",
        "1714525000",
    ]
    recording = parse_recording(_files(tmp_path / "rec"), path="rec")
    assert recording.boots == (1_714_500_000.0, 1_714_525_000.0)


def test_one_recorder_per_directory(tmp_path: Path, fake_proc, clocks_at) -> None:
    config = _config(tmp_path, fake_proc, duration_s=60)
    config.directory.mkdir()
    (config.directory / "lostbeat-recording.json").write_text(
        '{"schema": "lostbeat.recording/1", "schema_version": 1}'
    )
    fd = os.open(config.directory / "recorder.pid", os.O_RDWR | os.O_CREAT)
    try:
        os.write(fd, b"4242\n")
        fcntl.flock(fd, fcntl.LOCK_EX)
        with pytest.raises(AgentError, match=r"another recorder \(pid 4242\)"):
            _run(config, clocks_at(T0))
    finally:
        os.close(fd)
    _run(config, clocks_at(T0))  # free again once the holder let go


def test_a_late_sample_skips_its_ticks_instead_of_bunching(
    tmp_path: Path, fake_proc, clocks_at
) -> None:
    fake_proc.add(100, "svc", 1000)
    clocks = clocks_at(T0)
    waits = []
    real_wait = clocks.wait

    def stall_once(seconds: float) -> bool:
        waits.append(seconds)
        woke = real_wait(seconds)
        if len(waits) == 3:
            clocks.mono += 250  # the host stalls for four intervals before the fourth sample
        return woke

    config = _config(tmp_path, fake_proc, duration_s=600)
    Recorder(config, clock=clocks.wall, monotonic=clocks.monotonic, wait=stall_once).run()
    times = [p.epoch for p in parse_recording(_files(config.directory), path="r").system]
    gaps = [round(b - a) for a, b in zip(times, times[1:], strict=False)]
    assert gaps[:4] == [60, 60, 310, 50]  # no burst of catch-up samples after the stall
    assert set(gaps[4:]) == {60} and all(round(t - T0) % 60 == 0 for t in times[4:])
