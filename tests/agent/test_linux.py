"""The OS-facing layer on a fake /proc built in a temporary folder, and on the real one."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from lostbeat.agent import cgroup as cg
from lostbeat.agent._linux import peer_credentials, touch_page, write_private
from lostbeat.agent.consumers import Sampler
from lostbeat.errors import InputError, ProcessGone
from lostbeat.procfs import Procfs


def fake_process(root: Path, pid: int, *, comm: str, state: str = "S", rss_kb: int | None,
                 swap_kb: int = 0, start: int = 100, uid: int = 0) -> None:  # fmt: skip
    d = root / str(pid)
    (d / "task" / str(pid)).mkdir(parents=True, exist_ok=True)
    fields = [state, "1", str(pid), str(pid)] + ["0"] * 15 + [str(start)] + ["0"] * 16 + ["1"]
    stat = f"{pid} ({comm}) {' '.join(fields)}\n"
    (d / "stat").write_text(stat)
    (d / "task" / str(pid) / "stat").write_text(stat.replace(f" {state} ", " R ", 1))
    memory = f"VmRSS:\t{rss_kb} kB\nVmSwap:\t{swap_kb} kB\n" if rss_kb is not None else ""
    (d / "status").write_text(f"Name:\t{comm}\nUid:\t{uid}\t{uid}\t{uid}\t{uid}\n{memory}")


def test_procfs_reads_a_fake_tree(tmp_path: Path) -> None:
    fake_process(tmp_path, 7, comm="a (b) c", rss_kb=512, swap_kb=64, uid=1000)
    fake_process(tmp_path, 9, comm="kthreadd", rss_kb=None)
    procfs = Procfs(tmp_path)
    assert procfs.pids() == [7, 9] and procfs.tids(7) == [7]
    stat = procfs.stat(7)
    assert (stat.comm, stat.state, stat.starttime, stat.processor) == ("a (b) c", "S", 100, 1)
    status = procfs.status(7)
    assert (status.uid, status.rss_kb, status.swap_kb) == (1000, 512, 64)
    assert procfs.status(9).rss_kb is None  # a kernel thread shows no memory: unknown, not 0
    assert procfs.is_alive(7, 100) and not procfs.is_alive(7, 101) and not procfs.is_alive(8, None)
    with pytest.raises(ProcessGone) as caught:
        procfs.read_text(8, "status")
    assert caught.value.pid == 8


def test_sampler_ranks_by_rss_plus_swap_and_reports_growth(tmp_path: Path) -> None:
    fake_process(tmp_path, 7, comm="small", rss_kb=100)
    fake_process(tmp_path, 8, comm="leaker", rss_kb=300, swap_kb=50)
    fake_process(tmp_path, 9, comm="kworker", rss_kb=None)
    fake_process(tmp_path, 10, comm="me", rss_kb=10_000)
    procfs = Procfs(tmp_path)
    sampler = Sampler(procfs, scope=procfs.pids, exclude=frozenset({10}))
    first = sampler.sample()
    assert [c.comm for c in first] == ["leaker", "small"] and first[0].growth_kb is None
    fake_process(tmp_path, 8, comm="leaker", rss_kb=900, swap_kb=50)
    fake_process(tmp_path, 7, comm="small", rss_kb=100, start=555)  # a new process, same pid
    top = sampler.top(5)
    assert [(c.comm, c.total_kb, c.growth_kb) for c in top] == [
        ("leaker", 950, 600),
        ("small", 100, None),
    ]


def test_real_procfs_peer_credentials_and_a_page() -> None:
    procfs = Procfs()
    me = procfs.stat(os.getpid())
    assert me.pid == os.getpid() and me.state == "R"
    assert procfs.status(os.getpid()).rss_kb
    left, right = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    cred = peer_credentials(left)
    assert (cred.pid, cred.uid, cred.gid) == (os.getpid(), os.getuid(), os.getgid())
    left.close()
    right.close()
    touch_page()  # maps, writes and unmaps one page; raises if the kernel refuses


def test_user_pc_and_sp_of_a_sleeping_thread() -> None:
    code = "import time; print('ready', flush=True); time.sleep(30)"
    child = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE)
    try:
        assert child.stdout is not None and child.stdout.readline() == b"ready\n"
        procfs = Procfs()
        found = None
        for _ in range(100):
            found = procfs.user_pc_sp(child.pid, child.pid)
            if found is not None and procfs.stat(child.pid).state == "S":
                break
            time.sleep(0.01)
        assert found is not None
        pc, sp = found
        maps = procfs.maps(child.pid)
        assert any(m.start <= pc < m.end and "x" in m.perms for m in maps)
        assert any(m.start <= sp < m.end and m.path == "[stack]" for m in maps)
    finally:
        child.kill()
        child.communicate()


def test_write_private_never_follows_a_symlink(tmp_path: Path) -> None:
    (tmp_path / "target").write_text("keep")
    (tmp_path / "link").symlink_to(tmp_path / "target")
    with pytest.raises(FileExistsError):
        write_private(tmp_path / "link", "overwrite")
    assert (tmp_path / "target").read_text() == "keep"
    assert write_private(tmp_path / "new", "x" * 10) == 10
    assert (tmp_path / "new").stat().st_mode & 0o777 == 0o600


def _fake_hierarchy(tmp_path: Path, version: str) -> tuple[Procfs, Path]:
    proc = tmp_path / "proc"
    (proc / "self").mkdir(parents=True)
    mount = tmp_path / "cgroup"
    if version == "v1":
        line = f"35 31 0:32 / {mount} rw,relatime - cgroup cgroup rw,memory"
        (proc / "self" / "cgroup").write_text("4:memory:/a\n1:cpu:/\n0::/\n")
    else:
        line = f"41 31 0:38 / {mount} rw,relatime - cgroup2 cgroup2 rw"
        (proc / "self" / "cgroup").write_text("0::/a\n")
    (proc / "self" / "mountinfo").write_text(
        f"31 23 0:28 / /sys/fs/cgroup rw - tmpfs tmpfs rw\n{line}\n"
    )
    (mount / "a" / "b").mkdir(parents=True)
    (mount / "cgroup.controllers").write_text("cpu io memory pids\n")
    (mount / "a" / "cgroup.procs").write_text("5\n6\n")
    (mount / "a" / "b" / "cgroup.procs").write_text("7\n")
    return Procfs(proc), mount


def test_cgroup_v1_detection_membership_and_state(tmp_path: Path) -> None:
    procfs, mount = _fake_hierarchy(tmp_path, "v1")
    hierarchy = cg.memory_hierarchy(procfs)
    assert hierarchy == cg.Hierarchy(cg.CgroupVersion.V1, mount)
    assert cg.cgroup_of(procfs, "self", hierarchy) == "/a"
    group = cg.resolve(str(mount / "a"), hierarchy)
    assert group == cg.resolve("/a", hierarchy) and group.path == "/a"
    assert cg.member_pids(group) == [5, 6, 7]
    (mount / "a" / "memory.limit_in_bytes").write_text("9223372036854771712\n")
    (mount / "a" / "memory.usage_in_bytes").write_text("4096\n")
    (mount / "a" / "memory.oom_control").write_text("oom_kill_disable 1\nunder_oom 1\noom_kill 0\n")
    state = cg.memory_state(group)
    assert (state.usage_bytes, state.limit_bytes) == (4096, None)  # no limit
    assert (state.under_oom, state.oom_kill_disable, state.oom_kills) == (True, True, 0)
    assert state.oom_events is None  # no failcnt file: unknown
    with pytest.raises(InputError) as caught:
        cg.resolve("/nope", hierarchy)
    assert str(caught.value).startswith("/nope: expected a memory cgroup (v1 hierarchy at ")


def test_cgroup_v2_detection_and_state(tmp_path: Path) -> None:
    procfs, mount = _fake_hierarchy(tmp_path, "v2")
    hierarchy = cg.memory_hierarchy(procfs)
    assert hierarchy == cg.Hierarchy(cg.CgroupVersion.V2, mount)
    assert cg.cgroup_of(procfs, "self", hierarchy) == "/a"
    group = cg.resolve("/a/b", hierarchy)
    (mount / "a" / "b" / "memory.max").write_text("max\n")
    (mount / "a" / "b" / "memory.current").write_text("8192\n")
    (mount / "a" / "b" / "memory.events").write_text("low 0\nhigh 3\nmax 9\noom 2\noom_kill 1\n")
    state = cg.memory_state(group)
    assert (state.usage_bytes, state.limit_bytes, state.oom_events, state.oom_kills) == (
        8192, None, 2, 1,
    )  # fmt: skip
    assert state.under_oom is None and "memory.events" in cg.capture_files(group)


def test_no_memory_controller_is_none(tmp_path: Path) -> None:
    procfs, mount = _fake_hierarchy(tmp_path, "v2")
    (mount / "cgroup.controllers").write_text("cpu io\n")
    assert cg.memory_hierarchy(procfs) is None


def test_this_host_memory_hierarchy() -> None:
    hierarchy = cg.memory_hierarchy(Procfs())
    if hierarchy is None:
        print("SKIP: no memory cgroup controller on this host")
        pytest.skip("no memory cgroup controller on this host")
    assert (hierarchy.mount / "cgroup.procs").is_file()
    own = cg.cgroup_of(Procfs(), "self", hierarchy)
    assert own is not None and own.startswith("/")
    assert os.getpid() in cg.member_pids(cg.MemoryCgroup(hierarchy, own))
