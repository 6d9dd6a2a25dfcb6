"""Real workloads recorded for about a minute, then ``analyze(DIR)``: the leak is named as the
leaker, a single jump is called a spike and not a leak.

Each scenario runs in its own PID namespace with its own ``/proc`` (``unshare --pid --fork
--mount-proc``): the recorder sees the workload and nothing else the machine happens to be
running, so another program's growth cannot change the verdict. Both scenarios run at once.
The kernel log is the host's all the same: while they record, another program (a ``python``,
as the machine's others are) is killed by the OOM killer in a memory group of its own, and the
analysis is of the workload's own events (``tests.recorder.own_kernel.own_recording``): the
workloads make no OOM report or hung task, so every one in the recording is another program's.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tempfile
import textwrap
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from lostbeat.analyzer.engine import analyze
from lostbeat.analyzer.parsers.recordings import parse_recording
from lostbeat.analyzer.result import CauseKind
from lostbeat.recorder.sampler import cgroup_path
from tests.recorder.own_kernel import foreign_memory_group, foreign_oom_kill, own_recording

SECONDS = 45

WORKER = textwrap.dedent(
    """
    import ctypes, sys, time
    name, mode, base_mb, step_mb = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    ctypes.CDLL(None).prctl(15, name.encode(), 0, 0, 0)  # PR_SET_NAME: the name ps shows
    held = [bytearray(b"\\1") * (base_mb << 20)]  # written, so resident
    print("ready", flush=True)
    start = time.monotonic()
    jumped = False
    while True:
        time.sleep(1.0)
        if mode == "leak":  # grows step_mb every second, never frees
            held.append(bytearray(b"\\1") * (step_mb << 20))
        elif mode == "jump" and not jumped and time.monotonic() - start > 15:
            held.append(bytearray(b"\\1") * (step_mb << 20))  # once, then holds it
            jumped = True
    """
)

DRIVER = textwrap.dedent(
    """
    import subprocess, sys
    directory, seconds, worker, *specs = sys.argv[1:]
    kids = []
    try:
        for spec in specs:
            name, mode, base, step = spec.split(":")
            kid = subprocess.Popen([sys.executable, "-c", worker, name, mode, base, step],
                                   stdout=subprocess.PIPE, text=True)
            kids.append(kid)
            assert kid.stdout.readline() == "ready\\n"
        done = subprocess.run([sys.executable, "-m", "lostbeat", "record", "--dir", directory,
                               "--interval", "1", "--duration", seconds])
        sys.exit(done.returncode)
    finally:
        for kid in kids:
            kid.kill()
            kid.wait()
    """
)

SCENARIOS = {
    "leak": ["leaky-agent:leak:20:5", "steady-db:steady:80:0", "steady-web:steady:40:0"],
    "jump": ["batch-loader:jump:30:400", "steady-db:steady:80:0", "steady-web:steady:40:0"],
}


@dataclass
class Recorded:
    raw: dict[str, Path]
    """Each scenario's recording as ``lostbeat record`` wrote it."""
    own: dict[str, Path]
    """The same without the reports of other processes in its kernel log."""
    killed: list[int] = field(default_factory=list)
    """The pid of the other program the OOM killer killed meanwhile (none where it cannot)."""


@pytest.fixture(scope="module")
def recordings() -> Iterator[Recorded]:
    unshare = shutil.which("unshare")
    probe = unshare and subprocess.run(
        [unshare, "-pf", "--mount-proc", "true"], capture_output=True
    )
    if unshare is None or not probe or probe.returncode != 0:
        reason = "needs unshare --pid --mount-proc (util-linux, as root) to isolate the workload"
        print(reason)
        pytest.skip(reason)
    # not under pytest's basetemp: a pytest started meanwhile may rotate that away
    with (
        tempfile.TemporaryDirectory(prefix="lostbeat-e2e-") as base,
        foreign_memory_group() as other,
    ):
        raw = {name: Path(base) / name for name in SCENARIOS}
        recorded = Recorded(raw, {name: Path(base) / f"{name}-own" for name in SCENARIOS})
        killer = None
        if other is not None:  # halfway through, after the jump
            killer = threading.Timer(SECONDS / 2, lambda: recorded.killed.append(
                foreign_oom_kill(other)))  # fmt: skip
            killer.start()
        _record(raw, unshare)
        if killer is not None:
            killer.join()
            assert recorded.killed, "the other program was not killed"
        for name in SCENARIOS:  # the workloads' own: no OOM report or hung task is theirs
            own_recording(raw[name], recorded.own[name])
        yield recorded


def _record(dirs: dict[str, Path], unshare: str) -> None:
    runs = [
        subprocess.Popen(
            [
                unshare,
                "-pf",
                "--mount-proc",
                sys.executable,
                "-c",
                DRIVER,
                str(dirs[name]),
                str(SECONDS),
                WORKER,
                *specs,
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for name, specs in SCENARIOS.items()
    ]
    for run in runs:
        out, err = run.communicate(timeout=SECONDS + 120)
        assert run.returncode == 0, err


def test_the_hosts_kernel_log_is_recorded_and_another_programs_kill_left_out(
    recordings: Recorded,
) -> None:
    for name in SCENARIOS:
        raw = parse_recording(_files(recordings.raw[name]), path=name).kernel
        own = parse_recording(_files(recordings.own[name]), path=name).kernel
        for pid in recordings.killed:  # in the host's log, as recorded; not the workload's
            assert any(f"Killed process {pid} (python" in r.text for r in raw)
            assert not any(f"process {pid} " in r.text or f",pid={pid}," in r.text for r in own)
        assert {r.seq for r in own} <= {r.seq for r in raw}


def _files(directory: Path) -> list[tuple[str, bytes]]:
    return [(p.relative_to(directory).as_posix(), p.read_bytes()) for p in directory.rglob("*")
            if p.is_file()]  # fmt: skip


def test_a_steady_leak_is_named_as_the_leaker(recordings: Recorded) -> None:
    result = analyze([recordings.own["leak"]])
    cause = result.root_cause
    assert cause.kind is CauseKind.LEAK, cause.explanation
    assert cause.process == "leaky-agent"
    # named by the cgroup the recorder saw it in (no systemd unit here: the cgroup's path)
    own = Path("/proc/self/cgroup").read_text()
    assert cause.unit is not None and cause.unit == cgroup_path(own)
    assert cause.rate_kb_per_hour is not None
    assert 0.8 * 5 * 1024 * 3600 <= cause.rate_kb_per_hour <= 1.2 * 5 * 1024 * 3600  # 5 MB/s
    assert cause.hours_to_exhaustion is not None and cause.hours_to_exhaustion > 0
    assert "steady-db" not in cause.others and "steady-web" not in cause.others
    assert result.history.resolution_s <= 60


def test_a_single_jump_is_a_spike_not_a_leak(recordings: Recorded) -> None:
    result = analyze([recordings.own["jump"]])
    cause = result.root_cause
    assert cause.kind is CauseKind.SPIKE, cause.explanation
    assert cause.process == "batch-loader"
    jumped = re.search(r"jumped by (\d+) MB", cause.explanation)
    assert jumped and int(jumped[1]) >= 300  # 400 MB, maybe caught half-written by a sample
    series = [s for s in result.history.consumers if s.name == "batch-loader"]
    assert cause.since is not None and series
    first, last = series[0].points[0][0], series[0].points[-1][0]
    assert first + 10 < cause.since < last  # seen inside the minute, from the fine samples
