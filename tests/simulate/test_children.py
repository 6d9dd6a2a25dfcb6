"""Programs started in the group under their own names, dying with their parent, swept."""

from __future__ import annotations

import os
import signal
import subprocess
import textwrap
from pathlib import Path

import pytest

from lostbeat.errors import AgentError
from lostbeat.simulate import cgroups
from lostbeat.simulate.children import Children, find_marked
from tests.simulate.helpers import PYTHON, gone, wait_until

SLEEPER = [PYTHON, "-c", "import time; print('up', flush=True); time.sleep(60)"]


@pytest.fixture
def children(tmp_path: Path):
    kids = Children(run=f"test-children-{os.getpid()}", python=PYTHON, workdir=tmp_path)
    yield kids
    kids.kill_all()


def test_a_python_program_has_its_name_from_exec_on(children: Children) -> None:
    child = children.start("steady-9", SLEEPER, role="steady")
    assert children.wait_for(child, r"^up$", timeout=20) == "up"
    # named by the kernel at exec, not by the program: the recorder reads no other name
    assert Path(f"/proc/{child.pid}/comm").read_text().strip() == "steady-9"
    assert Path(f"/proc/{child.pid}/cmdline").read_bytes().split(b"\0")[0] == bytes(
        children.bin / "steady-9"
    )
    assert (children.bin / "steady-9").resolve() == Path(PYTHON).resolve()


def test_a_program_of_the_group_is_in_it_from_the_start(
    children: Children, group: cgroups.Domain
) -> None:
    child = children.start("inside", SLEEPER, role="steady", join=group.join)
    text = Path(f"/proc/{child.pid}/cgroup").read_text()
    assert any(line.endswith(f":{group.memory.path}") for line in text.splitlines()), text
    assert child.inside


def test_joining_a_missing_group_is_a_clear_error(children: Children, tmp_path: Path) -> None:
    with pytest.raises(AgentError, match="cannot start x"):
        children.start("x", SLEEPER, role="steady", join=[tmp_path / "nope" / "cgroup.procs"])


def test_wait_for_names_the_log_of_a_program_that_ended(children: Children) -> None:
    child = children.start("quitter", [PYTHON, "-c", "print('bye'); raise SystemExit(3)"], role="x")
    with pytest.raises(AgentError, match=r"quitter.log: quitter exited with status 3 .*: bye"):
        children.wait_for(child, "never", timeout=20)


def test_stop_and_sweep(children: Children) -> None:
    child = children.start("sleeper", SLEEPER, role="steady")
    children.wait_for(child, "up", timeout=20)
    assert find_marked(children.run) == [child.pid]
    assert children.stop(child, grace=5) == -signal.SIGTERM
    assert find_marked(children.run) == []
    other = children.start("other", SLEEPER, role="steady")
    children.wait_for(other, "up", timeout=20)
    assert children.sweep() == 1
    assert other.popen.wait(10) == -signal.SIGKILL


def test_programs_die_with_their_parent(tmp_path: Path) -> None:
    parent = subprocess.Popen(
        [
            PYTHON,
            "-c",
            textwrap.dedent(f"""
                import sys, time
                from pathlib import Path
                from lostbeat.simulate.children import Children
                kids = Children(run="test-orphan", python={PYTHON!r}, workdir=Path({str(tmp_path)!r}))
                child = kids.start("sleeper", {SLEEPER!r}, role="steady")
                print(child.pid, flush=True)
                time.sleep(60)
            """),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert parent.stdout is not None
    pid = int(parent.stdout.readline())
    parent.stdout.close()
    assert not gone(pid)
    parent.kill()
    parent.wait()
    wait_until(lambda: gone(pid), timeout=10, what="the orphan to die")
