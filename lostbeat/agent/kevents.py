"""Which kernel log lines say "a process was killed for memory" or "something hung".

A small matcher of the lines the monitor acts on and the recorder counts; it tells the kind,
the process named and, for an OOM kill, the constraint and the memory cgroup. It is no
classifier: the analyzer reads the whole recorded log. The line forms, each with the kernel
source that prints it, are those of :mod:`lostbeat.kernel_forms`, the table the analyzer's
report scanner reads too; this module adds none of its own.

The lines of an OOM report that come before its kill (the ``invoked oom-killer`` line, the
victim's selection, the ``oom-kill:`` summary) are matched (the recorder keeps them) but held:
:class:`Matcher` gives the kill the summary's constraint and memory cgroup, and a memory
cgroup's selection its constraint. A report with nothing to kill has no summary: the memory
cgroup at its limit is the one its ``Memory cgroup stats for /G:`` line names (a line inside
the report, read here only to give :data:`Kind.OOM_NO_VICTIM` its cgroup).

Examples:
    >>> m = Matcher()
    >>> m.feed("oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),cpuset=/,mems_allowed=0,"
    ...        "oom_memcg=/g,task_memcg=/g/a,task=leak,er,pid=42,uid=0") is None
    True
    >>> e = m.feed("Memory cgroup out of memory: Killed process 42 (leak,er) total-vm:9kB, "
    ...            "anon-rss:100kB, file-rss:20kB, shmem-rss:0kB, UID:0 pgtables:1kB")
    >>> e.kind, e.pid, e.comm, e.constraint, e.memcg, e.rss_kb
    (<Kind.OOM_KILL: 'oom-kill'>, 42, 'leak,er', 'CONSTRAINT_MEMCG', '/g/a', 120)
    >>> m.feed("Memory cgroup stats for /lostbeat-sim-231:") is None
    True
    >>> e = m.feed("Out of memory and no killable processes...")
    >>> e.kind, e.memcg, e.memcg_oom
    (<Kind.OOM_NO_VICTIM: 'oom-no-victim'>, '/lostbeat-sim-231', True)
    >>> e = match("INFO: task python3:7 blocked for more than 120 seconds.")
    >>> e.kind.value, e.pid, e.comm, e.hang
    ('hung-task', 7, 'python3', True)
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from lostbeat.kernel_forms import Kind, headline, rss_kb, summary_fields

__all__ = ["EMITTED", "HELD", "KernelEvent", "Kind", "Matcher", "match"]

HELD = frozenset({Kind.OOM_INVOKED, Kind.OOM_SELECT, Kind.OOM_CONTEXT})
"""Kinds :class:`Matcher` holds for the kill that follows: the report's earlier lines."""
EMITTED = frozenset(
    {
        Kind.OOM_KILL,
        Kind.OOM_NO_VICTIM,
        Kind.HUNG_TASK,
        Kind.SOFT_LOCKUP,
        Kind.HARD_LOCKUP,
        Kind.RCU_STALL,
        Kind.PANIC,
    }
)
"""Kinds :class:`Matcher` gives as events."""
_HANGS = frozenset({Kind.HUNG_TASK, Kind.SOFT_LOCKUP, Kind.HARD_LOCKUP, Kind.RCU_STALL})
_MEMCG = "CONSTRAINT_MEMCG"
_STATS = "Memory cgroup stats for "
"""A memory cgroup OOM report's line ``Memory cgroup stats for /G:`` (``pr_cont_cgroup_path`` of
the group at its limit, mm/memcontrol.c ``mem_cgroup_print_oom_meminfo``; VERIFIED on 6.1 with
cgroup v2 and 6.18 with v1). UNVERIFIED: before 4.19, v1 stats follow the colon on the same
line, and a line follows for each descendant."""


def _stats_memcg(text: str) -> str | None:
    """The cgroup of a ``Memory cgroup stats for /G:`` line, else None."""
    if not text.startswith(_STATS + "/"):
        return None
    path, colon, _ = text[len(_STATS) :].partition(":")
    return path if colon else None


@dataclass(frozen=True, slots=True)
class KernelEvent:
    kind: Kind
    text: str
    pid: int | None = None
    comm: str | None = None
    constraint: str | None = None
    """An OOM kill's ``CONSTRAINT_NONE`` (the whole host), ``CONSTRAINT_MEMCG``, ..."""
    memcg: str | None = None
    """The memory cgroup of the killed task (``task_memcg``), when the line says; for nothing
    to kill, the memory cgroup at its limit."""
    rss_kb: int | None = None
    """The killed process's anon + file + shmem RSS."""

    @property
    def hang(self) -> bool:
        """A task or a CPU that stopped making progress."""
        return self.kind in _HANGS

    @property
    def memcg_oom(self) -> bool:
        return self.constraint == _MEMCG or self.text.startswith("Memory cgroup")


def match(text: str) -> KernelEvent | None:
    """The event one kernel log line announces, or None for any other line."""
    hit = headline(text)
    if hit is None:
        return None
    kind = hit.form.kind
    if kind is Kind.OOM_CONTEXT:
        fields = summary_fields(text)
        pid = fields.get("pid", "")
        return KernelEvent(
            kind,
            text,
            int(pid) if pid.isdigit() else None,
            fields.get("task"),
            constraint=fields.get("constraint"),
            memcg=fields.get("task_memcg") or fields.get("oom_memcg"),
        )
    rss = rss_kb(text) if kind is Kind.OOM_KILL else None
    return KernelEvent(kind, text, hit.pid, hit.comm, rss_kb=rss)


class Matcher:
    """Matches lines in order, giving an OOM kill the constraint and memory cgroup of the
    ``oom-kill:`` summary line the kernel writes just before it."""

    def __init__(self) -> None:
        self._context: KernelEvent | None = None
        self._select: KernelEvent | None = None
        self._limited: str | None = None  # the memory cgroup at its limit, from the report

    def feed(self, text: str) -> KernelEvent | None:
        """The event this line completes (the :data:`HELD` kinds are held, not returned)."""
        event = match(text)
        if event is None:
            if self._limited is None:  # the first: before 4.19 the descendants' follow
                self._limited = _stats_memcg(text)
            return None
        return self.pair(event)

    def pair(self, event: KernelEvent | None) -> KernelEvent | None:
        """:meth:`feed` for a line already matched."""
        if event is None:
            return None
        if event.kind in HELD:
            if event.kind is Kind.OOM_INVOKED:  # a new report
                self._context = self._select = self._limited = None
            elif event.kind is Kind.OOM_CONTEXT:
                self._context = event
            else:
                self._select = event
            return None
        context, select, limited = self._context, self._select, self._limited
        self._context = self._select = self._limited = None
        if event.kind is Kind.OOM_NO_VICTIM and limited is not None:
            # only a memory cgroup's report names a group; the host's prints its show_mem
            return replace(event, constraint=_MEMCG, memcg=limited)
        if event.kind is not Kind.OOM_KILL:
            return event
        if context is not None and context.pid == event.pid:
            event = replace(event, constraint=context.constraint, memcg=context.memcg)
        if select is not None and select.memcg_oom and event.constraint is None:
            # the process a memory cgroup's selection chose (its pid may differ: the thread
            # chosen, the process killed); the kernel's constraint there is CONSTRAINT_MEMCG
            # (mm/oom_kill.c, out_of_memory: is_memcg_oom)
            event = replace(event, constraint=_MEMCG)
        return event
