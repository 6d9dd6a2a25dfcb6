"""Helpers that run the real agent: monitor and hbd processes, and memory cgroups."""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from lostbeat.agent import cgroup as cg
from lostbeat.procfs import Procfs

PYTHON = sys.executable


def lostbeat_argv(*args: str) -> list[str]:
    return [PYTHON, "-m", "lostbeat", *args]


def wait_for(predicate, *, timeout: float, every: float = 0.05, what: str = "condition"):  # type: ignore[no-untyped-def]
    """Poll until ``predicate()`` is truthy; returns its value or fails the test."""
    until = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > until:
            pytest.fail(f"timed out after {timeout} s waiting for {what}")
        time.sleep(every)


@dataclass
class Proc:
    """A process the test started, with its log file."""

    popen: subprocess.Popen[bytes]
    log: Path

    @property
    def pid(self) -> int:
        return self.popen.pid

    def text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def lines(self, pattern: str) -> list[str]:
        return [line for line in self.text().splitlines() if re.search(pattern, line)]

    def wait_line(self, pattern: str, *, timeout: float = 10.0) -> str:
        found = wait_for(lambda: self.lines(pattern), timeout=timeout, what=repr(pattern))
        return str(found[0])

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 5.0) -> int:
        if self.popen.poll() is None:
            self.popen.send_signal(sig)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait()
        return self.popen.returncode


@dataclass
class Agent:
    """Starts monitors, heartbeat daemons and other processes; stops them all at the end."""

    workdir: Path
    procs: list[Proc] = field(default_factory=list)
    wait_for = staticmethod(wait_for)

    @property
    def socket(self) -> Path:
        return self.workdir / "hb.sock"

    @property
    def datastore(self) -> Path:
        return self.workdir / "datastore"

    def spawn(
        self,
        argv: list[str],
        name: str,
        *,
        cgroup: cg.MemoryCgroup | None = None,
        env: dict[str, str] | None = None,
    ) -> Proc:
        log = self.workdir / f"{name}.log"
        if cgroup is not None:  # enter the cgroup before exec, so every page is charged there
            procs = cgroup.fs_path / "cgroup.procs"
            argv = ["sh", "-c", f'echo $$ > "{procs}" && exec "$@"', "sh", *argv]
        with log.open("ab") as out:
            popen = subprocess.Popen(
                argv, stdin=subprocess.DEVNULL, stdout=out, stderr=out, env=env
            )
        proc = Proc(popen, log)
        self.procs.append(proc)
        return proc

    def monitor(
        self,
        *args: str,
        timeout: float = 2.0,
        env: dict[str, str] | None = None,
        cgroup: cg.MemoryCgroup | None = None,
        ready: bool = True,
    ) -> Proc:
        argv = lostbeat_argv(
            "monitor",
            "--socket",
            str(self.socket),
            "--datastore",
            str(self.datastore),
            "--timeout",
            f"{timeout:g}",
            *args,
        )
        proc = self.spawn(argv, "monitor", env=env, cgroup=cgroup)
        if ready:
            proc.wait_line(r"Monitor: lostbeat .* listening on")
        return proc

    def hbd(
        self,
        *args: str,
        interval: float = 0.5,
        name: str = "hbd",
        cgroup: cg.MemoryCgroup | None = None,
        registered: bool = True,
        monitor: Proc | None = None,
    ) -> Proc:
        argv = lostbeat_argv(
            "hbd",
            "--socket",
            str(self.socket),
            "--interval",
            f"{interval:g}",
            "--name",
            name,
            *args,
        )
        proc = self.spawn(argv, name, cgroup=cgroup)
        if registered and monitor is not None:
            monitor.wait_line(rf"Client registered \(comm={re.escape(name)} pid={proc.pid} ")
        return proc

    def captures(self) -> list[Path]:
        if not self.datastore.is_dir():
            return []
        return sorted(p for p in self.datastore.iterdir() if p.name.startswith("lost-heartbeat-"))

    def manifest(self, *, timeout: float = 20.0) -> tuple[Path, dict[str, object]]:
        def done() -> Path | None:
            for folder in self.captures():
                if (folder / "manifest.json").exists():
                    return folder
            return None

        folder = wait_for(done, timeout=timeout, what="a capture's manifest.json")
        return folder, json.loads((folder / "manifest.json").read_text())

    def clients_as(
        self, uid: int, count: int, *, interval: float, prefix: str = "hog", timeout: float = 86400
    ) -> tuple[Proc, int, str]:
        """A process of ``uid`` that registers up to ``count`` clients and never beats.

        Returns the process (it keeps its connections open until the test ends), how many
        clients the monitor accepted, and the refusal reasons it gave for the rest.
        """
        if os.geteuid() != 0:
            print("SKIP: running clients as another uid needs root")
            pytest.skip("running clients as another uid needs root")
        argv = [PYTHON, "-c", CLIENTS_AS, str(self.socket), str(uid), str(count), prefix,
                f"{interval:g}", f"{timeout:g}"]  # fmt: skip
        proc = self.spawn(argv, f"{prefix}-{uid}")
        line = proc.wait_line(r"^held \d+ refused ", timeout=30).split()
        return proc, int(line[1]), line[3]

    def close(self) -> None:
        for proc in reversed(self.procs):
            if proc.popen.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(proc.pid, signal.SIGCONT)  # let a stopped process die at once
                proc.stop(signal.SIGKILL)


CLIENTS_AS = textwrap.dedent("""\
    import os, sys, time
    from lostbeat.heartbeat import Heartbeat, HeartbeatRefused
    path, uid, count, prefix = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
    interval, timeout = float(sys.argv[5]), float(sys.argv[6])
    os.setgroups([])
    os.setgid(uid)
    os.setuid(uid)
    held, refused = [], set()
    for i in range(count):
        hb = Heartbeat(path, name=f"{prefix}{i}", interval=interval, timeout=timeout)
        try:
            hb.connect()
        except HeartbeatRefused as err:
            refused.add(err.reason)
        else:
            held.append(hb)  # registered, and never beats
    print("held", len(held), "refused", ",".join(sorted(refused)) or "-", flush=True)
    while True:
        time.sleep(60)
""")


@pytest.fixture
def agent() -> Iterator[Agent]:
    # a short path: UNIX socket paths are limited to 107 bytes
    workdir = Path(tempfile.mkdtemp(prefix="lbt-", dir="/tmp"))
    os.chmod(workdir, 0o711)  # clients running as another uid must reach the socket
    ag = Agent(workdir)
    try:
        yield ag
    finally:
        ag.close()
        subprocess.run(["rm", "-rf", str(workdir)], check=False)


def _own_memory_cgroup() -> tuple[cg.Hierarchy, str] | str:
    procfs = Procfs()
    hierarchy = cg.memory_hierarchy(procfs)
    if hierarchy is None:
        return "no memory cgroup controller is mounted on this host"
    if os.geteuid() != 0:
        return "creating a memory cgroup needs root"
    own = cg.cgroup_of(procfs, "self", hierarchy)
    if own is None:
        return "cannot tell which memory cgroup the tests run in"
    return hierarchy, own


def _kill_all(group: cg.MemoryCgroup) -> None:
    v1 = group.hierarchy.version is cg.CgroupVersion.V1
    if v1 and (group.fs_path / "memory.oom_control").exists():
        (group.fs_path / "memory.oom_control").write_text("0\n")
    for _ in range(100):
        pids = cg.member_pids(group)
        if not pids:
            return
        for pid in pids:
            try:
                os.kill(pid, signal.SIGCONT)
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        time.sleep(0.05)


@pytest.fixture
def memory_cgroup() -> Iterator[cg.MemoryCgroup]:
    """A new memory cgroup, a child of the one the tests run in; always removed at the end."""
    found = _own_memory_cgroup()
    if isinstance(found, str):
        print(f"SKIP: {found}")
        pytest.skip(found)
    hierarchy, own = found
    group = cg.MemoryCgroup(hierarchy, f"{own.rstrip('/')}/lostbeat-test-{uuid.uuid4().hex[:8]}")
    try:
        group.fs_path.mkdir()
    except OSError as err:
        print(f"SKIP: cannot create a memory cgroup: {err}")
        pytest.skip(f"cannot create a memory cgroup: {err}")
    try:
        yield group
    finally:
        _kill_all(group)
        for _ in range(100):
            try:
                group.fs_path.rmdir()
                break
            except OSError:
                time.sleep(0.05)
        assert not group.fs_path.exists(), f"{group.fs_path} was not removed"
