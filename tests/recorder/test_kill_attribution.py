"""Whose OOM kill a recording's kernel log holds, for real: the recorder runs in a PID
namespace of its own (``unshare --pid --fork --mount-proc``), as in a container, and keeps the
host's ``/dev/kmsg``. Its own workload, a ``python`` in a memory group of its own, is killed
at that group's limit; then another program, a ``python`` as well (the same interpreter as the
recorder's own process), is killed in another memory group outside the namespace.

The analysis takes the first kill as the recording's and not the second, although the second's
victim has the name of a process the recorder kept (its own), and the first's pid is the
host's, never seen in the namespace: a kill is matched by the victim's memory cgroup
(``task_memcg=``), by its pid where there is no cgroup, and by its name only where the kill
gives neither (``_linux_host.recorded_kill``).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import pytest

from lostbeat.agent.kmsg import KMSG
from lostbeat.analyzer.parsers._frames import KERNEL, Frame
from lostbeat.analyzer.parsers.host_log import host_log_of
from lostbeat.analyzer.parsers.recordings import parse_recording
from lostbeat.analyzer.platforms._linux_host import recording_log
from lostbeat.analyzer.result import CrashType
from tests.recorder.own_kernel import foreign_memory_group, foreign_oom_kill

# 2 MiB every 0.1 s: the 48 MB group is full in about 2.5 s, sampled every 0.5 s on the way
LEAK = (
    "import time\nkeep = []\nwhile True:\n    keep.append(bytearray(b'x') * (2 << 20))\n"
    "    time.sleep(0.1)\n"
)

# inside the namespace: the recorder, then the workload in its group until the kernel kills
# it; the recorder stops once the test, outside, has had another program killed
DRIVER = textwrap.dedent("""\
    import signal, subprocess, sys, time
    directory, procs, leak = sys.argv[1:4]
    rec = subprocess.Popen([sys.executable, "-m", "lostbeat", "record", "--dir", directory,
                            "--interval", "0.5"], stderr=subprocess.PIPE)
    while b"recording " not in (said := rec.stderr.readline()):  # after its kernel log notes
        assert said, "the recorder stopped"
    time.sleep(2.0)
    kid = subprocess.Popen(["sh", "-c", f'echo $$ > "{procs}" && exec "$@"', "sh",
                            sys.executable, "-c", leak])
    kid.wait(60)
    print("killed", kid.pid, kid.returncode, flush=True)
    sys.stdin.readline()
    time.sleep(2.0)
    rec.send_signal(signal.SIGTERM)
    rec.wait(20)
    print("stopped", rec.returncode, flush=True)
""")


def _files(directory: Path) -> list[tuple[str, bytes]]:
    return [(p.relative_to(directory).as_posix(), p.read_bytes()) for p in directory.rglob("*")
            if p.is_file()]  # fmt: skip


@pytest.mark.timeout(150)
def test_a_kill_is_the_recordings_by_its_cgroup_not_by_a_shared_name(
    v1_memory_group,  # type: ignore[no-untyped-def]
) -> None:
    unshare = shutil.which("unshare")
    probe = unshare and subprocess.run([unshare, "-pf", "--mount-proc", "true"],
                                       capture_output=True)  # fmt: skip
    if unshare is None or not probe or probe.returncode != 0 or not os.access(KMSG, os.R_OK):
        reason = "needs unshare --pid --mount-proc and a readable /dev/kmsg (root)"
        print(f"SKIP: {reason}")
        pytest.skip(reason)
    with (
        v1_memory_group("lostbeat-ours") as ours,
        foreign_memory_group() as other,
        tempfile.TemporaryDirectory(prefix="lbt-attr-") as tmp,
    ):
        if other is None:
            pytest.skip("another program's memory group needs cgroup v1, as root")
        (ours.fs_path / "memory.limit_in_bytes").write_text(str(48 << 20))
        (ours.fs_path / "memory.oom_control").write_text("0")  # the OOM killer on
        directory = Path(tmp) / "rec"
        with subprocess.Popen(
            [unshare, "-pf", "--mount-proc", sys.executable, "-c", DRIVER, str(directory),
             str(ours.fs_path / "cgroup.procs"), LEAK],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        ) as driver:  # fmt: skip
            assert driver.stdout is not None and driver.stdin is not None
            _, ns_pid, status = driver.stdout.readline().split()
            assert int(status) == -signal.SIGKILL
            foreign = foreign_oom_kill(other)  # after ours: the log's last kill is the other's
            driver.stdin.write("go\n")
            driver.stdin.flush()
            assert driver.stdout.readline().split() == ["stopped", "0"]
            driver.wait(30)
        rec = parse_recording(_files(directory), path=str(directory))

    frames = (Frame(n, r.text, KERNEL, r.epoch) for n, r in enumerate(rec.kernel, 1))
    every = host_log_of(frames, path="kmsg").incidents
    (theirs,) = [i for i in every if i.type is CrashType.OOM_KILL and i.pid == foreign]
    (mine,) = [i for i in every if i.type is CrashType.OOM_KILL and i.task_memcg == ours.path]
    recorded = {h.key.name for h in rec.processes}
    assert theirs.victim in recorded  # a name the recorder kept: its own interpreter's
    assert theirs.task_memcg == other.path
    assert mine.pid not in {h.key.pid for h in rec.processes}  # the host's pid, not ns_pid
    assert int(ns_pid) in {h.key.pid for h in rec.processes}

    log = recording_log(rec)
    assert log is not None
    kills = [i for i in log.incidents if i.type is CrashType.OOM_KILL]
    assert foreign not in {i.pid for i in kills}
    assert mine.pid in {i.pid for i in kills}
