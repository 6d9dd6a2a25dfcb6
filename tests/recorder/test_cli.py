"""``lostbeat record`` and ``lostbeat top`` as a person runs them: real processes, real files."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from lostbeat.analyzer.parsers.recordings import parse_recording

LOSTBEAT = [sys.executable, "-m", "lostbeat"]
ENV = {**os.environ, "COLUMNS": "160"}


def _lostbeat(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*LOSTBEAT, *args], capture_output=True, text=True, timeout=timeout, env=ENV
    )


def _files(directory: Path) -> list[tuple[str, bytes]]:
    return sorted(
        (p.relative_to(directory).as_posix(), p.read_bytes())
        for p in directory.rglob("*")
        if p.is_file()
    )


def _wait_for_samples(directory: Path, count: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        shards = list((directory / "raw").glob("*.jsonl")) if (directory / "raw").is_dir() else []
        if shards and sum(shard.read_bytes().count(b'"t":"s"') for shard in shards) >= count:
            return
        time.sleep(0.05)
    raise AssertionError(f"fewer than {count} samples in {directory} after {timeout} s")


def test_record_until_sigterm_then_top_shows_the_table(tmp_path: Path) -> None:
    rec = tmp_path / "rec"
    with (
        subprocess.Popen(
            [
                sys.executable,
                "-c",
                "import time; time.sleep(120)",
                "cli-test-sleeper",
                "[red]x[/]\n2",
            ]
        ) as sleeper,
        subprocess.Popen(
            [*LOSTBEAT, "record", "--dir", str(rec), "--interval", "0.1"],
            stderr=subprocess.PIPE,
            text=True,
            env=ENV,
        ) as recorder,
    ):
        try:
            _wait_for_samples(rec, 5)
            recorder.send_signal(signal.SIGTERM)
            _, err = recorder.communicate(timeout=30)
        finally:
            sleeper.kill()
            recorder.kill()
    assert recorder.returncode == 0, err
    assert "stopped after" in err and "Traceback" not in err
    assert not (rec / "recorder.pid").exists()
    recording = parse_recording(_files(rec), path=str(rec))
    assert recording.interval_s == 0.1 and recording.problems == ()
    mine = [p for p in recording.processes if p.key.pid == sleeper.pid]
    assert mine and mine[0].key.cmdline.endswith("cli-test-sleeper [red]x[/]\n2")

    shown = _lostbeat("top", "--dir", str(rec))
    assert shown.returncode == 0, shown.stderr
    assert "raw sample, every 0.1 s" in shown.stdout
    row = next(line for line in shown.stdout.splitlines() if line.split()[:1] == [str(sleeper.pid)])
    assert "cli-test-sleeper [red]x[/]\\x0a2" in row  # text on one line, not markup
    first = recording.system[0].epoch
    early = _lostbeat(
        "top", "--dir", str(rec), "--at", f"@{first - 5}", "--sort", "pid", "--limit", "3"
    )
    assert early.returncode == 0, early.stderr
    assert time.strftime("%H:%M:%S", time.localtime(first)) in early.stdout.splitlines()[0]
    assert len([ln for ln in early.stdout.splitlines() if ln.strip()[:1].isdigit()]) == 3
    relative = _lostbeat("top", "--dir", str(rec), "--at", "-10m")  # a value, not an option
    assert relative.returncode == 0, relative.stderr


def test_record_stops_by_itself_after_its_duration(tmp_path: Path) -> None:
    done = _lostbeat("record", "--dir", str(tmp_path / "r"), "--interval", "0.2", "--duration", "1")
    assert done.returncode == 0, done.stderr
    assert "stopped after 6 samples" in done.stderr


def test_bad_input_is_one_line_and_no_traceback(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("not a recording")
    cases = [
        (("record", "--dir", str(tmp_path / "r"), "--max-size", "lots"), "expected a size"),
        (("record", "--dir", str(tmp_path / "r"), "--retention", "5m"), "expected at least 1h"),
        (("record", "--dir", str(tmp_path / "r"), "--interval", "0"), "expected at least 0.05 s"),
        (("record", "--dir", str(tmp_path)), "not a recording"),
        (("top", "--dir", str(tmp_path / "absent")), "expected a recording directory"),
        (("top", "--dir", str(tmp_path)), "recording is missing or empty"),
        (("top", "--dir", str(tmp_path), "--at", "yesterday"), "expected a time"),
    ]
    for args, expected in cases:
        result = _lostbeat(*args)
        assert result.returncode == 2, (args, result.stderr)
        assert expected in result.stderr, (args, result.stderr)
        assert "Traceback" not in result.stderr
        message = [ln for ln in result.stderr.splitlines() if not ln.startswith(("usage:", " "))]
        assert len(message) == 1, result.stderr
        assert message[0].startswith(f"lostbeat {args[0]}: "), result.stderr
