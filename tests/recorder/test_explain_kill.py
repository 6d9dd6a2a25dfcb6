"""``lostbeat explain-kill``, called as earlyoom calls its ``-N`` script (earlyoom(1):
``EARLYOOM_PID``, ``EARLYOOM_NAME``, ``EARLYOOM_UID``) right after a real SIGKILL: the
grower killed is said to be the grower; a bystander killed is said to be one, with the
grower named.

Each case runs in its own PID namespace with its own ``/proc`` (``unshare --pid --fork
--mount-proc``), as a killer in that namespace would see it: another program growing on the
machine cannot be the fastest grower here.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import pytest

WORKER = textwrap.dedent("""\
    import ctypes, sys, time
    ctypes.CDLL(None).prctl(15, sys.argv[1].encode(), 0, 0, 0)  # PR_SET_NAME
    keep = [bytearray(b"x") * (int(sys.argv[2]) << 20)]
    print("ready", flush=True)
    while True:
        if sys.argv[3] == "leak":
            keep.append(bytearray(b"x") * (2 << 20))
        time.sleep(0.2)
""")
# the killer: start both workers and the recorder, kill one as earlyoom does, run the hook
# as earlyoom runs it, print its output
DRIVER = textwrap.dedent("""\
    import os, signal, subprocess, sys, time
    directory, worker, victim = sys.argv[1], sys.argv[2], sys.argv[3]
    kids = {}
    for name, held, mode in (("lb-leaker", "8", "leak"), ("lb-bystander", "48", "hold")):
        kid = subprocess.Popen([sys.executable, "-c", worker, name, held, mode, "--serve"],
                               stdout=subprocess.PIPE)
        assert kid.stdout.readline() == b"ready\\n"
        kids[name] = kid
    rec = subprocess.Popen([sys.executable, "-m", "lostbeat", "record", "--dir", directory + "/rec",
                            "--interval", "0.2", "--no-kernel-log"], stderr=subprocess.PIPE)
    assert b"recording" in rec.stderr.readline()
    time.sleep(3.0)
    dead = kids[victim]
    dead.kill()
    dead.wait()
    env = dict(os.environ, EARLYOOM_PID=str(dead.pid), EARLYOOM_NAME=victim, EARLYOOM_UID="0")
    hook = subprocess.run([sys.executable, "-m", "lostbeat", "explain-kill", "--dir",
                           directory + "/rec", "--log", directory + "/kills.log", "--window", "1m"],
                          env=env, capture_output=True, text=True)
    rec.send_signal(signal.SIGTERM)
    rec.wait()
    for kid in kids.values():
        kid.kill()
        kid.wait()
    print(f"pids {kids['lb-leaker'].pid} {kids['lb-bystander'].pid} exit {hook.returncode}")
    print(hook.stdout + hook.stderr, end="")
""")


def _killed(victim: str) -> tuple[int, int, list[str], str]:
    """(leaker pid, bystander pid, the hook's lines, the log file's text)."""
    unshare = shutil.which("unshare")
    probe = unshare and subprocess.run(
        [unshare, "-pf", "--mount-proc", "true"], capture_output=True
    )
    if unshare is None or not probe or probe.returncode != 0:
        reason = "needs unshare --pid --mount-proc (util-linux, as root) to isolate the workers"
        print(f"SKIP: {reason}")
        pytest.skip(reason)
    with tempfile.TemporaryDirectory(prefix="lbt-ek-") as tmp:
        done = subprocess.run(
            [unshare, "-pf", "--mount-proc", sys.executable, "-c", DRIVER, tmp, WORKER, victim],
            capture_output=True, text=True, timeout=90, check=False,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        head, *lines = done.stdout.splitlines()
        _, leaker, bystander, _, status = head.split()
        assert status == "0", done.stdout
        log = (Path(tmp) / "kills.log").read_text()
    return int(leaker), int(bystander), lines, log


@pytest.mark.timeout(90)
def test_the_grower_killed_is_named_the_grower() -> None:
    leaker, _, lines, log = _killed("lb-leaker")
    assert log == "".join(line + "\n" for line in lines)  # beside the killer's own line
    first, victim, memory, top = lines
    assert first.startswith(
        f"lostbeat explain-kill: earlyoom killed lb-leaker (pid {leaker}, uid 0)"
    )
    assert victim.startswith(f"  lb-leaker (pid {leaker}, ")
    assert " lb-leaker 8 leak --serve, /" in victim  # its command line, then its cgroup
    assert victim.endswith(": the fastest grower")
    rate = float(victim.split(" at +")[1].split(" MiB/s")[0])
    assert 1.0 < rate < 15.0  # 2 MiB every 0.2 s, less on a busy machine
    held = float(victim.split(" held ")[1].split(" MiB")[0])
    assert held > 16  # its last sample alive, not the one of it dying
    assert memory.startswith("  memory available then: ")
    assert top.startswith("  top consumers then: ") and f"lb-leaker[{leaker}]" in top


@pytest.mark.timeout(90)
def test_a_bystander_killed_is_said_to_be_one_and_the_grower_is_named() -> None:
    leaker, bystander, lines, _ = _killed("lb-bystander")
    victim = lines[1]
    assert victim.startswith(f"  lb-bystander (pid {bystander}, ")
    assert f": a bystander; the fastest grower was lb-leaker (pid {leaker})" in victim
    held = float(victim.split(" held ")[1].split(" MiB")[0])
    assert 48 < held < 80  # its 48 MiB and an interpreter
