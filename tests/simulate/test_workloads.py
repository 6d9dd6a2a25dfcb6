"""The workload programs, run for real: their names, and the memory each one holds."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest

from lostbeat.simulate.workloads import MIB, chunks
from tests.simulate.helpers import rss_bytes, wait_until, workload


def _ready(proc: subprocess.Popen[str]) -> str:
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert " ready: " in line, line
    return line


@pytest.fixture
def run():
    started: list[subprocess.Popen[str]] = []

    def start(*args: str) -> subprocess.Popen[str]:
        proc = workload(*args)
        started.append(proc)
        return proc

    yield start
    for proc in started:
        proc.kill()
        proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()


def test_chunks_cover_the_size_exactly() -> None:
    assert sum(chunks(10 * MIB + 7, MIB)) == 10 * MIB + 7
    assert max(chunks(10 * MIB + 7, MIB)) == MIB
    assert chunks(0, MIB) == []


def test_steady_holds_its_size_under_its_own_name(run) -> None:
    proc = run("steady", "--name", "steady-x", "--hold", "24M")
    line = _ready(proc)
    assert line.startswith(f"steady-x pid={proc.pid} ready: holding 24 MiB")
    assert Path(f"/proc/{proc.pid}/comm").read_text().strip() == "steady-x"
    held = rss_bytes(proc.pid)
    assert held >= 24 * MIB
    assert proc.poll() is None


def test_leak_keeps_growing(run) -> None:
    proc = run("leak", "--name", "leaker", "--rate", "32M", "--step", "0.1")
    _ready(proc)
    first = rss_bytes(proc.pid)
    wait_until(lambda: rss_bytes(proc.pid) >= first + 16 * MIB, what="16 MiB more")
    second = rss_bytes(proc.pid)
    wait_until(lambda: rss_bytes(proc.pid) >= second + 16 * MIB, what="16 MiB more again")


def test_spike_takes_its_grab_at_once_after_waiting(run) -> None:
    proc = run("spike", "--name", "spiker", "--hold", "2M", "--after", "0.5", "--grab", "48M")
    _ready(proc)
    before = rss_bytes(proc.pid)
    assert before < 48 * MIB
    assert proc.stdout is not None
    assert proc.stdout.readline().startswith("spiker: grabbing 48 MiB now")
    wait_until(lambda: rss_bytes(proc.pid) >= before + 48 * MIB, what="the grab")


def test_churn_gives_memory_back(run) -> None:
    proc = run(
        "churn", "--name", "churner", "--min", "1M", "--max", "8M", "--after", "0", "--every",
        "0.05",
    )  # fmt: skip
    _ready(proc)
    base = rss_bytes(proc.pid)
    seen = []
    for _ in range(40):  # 2 s: some 40 takes of 1-8 MiB, 180 MiB if none were given back
        seen.append(rss_bytes(proc.pid))
        time.sleep(0.05)
    assert max(seen) <= base + 9 * MIB
    assert len(set(seen)) > 1
    assert proc.poll() is None


def test_bad_size_is_a_usage_error() -> None:
    proc = workload("steady", "--name", "x", "--hold", "lots")
    out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 2
    assert "expected a size such as 20M" in out
