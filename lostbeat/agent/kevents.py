"""Which kernel log lines say "a process was killed for memory" or "something hung".

A small matcher of the few line forms the monitor acts on and the recorder counts; it
tells the kind, the process named and, for an OOM kill, the constraint and the memory
cgroup. It is no classifier: the analyzer reads the whole recorded log. The forms, from
the kernel's source:

==============  ===========================================================================
kind            line (source)
==============  ===========================================================================
oom-context     ``oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),cpuset=/,
                mems_allowed=0,oom_memcg=/G,task_memcg=/G,task=COMM,pid=N,uid=U``
                (mm/oom_kill.c ``dump_oom_summary``; the memcg parts from
                mm/memcontrol.c ``mem_cgroup_print_oom_context``; VERIFIED here, cgroup v1)
oom-kill        ``Out of memory: Killed process N (COMM) total-vm:…kB, anon-rss:…kB,
                file-rss:…kB, shmem-rss:…kB, UID:…`` or ``Memory cgroup out of memory:
                Killed process …`` (mm/oom_kill.c ``__oom_kill_process``; VERIFIED here)
hung-task       ``INFO: task COMM:PID blocked for more than N seconds.``
                (kernel/hung_task.c ``check_hung_task``)
soft-lockup     ``watchdog: BUG: soft lockup - CPU#N stuck for Ns! [COMM:PID]``
                (kernel/watchdog.c ``watchdog_timer_fn``)
hard-lockup     ``watchdog: Watchdog detected hard LOCKUP on cpu N`` (kernel/watchdog.c,
                ``watchdog_hardlockup_check``; older kernels prefix ``NMI watchdog:``)
rcu-stall       ``rcu: INFO: rcu_sched detected stalls on CPUs/tasks:`` or ``… self-detected
                stall on CPU`` (kernel/rcu/tree_stall.h)
panic           ``Kernel panic - not syncing: REASON`` (kernel/panic.c ``panic``)
==============  ===========================================================================

Only the ``oom-kill`` and ``oom-context`` forms are checked on these hosts; the others
follow the source (BACKGROUND-unverified here, except ``hung-task``: see
tests/recorder/test_kernel_live.py).

Examples:
    >>> m = Matcher()
    >>> m.feed("oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),cpuset=/,mems_allowed=0,"
    ...        "oom_memcg=/g,task_memcg=/g/a,task=leak,er,pid=42,uid=0") is None
    True
    >>> e = m.feed("Memory cgroup out of memory: Killed process 42 (leak,er) total-vm:9kB, "
    ...            "anon-rss:100kB, file-rss:20kB, shmem-rss:0kB, UID:0 pgtables:1kB")
    >>> e.kind, e.pid, e.comm, e.constraint, e.memcg, e.rss_kb
    (<Kind.OOM_KILL: 'oom-kill'>, 42, 'leak,er', 'CONSTRAINT_MEMCG', '/g/a', 120)
    >>> e = match("INFO: task python3:7 blocked for more than 120 seconds.")
    >>> e.kind.value, e.pid, e.comm, e.hang
    ('hung-task', 7, 'python3', True)
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from enum import StrEnum

__all__ = ["KernelEvent", "Kind", "Matcher", "match"]


class Kind(StrEnum):
    OOM_CONTEXT = "oom-context"
    OOM_KILL = "oom-kill"
    HUNG_TASK = "hung-task"
    SOFT_LOCKUP = "soft-lockup"
    HARD_LOCKUP = "hard-lockup"
    RCU_STALL = "rcu-stall"
    PANIC = "panic"


@dataclass(frozen=True, slots=True)
class KernelEvent:
    kind: Kind
    text: str
    pid: int | None = None
    comm: str | None = None
    constraint: str | None = None
    """An OOM kill's ``CONSTRAINT_NONE`` (the whole host), ``CONSTRAINT_MEMCG``, ..."""
    memcg: str | None = None
    """The memory cgroup of the killed task (``task_memcg``), when the line says."""
    rss_kb: int | None = None
    """The killed process's anon + file + shmem RSS."""

    @property
    def hang(self) -> bool:
        """A task or a CPU that stopped making progress."""
        return self.kind in (Kind.HUNG_TASK, Kind.SOFT_LOCKUP, Kind.HARD_LOCKUP, Kind.RCU_STALL)

    @property
    def memcg_oom(self) -> bool:
        return self.constraint == "CONSTRAINT_MEMCG" or self.text.startswith("Memory cgroup")


_KILLED = re.compile(
    r"Killed process (\d+) \((.*)\)(?: total-vm:\d+kB, anon-rss:(\d+)kB, file-rss:(\d+)kB,"
    r" shmem-rss:(\d+)kB)?"
)
_HUNG = re.compile(r"INFO: task (.*):(\d+) blocked for more than \d+ seconds")
_SOFT = re.compile(r"BUG: soft lockup - CPU#\d+ stuck for \d+s! \[(.*):(\d+)\]")
_CONTEXT_TAIL = re.compile(r",task=(.*),pid=(\d+),uid=\d+$")


def match(text: str) -> KernelEvent | None:
    """The event one kernel log line announces, or None for any other line."""
    if "Killed process " in text:
        m = _KILLED.search(text)
        if m is None:
            return None
        rss = None if m[3] is None else int(m[3]) + int(m[4]) + int(m[5])
        return KernelEvent(Kind.OOM_KILL, text, int(m[1]), m[2], rss_kb=rss)
    if text.startswith("oom-kill:constraint="):
        tail = _CONTEXT_TAIL.search(text)
        head = text[: tail.start()] if tail else text
        fields = dict(f.partition("=")[::2] for f in head[len("oom-kill:") :].split(","))
        return KernelEvent(
            Kind.OOM_CONTEXT,
            text,
            int(tail[2]) if tail else None,
            tail[1] if tail else None,
            constraint=fields.get("constraint"),
            memcg=fields.get("task_memcg") or fields.get("oom_memcg"),
        )
    if "blocked for more than" in text and (m := _HUNG.search(text)):
        return KernelEvent(Kind.HUNG_TASK, text, int(m[2]), m[1])
    if "soft lockup" in text and (m := _SOFT.search(text)):
        return KernelEvent(Kind.SOFT_LOCKUP, text, int(m[2]), m[1])
    if "Watchdog detected hard LOCKUP on cpu" in text:
        return KernelEvent(Kind.HARD_LOCKUP, text)
    if "detected stalls on CPUs/tasks" in text or "self-detected stall on CPU" in text:
        return KernelEvent(Kind.RCU_STALL, text)
    if text.startswith("Kernel panic - not syncing"):
        return KernelEvent(Kind.PANIC, text)
    return None


class Matcher:
    """Matches lines in order, giving an OOM kill the constraint and memory cgroup of the
    ``oom-kill:`` summary line the kernel writes just before it."""

    def __init__(self) -> None:
        self._context: KernelEvent | None = None

    def feed(self, text: str) -> KernelEvent | None:
        """The event this line completes (``oom-context`` lines are held, not returned)."""
        return self.pair(match(text))

    def pair(self, event: KernelEvent | None) -> KernelEvent | None:
        """:meth:`feed` for a line already matched."""
        if event is None:
            return None
        if event.kind is Kind.OOM_CONTEXT:
            self._context = event
            return None
        context, self._context = self._context, None
        if event.kind is Kind.OOM_KILL and context is not None and context.pid == event.pid:
            return replace(event, constraint=context.constraint, memcg=context.memcg)
        return event
