"""kill -9 of the recorder at every step of a day's roll-over: nothing older is lost.

tests/recorder/test_crash.py kills the recorder in the middle of appending a sample (the
torn line is skipped, nothing before it lost) and at arbitrary moments. The other write the
recorder makes is the roll-over at midnight: the closed day is downsampled into minute and
hour shards and compressed, each file written under a temporary name, synced and renamed,
then the plain shard is removed. Here a real recorder process is killed with SIGKILL at each
of those steps in turn: before each file's first byte, before and after each rename, and
before the removal. After each kill the store must read, with every sample written before
it; a recorder started again must finish the roll-over, leaving one compressed raw shard
and its minute and hour shards for the day, no temporary file, and every sample.

The recorder runs on a fake ``/proc`` (tests/recorder/conftest.py) and a clock that moves
only when it waits, so that a day's end comes at once; the kill is sent by the process to
itself from a wrapper around the store's file operations, so it lands exactly there.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from lostbeat.analyzer.parsers.recordings import parse_recording
from tests.recorder.conftest import FakeProc

MIDNIGHT = 1_714_608_000.0  # 2024-05-02 00:00 UTC: 2024-05-01 closes
INTERVAL = 600.0
REPO = Path(__file__).resolve().parents[2]

CHILD = textwrap.dedent("""\
    import os, signal, sys
    from pathlib import Path
    from lostbeat.recorder.daemon import Recorder, RecorderConfig
    from lostbeat.recording import store

    rec, procfs, start, count, kill_at = sys.argv[1:6]
    rec, start, count = Path(rec), float(start), int(count)

    def event(name):
        print("event", name, flush=True)
        if name == kill_at:
            os.kill(os.getpid(), signal.SIGKILL)

    def rel(path):
        return Path(path).relative_to(rec).as_posix()

    started = set()
    real_write = store._AtomicGzip.write
    def write(self, data):
        if self.path not in started:
            started.add(self.path)
            event("write " + rel(self.path))
        real_write(self, data)
    store._AtomicGzip.write = write

    real_replace = os.replace
    def replace(src, dst, *args, **kwargs):
        event("rename to " + rel(dst))
        real_replace(src, dst, *args, **kwargs)
        event("renamed to " + rel(dst))
    os.replace = replace

    real_unlink = Path.unlink
    def unlink(self, missing_ok=False):
        if self.name.endswith(".jsonl"):
            event("remove " + rel(self))
        real_unlink(self, missing_ok=missing_ok)
    Path.unlink = unlink

    real_append = store.Store.append
    def append(self, snapshot):
        written = real_append(self, snapshot)
        print("sample", snapshot.ts, flush=True)
        return written
    store.Store.append = append

    class Clock:
        def __init__(self):
            self.mono = 1000.0
        def wall(self):
            return start - 1000.0 + self.mono
        def monotonic(self):
            return self.mono
        def wait(self, seconds):
            self.mono += seconds
            return False

    clock = Clock()
    config = RecorderConfig(rec, interval_s=600.0, procfs_root=Path(procfs), host="h",
                            duration_s=(count - 1) * 600.0, fsync_every_s=1e9)
    Recorder(config, clock=clock.wall, monotonic=clock.monotonic, wait=clock.wait).run()
    print("done", flush=True)
""")


def run(
    rec: Path, procfs: Path, *, start: float, count: int, kill_at: str = ""
) -> tuple[int, list[str], list[float]]:
    """Run the recorder from ``start`` for ``count`` samples; its exit status, the file events
    it went through and the samples it wrote."""
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(rec), str(procfs), str(start), str(count), kill_at],
        capture_output=True, text=True, timeout=60, cwd=REPO,
    )  # fmt: skip
    assert "Traceback" not in done.stderr, done.stderr
    lines = done.stdout.splitlines()
    events = [line.split(" ", 1)[1] for line in lines if line.startswith("event ")]
    samples = [float(line.split()[1]) for line in lines if line.startswith("sample ")]
    return done.returncode, events, samples


def read(rec: Path) -> list[float]:
    """The sample times of the recording, read as the analyzer reads it."""
    files = sorted(
        (p.relative_to(rec).as_posix(), p.read_bytes()) for p in rec.rglob("*") if p.is_file()
    )
    recording = parse_recording(files, path=str(rec))
    assert recording.problems == (), recording.problems
    return [p.epoch for p in recording.system]


@pytest.mark.timeout(180)
def test_killed_at_each_step_of_the_day_roll_nothing_older_is_lost(tmp_path: Path) -> None:
    procfs = tmp_path / "proc"
    fake = FakeProc(procfs)
    fake.add(100, "leaky", 5000)
    fake.add(200, "sshd", 3000)

    status, events, samples = run(tmp_path / "dry", procfs, start=MIDNIGHT - 3 * INTERVAL, count=6)
    assert status == 0
    roll = [e for e in events if "2024-05-01" in e]
    assert roll == [
        "write minute/2024-05-01.jsonl.gz",
        "write hour/2024-05-01.jsonl.gz",
        "rename to minute/2024-05-01.jsonl.gz",
        "renamed to minute/2024-05-01.jsonl.gz",
        "rename to hour/2024-05-01.jsonl.gz",
        "renamed to hour/2024-05-01.jsonl.gz",
        "write raw/2024-05-01.jsonl.gz",
        "rename to raw/2024-05-01.jsonl.gz",
        "renamed to raw/2024-05-01.jsonl.gz",
        "remove raw/2024-05-01.jsonl",
    ], events
    assert samples == [MIDNIGHT + INTERVAL * i for i in range(-3, 3)]

    for step, kill_at in enumerate(roll):
        rec = tmp_path / f"kill-{step}"
        status, events, before = run(rec, procfs, start=MIDNIGHT - 3 * INTERVAL, count=6,
                                     kill_at=kill_at)  # fmt: skip
        assert status == -signal.SIGKILL and events[-1] == kill_at, (kill_at, events)
        assert before == [MIDNIGHT - 3 * INTERVAL, MIDNIGHT - 2 * INTERVAL, MIDNIGHT - INTERVAL]
        assert set(before) <= set(read(rec)), kill_at  # readable, nothing older lost

        status, _, after = run(rec, procfs, start=MIDNIGHT + INTERVAL, count=3)
        assert status == 0, kill_at
        names = sorted(p.relative_to(rec).as_posix() for p in rec.rglob("*.jsonl*"))
        assert names == [
            "hour/2024-05-01.jsonl.gz",
            "minute/2024-05-01.jsonl.gz",
            "raw/2024-05-01.jsonl.gz",
            "raw/2024-05-02.jsonl",
        ], (kill_at, names)
        assert not list(rec.rglob("*.tmp")), kill_at
        assert read(rec) == before + after, kill_at
