"""cgroup version detection, and a real group made, filled until it hangs, and removed."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from lostbeat.agent.cgroup import CgroupVersion, member_pids
from lostbeat.errors import AgentError
from lostbeat.simulate import cgroups
from lostbeat.simulate.children import Children
from tests.simulate.helpers import MIB, PYTHON, gone, need_memory_cgroup, wait_until

V1 = """\
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
34 31 0:31 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset
35 31 0:32 / /sys/fs/cgroup/memory\\040x rw,relatime - cgroup cgroup rw,memory
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
"""


def test_detect_v1_memory_and_cpu_mounts() -> None:
    found = cgroups.detect(V1, v2_controllers=lambda mount: frozenset())
    assert found.memory is not None
    assert found.memory.version is CgroupVersion.V1
    assert found.memory.mount == Path("/sys/fs/cgroup/memory x")  # \040 is a space
    assert found.cpu == Path("/sys/fs/cgroup/cpu")  # not cpuset


def _v2_mount(tmp_path: Path, controllers: str) -> str:
    mount = tmp_path / "cg2"
    mount.mkdir()
    (mount / "cgroup.controllers").write_text(controllers + "\n")
    return f"41 31 0:38 / {mount} rw,relatime - cgroup2 cgroup2 rw\n"


def test_detect_v2_reads_the_mounts_controllers(tmp_path: Path) -> None:
    found = cgroups.detect(_v2_mount(tmp_path, "cpuset cpu io memory pids"))
    assert found.memory is not None
    assert found.memory.version is CgroupVersion.V2
    assert found.memory.mount == tmp_path / "cg2"
    assert found.cpu == tmp_path / "cg2"


def test_detect_v2_without_memory_is_no_controller(tmp_path: Path) -> None:
    assert cgroups.detect(_v2_mount(tmp_path, "cpu io pids")) == cgroups.Controllers(None, None)
    assert cgroups.detect("") == cgroups.Controllers(None, None)


def test_v1_wins_over_a_v2_mount_without_memory() -> None:
    found = cgroups.detect(V1, v2_controllers=lambda mount: frozenset({"memory"}))
    assert found.memory is not None and found.memory.version is CgroupVersion.V1


def test_this_hosts_v1_memory_controller_is_found() -> None:
    if not Path("/sys/fs/cgroup/memory/cgroup.procs").is_file():
        print("SKIP: no cgroup v1 memory controller at /sys/fs/cgroup/memory")
        pytest.skip("no cgroup v1 memory controller at /sys/fs/cgroup/memory")
    found = cgroups.host_controllers()
    assert found.memory is not None
    assert found.memory.version is CgroupVersion.V1
    assert found.memory.mount == Path("/sys/fs/cgroup/memory")


def test_create_refuses_without_the_controllers() -> None:
    with pytest.raises(AgentError, match="no memory cgroup controller"):
        cgroups.create(cgroups.Controllers(None, None), name="x", limit_bytes=MIB)
    memory_only = cgroups.detect(V1.replace("rw,cpu\n", "rw,net_cls\n"))
    with pytest.raises(AgentError, match="no cpu cgroup controller"):
        cgroups.create(memory_only, name="x", limit_bytes=MIB, throttle=True)


def test_v1_group_has_its_limit_and_no_oom_killer(group: cgroups.Domain) -> None:
    if group.version is not CgroupVersion.V1:
        pytest.skip("v1 knobs")
    folder = group.memory.fs_path
    assert int((folder / "memory.limit_in_bytes").read_text()) == 64 * MIB
    assert "oom_kill_disable 1" in (folder / "memory.oom_control").read_text()
    assert group.failure is cgroups.Failure.OOM_HANG
    state = group.state()
    assert state.limit_bytes == 64 * MIB and state.under_oom is False


def test_removal_kills_a_task_hung_in_the_full_group(group: cgroups.Domain, tmp_path: Path) -> None:
    children = Children(run="test-hang", python=PYTHON, workdir=tmp_path)
    leaker = children.start(
        "leaker",
        [PYTHON, "-m", "lostbeat.simulate.workloads", "leak", "--name", "leaker", "--rate", "64M"],
        role="workload",
        join=group.join,
    )
    try:
        # with the OOM killer off, the full group hangs the leaker in the kernel (state D)
        wait_until(lambda: group.state().under_oom is True, what="the group to be under OOM")
        assert member_pids(group.memory) == [leaker.pid]
        removal = cgroups.remove(group)
        assert removal.clean, removal.errors
        assert removal.killed == 1
        assert not group.memory.fs_path.exists()
        assert leaker.popen.wait(10) == -9
        assert cgroups.remove(group).removed == ()  # twice is harmless
    finally:
        children.kill_all()


def test_memory_domain_removes_the_group_when_the_block_fails() -> None:
    controllers = need_memory_cgroup()
    name = f"{cgroups.PREFIX}test-fail-{os.getpid()}"
    seen: list[cgroups.Removal] = []
    with (
        pytest.raises(RuntimeError),
        cgroups.memory_domain(
            controllers, name=name, limit_bytes=32 * MIB, removed=seen.append
        ) as domain,
    ):
        assert domain.memory.fs_path.is_dir()
        raise RuntimeError("the run failed")
    assert not domain.memory.fs_path.exists()
    assert seen and seen[0].clean


def test_throttled_place_takes_a_cpu_quota() -> None:
    controllers = need_memory_cgroup()
    if controllers.cpu is None:
        print("SKIP: no cpu cgroup controller here")
        pytest.skip("no cpu cgroup controller here")
    name = f"{cgroups.PREFIX}test-cpu-{os.getpid()}"
    with cgroups.memory_domain(
        controllers, name=name, limit_bytes=32 * MIB, throttle=True
    ) as domain:
        assert domain.cpu_quota is not None and len(domain.join_throttled) >= 1
        cgroups.set_cpu_share(domain, 0.05)
        text = domain.cpu_quota.read_text().split()
        assert int(text[0]) == 5000
    assert all(not d.exists() for d in domain.dirs)


def test_sweep_removes_only_groups_whose_run_is_gone() -> None:
    controllers = need_memory_cgroup()
    assert controllers.memory is not None
    dead_pid = subprocess.Popen(["true"])
    dead_pid.wait()
    live = subprocess.Popen(
        [PYTHON, "-c", "import time; print(flush=True); time.sleep(60)", "simulate"],
        stdout=subprocess.PIPE,
    )
    assert live.stdout is not None
    live.stdout.readline()  # running: its command line is there
    stale = cgroups.create(
        controllers, name=f"{cgroups.PREFIX}{dead_pid.pid}", limit_bytes=32 * MIB
    )
    running = cgroups.create(controllers, name=f"{cgroups.PREFIX}{live.pid}", limit_bytes=32 * MIB)
    try:
        removed = cgroups.sweep_stale(controllers)
        assert any(stale.memory.fs_path in r.removed for r in removed)
        assert not stale.memory.fs_path.exists()
        assert running.memory.fs_path.is_dir()
    finally:
        cgroups.remove(stale)
        cgroups.remove(running)
        live.kill()
        live.wait()
        live.stdout.close()
    assert gone(live.pid)
