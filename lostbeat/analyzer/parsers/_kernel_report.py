"""Kernel incident reports: each headline line and the report that follows it, as typed events.

The forms are those of docs/reference/linux-logs.md §2-§5, each from the kernel source that prints
it: the OOM report (``mm/oom_kill.c``: ``dump_header``, ``dump_tasks``,
``oom_kill_process``/``__oom_kill_process``, ``out_of_memory``), the memory cgroup's
(``mm/memcontrol.c``: ``mem_cgroup_print_oom_meminfo``), hung tasks (``kernel/hung_task.c``:
``check_hung_task``), soft and hard lockups (``kernel/watchdog.c``, ``watchdog_hld.c``), RCU stalls
(``kernel/rcu/tree_stall.h``) and panics (``kernel/panic.c``). A headline opens an event; the lines
after it (task table, stack, ``CPU:`` line, memcg usage) fill it until the next headline. Only
kernel lines are read (:attr:`Frame.kernelish`). The headlines come from
:mod:`lostbeat.kernel_forms`, which the agent's matcher reads too (one reader a kind here,
``_READ``); a report's own lines, and a paste that starts inside one, are read here alone
(an OOM report's body by :mod:`._oom_body`).

Examples:
    >>> from lostbeat.analyzer.parsers._frames import frame
    >>> s = Scanner()
    >>> for n, line in enumerate([
    ...     "[ 13.9] mem invoked oom-killer: gfp_mask=0x14200ca, order=0, oom_score_adj=0",
    ...     "[ 13.9] [ pid ]   uid  tgid total_vm      rss nr_ptes swapents oom_score_adj name",
    ...     "[ 13.9] [   93]     0    93   200000   190000     400        0             0 mem",
    ...     "[ 13.9] Memory cgroup out of memory: Kill process 93 (mem) score 9 or sacrifice child",
    ... ], 1):
    ...     s.feed(frame(line, n))
    >>> [(i.type.value, i.victim, i.tasks[0].rss_kb) for i in s.finish()]
    [('oom_kill', 'mem', 760000)]
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Callable
from dataclasses import replace

from lostbeat.analyzer.parsers._frames import Frame
from lostbeat.analyzer.parsers._kernel_events import (
    FOLLOW_GAP,
    MAX_KEPT,
    MAX_LINES,
    MAX_LINKED,
    MAX_TASKS,
    RECLAIM,
    Incident,
    Report,
    Task,
    named_rows,
    near,
    release_of,
)
from lostbeat.analyzer.parsers._kernel_tasks import escalates, name_rest, stack_line, stuck_here
from lostbeat.analyzer.parsers._oom_body import (
    MEMCG_LINES,
    TASK_HEADER,
    TASK_ROW,
    oom_line,
    shown_kb,
    unwrap,
)
from lostbeat.analyzer.result import CrashType
from lostbeat.kernel_forms import Hit, Kind, headline, rss_kb

__all__ = ["MAX_TASKS", "RECLAIM", "Incident", "Scanner", "Task", "release_of"]

_ADJ = re.compile(r"(?:oom_score_adj|oom_adj|oomkilladj)=(-?\d+)")
_VICTIM_ADJ = re.compile(r"\boom_score_adj:(-?\d+)")  # 5.x kill lines
_HUNG_HINT = 'hung_task_timeout_secs" disables this message'
_TASK_STATE = re.compile(r"^task:(?P<name>.+?)\s+state:D\b.*?\bpid:\s*(?P<pid>\d+)")
_OLD_STATE = re.compile(  # its flags may be wrapped onto the next line by a paste
    r"^(?P<name>\S.*?)\s+D\s+(?:[0-9a-f]{8,16}\s+)?\d+\s+(?P<pid>\d+)\s+\d+(?: 0x|$)"
)
_CONTAINER = re.compile(r"\b[0-9a-f]{64}\b|docker|kubepods|libpod|crio|containerd")
_FOREIGN = re.compile(r"(\w+)\([A-Z]*[OP][A-Z]*\)")
_WORKQUEUE = re.compile(r"^Workqueue: \S+ \S+ \[(\w+)\]")
_SCORE = re.compile(r" score (\d+) or (?:sacrifice|a) child")  # ("or a child": 2.6.x)
_CPU = re.compile(  # and 2.6.x's "Pid: N, comm: X Not tainted ..."
    r"^(?:CPU: \d+ (?:UID: \d+ )?PID: (\d+) Comm: (.+?)|Pid: (\d+), comm: (.+?))"
    r" (?:Kdump: \S+ )?(?:Not tainted|Tainted)"
)
_END = re.compile(r"^---\[ end (Kernel panic - not syncing.*?)(?: \]---)?$")


class Scanner:
    """Reads kernel frames in order; :meth:`finish` gives the incidents found.

    ``problems`` lists ``(line_no, what)`` for report lines that do not parse (a task-table
    row without its numbers, a kill line without its pid): each is skipped and counted.
    """

    def __init__(self) -> None:
        self.incidents: deque[Incident] = deque(maxlen=MAX_KEPT)
        self.seen = 0
        self.open: Report | None = None
        self.problems: list[tuple[int, str]] = []
        self.release: str | None = None
        self.comm: str | None = None  # the task of the last CPU: line
        self.known: dict[int, str] = {}  # pid -> name, by the whole rows of earlier reports
        self.used = 0  # the last line an open report took
        self.pressure: deque[tuple[int, float | None, float | None]] = deque(maxlen=MAX_KEPT)
        """Where the kernel said it could hardly allocate (``warn_alloc`` in mm/page_alloc.c:
        ``page allocation failure``, ``page allocation stalls for``): line, epoch, uptime."""

    def following(self, line_no: int) -> bool:
        """Whether a report is open and took a line lately: the next lines may be its own."""
        return self.open is not None and line_no - self.used <= FOLLOW_GAP

    def _start(self, f: Frame, kind: CrashType, **fields: object) -> Report:
        self._close()
        ev = Incident(kind, f.line_no, f.text, at=f.at, clock=f.clock, mono=f.mono, **fields)  # type: ignore[arg-type]
        self.open = Report(ev, lines=[(f.line_no, f.text)])
        return self.open

    def _close(self) -> None:
        op, self.open = self.open, None
        if op is None:
            return
        ev = op.event
        memory = ev.memory or any(fn in RECLAIM for fn in op.stack)
        container = not op.decided and ev.cpuset is not None and bool(_CONTAINER.search(ev.cpuset))
        kind, in_cgroup = op.outcome(container)
        victim = ev.victim
        if victim is None and kind in (CrashType.OOM_KILL, CrashType.CGROUP_OOM) and not op.nokill:
            victim = ev.trigger  # a report cut before its kill line: the allocating task
        unwrap(op, self.problems)
        tasks = named_rows(op, self.known)
        if len(self.known) > MAX_TASKS:
            self.known.clear()
        self.known.update((t.pid, t.name) for t in op.tasks if t.name)
        cut = tasks and not any(t.pid == ev.pid for t in tasks)
        if victim and ev.victim_kb is not None and op.killed and cut:
            # its row was cut (by journalctl's pager): the kill line gives its size
            tasks = [*tasks, Task(ev.pid or 0, victim, ev.victim_kb, None, ev.victim_adj)]
        tasks = sorted(tasks, key=lambda t: -t.total_kb)
        self.seen += 1
        self.incidents.append(
            replace(
                ev,
                type=kind,
                in_cgroup=in_cgroup,
                victim=victim,
                tasks=tuple(tasks),
                tasks_more=op.more,
                stack=tuple(op.stack),
                modules=tuple(dict.fromkeys(op.modules)),
                foreign=tuple(dict.fromkeys(op.foreign)),
                memory=memory or ev.memory,
                lines=tuple(op.lines[:MAX_LINES]),
                shown_kb=shown_kb(op),
            )
        )

    def finish(self) -> list[Incident]:
        self._close()
        return list(self.incidents)

    def feed(self, f: Frame) -> None:
        text = f.text
        if not text or not f.kernelish:
            return
        if text.lstrip().startswith(("CPU: ", "Pid: ", "Not tainted", "Tainted")):
            self.release = release_of(text) or self.release
        if "page allocation" in text and (" failure" in text or " stalls for" in text):
            self.pressure.append((f.line_no, f.at, f.mono))
        used = self.open is not None and self.open.awaits and self._named(self.open, f, text)
        used = used or self._headline(f, text)
        if not used and self.open is not None:
            used = self._continue(self.open, f, text)
        if used:
            self.used = f.line_no

    # -- headlines ----------------------------------------------------------------------

    def _headline(self, f: Frame, text: str) -> bool:
        if text.startswith("---[ end "):
            return self._end(f, text)
        hit = headline(text)
        if hit is not None and hit.form.kind not in _AFTER_BODY:
            return _READ[hit.form.kind](self, f, hit)
        op = self.open
        table = text.startswith(("Tasks state", "oom-kill:")) or (
            text[:1] == "[" and (TASK_HEADER.match(text) or TASK_ROW.match(text))
        )
        if table and self._awaits_no_kill():
            return self._body(f)
        if (mg := MEMCG_LINES.match(text)) and (op is None or op.killed):
            op = self._start(f, CrashType.OOM_KILL, killer="kernel", trigger=self.comm)
            op.memcg = op.decided = True  # a report whose headline was not kept (029)
            op.event = replace(op.event, task_memcg=mg["task"])
            return True
        if hit is not None:
            return _READ[hit.form.kind](self, f, hit)
        if _HUNG_HINT in text and (op is None or op.event.type is not CrashType.HUNG_TASK):
            self._start(f, CrashType.HUNG_TASK)  # a paste that starts after the INFO line
            return True
        return False

    def _named(self, op: Report, f: Frame, text: str) -> bool:
        """The rest of a headline a paste wrapped before its task's name (``Killed process
        11726, UID`` / ``498, (mysqld) total-vm:...``, ``... stuck for 23s!`` /
        ``[modprobe:4176]``): the task named, and a kill's report closed; whether the line
        was that rest."""
        op.awaits = False
        m = name_rest(op.event.type, text)
        if m is not None and m["comm"]:
            pid = int(m["pid"]) if m["pid"] else op.event.pid
            kb = op.event.victim_kb if op.event.victim_kb is not None else rss_kb(text)
            op.event = replace(op.event, victim=m["comm"], pid=pid, victim_kb=kb)
            op.lines.append((f.line_no, f.text))
        if op.killed:
            self._close()
        return m is not None

    def _end(self, f: Frame, text: str) -> bool:
        """A panic's end marker repeats its reason: the panic already read, or, where the
        log kept no panic line (a paste of its last lines, a console cut), the panic."""
        m = _END.match(text)
        hit = headline(m[1]) if m is not None else None
        last = self.open.event if self.open is not None else None
        last = last or (self.incidents[-1] if self.incidents else None)
        if hit is None or (last is not None and last.type is CrashType.KERNEL_PANIC):
            return True
        return self._panic(f, hit)

    def _awaits_no_kill(self) -> bool:
        """No OOM report is open that still awaits its kill."""
        op = self.open
        return op is None or op.event.type is not CrashType.OOM_KILL or op.killed

    def _body(self, f: Frame, hit: Hit | None = None) -> bool:
        """A line of an OOM report's body (its task table, its ``oom-kill:`` summary) that
        no open report awaits: a paste that starts inside the report (020, 021), or a report
        whose headline was not kept. The line itself is then read as the report's."""
        if self._awaits_no_kill():
            self._start(f, CrashType.OOM_KILL, killer="kernel", trigger=self.comm)
        return False

    def _invoked(self, f: Frame, hit: Hit) -> bool:
        adj = _ADJ.search(hit.match["rest"])
        self._start(f, CrashType.OOM_KILL, killer="kernel", trigger=hit.comm,
                    reason=f"oom_score_adj={adj[1]}" if adj else None)  # fmt: skip
        return True

    def _kill(self, f: Frame, hit: Hit) -> bool:
        if "memcg" in hit.match.re.groupindex:  # "Out of memory: Kill[ed] process N (x)"
            self._select(f, hit)
        else:  # "Killed process N (x) ...", after its selection
            self._killed(f, hit)
        return True

    def _no_victim(self, f: Frame, hit: Hit) -> bool:
        op = self.open
        if op is None or self._awaits_no_kill():
            op = self._start(f, CrashType.OOM_KILL, killer="kernel")
        op.event, op.nokill = replace(op.event, memory=True), True
        op.lines.append((f.line_no, f.text))
        return True

    def _hung(self, f: Frame, hit: Hit) -> bool:
        s = hit.match["s"]  # none where a paste wrapped the line before it
        self._start(
            f,
            CrashType.HUNG_TASK,
            victim=hit.comm,
            pid=hit.pid,
            reason=f"blocked for more than {f'{s} seconds' if s else 'its timeout'}",
        )
        return True

    def _soft(self, f: Frame, hit: Hit) -> bool:
        m = hit.match.groupdict()
        stuck = f" stuck for {m['s']}s" if m.get("s") else ""
        op = self._start(f, CrashType.SOFT_LOCKUP, victim=hit.comm, pid=hit.pid,
                         reason=f"CPU#{m['cpu']}{stuck}")  # fmt: skip
        op.awaits = hit.comm is None  # wrapped before its task (or 2.6.x's, naming none)
        return True

    def _hard(self, f: Frame, hit: Hit) -> bool:
        op = self.open
        if op is not None and op.event.type is CrashType.HARD_LOCKUP and op.event.text == f.text:
            return False  # said twice in one report
        self._start(f, CrashType.HARD_LOCKUP)
        return True

    def _rcu(self, f: Frame, hit: Hit) -> bool:
        op = self.open
        if op is not None and op.event.type is CrashType.RCU_STALL and near(op.event, f):
            return False  # the other CPUs of the same stall
        self._start(f, CrashType.RCU_STALL)
        return True

    def _select(self, f: Frame, hit: Hit) -> None:
        op, m = self.open, hit.match
        if op is None or self._awaits_no_kill() or op.selected:
            op = self._start(f, CrashType.OOM_KILL, killer="kernel")
        op.selected = True
        op.memcg = op.memcg or m["memcg"].startswith("Memory cgroup")
        score = _SCORE.match(f.text, m.end())
        op.event = replace(op.event, victim=self._comm(op, hit), pid=hit.pid, killer="kernel",
                           score=int(score[1]) if score else None)  # fmt: skip
        op.awaits = op.event.victim is None
        if m["how"]:  # "(oom_kill_allocating_task)": vm.oom_kill_allocating_task chose it
            op.event = replace(op.event, reason=m["how"])
        op.lines.append((f.line_no, f.text))
        if hit.form.kind is Kind.OOM_KILL:  # "Killed process": one line, its sizes or none
            self._kill_done(op, rss_kb(f.text), f.text)

    def _killed(self, f: Frame, hit: Hit) -> None:
        op, rest = self.open, hit.match["rest"] or ""
        if op is None or self._awaits_no_kill():
            op = self._start(f, CrashType.OOM_KILL, killer="kernel")
        op.event = replace(op.event, victim=self._comm(op, hit), pid=hit.pid, killer="kernel")
        op.lines.append((f.line_no, f.text))
        op.awaits = op.event.victim is None
        self._kill_done(op, rss_kb(rest), rest)

    @staticmethod
    def _comm(op: Report, hit: Hit) -> str | None:
        """The name a kill line gives; a line a paste wrapped after its pid gives none, and
        the ``oom-kill:`` summary before it named the same pid."""
        same = op.event.pid == hit.pid
        return hit.comm if hit.comm is not None or not same else op.event.victim

    def _kill_done(self, op: Report, kb: int | None, text: str) -> None:
        op.killed = True
        adj = _VICTIM_ADJ.search(text)
        row = next((t for t in op.tasks if t.pid == op.event.pid), None)
        victim_adj = int(adj[1]) if adj else row.oom_score_adj if row is not None else None
        op.event = replace(op.event, victim_kb=kb, victim_adj=victim_adj)
        if not op.awaits:  # (else the line the paste wrapped it onto names it)
            self._close()

    def _panic(self, f: Frame, hit: Hit) -> bool:
        reason = hit.match["reason"]
        prior = self.open.event if self.open is not None else None
        self._close()
        before = self.incidents[-1] if self.incidents else prior
        memory = "ut of memory" in reason or "deadlocked on memory" in reason
        victim = pid = None
        if before is not None and escalates(reason, before, f):
            victim, pid, memory = before.victim, before.pid, memory or before.memory
        elif before is not None and before.memory and (before.line_no >= f.line_no - 200):
            memory = memory or before.type in (CrashType.OOM_KILL, CrashType.CGROUP_OOM)
        self._start(f, CrashType.KERNEL_PANIC, victim=victim, pid=pid, reason=reason, memory=memory)
        if before is not None and victim is not None:
            assert self.open is not None
            self.open.modules.extend(before.modules)
            self.open.stack.extend(before.stack)
        return True

    # -- continuation lines -----------------------------------------------------------------

    def _continue(self, op: Report, f: Frame, text: str) -> bool:
        """Read a line into the open report; whether it was the report's."""
        ev = op.event
        if ev.type is CrashType.OOM_KILL and oom_line(op, f, text, self.problems):
            return True
        if ev.type is CrashType.HUNG_TASK and ev.victim is None:
            m = _TASK_STATE.match(text) or _OLD_STATE.match(text)
            if m is not None:
                op.event = replace(ev, victim=m["name"], pid=int(m["pid"]))
                return True
        if (c := _CPU.match(text)) is not None or text.lstrip().startswith(
            ("Pid: ", "Not tainted", "Tainted")
        ):
            task = (int(c[1] or c[3]), c[2] or c[4]) if c is not None else None
            self.comm = task[1] if task is not None else self.comm
            op.cpu = task or op.cpu
            if task is not None and ev.victim is None and stuck_here(ev):
                op.event = replace(ev, victim=task[1], pid=task[0])
            return True
        if text.startswith("Modules linked in:"):
            op.foreign.extend(_FOREIGN.findall(text))
            names = (w.split("(")[0] for w in text.partition(":")[2].split())
            op.linked.extend(n for n in names if n and len(op.linked) < MAX_LINKED)
            return True
        if text.startswith("Workqueue:") and (w := _WORKQUEUE.search(text)) is not None:
            op.modules.append(w[1])
            return True
        if "+0x" not in text and ") from [" not in text:
            return text.lstrip().startswith(("Call Trace", "Call trace", "<TASK>", "</TASK>"))
        stack_line(op, text)
        return True


_AFTER_BODY = frozenset({Kind.HUNG_TASK, Kind.SOFT_LOCKUP, Kind.HARD_LOCKUP, Kind.RCU_STALL})
"""Hangs, read after the OOM report's body lines: a body line is never a hang's headline."""
_READ: dict[Kind, Callable[[Scanner, Frame, Hit], bool]] = {
    Kind.PANIC: Scanner._panic,
    Kind.OOM_INVOKED: Scanner._invoked,
    Kind.OOM_SELECT: Scanner._kill,
    Kind.OOM_KILL: Scanner._kill,
    Kind.OOM_NO_VICTIM: Scanner._no_victim,
    Kind.OOM_CONTEXT: Scanner._body,
    Kind.HUNG_TASK: Scanner._hung,
    Kind.SOFT_LOCKUP: Scanner._soft,
    Kind.HARD_LOCKUP: Scanner._hard,
    Kind.RCU_STALL: Scanner._rcu,
}
"""How the scanner reads each kind of headline (lostbeat.kernel_forms: the forms)."""
