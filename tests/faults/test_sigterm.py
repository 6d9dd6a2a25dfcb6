"""SIGTERM is a clean shutdown, for the monitor, ``hbd`` and the recorder.

Already covered elsewhere, not repeated here: ``hbd`` stopped by SIGTERM while beating
deregisters and is never reported lost (tests/agent/test_loss.py::
test_clean_exit_deregisters_and_a_dead_client_is_gone_not_hung); the recorder stopped by
SIGTERM removes its pid file and leaves a recording without a bad line (tests/recorder/
test_cli.py::test_record_until_sigterm_then_top_shows_the_table).

Here: the monitor stopped in the middle of a capture finishes the capture first, and holds
no capture file open at any time after it; the monitor stopped with clients connected
removes its socket; ``hbd`` stopped while its monitor is away exits at once; and the
recorder, stopped at arbitrary moments again and again, always ends its shard on a whole
line holding every sample it reported.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from lostbeat.agent import cgroup as cg
from lostbeat.analyzer.parsers.recordings import parse_recording
from lostbeat.recording.reader import ShardReader

if TYPE_CHECKING:
    from tests.agent.conftest import Agent, Proc

TIMEOUT = 1.0
INTERVAL = 0.25

HOG = textwrap.dedent("""\
    import sys, time
    block = bytearray(b"x") * (int(sys.argv[1]) << 20)  # every page written, so resident
    print("hog ready", flush=True)
    time.sleep(600)
""")


def open_files_under(pid: int, folder: Path) -> list[str]:
    """The files process ``pid`` has open below ``folder``."""
    fds = Path(f"/proc/{pid}/fd")
    found = []
    for fd in fds.iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue  # closed meanwhile
        if target.startswith(str(folder)):
            found.append(target)
    return found


def monitor_lines(monitor: Proc) -> list[str]:
    return [line for line in monitor.text().splitlines() if f":{monitor.pid})" in line]


@pytest.mark.timeout(90)
def test_monitor_stopped_mid_capture_finishes_it_then_exits(
    agent: Agent, memory_cgroup: cg.MemoryCgroup
) -> None:
    monitor = agent.monitor(
        "--cgroup", str(memory_cgroup.fs_path), "--top", "2", "--cores", "2", "--no-gcore",
        "--core-limit", "512M", timeout=TIMEOUT,
    )  # fmt: skip
    hog = agent.spawn([sys.executable, "-c", HOG, "192"], "hog", cgroup=memory_cgroup)
    hog.wait_line("hog ready", timeout=30)
    hbd = agent.hbd(interval=INTERVAL, cgroup=memory_cgroup, monitor=monitor)
    os.kill(hbd.pid, signal.SIGSTOP)
    monitor.wait_line(r"Dump: Writing capture to", timeout=15)
    os.kill(monitor.pid, signal.SIGSTOP)  # frozen in the middle of the capture...
    try:
        (folder,) = agent.captures()
        assert not (folder / "manifest.json").exists(), "the capture was over already"
        os.kill(monitor.pid, signal.SIGTERM)  # ...asked to stop...
    finally:
        os.kill(monitor.pid, signal.SIGCONT)  # ...and let go
    assert monitor.popen.wait(60) == 0
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["complete"] is True, manifest["files"]
    cores = [c for c in manifest["cores"] if c["pid"] == hog.pid and c["status"] == "ok"]
    assert cores and (folder / cores[0]["path"]).stat().st_size == cores[0]["size"]
    lines = monitor_lines(monitor)
    done = next(i for i, line in enumerate(lines) if "Dump: Capture complete" in line)
    assert lines[-1].endswith("Monitor: stopped") and done < len(lines) - 1, lines[-4:]
    assert not agent.socket.exists()


@pytest.mark.timeout(60)
def test_monitor_stopped_with_clients_connected_closes_everything(agent: Agent) -> None:
    monitor = agent.monitor("--cores", "0", "--top", "1", timeout=TIMEOUT)
    hbds = [agent.hbd(interval=INTERVAL, name=f"c{i}", monitor=monitor) for i in range(3)]
    os.kill(hbds[0].pid, signal.SIGSTOP)
    monitor.wait_line(r"Dump: Capture (complete|incomplete)", timeout=15)
    os.kill(hbds[0].pid, signal.SIGCONT)
    monitor.wait_line(r"Heartbeat resumed \(comm=c0 ")
    # after a capture, no capture file stays open: each was closed once written
    assert open_files_under(monitor.pid, agent.datastore) == []
    assert monitor.stop(signal.SIGTERM, timeout=10) == 0
    assert monitor_lines(monitor)[-1].endswith("Monitor: stopped")
    assert not agent.socket.exists()
    for hbd in hbds:  # each client saw its connection end and keeps trying
        agent.wait_for(lambda h=hbd: "connection lost" in h.text(), timeout=5, what="a client")
        assert hbd.popen.poll() is None


@pytest.mark.timeout(30)
def test_hbd_stopped_while_its_monitor_is_away_exits_at_once(agent: Agent) -> None:
    hbd = agent.hbd(interval=INTERVAL, registered=False)
    agent.wait_for(lambda: "retrying every" in hbd.text(), timeout=10, what="a retry")
    started = time.monotonic()
    assert hbd.stop(signal.SIGTERM) == 0
    assert time.monotonic() - started < 5
    assert hbd.text().rstrip().endswith("stopped; deregistered")


def _frames(directory: Path) -> tuple[int, int, bool]:
    """Samples in the open raw shard, bad lines, and whether it ends on a whole line."""
    (shard,) = (directory / "raw").glob("*.jsonl")
    data = shard.read_bytes()
    reader = ShardReader(data, path=shard.name)
    return sum(1 for _ in reader.frames()), len(reader.problems), data.endswith(b"\n")


@pytest.mark.timeout(90)
def test_recorder_stopped_at_any_moment_ends_on_a_whole_line(tmp_path: Path) -> None:
    rec = tmp_path / "rec"
    sleepers = [subprocess.Popen(["sleep", "120"]) for _ in range(150)]  # longer samples
    reported = 0
    try:
        for round_no in range(5):
            recorder = subprocess.Popen(
                [sys.executable, "-m", "lostbeat", "record", "--dir", str(rec),
                 "--interval", "0.05"],
                stderr=subprocess.PIPE, text=True,
            )  # fmt: skip
            time.sleep(0.6 + 0.037 * round_no)  # a different moment of the cycle each time
            recorder.send_signal(signal.SIGTERM)
            _, err = recorder.communicate(timeout=30)
            assert recorder.returncode == 0, err
            assert "Traceback" not in err and not (rec / "recorder.pid").exists()
            reported += int(err.split("stopped after ")[1].split()[0])
            samples, bad, whole = _frames(rec)
            assert whole and bad == 0, (round_no, bad)
            assert samples == reported, (samples, reported)  # every one, written and closed
    finally:
        for sleeper in sleepers:
            sleeper.kill()
        for sleeper in sleepers:
            sleeper.wait()
    files = sorted(
        (p.relative_to(rec).as_posix(), p.read_bytes()) for p in rec.rglob("*") if p.is_file()
    )
    recording = parse_recording(files, path=str(rec))
    assert len(recording.system) == reported and recording.problems == ()
