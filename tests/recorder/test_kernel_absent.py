"""Without a readable kernel log (a container without ``/dev/kmsg``) the recorder says so
once, at the start, and records the rest; a file that is no kernel log is skipped and its
unreadable records are counted in the recording."""

from __future__ import annotations

from pathlib import Path

import pytest

from lostbeat.analyzer.parsers.recordings import parse_recording
from lostbeat.recorder.daemon import Recorder, RecorderConfig
from lostbeat.recording.store import Retention

T0 = 1_714_521_630.0


def _run(tmp_path: Path, fake_proc, clocks_at, kmsg: Path):  # type: ignore[no-untyped-def]
    fake_proc.add(100, "service", 40_000)
    clocks = clocks_at(T0)
    config = RecorderConfig(
        tmp_path / "rec",
        interval_s=10.0,
        procfs_root=fake_proc.root,
        host="web1",
        duration_s=60.0,
        retention=Retention(max_bytes=None),
        kernel_log=kmsg,
        pstore=tmp_path / "no-pstore",
    )
    Recorder(config, clock=clocks.wall, monotonic=clocks.monotonic, wait=clocks.wait).run()
    files = [(p.relative_to(config.directory).as_posix(), p.read_bytes())
             for p in config.directory.rglob("*") if p.is_file()]  # fmt: skip
    return parse_recording(files, path="rec")


def test_no_kernel_log_is_said_once_and_the_rest_is_recorded(
    tmp_path: Path, fake_proc, clocks_at, capsys: pytest.CaptureFixture[str]
) -> None:
    rec = _run(tmp_path, fake_proc, clocks_at, tmp_path / "no-kmsg")
    said = [line for line in capsys.readouterr().err.splitlines() if "cannot read" in line]
    assert said == [
        f"lostbeat record: kernel log: {tmp_path}/no-kmsg: cannot read the kernel log "
        "(No such file or directory); recording without it"
    ]
    assert len(rec.system) == 7 and rec.kernel == () and not rec.kernel_counts
    assert [h.key.name for h in rec.processes] == ["service"]


def test_a_record_that_does_not_parse_is_skipped_and_counted(
    tmp_path: Path, fake_proc, clocks_at
) -> None:
    junk = tmp_path / "junk"
    junk.write_bytes(b"no priority, no sequence: not a kernel record\n")
    rec = _run(tmp_path, fake_proc, clocks_at, junk)
    assert rec.kernel == () and rec.kernel_counts.unparsed == 1
    assert len(rec.system) == 7
