"""Which task and module a kernel report names where its headline does not: the task on the
CPU that stopped (a lockup's, or a panic's that a lockup raised), the hang a panic escalates,
and the whole name of a module a frame cut by the pager names in part."""

from __future__ import annotations

import re

from lostbeat.analyzer.parsers._frames import Frame
from lostbeat.analyzer.parsers._kernel_events import FOLLOW_GAP, MAX_STACK, Incident, Report
from lostbeat.analyzer.result import CrashType

__all__ = ["escalates", "name_rest", "stack_line", "stuck_here", "whole_module"]

# a frame's module in brackets, or its start where the pager cut the line ("[megaraid_sa>")
_FRAME = re.compile(
    r"(?<![\w.])([A-Za-z_][\w.]*)\+0x[0-9a-f]+/0x[0-9a-f]+(?:\s+\[([\w-]+)(\]|[>…]$))?"
)
_ARM_FRAME = re.compile(r"\] \(([A-Za-z_][\w.]*)\) from \[")
# the rest of a kill or selection line a paste wrapped before the victim's name: its pid (or
# the uid before the name, "498, "; a list's numbering may have taken the pid off) and name
_KILL_REST = re.compile(r"^(?:(?P<pid>\d+) |\d+, )?\((?P<comm>[^)]*)\)(?=[ ,.]|$)")
_STUCK_REST = re.compile(
    r"^(?:\d+s! )?\[(?P<comm>.+?):(?P<pid>\d+)\]$"
)  # a soft lockup's "[task:pid]"

_ON_CPU = ("softlockup", "hard LOCKUP", "Hard LOCKUP")
"""A panic's reasons that the watchdog gives on the CPU that stopped (kernel/watchdog.c,
watchdog_hld.c): the task its ``CPU:`` line names is the one stuck there."""
_ESCALATES = {
    "hung_task": CrashType.HUNG_TASK,
    "softlockup": CrashType.SOFT_LOCKUP,
    "hard LOCKUP": CrashType.HARD_LOCKUP,
    "Hard LOCKUP": CrashType.HARD_LOCKUP,
}
"""A panic's reason word and the hang it raises the panic for (``hung_task_panic``,
``softlockup_panic``, ``hardlockup_panic``: kernel/hung_task.c, watchdog.c)."""


def escalates(reason: str, before: Incident, f: Frame) -> bool:
    """Whether the panic is the one the hang just before it raised: its reason names that
    kind of hang, and the hang's report is the last, a few lines up."""
    kinds = {kind for word, kind in _ESCALATES.items() if word in reason}
    return before.type in kinds and f.line_no - before.line_no <= FOLLOW_GAP


def whole_module(start: str, linked: list[str]) -> str:
    """The module a frame cut by the pager names by its start: the one loaded module whose
    name begins so, else the start as it is."""
    found = {m for m in linked if m.startswith(start)}
    return found.pop() if len(found) == 1 else start


def stuck_here(ev: Incident) -> bool:
    """Whether the report's ``CPU:`` line names the stuck task: a lockup's (the watchdog
    reports from the CPU that stopped), or a panic's that such a lockup raised."""
    if ev.type in (CrashType.HARD_LOCKUP, CrashType.SOFT_LOCKUP):
        return True
    return ev.type is CrashType.KERNEL_PANIC and any(w in (ev.reason or "") for w in _ON_CPU)


def stack_line(op: Report, text: str) -> None:
    """Read a stack line's functions and modules into the report (x86's ``fn+0x1/0x2
    [mod]``, ARM's ``(fn) from [<addr>]``)."""
    for fm in _FRAME.finditer(text):
        if len(op.stack) < MAX_STACK:
            op.stack.append(fm[1])
        if fm[2] and len(op.modules) < MAX_STACK:
            op.modules.append(fm[2] if fm[3] == "]" else whole_module(fm[2], op.linked))
    if (arm := _ARM_FRAME.search(text)) is not None and len(op.stack) < MAX_STACK:
        op.stack.append(arm[1])


def name_rest(kind: CrashType, text: str) -> re.Match[str] | None:
    """The rest of a headline a paste wrapped before its task's name, for a report of
    ``kind``: a soft lockup's ``[task:pid]``, a kill's ``(comm)`` with its pid or uid before."""
    return (_STUCK_REST if kind is CrashType.SOFT_LOCKUP else _KILL_REST).match(text)
