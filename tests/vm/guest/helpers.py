"""The VM suite's helpers, inside the guest: systemd is PID 1, cgroup v2, the project in
/opt/lostbeat. Outputs worth reading (status, journal, screen, analysis) are kept under
$LOSTBEAT_VM_ARTIFACTS and come back to the host.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import pytest

from lostbeat import cli

LOSTBEAT = "/opt/lostbeat/bin/lostbeat"
ARTIFACTS = Path(os.environ.get("LOSTBEAT_VM_ARTIFACTS", "/run/lostbeat-vm/artifacts"))
CGROUP = Path("/sys/fs/cgroup")
WATCHED = CGROUP / "lostbeat.slice" / "lostbeat-watched.slice"
DATASTORE = Path("/var/lib/lostbeat/captures")
RECORDING = Path("/var/lib/lostbeat/recording")
SLICE_MAX = 256 << 20
TIMEOUT = 10  # the monitor's heartbeat timeout for the suite (install-units --timeout)
ORDER = (
    "test_units.py",
    "test_no_victim.py",  # before the loss: the monitor's first kernel capture is its own
    "test_loss.py",
    "test_journal.py",
    "test_oom.py",
    "test_oom_explained.py",
    "test_this_host.py",
    "test_watchdog.py",
    "test_simulate.py",
)
T = TypeVar("T")


def sh(*argv: str, check: bool = True, timeout: float = 120) -> str:
    """Run a command; its standard output (a failure shows both outputs)."""
    done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)
    if check and done.returncode != 0:
        pytest.fail(f"{' '.join(argv)}: exit {done.returncode}\n{done.stdout}\n{done.stderr}")
    return done.stdout


def show(unit: str, prop: str) -> str:
    return sh("systemctl", "show", "-p", prop, "--value", unit).strip()


def main_pid(unit: str) -> int:
    return int(show(unit, "MainPID"))


def wait_for(what: str, probe: Callable[[], T | None], *, timeout: float, every: float = 0.25) -> T:
    """Poll ``probe`` until it gives something; fail saying ``what`` was awaited."""
    deadline = time.monotonic() + timeout
    while True:
        found = probe()
        if found:
            return found
        if time.monotonic() > deadline:
            pytest.fail(f"no {what} within {timeout:g} s")
        time.sleep(every)


def journal(
    *matches: str, unit: str | None = None, since: float | None = None
) -> list[dict[str, str]]:
    """Journal entries as dicts (``journalctl -o json``), oldest first."""
    argv = ["journalctl", "--no-pager", "-o", "json"]
    if unit:
        argv += ["-u", unit]
    if since is not None:
        argv += ["--since", f"@{since:.3f}"]
    out = sh(*argv, *matches)
    return [json.loads(line) for line in out.splitlines() if line.startswith("{")]


def messages(entries: list[dict[str, str]]) -> list[str]:
    return [str(e.get("MESSAGE", "")) for e in entries]


def proc_status(pid: int) -> dict[str, str]:
    text = Path(f"/proc/{pid}/status").read_text()
    return {k: v.strip() for k, _, v in (line.partition(":") for line in text.splitlines())}


def cgroup_of(pid: int) -> str:
    return Path(f"/proc/{pid}/cgroup").read_text().strip().removeprefix("0::")


def keep(name: str, text: str) -> None:
    """Keep an output for the host (docs/walkthrough.md quotes them)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / name).write_text(text)


def lostbeat(*argv: str) -> tuple[int, str, str]:
    """``lostbeat ARGV`` in this process: its exit status, standard output and error.

    Python imports are 10 to 20 times slower under TCG than on the host (the analyzer's takes
    1.4 s cold, docs/benchmarks.md), so the suite imports it once and runs ``lostbeat
    analyze`` and ``lostbeat simulate`` through the console script's own entry point,
    :func:`lostbeat.cli.main`.
    """
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = cli.main(list(argv))
    return status, out.getvalue(), err.getvalue()


def make_program(name: str, code: str) -> str:
    """A Python program whose ``comm`` is ``name``: a link named so to the interpreter."""
    link = Path("/usr/local/bin") / name
    if not link.is_symlink():
        link.symlink_to(os.path.realpath("/usr/bin/python3"))
    script = Path("/usr/local/lib") / f"{name}.py"
    script.write_text(code)
    return f"{link} {script}"


@dataclass(frozen=True, slots=True)
class Agent:
    installed: str
    """What ``lostbeat install-units`` said."""


LEAKER = """\
import sys, time
rate, keep = int(sys.argv[1]), []
print(f"leaking {rate >> 20} MiB/s", flush=True)
while True:
    block = bytearray(rate // 10)
    for i in range(0, len(block), 4096):
        block[i] = 1
    keep.append(block)
    time.sleep(0.1)
"""


@dataclass(frozen=True, slots=True)
class Loss:
    """One real lost heartbeat under systemd, and what was seen of it."""

    started: float
    capture: Path
    leaker_pid: int
    leaker_cmdline: str
    monitor_pid: int
    recorder_pid: int
    hbd_pid: int
    monitor_after: int
    recorder_after: int
    analysis: dict[str, object]
    resumed: str
    """The monitor's line saying the heartbeat came back once the leaker was stopped."""


HOG = """\
keep = []
while True:
    block = bytearray(8 << 20)
    for i in range(0, len(block), 4096):
        block[i] = 1
    keep.append(block)
"""
"""A program that takes memory until it is killed."""


def kernel_oom_lines() -> list[str]:
    """The kernel's lines naming OOM kills (its log is read with dmesg: the guest's journald
    does not read it, see scripts/vm/recipe/configure-base)."""
    return [m for m in sh("dmesg").splitlines() if re.search(r"Killed process|oom-kill:", m)]
