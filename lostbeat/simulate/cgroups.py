"""The Service Console's memory cgroup: which cgroup version the host has, the group, its removal.

Version detection reads ``/proc/self/mountinfo``: a ``cgroup`` mount whose options name
``memory`` is v1; else a ``cgroup2`` mount whose ``cgroup.controllers`` lists ``memory``
is v2. The machines this was written on mount v1 at ``/sys/fs/cgroup/memory`` and cgroup2
at ``/sys/fs/cgroup/unified`` without the memory controller (linux-mechanisms.md, VERIFIED).

How a full group fails, by version:

- v1: ``memory.limit_in_bytes`` plus ``memory.oom_control`` = 1 (OOM killer off). A task
  that needs a page when the group is full waits in ``mem_cgroup_oom_synchronize`` (state
  D) until memory is freed: the heartbeat stops as in the seed KB (VERIFIED here).
- v2 has no switch to turn the OOM killer off. ``memory.high`` = the size throttles every
  task of a group above it in reclaim without killing it, and ``memory.max`` (a quarter
  higher, with ``memory.oom.group`` = 1) ends the run if throttling is not enough
  (BACKGROUND-unverified: these machines have no v2 memory controller).

Sample ``/proc/self/mountinfo`` lines::

    35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
    41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw

Examples:
    >>> found = detect(
    ...     "35 31 0:32 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\\n"
    ...     "32 31 0:29 / /sys/fs/cgroup/cpu rw - cgroup cgroup rw,cpu,cpuacct\\n"
    ... )
    >>> found.memory.version.value, str(found.memory.mount), str(found.cpu)
    ('v1', '/sys/fs/cgroup/memory', '/sys/fs/cgroup/cpu')
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import signal
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from lostbeat.agent.cgroup import CgroupMemory, CgroupVersion, Hierarchy, MemoryCgroup, memory_state
from lostbeat.errors import AgentError

__all__ = [
    "Controllers",
    "Domain",
    "Failure",
    "PREFIX",
    "Removal",
    "create",
    "detect",
    "host_controllers",
    "memory_domain",
    "remove",
    "remove_dirs",
    "set_cpu_share",
    "sweep_stale",
]

PREFIX = "lostbeat-sim-"
_ESCAPE = re.compile(r"\\([0-7]{3})")


@dataclass(frozen=True, slots=True)
class Controllers:
    """Where the memory and cpu controllers are mounted; None where the host has none."""

    memory: Hierarchy | None
    cpu: Path | None
    """The v1 ``cpu`` mount, or the cgroup2 mount when it offers ``cpu`` (v2 memory only)."""


def _v2_controllers(mount: Path) -> frozenset[str]:
    try:
        return frozenset((mount / "cgroup.controllers").read_text(encoding="ascii").split())
    except OSError:
        return frozenset()


def detect(
    mountinfo: str, *, v2_controllers: Callable[[Path], frozenset[str]] = _v2_controllers
) -> Controllers:
    """Find the memory and cpu controllers in ``/proc/self/mountinfo`` text (v1 first)."""
    memory: Hierarchy | None = None
    cpu: Path | None = None
    v2: Path | None = None
    for line in mountinfo.splitlines():
        left, _, right = line.partition(" - ")
        fields, tail = left.split(), right.split()
        if len(fields) < 5 or len(tail) < 3:
            continue
        mount = Path(_ESCAPE.sub(lambda m: chr(int(m[1], 8)), fields[4]))
        options = tail[2].split(",")
        if tail[0] == "cgroup" and "memory" in options and memory is None:
            memory = Hierarchy(CgroupVersion.V1, mount)
        elif tail[0] == "cgroup" and "cpu" in options and cpu is None:
            cpu = mount
        elif tail[0] == "cgroup2" and v2 is None and "memory" in v2_controllers(mount):
            v2 = mount
    if memory is None and v2 is not None:
        # a controller lives in one version only: with v2 memory, cpu is v2 too if offered
        return Controllers(
            Hierarchy(CgroupVersion.V2, v2), v2 if "cpu" in v2_controllers(v2) else None
        )
    return Controllers(memory, cpu if memory is not None else None)


def host_controllers(proc_root: Path = Path("/proc")) -> Controllers:
    """:func:`detect` on this host's ``/proc/self/mountinfo`` (empty if unreadable)."""
    try:
        text = (proc_root / "self" / "mountinfo").read_text(encoding="utf-8", errors="replace")
    except OSError:
        text = ""
    return detect(text)


class Failure(StrEnum):
    """The kind of failure a full group exercises."""

    OOM_HANG = "oom-hang"
    HIGH_THROTTLE = "high-throttle"

    @property
    def description(self) -> str:
        if self is Failure.OOM_HANG:
            return (
                "OOM killer disabled (memory.oom_control=1): a task that needs a page when "
                "the group is full hangs in the kernel, the lost-heartbeat kind of failure "
                "(not an OOM kill)"
            )
        return (
            "memory.high throttling: tasks above it stall in reclaim; memory.max a quarter "
            "higher would OOM-kill the group (cgroup v2 cannot disable the OOM killer)"
        )


@dataclass(frozen=True, slots=True)
class Domain:
    """One simulated Service Console: the cgroup folders and how programs join them."""

    name: str
    memory: MemoryCgroup
    limit_bytes: int
    failure: Failure
    join: tuple[Path, ...]
    """``cgroup.procs`` files a program writes its own pid into to join the group."""
    join_throttled: tuple[Path, ...]
    """The same for a program whose CPU is throttled; empty when there is no throttle."""
    cpu_quota: Path | None
    """``cpu.cfs_quota_us`` (v1) or ``cpu.max`` (v2) of the throttled group."""
    dirs: tuple[Path, ...]
    """Every folder created, in removal order (leaves first)."""

    @property
    def version(self) -> CgroupVersion:
        return self.memory.hierarchy.version

    def state(self) -> CgroupMemory:
        """Usage, limit and OOM state now."""
        return memory_state(self.memory)


@dataclass(frozen=True, slots=True)
class Removal:
    """What removing a group did."""

    killed: int
    removed: tuple[Path, ...]
    left: tuple[Path, ...]
    errors: tuple[str, ...]

    @property
    def clean(self) -> bool:
        return not self.left and not self.errors


def _write(path: Path, value: str) -> None:
    try:
        path.write_text(value, encoding="ascii")
    except OSError as err:
        raise AgentError(f"{path}: cannot write {value.strip()!r}: {err.strerror}") from err


def create(
    controllers: Controllers, *, name: str, limit_bytes: int, throttle: bool = False
) -> Domain:
    """Make the group (and, with ``throttle``, a CPU-throttled place in it).

    Raises:
        AgentError: no memory controller, no cpu controller for ``throttle``, or the kernel
            refused a folder or a setting (what was made is removed again).
    """
    hierarchy = controllers.memory
    if hierarchy is None:
        raise AgentError("no memory cgroup controller on this host")
    if throttle and controllers.cpu is None:
        raise AgentError("no cpu cgroup controller on this host to slow the workload down")
    made: list[Path] = []

    def mkdir(path: Path) -> Path:
        try:
            path.mkdir()
        except OSError as err:
            raise AgentError(f"{path}: cannot create the cgroup: {err.strerror}") from err
        made.insert(0, path)
        return path

    top = hierarchy.mount / name
    try:
        mkdir(top)
        if hierarchy.version is CgroupVersion.V1:
            _write(top / "memory.limit_in_bytes", f"{limit_bytes}\n")
            if (top / "memory.memsw.limit_in_bytes").exists():
                # a host with swap would swap first: memory+swap at the same size hangs the same
                _write(top / "memory.memsw.limit_in_bytes", f"{limit_bytes}\n")
            _write(top / "memory.oom_control", "1\n")
            join, failure = (top / "cgroup.procs",), Failure.OOM_HANG
            quota: Path | None = None
            throttled: tuple[Path, ...] = ()
            if throttle and controllers.cpu is not None:
                cpu = mkdir(controllers.cpu / name)
                quota, throttled = cpu / "cpu.cfs_quota_us", (*join, cpu / "cgroup.procs")
        else:
            # v2: processes only in leaves ("no internal processes"); limits on the top
            _write(top / "memory.high", f"{limit_bytes}\n")
            _write(top / "memory.max", f"{limit_bytes + limit_bytes // 4}\n")
            for knob, value in (("memory.swap.max", "0\n"), ("memory.oom.group", "1\n")):
                if (top / knob).exists():
                    _write(top / knob, value)
            join, failure, quota, throttled = (
                (mkdir(top / "main") / "cgroup.procs",),
                Failure.HIGH_THROTTLE,
                None,
                (),
            )
            if throttle:
                _write(top / "cgroup.subtree_control", "+cpu\n")
                slow = mkdir(top / "throttled")
                quota, throttled = slow / "cpu.max", (slow / "cgroup.procs",)
    except BaseException:
        remove_dirs(hierarchy.version, tuple(made))
        raise
    return Domain(
        name=name,
        memory=MemoryCgroup(hierarchy, f"/{name}"),
        limit_bytes=limit_bytes,
        failure=failure,
        join=join,
        join_throttled=throttled,
        cpu_quota=quota,
        dirs=tuple(made),
    )


def set_cpu_share(domain: Domain, share: float) -> None:
    """Let the throttled programs use ``share`` of one CPU (0.001-1).

    The kernel takes at least 1 ms of quota a period, so a share under 1 % lengthens the
    period (up to 1 s) rather than rounding the share up.
    """
    if domain.cpu_quota is None:
        raise AgentError(f"{domain.name}: no throttled group")
    share = min(max(share, 0.001), 1.0)
    period = 100_000 if share >= 0.01 else min(1_000_000, int(1000 / share))
    quota = max(int(share * period), 1000)
    if domain.version is CgroupVersion.V1:
        _write(domain.cpu_quota.with_name("cpu.cfs_period_us"), f"{period}\n")
        _write(domain.cpu_quota, f"{quota}\n")
    else:
        _write(domain.cpu_quota, f"{quota} {period}\n")


def _members(dirs: tuple[Path, ...]) -> set[int]:
    pids: set[int] = set()
    for folder in dirs:
        with contextlib.suppress(OSError, ValueError):
            pids.update(int(p) for p in (folder / "cgroup.procs").read_text().split())
    return pids


def remove_dirs(
    version: CgroupVersion, dirs: tuple[Path, ...], *, timeout: float = 10.0
) -> Removal:
    """Let the kernel act again, kill every task in ``dirs``, then remove them (leaves first).

    Idempotent: folders already gone are skipped.
    """
    dirs = tuple(d for d in dirs if d.is_dir())
    errors: list[str] = []
    # v1: oom_control back to 0 so tasks waiting in the OOM handler can be killed or freed;
    # v2: lift the throttle, and use cgroup.kill where the kernel has it (5.14+)
    knobs = (
        (("memory.oom_control", "0\n"),)
        if version is CgroupVersion.V1
        else (("memory.high", "max\n"), ("cgroup.kill", "1\n"))
    )
    for folder in dirs:
        for knob, value in knobs:
            if (folder / knob).exists():
                try:
                    (folder / knob).write_text(value, encoding="ascii")
                except OSError as err:
                    errors.append(f"{folder / knob}: {err.strerror}")
    killed: set[int] = set()
    deadline = time.monotonic() + timeout
    while (pids := _members(dirs)) and time.monotonic() < deadline:
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
                killed.add(pid)
        time.sleep(0.05)
    removed: list[Path] = []
    left: list[Path] = []
    for folder in dirs:
        while True:
            try:
                folder.rmdir()
            except FileNotFoundError:
                removed.append(folder)
            except OSError as err:
                if err.errno == errno.EBUSY and time.monotonic() < deadline:
                    time.sleep(0.05)
                    continue
                left.append(folder)
                errors.append(f"{folder}: cannot remove: {err.strerror}")
            else:
                removed.append(folder)
            break
    if _members(dirs):
        errors.append(f"tasks still in {', '.join(str(d) for d in dirs)} after {timeout:g} s")
    return Removal(len(killed), tuple(removed), tuple(left), tuple(errors))


def remove(domain: Domain, *, timeout: float = 10.0) -> Removal:
    """Kill everything in the group and remove its folders; safe to call twice."""
    return remove_dirs(domain.version, domain.dirs, timeout=timeout)


@contextlib.contextmanager
def memory_domain(
    controllers: Controllers,
    *,
    name: str,
    limit_bytes: int,
    throttle: bool = False,
    removed: Callable[[Removal], object] | None = None,
) -> Iterator[Domain]:
    """:func:`create` the group; on leaving, always :func:`remove` it and tell ``removed``."""
    domain = create(controllers, name=name, limit_bytes=limit_bytes, throttle=throttle)
    try:
        yield domain
    finally:
        result = remove(domain)
        if removed is not None:
            removed(result)


def _owner_alive(name: str, proc_root: Path) -> bool:
    pid = name.removeprefix(PREFIX)
    if not pid.isdigit():
        return True  # not one of ours: leave it
    try:
        cmdline = (proc_root / pid / "cmdline").read_bytes()
    except OSError:
        return False
    # empty while a process is still in execve: it exists, so it is not known to be gone
    return not cmdline or b"simulate" in cmdline.split(b"\0")


def sweep_stale(
    controllers: Controllers, *, proc_root: Path = Path("/proc"), run: str | None = None
) -> tuple[Removal, ...]:
    """Remove groups left by a simulation that was killed outright (SIGKILL, power loss).

    A group ``lostbeat-sim-PID`` whose PID is no running ``lostbeat simulate`` is stale;
    with ``run``, only the group of that name is removed, whoever runs.
    """
    if controllers.memory is None:
        return ()
    version = controllers.memory.version
    mounts = [controllers.memory.mount] + ([controllers.cpu] if controllers.cpu else [])
    found: dict[str, list[Path]] = {}
    for mount in mounts:
        with contextlib.suppress(OSError):
            for entry in mount.iterdir():
                if entry.name.startswith(PREFIX) and entry.is_dir():
                    found.setdefault(entry.name, []).append(entry)
    out = []
    for name, tops in sorted(found.items()):
        if (name != run) if run is not None else _owner_alive(name, proc_root):
            continue
        leaves = [d for top in tops for d in (top / "main", top / "throttled") if d.is_dir()]
        out.append(remove_dirs(version, (*leaves, *tops)))
    return tuple(out)
