"""The Service Console's memory cgroup: which cgroup version the host has, the group, its removal.

Version detection reads ``/proc/self/mountinfo``: a ``cgroup`` mount whose options name
``memory`` is v1; else a ``cgroup2`` mount whose ``cgroup.controllers`` lists ``memory``
is v2. The machines this was written on mount v1 at ``/sys/fs/cgroup/memory`` and cgroup2
at ``/sys/fs/cgroup/unified`` without the memory controller (linux-mechanisms.md, VERIFIED).

How a full group fails, by version:

- v1: ``memory.limit_in_bytes`` plus ``memory.oom_control`` = 1 (OOM killer off). A task
  that needs a page when the group is full waits in ``mem_cgroup_oom_synchronize`` (state
  D) until memory is freed: the heartbeat stops as in the seed KB (VERIFIED here).
- v2 has no switch to turn a group's OOM killer off; what stands in for it is a group in
  which every task is protected from the OOM killer (``oom_score_adj`` -1000). At
  ``memory.max`` the kernel then finds nothing to kill ("Out of memory and no killable
  processes", ``memory.events`` counting ``oom`` but no ``oom_kill``), the charge fails, and
  a task that needs a page retries its page fault for ever, in state R: the heartbeat stops
  as in the seed KB (VERIFIED in the Debian 12 guest of ``make test-vm``, kernel 6.1).
  ``memory.high`` does not do it: tasks above it are throttled for at most 2 s a return to
  user space, and there the heartbeat came only 1-2 s late, never lost (VERIFIED there).
  Each program is protected as it starts, and :func:`protect_members` protects again any
  task that made itself killable (stress-ng's stressors write 1000 for themselves).
  ``memory.oom.group`` = 1 makes an OOM kill, should one happen, take the whole group.

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
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from enum import StrEnum
from pathlib import Path

from lostbeat.agent import cgroup as cg
from lostbeat.agent.cgroup import (
    CgroupMemory,
    CgroupVersion,
    Hierarchy,
    MemoryCgroup,
    member_pids,
    memory_state,
)
from lostbeat.agent.mountinfo import parse_mountinfo
from lostbeat.errors import AgentError
from lostbeat.simulate.removal import Removal, disable_controllers, remove_dirs

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
    "protect_members",
    "remove",
    "remove_dirs",
    "set_cpu_share",
    "sweep_stale",
]

PREFIX = "lostbeat-sim-"


@dataclass(frozen=True, slots=True)
class Controllers:
    """Where the memory and cpu controllers are mounted; None where the host has none."""

    memory: Hierarchy | None
    cpu: Path | None
    """The v1 ``cpu`` mount, or the cgroup2 mount when it offers ``cpu`` (v2 memory only)."""


def detect(
    mountinfo: str, *, v2_controllers: Callable[[Path], frozenset[str]] = cg.v2_controllers
) -> Controllers:
    """Find the memory and cpu controllers in ``/proc/self/mountinfo`` text (v1 first)."""
    mounts = parse_mountinfo(mountinfo)
    memory = cg.find_memory_hierarchy(mounts, controllers=v2_controllers)
    if memory is None:
        return Controllers(None, None)
    if memory.version is CgroupVersion.V2:
        # a controller lives in one version only: with v2 memory, cpu is v2 too if offered
        return Controllers(memory, memory.mount if "cpu" in v2_controllers(memory.mount) else None)
    cpu = next(
        (m.mount_point for m in mounts if m.fs_type == "cgroup" and "cpu" in m.super_options),
        None,
    )
    return Controllers(memory, cpu)


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
    NO_VICTIM = "no-victim"

    @property
    def description(self) -> str:
        if self is Failure.OOM_HANG:
            return (
                "OOM killer disabled (memory.oom_control=1): a task that needs a page when "
                "the group is full hangs in the kernel, the lost-heartbeat kind of failure "
                "(not an OOM kill)"
            )
        return (
            "every task protected from the OOM killer (oom_score_adj -1000; cgroup v2 cannot "
            "disable a group's OOM killer): at memory.max the kernel finds nothing to kill and "
            "a task that needs a page retries its page fault for ever, the lost-heartbeat kind "
            "of failure (not an OOM kill)"
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
    oom_score_adj: int | None = None
    """What every program of the group writes to its ``oom_score_adj`` first (v2: -1000)."""
    enabled: tuple[tuple[Path, str], ...] = ()
    """(``cgroup.subtree_control``, controller) this run enabled above the group (v2), to
    disable again at removal."""

    @property
    def version(self) -> CgroupVersion:
        return self.memory.hierarchy.version

    def state(self) -> CgroupMemory:
        """Usage, limit and OOM state now."""
        return memory_state(self.memory)


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
    enabled: list[tuple[Path, str]] = []
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
            # v2: processes only in leaves ("no internal processes"); the limit on the top
            for controller in ("memory", "cpu") if throttle else ("memory",):
                _enable(hierarchy.mount, controller, enabled)
            _write(top / "memory.max", f"{limit_bytes}\n")
            for knob, value in (("memory.swap.max", "0\n"), ("memory.oom.group", "1\n")):
                if (top / knob).exists():
                    _write(top / knob, value)
            join, failure, quota, throttled = (
                (mkdir(top / "main") / "cgroup.procs",),
                Failure.NO_VICTIM,
                None,
                (),
            )
            if throttle:
                _write(top / "cgroup.subtree_control", "+cpu\n")
                slow = mkdir(top / "throttled")
                quota, throttled = slow / "cpu.max", (slow / "cgroup.procs",)
    except BaseException:
        remove_dirs(hierarchy.version, tuple(made))
        disable_controllers(enabled)
        raise
    return Domain(
        name=name,
        memory=MemoryCgroup(hierarchy, hierarchy.path_of(Path(name))),
        limit_bytes=limit_bytes,
        failure=failure,
        join=join,
        join_throttled=throttled,
        cpu_quota=quota,
        dirs=tuple(made),
        oom_score_adj=-1000 if hierarchy.version is CgroupVersion.V2 else None,
        enabled=tuple(enabled),
    )


def _enable(parent: Path, controller: str, enabled: list[tuple[Path, str]]) -> None:
    """Offer ``controller`` to the children of ``parent`` (v2), noting it if this did it."""
    control = parent / "cgroup.subtree_control"
    try:
        offered = control.read_text(encoding="ascii").split()
    except OSError as err:
        raise AgentError(f"{control}: cannot read: {err.strerror}") from err
    if controller not in offered:
        _write(control, f"+{controller}\n")
        enabled.append((control, controller))


def protect_members(domain: Domain) -> int:
    """Set ``oom_score_adj`` back to the group's value for every task that changed its own;
    returns how many were changed. Does nothing when the group has no such value (v1)."""
    if domain.oom_score_adj is None:
        return 0
    want = str(domain.oom_score_adj)
    changed = 0
    for pid in member_pids(domain.memory):
        path = Path(f"/proc/{pid}/oom_score_adj")
        with contextlib.suppress(OSError):
            if path.read_text(encoding="ascii").strip() != want:
                path.write_text(want + "\n", encoding="ascii")
                changed += 1
    return changed


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


def remove(domain: Domain, *, timeout: float = 10.0) -> Removal:
    """Kill everything in the group, remove its folders and take back the controllers it
    enabled; safe to call twice."""
    removal = remove_dirs(domain.version, domain.dirs, timeout=timeout)
    errors = disable_controllers(domain.enabled)
    return replace(removal, errors=removal.errors + tuple(errors)) if errors else removal


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
