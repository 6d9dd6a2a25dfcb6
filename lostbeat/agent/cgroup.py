"""The watched memory domain: a memory cgroup, under cgroup v1 or v2.

The version is detected from ``/proc/self/mountinfo`` (:mod:`lostbeat.agent.mountinfo`):
a ``cgroup`` mount whose super-block options name ``memory`` is v1; else a ``cgroup2``
mount whose ``cgroup.controllers`` lists ``memory`` is v2 (a controller is bound to one
version at a time, so v1 wins on a hybrid host). A process's group comes from
``/proc/PID/cgroup``. Both are checked for real: v1 on the development hosts (memory at
``/sys/fs/cgroup/memory``, a cgroup2 mount without it at ``/sys/fs/cgroup/unified``), v2 in
the Debian 12 guest that ``make test-vm`` boots (systemd 252, ``cgroup2`` at
``/sys/fs/cgroup``; linux-mechanisms.md, VERIFIED).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from lostbeat.agent.mountinfo import Mount, parse_mountinfo
from lostbeat.errors import AgentError, InputError
from lostbeat.procfs import Procfs

_UNLIMITED = 1 << 62  # v1 shows "no limit" as a page-rounded LONG_MAX

V1_FILES = (
    "memory.limit_in_bytes",
    "memory.usage_in_bytes",
    "memory.max_usage_in_bytes",
    "memory.failcnt",
    "memory.oom_control",
    "memory.stat",
)
V2_FILES = (
    "memory.max",
    "memory.high",
    "memory.current",
    "memory.swap.current",
    "memory.events",
    "memory.oom.group",
    "memory.pressure",
    "memory.stat",
)


class CgroupVersion(StrEnum):
    V1 = "v1"
    V2 = "v2"


@dataclass(frozen=True, slots=True)
class Hierarchy:
    """Where the memory controller is mounted, and which cgroup version it is."""

    version: CgroupVersion
    mount: Path
    root: str = "/"
    """The cgroup the mount shows (mountinfo's root field): ``/`` unless a subtree is mounted."""

    def locate(self, cgroup: str) -> Path:
        """The folder of the cgroup ``cgroup`` (a hierarchy path such as ``/a/b``).

        >>> Hierarchy(CgroupVersion.V2, Path("/mnt/cg"), "/a").locate("/a/b")
        PosixPath('/mnt/cg/b')
        >>> Hierarchy(CgroupVersion.V2, Path("/sys/fs/cgroup")).locate("/a/b")
        PosixPath('/sys/fs/cgroup/a/b')
        """
        root = self.root.rstrip("/")
        if root and (cgroup == root or cgroup.startswith(root + "/")):
            cgroup = cgroup[len(root) :]
        return self.mount / cgroup.lstrip("/")

    def path_of(self, relative: Path) -> str:
        """The hierarchy path of a folder given relative to the mount."""
        inside = "" if str(relative) == "." else str(relative)
        return "/" + "/".join(p for p in (self.root.strip("/"), inside) if p)


@dataclass(frozen=True, slots=True)
class MemoryCgroup:
    """One memory cgroup: ``path`` is relative to the hierarchy root ("/a/b")."""

    hierarchy: Hierarchy
    path: str

    @property
    def fs_path(self) -> Path:
        return self.hierarchy.locate(self.path)

    def contains(self, other: str) -> bool:
        """True if the cgroup ``other`` (a hierarchy path) is this group or inside it.

        >>> cg = MemoryCgroup(Hierarchy(CgroupVersion.V1, Path("/x")), "/a/b")
        >>> cg.contains("/a/b/c"), cg.contains("/a/bc"), cg.contains("/a")
        (True, False, False)
        """
        mine = self.path.rstrip("/")
        return other == mine or other.startswith(mine + "/") or mine == ""


@dataclass(frozen=True, slots=True)
class CgroupMemory:
    """The memory state of a cgroup at one moment; None where the version has no such file."""

    usage_bytes: int | None
    limit_bytes: int | None  # None: no limit (or unknown)
    under_oom: bool | None  # v1 only: tasks of the group are waiting in the OOM handler
    oom_kill_disable: bool | None  # v1 only
    oom_events: int | None
    oom_kills: int | None


def v2_controllers(mount: Path) -> frozenset[str]:
    """The controllers a cgroup2 mount offers (its ``cgroup.controllers``); empty if unreadable."""
    try:
        return frozenset((mount / "cgroup.controllers").read_text(encoding="ascii").split())
    except OSError:
        return frozenset()


def find_memory_hierarchy(
    mounts: Iterable[Mount], *, controllers: Callable[[Path], frozenset[str]] = v2_controllers
) -> Hierarchy | None:
    """The memory controller among ``mounts``: a v1 ``cgroup`` mount with ``memory`` first,
    else a ``cgroup2`` mount offering it (one showing the whole hierarchy preferred)."""
    v2: list[Mount] = []
    for mount in mounts:
        if mount.fs_type == "cgroup" and "memory" in mount.super_options:
            return Hierarchy(CgroupVersion.V1, mount.mount_point, mount.root)
        if mount.fs_type == "cgroup2":
            v2.append(mount)
    v2.sort(key=lambda m: m.root != "/")
    for mount in v2:
        if "memory" in controllers(mount.mount_point):
            return Hierarchy(CgroupVersion.V2, mount.mount_point, mount.root)
    return None


def memory_hierarchy(procfs: Procfs) -> Hierarchy | None:
    """Find this host's memory controller from ``/proc/self/mountinfo``."""
    return find_memory_hierarchy(parse_mountinfo(procfs.read_system("self/mountinfo") or ""))


def cgroup_of(procfs: Procfs, pid: int | str, hierarchy: Hierarchy) -> str | None:
    """The memory cgroup path of a process ("/" for the root), None if unknown."""
    try:
        text = procfs.read_text(pid, "cgroup")
    except AgentError:
        return None
    for line in text.splitlines():
        _, controllers, path = line.split(":", 2)
        if hierarchy.version is CgroupVersion.V1 and "memory" in controllers.split(","):
            return path
        if hierarchy.version is CgroupVersion.V2 and line.startswith("0::"):
            return path
    return None


def resolve(arg: str, hierarchy: Hierarchy) -> MemoryCgroup:
    """Turn ``--cgroup``'s value into a cgroup.

    A path under the hierarchy's mount is taken as it is; any other value names a cgroup
    of the memory hierarchy (``/lostbeat-watched.slice``).

    Raises:
        InputError: no such cgroup.
    """
    given = Path(arg)
    try:
        rel = hierarchy.path_of(given.resolve().relative_to(hierarchy.mount.resolve()))
    except ValueError:
        rel = "/" + arg.strip("/")
    cgroup = MemoryCgroup(hierarchy, rel.rstrip("/") or "/")
    if not (cgroup.fs_path / "cgroup.procs").is_file():
        raise InputError(
            f"expected a memory cgroup ({hierarchy.version} hierarchy at {hierarchy.mount})",
            path=arg,
        )
    return cgroup


def member_pids(cgroup: MemoryCgroup) -> list[int]:
    """Every process in the cgroup and its descendants, sorted."""
    pids: set[int] = set()
    for dirpath, _, filenames in os.walk(cgroup.fs_path):
        if "cgroup.procs" in filenames:
            try:
                text = Path(dirpath, "cgroup.procs").read_text(encoding="ascii")
            except OSError:
                continue
            pids.update(int(p) for p in text.split())
    return sorted(pids)


def _read(cgroup: MemoryCgroup, name: str) -> str | None:
    try:
        return (cgroup.fs_path / name).read_text(encoding="ascii")
    except OSError:
        return None


def _int(text: str | None) -> int | None:
    if text is None or not text.strip() or text.strip() == "max":
        return None
    return int(text.split()[0])


def _keyed(text: str | None) -> dict[str, int]:
    pairs = (line.split() for line in (text or "").splitlines())
    return {p[0]: int(p[1]) for p in pairs if len(p) == 2 and p[1].lstrip("-").isdigit()}


def memory_state(cgroup: MemoryCgroup) -> CgroupMemory:
    """Read the group's usage, limit and OOM state."""
    if cgroup.hierarchy.version is CgroupVersion.V1:
        oom = _keyed(_read(cgroup, "memory.oom_control"))
        limit = _int(_read(cgroup, "memory.limit_in_bytes"))
        return CgroupMemory(
            usage_bytes=_int(_read(cgroup, "memory.usage_in_bytes")),
            limit_bytes=None if limit is None or limit >= _UNLIMITED else limit,
            under_oom=bool(oom["under_oom"]) if "under_oom" in oom else None,
            oom_kill_disable=bool(oom["oom_kill_disable"]) if "oom_kill_disable" in oom else None,
            oom_events=_int(_read(cgroup, "memory.failcnt")),
            oom_kills=oom.get("oom_kill"),
        )
    events = _keyed(_read(cgroup, "memory.events"))
    return CgroupMemory(
        usage_bytes=_int(_read(cgroup, "memory.current")),
        limit_bytes=_int(_read(cgroup, "memory.max")),
        under_oom=None,
        oom_kill_disable=None,
        oom_events=events.get("oom"),
        oom_kills=events.get("oom_kill"),
    )


def capture_files(cgroup: MemoryCgroup) -> tuple[str, ...]:
    """The cgroup's files worth keeping in a capture."""
    return V1_FILES if cgroup.hierarchy.version is CgroupVersion.V1 else V2_FILES


def move_pid(target: MemoryCgroup, pid: int) -> None:
    """Move a process into ``target``.

    Raises:
        AgentError: the kernel refused (for example a v2 group with children).
    """
    procs = target.fs_path / "cgroup.procs"
    try:
        procs.write_text(f"{pid}\n", encoding="ascii")
    except OSError as err:
        raise AgentError(f"{procs}: cannot move process {pid}: {err.strerror}") from err
