"""A Linux host's own logs as facts: the incidents, the one judged, its class and the grower.

The logs' incidents (``parsers/host_log.py``) are merged: a userspace killer's kill and the
kernel's of the same pid are one incident, the kernel's (it is what ended the process,
docs/reference/linux-logs.md §6, 001). The verdict is on the last, or on the one nearest
``--at``. Its class follows the look-alikes of docs/reference/linux-logs.md §7:

- an OOM kill or a memory cgroup OOM: memory exhaustion;
- a hung task: memory exhaustion with reclaim on its stack or an OOM kill shortly before it in
  the same log; else ``driver`` with a module on its stack or a storage or network wait;
  else ``kernel``;
- a soft lockup: memory exhaustion when the stuck task is ``kswapd``/``kcompactd`` or reclaim
  is on the stack; else ``driver`` with a module on the stack; else ``kernel``;
- a hard lockup: as a soft lockup, and ``driver`` too when an out-of-tree or proprietary
  module is loaded (the CPU had interrupts off; see :func:`class_of`);
- an RCU stall: as a soft lockup;
- a panic: memory exhaustion for an OOM panic (no killable processes, ``panic_on_oom``);
  the class of the hang or lockup it escalates; else ``driver`` with a module, ``kernel``.
"""

from __future__ import annotations

import re
from calendar import timegm
from collections.abc import Sequence
from dataclasses import dataclass, replace

from lostbeat.analyzer.findings import Evidence
from lostbeat.analyzer.parsers._kernel_report import RECLAIM
from lostbeat.analyzer.parsers._kernel_report import Incident as Event
from lostbeat.analyzer.parsers.host_log import HostLog
from lostbeat.analyzer.result import Consumer, CrashClass, CrashType, Incident

__all__ = ["OOM", "Placed", "choose", "class_of", "merge", "summary"]

OOM = (CrashType.OOM_KILL, CrashType.CGROUP_OOM)
MEMORY_CONTEXT_S = 600.0
"""An OOM kill this long before a hang puts the hang under memory pressure."""
# a task blocked in these waits for a device or a server (kernel/hung_task.c reports any
# D-state task; the stack says on what): block layer, journalling, page writeback, NFS/RPC,
# SCSI and iSCSI, FUSE
_IO_WAIT = re.compile(
    r"^(?:io_schedule|bit_wait_io|wait_on_page_bit|folio_wait|__wait_on_buffer|wait_on_buffer"
    r"|blk_|submit_bio|wbt_wait|rq_qos_wait|jbd2_|nfs_|rpc_|scsi_|iscsi|fuse_|"
    r"__filemap_fdatawait|filemap_fdatawait|wait_for_completion_io|xfs_buf|xlog_)"
)
_RECLAIMERS = ("kswapd", "kcompactd")


@dataclass(frozen=True, slots=True)
class Placed:
    """One incident of the merged logs, with the log it came from."""

    event: Event
    log: HostLog


def _same_kill(a: Event, b: Event) -> bool:
    return a.pid is not None and a.pid == b.pid and a.type in OOM and b.type in OOM


def _key(ev: Event) -> tuple[object, ...]:
    return (ev.type, ev.pid, ev.victim, ev.text)


def merge(logs: Sequence[HostLog]) -> list[Placed]:
    """Every incident of the logs, in log order (and each log in time order), with a killer's
    kill and the kernel's of the same process made one, the kernel's; the same report in two
    logs (a sosreport's dmesg, journal and messages all hold the kernel's lines) is one, the
    copy that gives the wall-clock time."""
    placed: list[Placed] = []
    first: dict[tuple[object, ...], int] = {}
    for log in logs:
        for e in log.incidents:
            at = first.get(_key(e))
            if at is not None and placed[at].log is not log:
                if placed[at].event.at is None and e.at is not None:
                    placed[at] = Placed(e, log)
                continue
            first.setdefault(_key(e), len(placed))
            placed.append(Placed(e, log))
    if placed and all(p.event.at is not None for p in placed):
        placed.sort(key=lambda p: p.event.at or 0.0)
    out: list[Placed] = []
    for p in placed:
        twin = next((i for i, q in enumerate(out) if _same_kill(q.event, p.event)), None)
        if twin is None:
            out.append(p)
            continue
        q = out[twin]
        kernel, other = (p, q) if p.event.killer == "kernel" else (q, p)
        if kernel.event.killer != "kernel" or other.event.killer == "kernel":
            out.append(p)  # two kills of one pid by the same killer: pids are reused
            continue
        kb = kernel.event.victim_kb or other.event.victim_kb
        total = kernel.event.mem_total_kb or other.event.mem_total_kb
        out[twin] = Placed(replace(kernel.event, victim_kb=kb, mem_total_kb=total), kernel.log)
    return out


_NUMBER = re.compile(r"^\d+(?:\.\d+)?$")
_ISO = re.compile(r"^(\d{4})-(\d\d)-(\d\d)[T ](\d\d):(\d\d)(?::(\d\d))?")


def choose(placed: Sequence[Placed], at: str | None) -> int:
    """The index of the incident the verdict is on: the last, or the one nearest ``at`` (an
    ISO time, seconds since boot, or a stamp as the log writes it: ``Apr 20 09:26``)."""
    if not placed:
        return -1
    if not at:
        return len(placed) - 1
    want = at.strip()
    if _NUMBER.match(want):
        cands = [
            (abs(p.event.mono - float(want)), i)
            for i, p in enumerate(placed)
            if p.event.mono is not None
        ]
        if cands:
            return min(cands)[1]
    if (m := _ISO.match(want)) is not None:
        y, mo, d, hh, mm = (int(g) for g in m.groups()[:5])
        when = timegm((y, mo, d, hh, mm, int(m[6] or 0), 0, 0, 0))
        cands = [
            (abs(p.event.at - when), i) for i, p in enumerate(placed) if p.event.at is not None
        ]
        if cands:
            return min(cands)[1]
    norm = " ".join(want.split())
    for i, p in enumerate(placed):
        if p.event.clock and " ".join(p.event.clock.split()).startswith(norm):
            return i
    return len(placed) - 1


def _memory_before(placed: Sequence[Placed], index: int) -> bool:
    """An OOM kill, or an allocation the kernel failed or stalled, before the incident, in the
    same log and close enough in time."""
    ev, log = placed[index].event, placed[index].log
    signals = [(p.event.line_no, p.event.at, p.event.mono) for p in placed[:index]
               if p.log is log and p.event.type in OOM]  # fmt: skip
    signals += [s for s in log.pressure if s[0] < ev.line_no]
    for _, at, mono in signals:
        if ev.mono is not None and mono is not None:
            gap: float | None = ev.mono - mono
        elif ev.at is not None and at is not None:
            gap = ev.at - at
        else:
            gap = None
        if gap is None or 0 <= gap <= MEMORY_CONTEXT_S:
            return True
    return False


def class_of(placed: Sequence[Placed], index: int) -> CrashClass:
    """The incident's class, by the table in the module docstring."""
    ev = placed[index].event
    reclaim = ev.memory or any(fn in RECLAIM for fn in ev.stack)
    if ev.type in OOM or reclaim:
        return CrashClass.MEMORY_EXHAUSTION
    if ev.type is CrashType.HUNG_TASK:
        if _memory_before(placed, index):
            return CrashClass.MEMORY_EXHAUSTION
        if ev.modules or any(_IO_WAIT.match(fn) for fn in ev.stack):
            return CrashClass.DRIVER
        return CrashClass.KERNEL
    if ev.type is CrashType.SOFT_LOCKUP and (ev.victim or "").startswith(_RECLAIMERS):
        return CrashClass.MEMORY_EXHAUSTION
    if ev.type is CrashType.KERNEL_PANIC and ev.victim is not None and index > 0:
        before = placed[index - 1].event
        if before.victim == ev.victim and before.type is not CrashType.KERNEL_PANIC:
            return class_of(placed, index - 1)  # the hang or lockup the panic escalates
    if ev.type is CrashType.HARD_LOCKUP and ev.foreign:
        # a CPU with interrupts off (kernel/watchdog_hld.c): with no module on the stack, the
        # out-of-tree modules the kernel's taint names are the suspects, as its own reporting
        # guide says (Documentation/admin-guide/tainted-kernels.rst, flag O and P)
        return CrashClass.DRIVER
    return CrashClass.DRIVER if ev.modules else CrashClass.KERNEL


def evidence_of(p: Placed) -> Evidence:
    return Evidence(p.log.path, p.event.line_no, p.event.text)


def when_of(ev: Event) -> str | None:
    """The time as the log wrote it."""
    if ev.clock:
        return ev.clock
    return f"[{ev.mono:.6f}]" if ev.mono is not None else None


def summary(placed: Sequence[Placed], chosen: int) -> tuple[Incident, ...]:
    """Every incident as the result lists it, the chosen one marked."""
    return tuple(
        Incident(
            type=p.event.type,
            at=p.event.at,
            when=when_of(p.event),
            killer=p.event.killer,
            victim=p.event.victim,
            victim_pid=p.event.pid,
            victim_kb=p.event.victim_kb,
            class_=class_of(placed, i),
            evidence=evidence_of(p),
            chosen=i == chosen,
        )
        for i, p in enumerate(placed)
    )


def consumers(ev: Event, limit: int = 10) -> tuple[tuple[Consumer, ...], int]:
    """The report's task table, largest first: the first ``limit`` and how many more."""
    ranked = [Consumer(t.name, t.pid, t.total_kb, t.oom_score_adj) for t in ev.tasks]
    return tuple(ranked[:limit]), max(0, len(ranked) - limit) + ev.tasks_more
