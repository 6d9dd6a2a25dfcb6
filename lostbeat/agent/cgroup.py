"""The watched memory domain: a memory cgroup, under cgroup v1 or v2.

The version is detected from ``/proc/self/mountinfo`` (a ``cgroup`` mount whose options
name ``memory`` is v1; else a ``cgroup2`` mount whose ``cgroup.controllers`` lists
``memory`` is v2) and a process's group from ``/proc/PID/cgroup``. The hosts this was
written on mount the v1 memory controller at ``/sys/fs/cgroup/memory`` and have no v2
memory controller (linux-mechanisms.md, VERIFIED); the v2 file names below follow the
kernel's cgroup-v2 documentation (BACKGROUND-unverified on these hosts).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

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


@dataclass(frozen=True, slots=True)
class MemoryCgroup:
    """One memory cgroup: ``path`` is relative to the hierarchy root ("/a/b")."""

    hierarchy: Hierarchy
    path: str

    @property
    def fs_path(self) -> Path:
        return self.hierarchy.mount / self.path.lstrip("/")

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


def memory_hierarchy(procfs: Procfs) -> Hierarchy | None:
    """Find the memory controller's mount, v1 first (a controller is in one version only)."""
    text = procfs.read_system("self/mountinfo") or ""
    v2: Path | None = None
    for line in text.splitlines():
        left, _, right = line.partition(" - ")
        fields, tail = left.split(), right.split()
        if len(fields) < 5 or len(tail) < 3:
            continue
        mount = Path(fields[4].replace("\\040", " "))
        if tail[0] == "cgroup" and "memory" in tail[2].split(","):
            return Hierarchy(CgroupVersion.V1, mount)
        if tail[0] == "cgroup2" and v2 is None and _v2_has_memory(mount):
            v2 = mount
    return Hierarchy(CgroupVersion.V2, v2) if v2 is not None else None


def _v2_has_memory(mount: Path) -> bool:
    try:
        return "memory" in (mount / "cgroup.controllers").read_text(encoding="ascii").split()
    except OSError:
        return False


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
        inside = given.resolve().relative_to(hierarchy.mount.resolve())
        rel = "/" if str(inside) == "." else f"/{inside}"
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
