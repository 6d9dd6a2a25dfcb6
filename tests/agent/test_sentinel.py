"""The monitor beyond the beats, for real: a capture when the kernel's OOM killer kills in the
watched cgroup (and none when it kills elsewhere), a pre-loss capture before a real leak
stops the heartbeat, and the status file the recorder's metrics read."""

from __future__ import annotations

import json
import os
import sys
import textwrap
import time
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from lostbeat.agent import cgroup as cg
from lostbeat.agent.kmsg import KMSG
from lostbeat.agent.status import parse_status

if TYPE_CHECKING:
    from conftest import Agent

LEAK = textwrap.dedent("""\
    import sys, time
    step, pause = int(sys.argv[1]) << 20, float(sys.argv[2])
    keep = []
    print("leaking", flush=True)
    while True:
        keep.append(bytearray(b"x") * step)  # every page written, so every page charged
        time.sleep(pause)
""")


def _v1_or_skip(group: cg.MemoryCgroup) -> None:
    if group.hierarchy.version is not cg.CgroupVersion.V1:
        print("SKIP: these tests set the limit through cgroup v1's files")
        pytest.skip("these tests set the limit through cgroup v1's files")
    if not os.access(KMSG, os.R_OK):
        print(f"SKIP: {KMSG} is not readable here")
        pytest.skip(f"{KMSG} is not readable here")


def _child(parent: cg.MemoryCgroup, name: str, limit: int) -> cg.MemoryCgroup:
    group = cg.MemoryCgroup(parent.hierarchy, f"{parent.path}/{name}")
    group.fs_path.mkdir()
    (group.fs_path / "memory.limit_in_bytes").write_text(str(limit))
    return group


def _remove(group: cg.MemoryCgroup) -> None:
    for _ in range(100):
        try:
            group.fs_path.rmdir()
            return
        except FileNotFoundError:
            return
        except OSError:
            time.sleep(0.05)


def _captures(agent: Agent, prefix: str) -> list[Path]:
    if not agent.datastore.is_dir():
        return []
    return sorted(
        p
        for p in agent.datastore.iterdir()
        if p.name.startswith(prefix) and (p / "manifest.json").exists()
    )


def _uptime_of(line: str) -> float:
    days, hours, minutes, seconds = line.split()[0].split(":")
    return ((int(days) * 24 + int(hours)) * 60 + int(minutes)) * 60 + float(seconds)


@pytest.mark.timeout(120)
def test_an_oom_kill_in_the_watched_cgroup_is_captured_and_one_elsewhere_is_not(
    agent: Agent, memory_cgroup: cg.MemoryCgroup
) -> None:
    _v1_or_skip(memory_cgroup)
    watched = _child(memory_cgroup, "watched", 96 << 20)
    other = _child(memory_cgroup, "other", 96 << 20)
    script = agent.workdir / "leak.py"
    script.write_text(LEAK)
    try:
        monitor = agent.monitor(
            "--cgroup", str(watched.fs_path), "--warn-tte", "off", "--warn-pressure", "off",
            "--min-capture-interval", "1",
        )  # fmt: skip
        monitor.wait_line(r"Monitor: kernel log: watching")
        outside = agent.spawn([sys.executable, str(script), "4", "0.01"], "outside", cgroup=other)
        agent.wait_for(lambda: outside.popen.poll() is not None, timeout=30, what="a kill")
        line = monitor.wait_line(rf"Kernel: .*Killed process {outside.pid} \(", timeout=10)
        assert line.endswith("(outside the watched cgroup: no capture)")

        inside = agent.spawn([sys.executable, str(script), "4", "0.01"], "inside", cgroup=watched)
        agent.wait_for(lambda: inside.popen.poll() is not None, timeout=30, what="a kill")
        monitor.wait_line(rf"Kernel: Memory cgroup out of memory: Killed process {inside.pid} ")
        agent.wait_for(lambda: _captures(agent, "kernel-"), timeout=20, what="a kernel capture")
    finally:
        for group in (watched, other):
            (group.fs_path / "memory.oom_control").write_text("0")
            _remove(group)
    (folder,) = _captures(agent, "kernel-")  # the kill outside made none
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["trigger"] == "kernel"
    assert manifest["message"].startswith(
        f"Memory cgroup out of memory: Killed process {inside.pid} "
    )
    assert manifest["cores"] == [] and not (folder / "cores").exists()
    screen = (folder / "screen.txt").read_text().splitlines()
    assert screen[1] == manifest["message"]
    assert screen[3] == f"@BlueScreen: {manifest['message']}"
    assert not _captures(agent, "lost-heartbeat-")


@pytest.mark.timeout(120)
def test_a_real_leak_gives_a_pre_loss_capture_before_the_heartbeat_stops(
    agent: Agent, memory_cgroup: cg.MemoryCgroup
) -> None:
    _v1_or_skip(memory_cgroup)
    # a hang, as in linux-mechanisms.md: a limit and the OOM killer disabled
    (memory_cgroup.fs_path / "memory.limit_in_bytes").write_text(str(160 << 20))
    (memory_cgroup.fs_path / "memory.oom_control").write_text("1")
    status = agent.workdir / "monitor.status"
    monitor = agent.monitor(
        "--cgroup", str(memory_cgroup.fs_path), "--status", str(status), "--cores", "0",
        timeout=3.0,
    )  # fmt: skip
    hbd = agent.hbd(interval=0.5, cgroup=memory_cgroup, monitor=monitor)

    def listed() -> object:
        return status.exists() and parse_status(status.read_text(), path=str(status)).clients

    agent.wait_for(listed, timeout=5, what="the client in the status file")
    beat = parse_status(status.read_text(), path=str(status))
    assert [(c.comm, c.pid, c.state) for c in beat.clients] == [("hbd", hbd.pid, "alive")]
    assert time.time() - beat.clients[0].last_beat < 3.0
    script = agent.workdir / "leak.py"
    script.write_text(LEAK)
    agent.spawn([sys.executable, str(script), "2", "0.2"], "leaker", cgroup=memory_cgroup)
    _, loss = agent.manifest(timeout=90)

    (pre,) = _captures(agent, "pre-loss-")[:1]
    early = json.loads((pre / "manifest.json").read_text())
    assert early["trigger"] == "pre-loss" and early["lost"] == []
    last_beat = float(loss["deadline_monotonic"]) - 3.0  # type: ignore[arg-type]
    lead = last_beat - float(early["declared_monotonic"])
    print(f"pre-loss capture {lead:.1f} s before the last beat: {early['message']}")
    assert lead > 0
    warn = monitor.lines(r"\)Warn: ")[0]
    lost = monitor.lines(r"\)Host: Error: Lost heartbeat")[0]
    assert _uptime_of(warn) < _uptime_of(lost)
    assert (pre / "screen.txt").read_text().splitlines()[1] == early["message"]
    assert os.listdir(pre / "proc")  # the top consumers' /proc files, before the loss

    def lost_in_status() -> bool:
        clients = parse_status(status.read_text(), path=str(status)).clients
        return [c.state for c in clients] == ["lost"] and clients[0].last_beat < time.time() - 3

    agent.wait_for(lost_in_status, timeout=5, what="the loss in the status file")
