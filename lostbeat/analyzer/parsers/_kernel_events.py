"""The kernel incident scanner's records: an incident, an OOM report's task-table row, and
the helpers that read a row and a release.

Examples:
    >>> task_of(["uid", "tgid", "total_vm", "rss", "nr_ptes", "swapents", "oom_score_adj", "name"],
    ...         7747, "0  7748  3226957  2875051    5692        0             0 python")
    Task(pid=7747, name='python', rss_kb=11500204, swap_kb=0, oom_score_adj=0, uid=0)
    >>> release_of("CPU: 0 PID: 396 Comm: systemd-journal Not tainted 5.14.14-1-default #1")
    '5.14.14-1-default'
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

from lostbeat.analyzer.parsers._frames import Frame
from lostbeat.analyzer.result import CrashType

__all__ = [
    "unkilled",
    "FOLLOW_GAP",
    "MAX_KEPT",
    "MAX_LINKED",
    "MAX_LINES",
    "MAX_STACK",
    "MAX_TASKS",
    "PAGE_KB",
    "RECLAIM",
    "UNNAMED",
    "CUT_MARKS",
    "WRAPPED",
    "Incident",
    "Report",
    "Task",
    "joined",
    "keep_row",
    "named_rows",
    "near",
    "release_of",
    "cut_row",
    "task_of",
]

MAX_TASKS = 2000
"""Task-table rows kept per OOM report (the largest by memory); the rest are counted."""
MAX_KEPT = 1000
"""Incidents a scanner keeps (the newest); ``seen`` counts them all."""
MAX_LINES = 8
"""Telling lines kept per report."""
FOLLOW_GAP = 200
"""Lines an open report may go without one of its own before the scanner stops reading every
line for it (other services' lines between a report's, 010, 020)."""
MAX_STACK = 64
"""Stack functions kept per report."""
MAX_LINKED = 1000
"""Names kept of a report's ``Modules linked in:`` list (to name a module a cut frame names
only in part)."""
PAGE_KB = 4
"""The task table counts pages: 4 KiB on x86 and most arm64 builds (docs/reference/
linux-logs.md §2; derived, a 16 or 64 KiB kernel would scale every row alike)."""


@dataclass(frozen=True, slots=True)
class Task:
    """One row of an OOM report's task table (``dump_tasks``), sizes in KB."""

    pid: int
    name: str
    rss_kb: int
    swap_kb: int | None = None
    oom_score_adj: int | None = None
    uid: int | None = None

    @property
    def total_kb(self) -> int:
        """Resident plus swapped out: what the task held."""
        return self.rss_kb + (self.swap_kb or 0)


@dataclass(frozen=True, slots=True)
class Incident:
    """One incident as the log shows it."""

    type: CrashType
    line_no: int
    text: str
    """The headline, as logged."""
    killer: str | None = None
    """``kernel``, ``earlyoom``, ``systemd-oomd``, ``nohang``, ``kubelet``; ``None`` for a hang."""
    victim: str | None = None
    pid: int | None = None
    victim_kb: int | None = None
    """What the victim held (its RSS when killed), where the log says."""
    at: float | None = None
    clock: str | None = None
    mono: float | None = None
    trigger: str | None = None
    """The task that invoked the OOM killer."""
    memcg: str | None = None
    """The memory cgroup whose limit was hit, where named."""
    task_memcg: str | None = None
    """The victim's own memory cgroup, where the report names it (the ``oom-kill:`` summary's
    ``task_memcg=``, 4.19 and later; ``Task in X killed as a result of limit of Y``'s X before
    it): which group's process was killed, whichever limit ran out."""
    in_cgroup: bool = False
    """The OOM was a memory cgroup's (its limit reached: ``CONSTRAINT_MEMCG``), not the
    host's; told by the report even where it names no cgroup. Every ``cgroup_oom`` is one."""
    limit_kb: int | None = None
    """That cgroup's limit, where the report's ``memory: usage N, limit N`` line says."""
    tasks: tuple[Task, ...] = ()
    tasks_more: int = 0
    """Rows of the task table not kept (:data:`MAX_TASKS`)."""
    reason: str | None = None
    """A panic's reason; a hang's seconds; a killer's stated trigger."""
    stack: tuple[str, ...] = ()
    modules: tuple[str, ...] = ()
    """Modules named in the report's stack frames (and its ``Workqueue:`` line), first first."""
    foreign: tuple[str, ...] = ()
    """Out-of-tree or proprietary modules the report's ``Modules linked in:`` list flags
    (``xt_ratelimit(O)``: ``kernel/module`` prints the module's taint letters)."""
    cpuset: str | None = None
    """The allocating task's cpuset (3.x-4.x ``NAME cpuset=X mems_allowed=Y`` line)."""
    memory: bool = False
    """The report itself shows memory exhaustion (reclaim on the stack, nothing to kill)."""
    mem_total_kb: int | None = None
    """The memory the killer measured against, where it says."""
    victim_adj: int | None = None
    """The victim's ``oom_score_adj``, where the kill line (5.x) or the task table says."""
    lines: tuple[tuple[int, str], ...] = ()
    """The report's telling lines (headline, kill, constraint, memcg usage): number, text."""
    score: int | None = None
    """The victim's badness as its selection line gives it (``Kill process N (comm) score S
    or sacrifice child``, 2.6.36-4.x): ``oom_badness`` (RSS, swap and page tables, plus
    ``oom_score_adj`` thousandths; 3 % off for root before 4.17) in thousandths of the memory
    the killer measured against (``mm/oom_kill.c``: ``points * 1000 / totalpages``)."""
    shown_kb: int | None = None
    """RAM less its reserved pages, plus swap, as the report's ``show_mem`` lines give them
    (``N pages RAM``, ``N pages reserved``, ``Total swap = NkB``): a global OOM's
    ``totalpages``."""

    def scored_kb(self, total_kb: float | None = None) -> float | None:
        """What the victim held by its score: the score, its ``oom_score_adj`` taken off,
        times the memory measured against (a memory cgroup's limit, the report's RAM and
        swap, else ``total_kb``), over 1000; ``None`` without a score or a total. An
        estimate (the root bonus of old kernels and an unknown ``oom_score_adj`` skew it)."""
        total = self.limit_kb if self.in_cgroup else self.shown_kb or total_kb
        if self.score is None or not total:
            return None
        return max(self.score - (self.victim_adj or 0), 0) * float(total) / 1000


WRAPPED = "task-table row wrapped, and its rest not on the next line"
"""What :func:`task_of` says of a row whose name is missing: all its words are numbers (a
paste that wrapped the row at its width; the scanner joins the next line to it)."""


@dataclass
class Report:
    """The report the scanner is filling: its incident and what it has read so far."""

    event: Incident
    header: list[str] | None = None
    tasks: list[Task] = field(default_factory=list)
    more: int = 0
    stack: list[str] = field(default_factory=list)
    modules: list[str] = field(default_factory=list)
    killed: bool = False
    selected: bool = False
    memcg: bool = False
    decided: bool = False  # the report says global or memcg (constraint line, stack)
    nokill: bool = False
    foreign: list[str] = field(default_factory=list)
    linked: list[str] = field(default_factory=list)  # the ``Modules linked in:`` names
    awaits: bool = False  # the headline was wrapped before its task's name: the next line has it
    lines: list[tuple[int, str]] = field(default_factory=list)
    wrapped: tuple[int, int, str] | None = None  # a row the paste broke: line, pid, its start
    cpu: tuple[int, str] | None = None  # the report's ``CPU: N PID: N Comm: X`` line: pid, comm
    shown: dict[str, int] = field(default_factory=dict)  # show_mem's pages RAM, reserved; swap

    def outcome(self, container: bool) -> tuple[CrashType, bool]:
        """The report's type, and whether it was a memory cgroup's: said, or the cpuset of
        a container (its 64-hex id) and nothing else (030). Such an OOM that killed nothing
        is ``cgroup_oom`` (:func:`unkilled`)."""
        kind = self.event.type
        in_cgroup = kind is CrashType.OOM_KILL and (
            self.memcg or self.event.memcg is not None or container
        )
        if in_cgroup and (self.nokill or (not self.killed and unkilled(self.stack))):
            kind = CrashType.CGROUP_OOM
        return kind, in_cgroup


_RELEASE = re.compile(r"\b(\d+\.\d+[\w.+~-]*)\s+#\d")
RECLAIM = frozenset(
    # mm/vmscan.c and mm/page_alloc.c: a task in these is reclaiming memory for itself
    [
        "try_to_free_pages",
        "do_try_to_free_pages",
        "__alloc_pages_direct_reclaim",
        "__perform_reclaim",
        "shrink_node",
        "shrink_zone",
        "shrink_zones",
        "balance_pgdat",
        "kswapd",
        "throttle_direct_reclaim",
        "out_of_memory",
        "__alloc_pages_may_oom",
        "mem_cgroup_out_of_memory",
    ]
)


def unkilled(stack: list[str]) -> bool:
    """Whether a report's stack shows it printed on the way to no kill: the kernel dumps the
    report from ``oom_kill_process`` when it kills, from ``out_of_memory`` itself when it
    found nothing to kill (mm/oom_kill.c, 3.10 to 6.x). A memory cgroup's OOM that kills is
    an OOM kill (its constraint the group); one that kills nothing is ``cgroup_oom``, its
    tasks left waiting at the limit; a report cut before its outcome, with no such stack, is
    taken as the kill it almost always ends in."""
    names = {fn.split(".")[0] for fn in stack}
    return "out_of_memory" in names and "oom_kill_process" not in names


def release_of(text: str) -> str | None:
    """The kernel release in a ``CPU:``/``Tainted:``/``Pid:`` line, if it names one."""
    m = _RELEASE.search(text) if ("ainted" in text or "Comm:" in text) else None
    return m[1] if m else None


# a table pasted without its header: the columns by the count of numbers (docs §2, task table)
_GUESS = {
    6: ["uid", "tgid", "total_vm", "rss", "cpu", "oom_adj"],
    7: ["uid", "tgid", "total_vm", "rss", "nr_ptes", "swapents", "oom_score_adj"],
    8: ["uid", "tgid", "total_vm", "rss", "nr_ptes", "nr_pmds", "swapents", "oom_score_adj"],
    10: ["uid", "tgid", "total_vm", "rss", "rss_anon", "rss_file", "rss_shmem",
         "pgtables_bytes", "swapents", "oom_score_adj"],
}  # fmt: skip


def _int(word: str) -> int | None:
    body = word[1:] if word[:1] == "-" else word
    return int(word) if body.isascii() and body.isdigit() else None


def _numbers(words: list[str]) -> int:
    """How many leading words are numbers, the last word (the name) excepted."""
    n = 0
    for w in words[:-1]:
        if _int(w) is None:
            break
        n += 1
    return n


CUT_MARKS = (">", "…")
"""What ends a line journalctl's pager chopped at the terminal's width (``>``) or ellipsized."""
_SHARED = ["uid", "tgid", "total_vm", "rss"]
"""The first columns of every generation's task table (docs/reference/linux-logs.md §2)."""


def cut_row(header: list[str] | None, pid: int, rest: str) -> Task | str:
    """A task-table row whose end was cut (by the pager, with its mark, or by a copy that
    lost the rest of a wrapped row): its whole leading numbers read by the header's columns
    (by the columns every generation shares where the header is lost), and no name (``""``).
    A word the cut went through is dropped; the row is kept while its ``rss`` is whole."""
    body = rest[:-1] if rest.endswith(CUT_MARKS) else rest
    words = body.split()
    if words and not body[-1:].isspace():
        words.pop()  # the cut went through it
    n = next((i for i, w in enumerate(words) if _int(w) is None), len(words))
    cols = (header or [])[:-1] or _SHARED
    if "rss" not in cols[:n]:  # (a header the pager cut too gives the columns it kept)
        return "task-table row cut before its rss"
    values = dict(zip(cols, (int(w) for w in words[:n]), strict=False))
    swap = values.get("swapents")
    return Task(
        pid,
        "",
        values["rss"] * PAGE_KB,
        swap * PAGE_KB if swap is not None else None,
        values.get("oom_score_adj"),
        values.get("uid"),
    )


def joined(header: list[str] | None, start: str, rest: str) -> str:
    """A row a paste wrapped, its start and the line with its rest joined. A numbered paste
    (``cat -n``, an editor) numbered that line too: its first number is dropped where the
    header's columns count one number fewer with it dropped than kept; a list's number
    (``79.``, ``12)``: no row value ends so) is dropped always."""
    first, _, after = rest.partition(" ")
    if first[:-1].isdigit() and first[-1:] in ".):" and after.strip():
        return f"{start} {after.strip()}"
    cols = len(header) - 1 if header else 0
    whole = f"{start} {rest}"
    if cols and after.strip() and _int(first) is not None:
        alone = f"{start} {after.strip()}"
        if _numbers(whole.split()) == cols + 1 and _numbers(alone.split()) == cols:
            return alone
    return whole


def task_of(header: list[str] | None, pid: int, rest: str, *, adj_lost: bool = False) -> Task | str:
    """A task-table row (after its ``[pid]``) read by its header's columns, or by the count
    of its numbers where the paste lost the header; what is wrong with it otherwise. A row
    the pager cut is read by :func:`cut_row`, its name left for the scanner to find.
    ``adj_lost``: a wrapped row whose rest came without its leading number (``0 kubelet``
    read as a list's numbering and taken off); its last column, ``oom_score_adj``, is then
    unknown rather than the row unread."""
    words = rest.split()
    if rest.endswith(CUT_MARKS) or (
        header
        and header[-1].endswith(CUT_MARKS)
        and len(words) >= len(header)
        and all(_int(w) is not None for w in words)
    ):  # (numbers for every column a header the pager cut kept: the row's name was cut too)
        return cut_row(header, pid, rest)
    cols = (header or [])[:-1] or None
    if words and all(_int(w) is not None for w in words) and len(words) <= len(cols or words):
        return WRAPPED
    if cols and _numbers(words) != len(cols):
        if (
            adj_lost
            and _numbers(words) == len(cols) - 1
            and cols[-1] in ("oom_score_adj", "oom_adj")
        ):
            cols = cols[:-1]
        else:
            cols = None  # a header of another generation than the rows (a paste's mix): count
    n = len(cols) if cols else _numbers(words)
    if n == 0 or len(words) <= n or not all(_int(w) is not None for w in words[:n]):
        return "task-table row without its numbers"
    names = cols or _GUESS.get(n)
    if names is None:
        return f"task-table row of {n} numbers, no header"
    values = dict(zip(names, (int(w) for w in words[:n]), strict=False))
    swap = values.get("swapents")
    return Task(
        pid,
        rest.split(None, n)[n],
        values.get("rss", 0) * PAGE_KB,
        swap * PAGE_KB if swap is not None else None,
        values.get("oom_score_adj"),
        values.get("uid"),
    )


def near(ev: Incident, f: Frame) -> bool:
    """Within the same second, or no time to tell: the same stall seen from another CPU."""
    if ev.mono is not None and f.mono is not None:
        return abs(f.mono - ev.mono) < 1.0
    if ev.at is not None and f.at is not None:
        return abs(f.at - ev.at) < 1.0
    return ev.clock == f.clock and f.line_no - ev.line_no < 40


def keep_row(tasks: list[Task], task: Task) -> bool:
    """Add a task-table row to those kept, the :data:`MAX_TASKS` largest; ``False`` when the
    table was full (the smaller of the two then left out)."""
    if len(tasks) < MAX_TASKS:
        tasks.append(task)
        return True
    low = min(range(len(tasks)), key=lambda i: tasks[i].total_kb)
    if tasks[low].total_kb < task.total_kb:
        tasks[low] = task
    return False


UNNAMED = "pid {}"
"""The name of a task-table row whose name was cut and that no line of its report names."""


def named_rows(op: Report, known: dict[int, str]) -> list[Task]:
    """The report's rows, those whose name was cut named by the report's own lines: the
    kill's pid (``Killed process N (comm)``, the ``oom-kill:`` summary) and the ``CPU:``
    line's (the task that invoked the killer); else by an earlier report's row of the same
    pid (``known``: the same process, killed later; a pid the kernel gave again to another
    program would be misnamed, rare between two reports of one log); else :data:`UNNAMED`."""
    ev = op.event
    names = dict(known)
    names.update([op.cpu] if op.cpu is not None else [])
    if ev.pid is not None and ev.victim is not None:
        names[ev.pid] = ev.victim
    return [t if t.name else replace(t, name=names.get(t.pid) or UNNAMED.format(t.pid))
            for t in op.tasks]  # fmt: skip
