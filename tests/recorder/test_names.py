"""Names that stay true: real processes that rename themselves or run ``exec`` while the
recorder watches keep one history under the name, command line and cgroup they end with."""

from __future__ import annotations

import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import pytest

from lostbeat.analyzer.parsers.recordings import parse_recording
from lostbeat.recorder.sampler import cgroup_path

RENAMER = textwrap.dedent("""\
    import ctypes, sys, time
    hold = bytearray(b"x") * (8 << 20)
    time.sleep(float(sys.argv[1]))
    ctypes.CDLL(None).prctl(15, b"worker-renamed", 0, 0, 0)  # PR_SET_NAME
    time.sleep(60)
""")
# python exec's python: the name stays "python3"-like, the command line and stack change
EXECER = textwrap.dedent("""\
    import os, sys, time
    time.sleep(float(sys.argv[1]))
    os.execv(sys.executable, [sys.executable, "-c", "import time; time.sleep(60)", "second-life"])
""")


def _files(directory: Path) -> list[tuple[str, bytes]]:
    return [(p.relative_to(directory).as_posix(), p.read_bytes()) for p in directory.rglob("*")
            if p.is_file()]  # fmt: skip


@pytest.mark.timeout(60)
def test_a_rename_and_an_exec_are_followed_by_pid_and_start_time() -> None:
    with tempfile.TemporaryDirectory(prefix="lbt-names-") as tmp:
        rec = Path(tmp) / "rec"
        delay = 2.5
        kids = [
            subprocess.Popen([sys.executable, "-c", RENAMER, str(delay)]),
            subprocess.Popen([sys.executable, "-c", EXECER, str(delay)]),
            # a shell that becomes another program: the name changes with the exec
            subprocess.Popen(["sh", "-c", f"sleep {delay}; exec sleep 60"]),
        ]
        try:
            time.sleep(0.3)
            done = subprocess.run(
                [sys.executable, "-m", "lostbeat", "record", "--dir", str(rec), "--interval",
                 "0.25", "--duration", "5s", "--no-kernel-log"],
                capture_output=True, text=True, timeout=40, check=False,
            )  # fmt: skip
            assert done.returncode == 0, done.stderr
            cgroups = {k.pid: Path(f"/proc/{k.pid}/cgroup").read_text() for k in kids}
        finally:
            for kid in kids:
                kid.kill()
                kid.wait()
        recording = parse_recording(_files(rec), path=str(rec))
    histories = {h.key.pid: h for h in recording.processes if h.key.pid in cgroups}
    assert sorted(histories) == sorted(k.pid for k in kids)  # one history each
    renamer, execer, shell = (histories[k.pid] for k in kids)
    assert renamer.key.name == "worker-renamed"
    assert renamer.key.cmdline.endswith(f" {delay}")  # prctl leaves the command line alone
    assert execer.key.cmdline.endswith("second-life")
    assert execer.key.name == Path(sys.executable).name[:15]  # the name did not change
    assert (shell.key.name, shell.key.cmdline) == ("sleep", "sleep 60")
    for kid in kids:  # each kept its samples from before the change: one continuous history
        hist = histories[kid.pid]
        assert hist.points[0].epoch < recording.system[0].epoch + 2.0
        assert hist.cgroup == cgroup_path(cgroups[kid.pid])
        assert hist.cgroup is not None and hist.cgroup.startswith("/")
