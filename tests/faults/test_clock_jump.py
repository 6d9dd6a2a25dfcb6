"""The wall clock jumps by hours, forward then back, while clients beat: no false loss.

The monitor keeps its deadlines on ``CLOCK_MONOTONIC``, which a step of the wall clock does
not move; the wall clock only stamps beats (``at=``) and names captures. To prove it, the
wall clock of the real monitor and ``hbd`` processes is made to jump, and the jump must be
seen where the wall clock is used (the capture's ``declared_utc``, the beat's ``last_at``)
and nowhere else.

How the jump is made: each process runs under a launcher that replaces ``time.time`` and
``time.time_ns`` (the wall clock every lostbeat module reads, through ``time.time()``) by the
real clock plus an offset read from a file, before lostbeat is imported; the test rewrites
the file to jump. The host's clock cannot be stepped for a test (other processes share it),
a time namespace offsets only ``CLOCK_MONOTONIC`` and ``CLOCK_BOOTTIME``, never the wall
clock, and libfaketime 0.9.10 breaks Python 3.11's ``time.sleep`` (``clock_nanosleep`` with
``TIMER_ABSTIME`` fails with EINVAL), so an in-process offset is what exercises the code
path: every wall-clock read of the monitor and the daemon jumps, the monotonic clock does not.
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import sys
import textwrap
import time
from pathlib import Path
from typing import TYPE_CHECKING, cast

import pytest

if TYPE_CHECKING:
    from tests.agent.conftest import Agent, Proc

TIMEOUT = 2.0
INTERVAL = 0.5
HOURS = 3600.0

LAUNCHER = textwrap.dedent("""\
    import os, runpy, sys, time
    offset_file, real_time, real_ns = sys.argv[1], time.time, time.time_ns
    seen = {"mtime": None, "offset": 0.0}

    def offset():
        try:
            mtime = os.stat(offset_file).st_mtime_ns
        except OSError:
            return seen["offset"]
        if mtime != seen["mtime"]:
            seen["mtime"] = mtime
            with open(offset_file) as f:
                seen["offset"] = float(f.read() or 0)
        return seen["offset"]

    time.time = lambda: real_time() + offset()
    time.time_ns = lambda: real_ns() + int(offset() * 1e9)
    sys.argv = ["lostbeat", *sys.argv[2:]]
    runpy.run_module("lostbeat", run_name="__main__", alter_sys=True)
""")


def jump(offset_file: Path, seconds: float) -> None:
    tmp = offset_file.with_suffix(".tmp")
    tmp.write_text(f"{seconds}\n")
    os.replace(tmp, offset_file)  # the launcher never reads a half-written offset


def under_jumping_clock(agent: Agent, offset_file: Path, argv: list[str]) -> list[str]:
    """``python -m lostbeat ...`` argv, run under the launcher instead."""
    assert argv[:3] == [sys.executable, "-m", "lostbeat"]
    return [sys.executable, "-c", LAUNCHER, str(offset_file), *argv[3:]]


def spawn(agent: Agent, offset_file: Path, which: str, *args: str) -> Proc:
    from tests.agent.conftest import lostbeat_argv

    argv = under_jumping_clock(agent, offset_file, lostbeat_argv(which, *args))
    return agent.spawn(argv, which)


def utc(text: str) -> float:
    return dt.datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=dt.UTC).timestamp()


@pytest.mark.timeout(60)
def test_hours_of_wall_clock_jumps_cause_no_false_loss(agent: Agent) -> None:
    offset_file = agent.workdir / "clock-offset"
    jump(offset_file, 0.0)
    monitor = spawn(
        agent, offset_file, "monitor", "--socket", str(agent.socket),
        "--datastore", str(agent.datastore), "--timeout", f"{TIMEOUT:g}", "--cores", "0",
    )  # fmt: skip
    monitor.wait_line(r"Monitor: lostbeat .* listening on")
    hbd = spawn(
        agent, offset_file, "hbd", "--socket", str(agent.socket), "--interval", f"{INTERVAL:g}",
        "--name", "hbd",
    )  # fmt: skip
    monitor.wait_line(rf"Client registered \(comm=hbd pid={hbd.pid} ")

    for offset in (5 * HOURS, -3 * HOURS):  # forward five hours, then back eight
        time.sleep(TIMEOUT)
        jump(offset_file, offset)
        time.sleep(2 * TIMEOUT)  # two timeouts on the new wall clock
        assert not monitor.lines(r"Lost heartbeat|Host: Error|Client gone"), monitor.text()
        assert hbd.popen.poll() is None and monitor.popen.poll() is None

    # a real loss now: declared on time, and stamped with the jumped wall clock
    stopped_at = time.monotonic()
    os.kill(hbd.pid, signal.SIGSTOP)
    _, manifest = agent.manifest(timeout=15)
    declared = float(manifest["declared_monotonic"])  # type: ignore[arg-type]
    assert stopped_at < declared <= stopped_at + TIMEOUT + INTERVAL + 0.2
    (lost,) = cast(list[dict[str, float]], manifest["lost"])
    assert lost["pid"] == hbd.pid and lost["to"] == TIMEOUT
    now = time.time()
    # both processes saw the jump: the monitor's stamp and the daemon's last beat are
    # three hours behind the real clock
    assert abs(utc(str(manifest["declared_utc"])) - (now - 3 * HOURS)) < 60, manifest
    assert abs(float(lost["last_at"]) - (now - 3 * HOURS)) < 60, lost
    assert lost["t"] < TIMEOUT + INTERVAL + 0.5  # since its last beat, in monotonic seconds
