"""How the monitor protects itself from the memory exhaustion it watches for.

In this order: it leaves the watched memory cgroup if it was started inside it (its
future allocations are then charged elsewhere and cannot block on the watched group's
limit), it gives helper threads small stacks, it locks all its memory
(``mlockall(MCL_CURRENT | MCL_FUTURE)``: nothing of it can be reclaimed or swapped out),
and it sets its ``oom_score_adj`` to -1000 (the OOM killer never chooses it). A refusal
of the last two (they need root, or CAP_IPC_LOCK and CAP_SYS_RESOURCE) is reported and
the monitor runs on unprotected; failing to leave the watched cgroup is fatal.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass

from lostbeat.agent import cgroup as cg
from lostbeat.agent._linux import mlockall, set_oom_score_adj
from lostbeat.agent.bounded import STACK_SIZE
from lostbeat.errors import AgentError
from lostbeat.procfs import Procfs

OOM_SCORE_ADJ = -1000


@dataclass(frozen=True, slots=True)
class Protection:
    """What protecting the monitor achieved; ``*_error`` say why a step was refused."""

    cgroup_before: str | None
    cgroup_after: str | None
    moved: bool
    mlocked: bool
    mlock_error: str | None
    oom_score_adj: int | None
    oom_error: str | None


def leave_watched(watched: cg.MemoryCgroup, *, procfs: Procfs) -> tuple[str | None, str | None]:
    """Move this process out of ``watched`` if it is inside; returns (before, after).

    It tries the watched group's parent first (outside it by definition, and inside
    whatever the administrator put around it), then the hierarchy's root (a v2 parent with
    children of its own may not hold processes).

    Raises:
        AgentError: still inside the watched group after every try.
    """
    before = cg.cgroup_of(procfs, "self", watched.hierarchy)
    if before is None or not watched.contains(before):
        return before, before
    parent = watched.path.rsplit("/", 1)[0] or "/"
    errors: list[str] = []
    for target in dict.fromkeys((parent, "/")):
        try:
            cg.move_pid(cg.MemoryCgroup(watched.hierarchy, target), os.getpid())
        except AgentError as err:
            errors.append(str(err))
            continue
        after = cg.cgroup_of(procfs, "self", watched.hierarchy)
        if after is not None and not watched.contains(after):
            return before, after
    raise AgentError(
        f"{watched.fs_path}: the monitor runs inside the watched cgroup and could not leave "
        f"it ({'; '.join(errors) or 'still inside after moving'})"
    )


def protect(
    *, procfs: Procfs, watched: cg.MemoryCgroup | None, lock_memory: bool = True
) -> Protection:
    """Apply every protection; see the module docstring."""
    before = after = None
    if watched is not None:
        before, after = leave_watched(watched, procfs=procfs)
    threading.stack_size(STACK_SIZE)
    mlock_error = None
    if lock_memory:
        try:
            mlockall()
        except AgentError as err:
            mlock_error = str(err)
    else:
        mlock_error = "not requested"
    oom: int | None = None
    oom_error = None
    try:
        oom = set_oom_score_adj(OOM_SCORE_ADJ, procfs=procfs)
    except AgentError as err:
        oom_error = str(err)
    return Protection(
        cgroup_before=before,
        cgroup_after=after,
        moved=before != after,
        mlocked=mlock_error is None,
        mlock_error=mlock_error,
        oom_score_adj=oom,
        oom_error=oom_error,
    )
