"""Removing a simulation's cgroups: kill every task, remove the folders, leaves first.

Kept apart from :mod:`~lostbeat.simulate.cgroups` (which makes the groups) so that each
stays small; it knows folders and versions, not the groups' purpose.
"""

from __future__ import annotations

import contextlib
import errno
import os
import signal
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from lostbeat.agent.cgroup import CgroupVersion

__all__ = ["Removal", "disable_controllers", "remove_dirs"]


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
    # v2: cgroup.kill where the kernel has it (5.14+); a task retrying its page fault dies
    # of SIGKILL all the same
    knobs = (
        (("memory.oom_control", "0\n"),)
        if version is CgroupVersion.V1
        else (("cgroup.kill", "1\n"),)
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


def disable_controllers(enabled: Sequence[tuple[Path, str]]) -> list[str]:
    """Disable again each (``cgroup.subtree_control``, controller) that a run enabled, last
    first; one that another group still uses stays (EBUSY), as it must."""
    errors = []
    for control, controller in reversed(enabled):
        try:
            control.write_text(f"-{controller}\n", encoding="ascii")
        except OSError as err:
            if err.errno != errno.EBUSY:
                errors.append(f"{control}: cannot disable {controller}: {err.strerror}")
    return errors
