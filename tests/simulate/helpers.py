"""Helpers of the simulate tests: the host's cgroup controllers (or a printed skip), waits."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from lostbeat.simulate import cgroups

PYTHON = sys.executable
MIB = 1 << 20


def need_memory_cgroup() -> cgroups.Controllers:
    """The host's controllers; skips (saying why) when not root or no memory controller."""
    reason = None
    if os.geteuid() != 0:
        reason = "needs root: the test creates a memory cgroup"
    else:
        found = cgroups.host_controllers()
        if found.memory is None:
            reason = "this host has no memory cgroup controller"
        else:
            return found
    print(f"SKIP: {reason}")
    pytest.skip(reason)


def wait_until(check: Callable[[], bool], *, timeout: float = 15.0, what: str = "") -> None:
    """Poll ``check`` until it holds; fails the test after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            pytest.fail(f"not within {timeout:g} s: {what}")
        time.sleep(0.05)


def gone(pid: int) -> bool:
    """The process has exited (a zombie counts as exited)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat[stat.rindex(")") + 2] in "ZX"


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError(f"no VmRSS for {pid}")


def workload(*args: str) -> subprocess.Popen[str]:
    """``python -m lostbeat.simulate.workloads ARGS``, stdout piped."""
    return subprocess.Popen(
        [PYTHON, "-m", "lostbeat.simulate.workloads", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
