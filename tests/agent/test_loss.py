"""A lost heartbeat, for real: a stopped daemon, a memory cgroup that runs out, and the two
endings that are not hangs (a clean exit, a process that dies)."""

from __future__ import annotations

import json
import os
import signal
import stat
import sys
import textwrap
import time
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from lostbeat.agent import cgroup as cg

if TYPE_CHECKING:
    from conftest import Agent

TIMEOUT = 2.0
INTERVAL = 0.5


def _elf_loads(core: Path) -> list[tuple[int, int, int, int]]:
    """(vaddr, memsz, offset, filesz) of each PT_LOAD of a core file."""
    import struct

    data = core.read_bytes()[: 1 << 20]
    assert data[:4] == b"\x7fELF" and struct.unpack_from("<H", data, 16)[0] == 4  # ET_CORE
    (phoff,) = struct.unpack_from("<Q", data, 32)
    phentsize, phnum = struct.unpack_from("<HH", data, 54)
    loads = []
    for i in range(phnum):
        p_type, _, p_offset, p_vaddr, _, p_filesz, p_memsz, _ = struct.unpack_from(
            "<IIQQQQQQ", data, phoff + i * phentsize
        )
        if p_type == 1:
            loads.append((p_vaddr, p_memsz, p_offset, p_filesz))
    return loads


@pytest.mark.timeout(60)
def test_stopped_daemon_is_declared_lost_in_time_with_a_complete_capture(
    agent: Agent, memory_cgroup: cg.MemoryCgroup
) -> None:
    # the cgroup has no limit here: it only scopes the top consumers to the test's processes
    monitor = agent.monitor(
        "--cgroup", str(memory_cgroup.fs_path), "--sample-interval", "0.5", timeout=TIMEOUT
    )
    hbd = agent.hbd(interval=INTERVAL, cgroup=memory_cgroup, monitor=monitor)
    time.sleep(3 * INTERVAL)
    stopped_at = time.monotonic()
    os.kill(hbd.pid, signal.SIGSTOP)
    folder, manifest = agent.manifest()

    declared = float(manifest["declared_monotonic"])  # type: ignore[arg-type]
    assert stopped_at < declared <= stopped_at + TIMEOUT + INTERVAL
    assert manifest["complete"] is True, manifest["files"]
    (lost,) = manifest["lost"]  # type: ignore[misc]
    assert lost["pid"] == hbd.pid and lost["comm"] == "hbd" and lost["to"] == TIMEOUT
    assert monitor.lines(rf"Host: Error: Lost heartbeat \(comm=hbd pid={hbd.pid} t=2 to=2 clt=1\)")

    screen = (folder / "screen.txt").read_text()
    lines = screen.splitlines()
    assert lines[0].startswith("lostbeat ") and f"[Linux {os.uname().release} " in lines[0]
    assert lines[1] == "Lost heartbeat"
    assert lines[3] == f"@BlueScreen: Lost heartbeat (comm=hbd pid={hbd.pid} t=2 to=2 clt=1)"
    assert f"{hbd.pid} hbd" in screen and "do_signal_stop" in screen  # top consumer, wchan
    assert "Heartbeat history (clt=1 comm=hbd" in screen and "  seq=3 at=" in screen

    listed = {f["path"]: f for f in manifest["files"]}  # type: ignore[union-attr]
    for name in (
        "screen.txt",
        "alerts.log",
        f"proc/{hbd.pid}/status",
        f"proc/{hbd.pid}/maps",
        f"proc/{hbd.pid}/smaps_rollup",
        f"proc/{hbd.pid}/wchan",
    ):
        assert listed[name]["status"] == "ok"
        assert (folder / name).stat().st_size == listed[name]["size"]
    cores = [c for c in manifest["cores"] if c["pid"] == hbd.pid]  # type: ignore[union-attr]
    assert cores[-1]["status"] == "ok", cores
    core = folder / cores[-1]["path"]
    assert core.stat().st_size == cores[-1]["size"] > 0
    for path in folder.rglob("*"):
        mode = stat.S_IMODE(path.stat().st_mode)
        assert mode == (0o700 if path.is_dir() else 0o600), path
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert not monitor.lines("Action: (?!none)")


HOG = textwrap.dedent("""\
    import sys, time
    keep = []
    print("memhog ready", flush=True)
    while True:
        keep.append(bytearray(b"x") * (4 << 20))  # every page written, so every page charged
        time.sleep(0.01)
""")


@pytest.mark.timeout(120)
def test_out_of_memory_cgroup_hangs_the_daemon_and_the_capture_names_the_hog(
    agent: Agent, memory_cgroup: cg.MemoryCgroup
) -> None:
    if memory_cgroup.hierarchy.version is not cg.CgroupVersion.V1:
        print("SKIP: the OOM-killer-disabled hang needs cgroup v1's memory.oom_control")
        pytest.skip("the OOM-killer-disabled hang needs cgroup v1's memory.oom_control")
    # the exact set-up of linux-mechanisms.md: a limit, and the OOM killer disabled
    (memory_cgroup.fs_path / "memory.limit_in_bytes").write_text(str(96 << 20))
    (memory_cgroup.fs_path / "memory.oom_control").write_text("1")
    monitor = agent.monitor(
        "--cgroup",
        str(memory_cgroup.fs_path),
        "--sample-interval",
        "0.3",
        "--action",
        "kill-top",
        timeout=TIMEOUT,
    )
    hbd = agent.hbd(interval=INTERVAL, cgroup=memory_cgroup, monitor=monitor)
    script = agent.workdir / "memhog.py"
    script.write_text(HOG)
    hog = agent.spawn([sys.executable, str(script)], "memhog", cgroup=memory_cgroup)
    hog_pid = hog.pid
    # the loss comes TIMEOUT after the hang; the capture (a 96 MB core by /proc/PID/mem) takes
    # seconds more on a loaded machine: the wait ends as soon as the manifest is there
    folder, manifest = agent.manifest(timeout=60)

    assert manifest["scope"] == {"cgroup": memory_cgroup.path, "version": "v1"}
    (lost,) = manifest["lost"]  # type: ignore[misc]
    assert lost["pid"] == hbd.pid
    top = manifest["top"][0]  # type: ignore[index]
    assert top["pid"] == hog_pid and top["state"] == "D"
    assert "memhog.py" in (folder / f"proc/{hog_pid}/cmdline").read_text()
    assert "mem_cgroup_oom_synchronize" in (folder / f"proc/{hog_pid}/wchan").read_text()
    screen = (folder / "screen.txt").read_text()
    assert "under_oom=1 oom_kill_disable=1" in screen
    row = next(line for line in screen.splitlines() if line.split()[:1] == [str(hog_pid)])
    assert " D " in row and row.endswith("mem_cgroup_oom_synchronize")
    assert "under_oom 1" in (folder / "cgroup/memory.oom_control").read_text()
    # the daemon did not exit: it hangs (in the fault, or retrying a refused mmap)
    assert hbd.popen.poll() is None
    assert (folder / f"proc/{hbd.pid}/status").exists()

    # the hung hog's core, by the route that works for a task in state D
    attempts = [c for c in manifest["cores"] if c["pid"] == hog_pid]  # type: ignore[union-attr]
    assert attempts[0]["route"] == "gcore" and attempts[0]["status"] == "skipped"
    assert "state D" in attempts[0]["reason"]
    assert attempts[-1]["route"] == "procmem" and attempts[-1]["status"] == "ok"
    loads = _elf_loads(folder / attempts[-1]["path"])
    assert sum(filesz for *_, filesz in loads) > 64 << 20  # it holds the eaten memory

    # the action ran after the capture was on disk: the hog is killed, the beat comes back
    monitor.wait_line(rf"Action: kill-top: killed python\S* pid={hog_pid} ")
    agent.wait_for(lambda: hog.popen.poll() is not None, timeout=10, what="the hog to die")
    assert hog.popen.returncode == -signal.SIGKILL
    monitor.wait_line(rf"Heartbeat resumed \(comm=hbd pid={hbd.pid} ", timeout=10)


@pytest.mark.timeout(40)
def test_clean_exit_deregisters_and_a_dead_client_is_gone_not_hung(agent: Agent) -> None:
    monitor = agent.monitor("--cores", "0", timeout=TIMEOUT)
    quits = agent.hbd(interval=INTERVAL, name="quits", monitor=monitor)
    dies = agent.hbd(interval=INTERVAL, name="dies", monitor=monitor)
    assert quits.stop(signal.SIGTERM) == 0
    monitor.wait_line(rf"Client deregistered \(comm=quits pid={quits.pid} ")
    dies.stop(signal.SIGKILL)
    monitor.wait_line(rf"Client gone \(comm=dies pid={dies.pid} .*\): process exited, not a hang")
    time.sleep(TIMEOUT + 2 * INTERVAL)
    assert not monitor.lines("Lost heartbeat|Host: Error")
    assert agent.captures() == []
    assert "stopped; deregistered" in quits.text()


@pytest.mark.timeout(40)
def test_no_false_loss_while_both_cores_are_saturated(agent: Agent) -> None:
    monitor = agent.monitor("--cores", "0", timeout=TIMEOUT)
    hbd = agent.hbd(interval=INTERVAL, monitor=monitor)
    burners = [
        agent.spawn([sys.executable, "-c", "while True: pass"], f"burn{i}")
        for i in range(max(2, os.cpu_count() or 2))
    ]
    time.sleep(4 * TIMEOUT)  # the length of the test, with every core busy
    busy = [Path(f"/proc/{b.pid}/stat").read_text().rsplit(")", 1)[1].split()[0] for b in burners]
    assert set(busy) <= {"R"}  # they really were burning
    assert not monitor.lines("Host: Error|Client gone")
    assert agent.captures() == []
    assert hbd.popen.poll() is None


@pytest.mark.timeout(30)
def test_capture_is_fsynced_before_the_command_action_runs(
    agent: Agent, memory_cgroup: cg.MemoryCgroup
) -> None:
    marker = agent.workdir / "action-saw.json"
    action = (
        f'command:{sys.executable} -c "import json,os,sys; '
        f"d=os.environ['LOSTBEAT_CAPTURE']; "
        f"json.dump({{'d': d, 'ls': sorted(os.listdir(d)), 'c': os.environ['LOSTBEAT_CLIENT']}}, "
        f"open('{marker}', 'w'))\""
    )
    monitor = agent.monitor(
        "--cgroup", str(memory_cgroup.fs_path), "--cores", "0", "--action", action, timeout=TIMEOUT
    )
    hbd = agent.hbd(interval=INTERVAL, cgroup=memory_cgroup, monitor=monitor)
    os.kill(hbd.pid, signal.SIGSTOP)
    monitor.wait_line(r"Action: command: .* exited with 0", timeout=15)
    seen = json.loads(marker.read_text())
    assert seen["c"] == "hbd"
    assert {"manifest.json", "screen.txt", "alerts.log", "proc"} <= set(seen["ls"])


@pytest.mark.timeout(30)
def test_daemon_waits_for_the_monitor_and_comes_back_after_a_restart(agent: Agent) -> None:
    hbd = agent.hbd(interval=INTERVAL, registered=False)
    agent.wait_for(lambda: "retrying every 0.5 s" in hbd.text(), timeout=10, what="a retry")
    first = agent.monitor("--cores", "0", timeout=TIMEOUT)
    first.wait_line(rf"Client registered \(comm=hbd pid={hbd.pid} ")
    assert first.stop(signal.SIGTERM) == 0
    second = agent.monitor("--cores", "0", timeout=TIMEOUT)
    second.wait_line(rf"Client registered \(comm=hbd pid={hbd.pid} ")
    agent.wait_for(lambda: hbd.text().count("beating as hbd clt=1") == 2, timeout=5,
                   what="the daemon to say it beats again")  # fmt: skip
    assert "connection lost" in hbd.text() and hbd.popen.poll() is None
