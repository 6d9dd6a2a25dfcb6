"""The lines that open the kernel's incident reports, in one table that both readers use.

The agent's kernel-event matcher (:mod:`lostbeat.agent.kevents`: the monitor and the recorder)
and the analyzer's report scanner (``lostbeat.analyzer.parsers._kernel_report``) both recognise
a line by :func:`headline`, so a form added here is known to both. Standard library only: the
monitor imports it and must keep working when the host is out of memory.

Each form is a line the kernel prints, its :class:`Kind`, a cue (a literal every line of the
form holds, tried before the pattern) and the pattern; a line that names a task gives it as
the groups ``comm`` and ``pid`` (or ``task``, ``comm:pid``). The forms are tried in the table's
order and the first that matches wins (a panic's reason may repeat a lockup's headline). Each
is seen in the real corpus (docs/reference/linux-logs.md §2-§5, the case numbers below) except
the 2.6.x wordings marked "old" (unverified: from the kernel sources as recalled, no real log
of them found):

==============  ===========================================================================
kind            line (source; cases)
==============  ===========================================================================
panic           ``Kernel panic - not syncing: REASON`` (kernel/panic.c ``panic``; 044, 065)
oom-invoked     ``COMM invoked oom-killer: gfp_mask=…, order=0, oom_score_adj=0``
                (mm/oom_kill.c ``dump_header``; 015, 022, 032, 096), old ``oom-killer:
                gfp_mask=…`` naming no task
oom-select      ``Out of memory: Kill process N (COMM) score S or sacrifice child``, also
                ``Memory cgroup out of memory: …`` and ``Out of memory
                (oom_kill_allocating_task): …`` (``oom_kill_process`` up to 4.x; 001, 015, 025,
                099), old ``Out of memory: kill process N (COMM) score S or a child``
oom-kill        ``Out of memory: Killed process N (COMM) total-vm:…kB, anon-rss:…kB, …`` (one
                line, 5.x-6.x and some 4.x; 016, 020, 024, 075), old ``Out of Memory: Killed
                process N (COMM).``, or, after a selection,
                ``Killed process N (COMM) total-vm:…`` (4.x; 001), ``Killed process N (COMM),
                UID U, total-vm:…`` (3.10; 015), ``Killed process N, UID U, (COMM) …`` (2.6.32
                RHEL 6; 019) (``__oom_kill_process``; VERIFIED here: linux-mechanisms.md)
oom-no-victim   ``Out of memory and no killable processes...`` (``out_of_memory``; a memory
                cgroup's goes on, the host's panics next; 031, 067)
oom-context     ``oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),cpuset=/,mems_allowed=0,
                oom_memcg=/G,task_memcg=/G,task=COMM,pid=N,uid=U`` (``dump_oom_summary``,
                4.19 on; 020, 021; VERIFIED here, cgroup v1)
hung-task       ``INFO: task COMM:PID blocked for more than N seconds.``
                (kernel/hung_task.c ``check_hung_task``; 034, 070)
soft-lockup     ``watchdog: BUG: soft lockup - CPU#N stuck for Ns! [COMM:PID]``, before 4.x
                without ``watchdog:`` (kernel/watchdog.c ``watchdog_timer_fn``; 047, 050), old
                ``BUG: soft lockup detected on CPU#N!`` (kernel/softlockup.c, 2.6.17-2.6.24)
hard-lockup     ``NMI watchdog: Watchdog detected hard LOCKUP on cpu N`` (kernel/watchdog_hld.c;
                054, 055) or ``Watchdog CPU:N Hard LOCKUP`` (powerpc ``watchdog.c``; 092), old
                ``NMI Watchdog detected LOCKUP on CPU N`` (arch/x86/kernel/nmi.c)
rcu-stall       ``rcu: INFO: rcu_sched detected stalls on CPUs/tasks:``, ``… self-detected
                stall on CPU``, ``… detected expedited stalls on CPUs/tasks:``, and about 3.0
                ``INFO: rcu_sched_state detected stall on CPU 0`` (kernel/rcu/tree_stall.h,
                tree_exp.h; 058, 059, 062), old ``INFO: RCU detected CPU N stall``
==============  ===========================================================================

The lines inside a report (task table, stack, ``memory: usage``) are each reader's own.

Examples:
    >>> hit = headline("Killed process 3080, UID 0, (forward) total-vm:1429064kB, anon-rss:11kB")
    >>> hit.form.kind, hit.pid, hit.comm
    (<Kind.OOM_KILL: 'oom-kill'>, 3080, 'forward')
    >>> hit = headline("watchdog: BUG: soft lockup - CPU#0 stuck for 23s! [kworker/u3:3:2073]")
    >>> hit.form.kind.value, hit.comm, hit.pid
    ('soft-lockup', 'kworker/u3:3', 2073)
    >>> hit = headline("rcu: INFO: rcu_preempt detected expedited stalls on CPUs/tasks: { P392 }")
    >>> hit.form.name, hit.comm, hit.pid
    ('rcu-stall', None, None)
    >>> summary_fields("oom-kill:constraint=CONSTRAINT_MEMCG,task_memcg=/g,task=a,b,pid=4,uid=0")
    {'constraint': 'CONSTRAINT_MEMCG', 'task_memcg': '/g', 'task': 'a,b', 'pid': '4', 'uid': '0'}
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

__all__ = ["FORMS", "Form", "Hit", "Kind", "headline", "rss_kb", "summary_fields"]


class Kind(StrEnum):
    """What a headline says happened."""

    PANIC = "panic"
    OOM_INVOKED = "oom-invoked"
    """A task could not allocate and called the OOM killer: a report opens."""
    OOM_SELECT = "oom-select"
    """The victim chosen; its ``Killed process`` line follows."""
    OOM_KILL = "oom-kill"
    OOM_NO_VICTIM = "oom-no-victim"
    OOM_CONTEXT = "oom-context"
    """The report's one-line summary: constraint, memory cgroups, the task chosen."""
    HUNG_TASK = "hung-task"
    SOFT_LOCKUP = "soft-lockup"
    HARD_LOCKUP = "hard-lockup"
    RCU_STALL = "rcu-stall"


@dataclass(frozen=True, slots=True)
class Form:
    """One line form: its kind, a literal every such line holds, and its pattern."""

    name: str
    kind: Kind
    cue: str
    pattern: re.Pattern[str]


_OOM = r"^(?P<memcg>Memory cgroup out of memory|Out of [Mm]emory)(?: \((?P<how>[^)]*)\))?: "
# the victim's name ends the line, or a sentence (2.6.x: "Killed process 2592 (oracle)."), or
# comes before its score or sizes; a paste may wrap the line before the pid or the name
_VICTIM = r" process(?: (?P<pid>\d+)(?: \((?P<comm>.*?)\)(?= score| total-vm|[,.]|$)|$)|$)"

FORMS: tuple[Form, ...] = (
    Form("panic", Kind.PANIC, "Kernel panic - not syncing",
         re.compile(r"^Kernel panic - not syncing:? ?(?P<reason>.*?)\s*$")),
    # 2.6.9-2.6.18 say "oom-killer: gfp_mask=..." without the allocating task (unverified)
    # (a paste may wrap the line after "oom-killer:")
    Form("oom-invoked", Kind.OOM_INVOKED, "oom-killer:",
         re.compile(r"^(?:(?P<comm>.+?) invoked oom-killer:(?: |$)|oom-killer: (?=gfp_mask))"
                    r"(?P<rest>.*)$")),
    # up to 2.6.3x: "kill process N (comm) score S or a child" (unverified: as recalled)
    Form("oom-select", Kind.OOM_SELECT, "ill process",
         re.compile(_OOM + "[Kk]ill" + _VICTIM)),
    Form("oom-kill", Kind.OOM_KILL, "Killed process", re.compile(_OOM + "Killed" + _VICTIM)),
    Form("oom-killed", Kind.OOM_KILL, "Killed process ",
         re.compile(r"^Killed process (?P<pid>\d+)(?:, UID \d+,)?(?: \((?P<comm>.*?)\)(?=[ ,.]|$)"
                    r"(?P<rest>.*)|(?:, UID(?: \d+,)?)?$)")),  # (or wrapped before the name)
    Form("oom-no-victim", Kind.OOM_NO_VICTIM, "Out of memory and no killable processes",
         re.compile(r"^Out of memory and no killable processes")),
    Form("oom-context", Kind.OOM_CONTEXT, "oom-kill:constraint=",
         re.compile(r"^oom-kill:constraint=")),
    Form("hung-task", Kind.HUNG_TASK, " blocked for more than",
         re.compile(r"^INFO: task (?P<comm>.+):(?P<pid>\d+) blocked for more than"
                    r"(?: (?P<s>\d+)(?: sec|$)|$)")),  # (a paste may wrap it before "seconds")
    Form("soft-lockup", Kind.SOFT_LOCKUP, "BUG: soft lockup - CPU#",
         re.compile(r"BUG: soft lockup - CPU#(?P<cpu>\d+) stuck for(?: (?P<s>\d+)s!"
                    r"(?: \[(?P<task>.+)\]|$)|$)")),  # (a paste may wrap it before the task)
    # 2.6.17-2.6.24 name no task: the report's "Pid: N, comm: X" line does (unverified)
    Form("soft-lockup-old", Kind.SOFT_LOCKUP, "BUG: soft lockup detected on CPU#",
         re.compile(r"BUG: soft lockup detected on CPU#(?P<cpu>\d+)!")),
    Form("hard-lockup", Kind.HARD_LOCKUP, " LOCKUP",
         re.compile(r"Watchdog (?:detected hard LOCKUP on\b|CPU:\d+ Hard LOCKUP"
                    r"|detected LOCKUP on CPU \d+)")),  # (the last: 2.6.x x86 NMI watchdog;
    # the first's "cpu N" may be on the line a paste wrapped it onto, or behind a quote mark)
    Form("rcu-stall", Kind.RCU_STALL, "INFO: rcu_",
         re.compile(r"(?:^|: )INFO: rcu_\w+ (?:self-)?detected (?:expedited )?stalls? on ")),
    # 2.6.2x-2.6.3x before the flavour was named (unverified: kernel/rcutree.c as recalled)
    Form("rcu-stall-old", Kind.RCU_STALL, "RCU detected CPU",
         re.compile(r"(?:^|: |INFO: )RCU detected CPU (?:\d+ stall|stalls)")),
)  # fmt: skip
"""Every form, in the order tried."""


@dataclass(frozen=True, slots=True)
class Hit:
    """A line's form and the pattern's match."""

    form: Form
    match: re.Match[str]

    @property
    def comm(self) -> str | None:
        """The task the line names: a hung or killed task, a lockup's, the OOM's allocator."""
        return self._task()[0]

    @property
    def pid(self) -> int | None:
        return self._task()[1]

    def _task(self) -> tuple[str | None, int | None]:
        groups = self.match.groupdict()
        if groups.get("task") is not None:  # "comm:pid"; a comm may hold colons (kworker/u3:3:2073)
            comm, _, pid = groups["task"].rpartition(":")
            return (comm, int(pid)) if comm and pid.isdigit() else (groups["task"], None)
        pid = groups.get("pid")
        return groups.get("comm"), None if pid is None else int(pid)


def headline(text: str) -> Hit | None:
    """The form of a kernel message (its container already taken off), or None."""
    for form in FORMS:
        if form.cue in text and (m := form.pattern.search(text)) is not None:
            return Hit(form, m)
    return None


_RSS = re.compile(r"\b(?:anon|file|shmem)-rss:(\d+)kB")
_SUMMARY_TAIL = re.compile(r",task=(?P<task>.*),pid=(?P<pid>\d+),uid=(?P<uid>\d+)$")


def rss_kb(text: str) -> int | None:
    """The resident memory a kill line gives: anon, file and shmem summed."""
    found = _RSS.findall(text)
    return sum(int(v) for v in found) if found else None


def summary_fields(text: str) -> dict[str, str]:
    """The ``key=value`` fields of an ``oom-kill:`` summary line (``global_oom`` and other
    bare words map to ``""``); the task's name may hold commas."""
    body = text.partition("oom-kill:")[2]
    tail = _SUMMARY_TAIL.search(body)
    head = body[: tail.start()] if tail else body
    fields = dict(p.partition("=")[::2] for p in head.split(","))
    if tail is not None:
        fields |= tail.groupdict()
    return fields
