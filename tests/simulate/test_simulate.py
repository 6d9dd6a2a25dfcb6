"""``lostbeat simulate`` end to end, as a person runs it: a real group, real programs, a real
lost heartbeat, the analyzer's verdict, and nothing left behind (also after Ctrl-C)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

from lostbeat.errors import AgentError
from lostbeat.simulate import cgroups
from lostbeat.simulate.children import find_marked
from lostbeat.simulate.plans import Scenario
from lostbeat.simulate.run import SimulationConfig, preflight
from tests.simulate.helpers import PYTHON, need_memory_cgroup

LOSTBEAT = [PYTHON, "-m", "lostbeat", "simulate"]
ENV = {**os.environ, "COLUMNS": "120"}


def _left_behind(pid: int) -> tuple[list[Path], list[int]]:
    """The groups and processes a run by ``lostbeat simulate`` pid ``pid`` left."""
    controllers = cgroups.host_controllers()
    mounts = [m for m in (controllers.memory and controllers.memory.mount, controllers.cpu) if m]
    name = f"{cgroups.PREFIX}{pid}"
    return [m / name for m in mounts if (m / name).exists()], find_marked(name)


def _simulate(tmp_path: Path, *args: str) -> tuple[subprocess.CompletedProcess[str], dict]:
    keep = tmp_path / "run"
    proc = subprocess.Popen(
        [*LOSTBEAT, *args, "--keep", str(keep), "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=ENV,
    )
    try:
        out, err = proc.communicate(timeout=150)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGINT)  # it cleans up, then the test fails
        out, err = proc.communicate(timeout=60)
        pytest.fail(f"lostbeat simulate did not finish in 150 s:\n{err}")
    print(err)
    groups, processes = _left_behind(proc.pid)
    assert groups == [] and processes == [], err
    done = subprocess.CompletedProcess(proc.args, proc.returncode, out, err)
    assert (keep / "simulation.json").is_file(), err
    return done, json.loads(out)


def test_leak_is_found_and_nothing_is_left(tmp_path: Path) -> None:
    need_memory_cgroup()
    done, analysis = _simulate(tmp_path, "--scenario", "leak", "--ram", "128M", "--timeout", "3")
    cause = analysis["root_cause"]
    assert (cause["kind"], cause["process"]) == ("leak", "leaker"), cause
    assert analysis["crash"]["type"] == "lost_heartbeat"
    assert done.returncode == 0
    assert "expected leak in leaker; the analyzer said leak in leaker: right" in done.stderr
    assert "OOM killer disabled" in done.stderr  # the failure exercised is said
    run = json.loads((tmp_path / "run" / "simulation.json").read_text())
    assert run["failure"] == "oom-hang" and run["verdict_ok"] is True
    assert {p["name"] for p in run["programs"]} >= {"monitor", "recorder", "lostbeat-hbd", "leaker"}
    capture = Path(run["capture"])
    assert (capture / "manifest.json").is_file() and (capture / "screen.txt").is_file()
    assert "Lost heartbeat (comm=lostbeat-hbd" in (capture / "screen.txt").read_text()
    assert (tmp_path / "run" / "recording" / "lostbeat-recording.json").is_file()


def test_spike_blames_no_steady_program(tmp_path: Path) -> None:
    need_memory_cgroup()
    done, analysis = _simulate(tmp_path, "--scenario", "spike", "--ram", "128M", "--timeout", "3")
    cause = analysis["root_cause"]
    assert cause["process"] not in ("steady-1", "steady-2", "steady-3", "lostbeat-hbd")
    assert cause["kind"] == "spike", cause
    assert done.returncode == 0


def test_ctrl_c_midway_cleans_up(tmp_path: Path) -> None:
    need_memory_cgroup()
    proc = subprocess.Popen(
        [*LOSTBEAT, "--ram", "128M", "--keep", str(tmp_path / "run")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env=ENV,
    )
    assert proc.stderr is not None
    lines = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = proc.stderr.readline()
        lines.append(line)
        if "workload: leaker" in line or not line:
            break
    assert "workload: leaker" in lines[-1], "".join(lines)
    name = f"{cgroups.PREFIX}{proc.pid}"
    assert find_marked(name), "the run's programs should be running"
    time.sleep(1.0)  # the leaker is leaking
    proc.send_signal(signal.SIGINT)
    rest = proc.stderr.read()
    proc.stderr.close()
    assert proc.wait(60) == 130
    assert "cleaned up:" in rest and rest.rstrip().endswith("lostbeat simulate: interrupted")
    assert "Traceback" not in rest
    assert _left_behind(proc.pid) == ([], [])


def test_refuses_without_root(tmp_path: Path) -> None:
    setpriv = shutil.which("setpriv")
    if setpriv is None or os.geteuid() != 0:
        print("SKIP: needs root and setpriv (util-linux) to run as another user")
        pytest.skip("needs root and setpriv (util-linux) to run as another user")
    done = subprocess.run(
        [setpriv, "--reuid=65534", "--regid=65534", "--clear-groups", *LOSTBEAT],
        capture_output=True,
        text=True,
        env=ENV,
        cwd=tmp_path,
        timeout=60,
    )
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "lostbeat simulate: needs root: it creates a memory cgroup and moves processes into it "
        "(try sudo)"
    ]


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        (["--ram", "64M"], {}, "--ram: expected at least 96M, got 64M"),
        (
            ["--scenario", "third-party"],
            {"PATH": "/nonexistent"},
            "scenario third-party runs stress-ng, which is not installed",
        ),
    ],
)
def test_refusals_are_one_line(args: list[str], env: dict[str, str], message: str) -> None:
    need_memory_cgroup()
    done = subprocess.run(
        [*LOSTBEAT, *args], capture_output=True, text=True, env={**ENV, **env}, timeout=60
    )
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], done.stderr


def test_keep_must_be_new_or_empty(tmp_path: Path) -> None:
    need_memory_cgroup()
    (tmp_path / "old").write_text("x")
    with pytest.raises(AgentError, match="expected a new or empty folder for --keep"):
        preflight(SimulationConfig(Scenario.LEAK, keep=tmp_path))


def test_refuses_a_host_without_a_memory_controller(tmp_path: Path) -> None:
    need_memory_cgroup()  # root: the check after it is the one under test
    (tmp_path / "self").mkdir()
    (tmp_path / "self" / "mountinfo").write_text(
        "41 31 0:38 / /nonexistent/cg2 rw,relatime - cgroup2 cgroup2 rw\n"
    )
    with pytest.raises(AgentError, match="no memory cgroup controller"):
        preflight(SimulationConfig(Scenario.LEAK, proc_root=tmp_path))
