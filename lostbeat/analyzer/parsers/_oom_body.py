"""The lines inside an OOM report, between its headline and its kill: the task table (rows a
paste wrapped joined back, rows the pager cut kept by their numbers), the cpuset line, the
``oom-kill:`` summary and the memory cgroup's usage (docs/reference/linux-logs.md §2)."""

from __future__ import annotations

import re
from dataclasses import replace

from lostbeat.analyzer.parsers._frames import Frame
from lostbeat.analyzer.parsers._kernel_events import (
    PAGE_KB,
    WRAPPED,
    Report,
    cut_row,
    joined,
    keep_row,
    task_of,
)
from lostbeat.kernel_forms import summary_fields

__all__ = ["MEMCG_LINES", "TASK_HEADER", "TASK_ROW", "oom_line", "shown_kb", "unwrap"]

MEMCG_LINES = re.compile(
    r"^(?:memory: usage \d+kB, limit (?P<limit>\d+)kB|Memory cgroup stats for "
    # cgroup v1's "Task in X killed as a result of limit of Y" (mm/memcontrol.c, to 4.18),
    # or its rest alone where a paste lost the "Task in " (a path: cgroup paths start at /)
    r"|(?:Task in )?(?P<task>/\S*) killed as a result of limit of /|Task in )"
)
_MEMCG_STACK = ("mem_cgroup_out_of_memory", "mem_cgroup_oom", "try_charge")
TASK_HEADER = re.compile(r"^\[\s*pid\s*\]\s+(.*)$")
TASK_ROW = re.compile(r"^\[\s*(\d+)\]\s+(.*)$")
_SHOWN = re.compile(r"^(?:(?P<ram>\d+) pages RAM|(?P<reserved>\d+) pages reserved"
                    r"|Total swap = (?P<swap>\d+)kB)$")  # fmt: skip
"""``show_mem`` (mm/show_mem.c, lib/show_mem.c) in a global OOM's report: its totals."""
_HEADER_REST = re.compile(r"(?:[a-z_]+ +)*(?:name|[a-z_]*[>…])")
_CPUSET = re.compile(r"^.+? cpuset=(\S+) mems_allowed=")


def oom_line(op: Report, f: Frame, text: str, problems: list[tuple[int, str]]) -> bool:
    """Read a line into an open OOM report's body; whether it was the body's."""
    if op.wrapped is not None:
        _, pid, start = op.wrapped
        bare = f.clock is None and f.mono is None and f.ident is None
        if text.lstrip()[:1].isdigit() or (bare and len(text.split()) == 1):  # its rest
            op.wrapped = None
            lost = not text.lstrip()[:1].isdigit()  # (its number taken off as list numbering)
            _row(op, f, problems, pid, joined(op.header, start, text.strip()), adj_lost=lost)
            return True
        unwrap(op, problems)
    if op.header is not None and op.header[-1] != "name" and _HEADER_REST.fullmatch(text):
        op.header += text.split()  # the rest of a header the paste wrapped (the pager cut)
        return True
    if text[:1] == "[":
        if (h := TASK_HEADER.match(text)) is not None:
            op.header = h[1].split()
            return True
        if (r := TASK_ROW.match(text)) is not None:
            _row(op, f, problems, int(r[1]), r[2])
            return True
    if (cs := _CPUSET.match(text)) is not None:
        op.event = replace(op.event, cpuset=cs[1])
        return True
    if "__alloc_pages_slowpath" in text or "global_oom" in text:
        op.decided = True
    if text.startswith("oom-kill:"):
        fields = summary_fields(text)
        memcg = fields.get("oom_memcg") if "MEMCG" in fields.get("constraint", "") else None
        victim, chosen = fields.get("task"), fields.get("pid", "")
        op.memcg, op.decided = op.memcg or memcg is not None, True
        op.event = replace(op.event, memcg=memcg, victim=victim or op.event.victim,
                           pid=int(chosen) if chosen.isdigit() else op.event.pid,
                           task_memcg=fields.get("task_memcg") or op.event.task_memcg)  # fmt: skip
        op.lines.append((f.line_no, f.text))
        return True
    if (m := MEMCG_LINES.match(text)) is not None:
        op.memcg = op.decided = True
        op.lines.append((f.line_no, f.text))
        if m["limit"] and op.event.limit_kb is None:  # the group's own, not a parent's
            op.event = replace(op.event, limit_kb=int(m["limit"]))
        if m["task"]:
            op.event = replace(op.event, task_memcg=m["task"])
        return True
    if (t := _SHOWN.match(text)) is not None and t.lastgroup is not None:
        op.shown[t.lastgroup] = int(t[t.lastgroup])
        return True
    if any(fn in text for fn in _MEMCG_STACK):
        op.memcg = op.decided = True
    return False


def _row(
    op: Report,
    f: Frame,
    problems: list[tuple[int, str]],
    pid: int,
    rest: str,
    *,
    adj_lost: bool = False,
) -> None:
    task = task_of(op.header, pid, rest, adj_lost=adj_lost)
    if task == WRAPPED and op.wrapped is None:
        op.wrapped = (f.line_no, pid, rest)
        return
    if isinstance(task, str):
        problems.append((f.line_no, task))
        return
    op.more += not keep_row(op.tasks, task)


def unwrap(op: Report, problems: list[tuple[int, str]]) -> None:
    """A row the paste broke whose rest never came: kept while its rss is whole."""
    if op.wrapped is None:
        return
    (line_no, pid, start), op.wrapped = op.wrapped, None
    task = cut_row(op.header, pid, start)
    if isinstance(task, str):
        problems.append((line_no, WRAPPED))
    else:
        op.more += not keep_row(op.tasks, task)


def shown_kb(op: Report) -> int | None:
    """RAM less its reserved pages, plus swap, by the report's ``show_mem`` lines."""
    ram, swap = op.shown.get("ram"), op.shown.get("swap")
    if ram is None or swap is None:
        return None
    return (ram - op.shown.get("reserved", 0)) * PAGE_KB + swap
