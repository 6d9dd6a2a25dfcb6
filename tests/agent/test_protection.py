"""The monitor protects itself: memory locked, out of the OOM killer's reach, outside the
watched cgroup; and it tells systemd it is alive."""

from __future__ import annotations

import os
import signal
import socket
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from lostbeat.agent import cgroup as cg
from lostbeat.procfs import Procfs

if TYPE_CHECKING:
    from conftest import Agent

CAP_SYS_RESOURCE = 24


def _status(pid: int, key: str) -> str:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return line.split(":", 1)[1].strip()
    raise AssertionError(key)


def _has_cap(bit: int) -> bool:
    return bool(int(_status(os.getpid(), "CapEff"), 16) >> bit & 1)


@pytest.mark.timeout(30)
def test_monitor_locks_its_memory_and_sets_its_oom_score(agent: Agent) -> None:
    if os.geteuid() != 0:
        print("SKIP: mlockall and oom_score_adj -1000 need root")
        pytest.skip("mlockall and oom_score_adj -1000 need root")
    monitor = agent.monitor("--cores", "0")
    line = monitor.wait_line("Monitor: protection:")
    assert "mlocked=yes" in line
    assert int(_status(monitor.pid, "VmLck").split()[0]) > 1024  # kB locked
    adj = int(Path(f"/proc/{monitor.pid}/oom_score_adj").read_text())
    if _has_cap(CAP_SYS_RESOURCE):
        assert adj == -1000 and "oom_score_adj=-1000" in line
    else:  # a container without CAP_SYS_RESOURCE: the refusal is reported, not hidden
        assert adj == 0 and "oom_score_adj=None" in line and "oom_score_adj: Permission" in line
    assert Path(f"/proc/{monitor.pid}/comm").read_text().strip() == "lostbeat-mon"


@pytest.mark.timeout(30)
def test_monitor_started_inside_the_watched_cgroup_moves_out(
    agent: Agent, memory_cgroup: cg.MemoryCgroup
) -> None:
    monitor = agent.monitor("--cgroup", str(memory_cgroup.fs_path), "--cores", "0",
                            cgroup=memory_cgroup)  # fmt: skip
    line = monitor.wait_line("Monitor: protection:")
    assert f"(moved out of {memory_cgroup.path})" in line
    now = cg.cgroup_of(Procfs(), monitor.pid, memory_cgroup.hierarchy)
    assert now is not None and not memory_cgroup.contains(now)
    assert monitor.pid not in cg.member_pids(memory_cgroup)


@pytest.mark.timeout(30)
def test_monitor_notifies_systemd_ready_and_watchdog(agent: Agent) -> None:
    notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    path = agent.workdir / "notify.sock"
    notify.bind(str(path))
    notify.settimeout(5)
    env = dict(os.environ, NOTIFY_SOCKET=str(path), WATCHDOG_USEC="400000")
    monitor = agent.monitor("--cores", "0", env=env)
    got = [notify.recv(4096).decode() for _ in range(4)]
    assert got[0].startswith("READY=1\nSTATUS=watching ")
    assert got[1:] == ["WATCHDOG=1"] * 3
    monitor.stop(signal.SIGTERM)
    rest = []
    while not rest or rest[-1] == "WATCHDOG=1":
        rest.append(notify.recv(4096).decode())
    assert rest[-1] == "STOPPING=1"
    assert monitor.popen.returncode == 0 and not agent.socket.exists()
    notify.close()
