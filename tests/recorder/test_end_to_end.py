"""Real workloads recorded for about a minute, then ``analyze(DIR)``: the leak is named as the
leaker, a single jump is called a spike and not a leak.

Each scenario runs in its own PID namespace with its own ``/proc`` (``unshare --pid --fork
--mount-proc``): the recorder sees the workload and nothing else the machine happens to be
running, so another program's growth cannot change the verdict. Both scenarios run at once.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tempfile
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from lostbeat.analyzer.engine import analyze
from lostbeat.analyzer.result import CauseKind
from lostbeat.recorder.sampler import cgroup_path

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


@pytest.fixture(scope="module")
def recordings() -> Iterator[dict[str, Path]]:
    unshare = shutil.which("unshare")
    probe = unshare and subprocess.run(
        [unshare, "-pf", "--mount-proc", "true"], capture_output=True
    )
    if unshare is None or not probe or probe.returncode != 0:
        reason = "needs unshare --pid --mount-proc (util-linux, as root) to isolate the workload"
        print(reason)
        pytest.skip(reason)
    # not under pytest's basetemp: a pytest started meanwhile may rotate that away
    with tempfile.TemporaryDirectory(prefix="lostbeat-e2e-") as base:
        dirs = {name: Path(base) / name for name in SCENARIOS}
        _record(dirs, unshare)
        yield dirs


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


def test_a_steady_leak_is_named_as_the_leaker(recordings: dict[str, Path]) -> None:
    result = analyze([recordings["leak"]])
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


def test_a_single_jump_is_a_spike_not_a_leak(recordings: dict[str, Path]) -> None:
    result = analyze([recordings["jump"]])
    cause = result.root_cause
    assert cause.kind is CauseKind.SPIKE, cause.explanation
    assert cause.process == "batch-loader"
    jumped = re.search(r"jumped by (\d+) MB", cause.explanation)
    assert jumped and int(jumped[1]) >= 300  # 400 MB, maybe caught half-written by a sample
    series = [s for s in result.history.consumers if s.name == "batch-loader"]
    assert cause.since is not None and series
    first, last = series[0].points[0][0], series[0].points[-1][0]
    assert first + 10 < cause.since < last  # seen inside the minute, from the fine samples
