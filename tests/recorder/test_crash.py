"""kill -9 while the recorder writes: at most that sample is lost, and the store stays readable.

The first test stops a real recorder in the middle of a real write (its shard writer is made
to write a sample in two halves, and the test kills it between them); the second kills an
unmodified recorder at arbitrary moments, again and again, and restarts it each time.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from lostbeat.analyzer.parsers.recordings import parse_recording
from lostbeat.recording.reader import ShardReader

LOSTBEAT = [sys.executable, "-m", "lostbeat"]

TORN_RECORDER = textwrap.dedent(
    """
    import os, sys, time
    from pathlib import Path
    from lostbeat.recorder.daemon import Recorder, RecorderConfig
    from lostbeat.recording import writer

    whole = writer.RawShardWriter._write
    count = 0

    def torn_write(self, data):
        global count
        count += 1
        if count == 6:  # the sixth sample: half of it reaches the file, then we are killed
            os.write(self._fd, data[: len(data) // 2])
            print("torn after", count - 1, flush=True)
            time.sleep(600)
        whole(self, data)

    writer.RawShardWriter._write = torn_write
    Recorder(RecorderConfig(Path(sys.argv[1]), interval_s=0.05)).run()
    """
)


def _shard_times(directory: Path) -> tuple[list[float], int]:
    """Sample times of the open raw shard, and how many lines were bad."""
    (shard,) = (directory / "raw").glob("*.jsonl")
    reader = ShardReader(shard.read_bytes(), path=shard.name)
    return [f.ts for f in reader.frames()], len(reader.problems)


def _files(directory: Path) -> list[tuple[str, bytes]]:
    return sorted(
        (p.relative_to(directory).as_posix(), p.read_bytes())
        for p in directory.rglob("*")
        if p.is_file()
    )


def test_killed_in_the_middle_of_a_write(tmp_path: Path) -> None:
    rec = tmp_path / "rec"
    with subprocess.Popen(
        [sys.executable, "-c", TORN_RECORDER, str(rec)], stdout=subprocess.PIPE, text=True
    ) as child:
        try:
            assert child.stdout is not None
            assert child.stdout.readline() == "torn after 5\n"
            os.kill(child.pid, signal.SIGKILL)
        finally:
            child.kill()
    assert child.wait() == -signal.SIGKILL
    (shard,) = (rec / "raw").glob("*.jsonl")
    assert not shard.read_bytes().endswith(b"\n")  # the last line really is torn
    times, bad = _shard_times(rec)
    assert len(times) == 5 and bad == 1  # every complete sample, and the torn one counted
    assert (rec / "recorder.pid").exists()  # left behind, but no longer locked:
    restarted = subprocess.run(
        [*LOSTBEAT, "record", "--dir", str(rec), "--interval", "0.05", "--duration", "0.3"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert restarted.returncode == 0, restarted.stderr
    after, bad_after = _shard_times(rec)
    assert after[:5] == times and len(after) > 5  # nothing older lost, the new run appended
    assert bad_after == 1  # the torn line, now in the middle, is still one bad line
    recording = parse_recording(_files(rec), path=str(rec))
    assert len(recording.system) == len(after)
    assert [p.reason for p in recording.problems] == ["CRC mismatch"]


def test_killed_at_random_moments_again_and_again(tmp_path: Path) -> None:
    rec = tmp_path / "rec"
    sleepers = [subprocess.Popen(["sleep", "120"]) for _ in range(200)]  # bigger samples to tear
    try:
        seen: list[float] = []
        for round_no in range(5):
            with subprocess.Popen(
                [*LOSTBEAT, "record", "--dir", str(rec), "--interval", "0.05"],
                stderr=subprocess.DEVNULL,
            ) as recorder:
                deadline = time.monotonic() + 20
                while time.monotonic() < deadline and recorder.poll() is None:
                    if list(rec.glob("raw/*.jsonl")) and len(_shard_times(rec)[0]) > len(seen) + 3:
                        break
                    time.sleep(0.01)
                time.sleep(0.013 * round_no)
                assert recorder.poll() is None, "the recorder stopped by itself"
                recorder.kill()
            times, bad = _shard_times(rec)
            assert times[: len(seen)] == seen  # what was there before the kill is all there
            assert len(times) > len(seen)
            assert bad <= round_no + 1  # at most the one sample each kill was writing
            seen = times
        recording = parse_recording(_files(rec), path=str(rec))
        assert [p.epoch for p in recording.system] == seen
    finally:
        for sleeper in sleepers:
            sleeper.kill()
        for sleeper in sleepers:
            sleeper.wait()
