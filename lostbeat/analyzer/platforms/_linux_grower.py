"""Who used the memory, when a log is all there is: the OOM report's task table and the sizes
killers print, read as the article reads its "top consumers" line.

- two or more task tables in one log: the program that grew most between the first and the
  chosen one (when one grew at all), else the largest; the victim was it when it is the
  victim's program;
- one task table: the largest program (its tasks summed); likewise. A victim whose row the
  chosen table lost and whose kill line lost its sizes too (journalctl's pager cuts the longest
  lines: the largest tasks') counts at the size the program's last sized kill gave (a
  program restarted and killed again);
- kills that print sizes, one much larger than the chosen victim's: that larger victim, and
  the chosen one was a bystander (earlyoom's extra kill, 004);
- the victim held ``SHARE_GROWER`` of the memory or more: the victim;
- the victim held under ``SHARE_BYSTANDER``: unknown, and the victim was a bystander;
- ``oom_kill_allocating_task`` chose it: unknown, and a bystander, since the kernel killed
  whoever allocated (``Documentation/admin-guide/sysctl/vm.rst``);
- systemd-oomd's kill: the unit killed, for oomd kills the candidate with the most reclaim
  or usage (``systemd-oomd.service(8)``);
- the kernel's own choice (a memory cgroup's OOM, or a global one whose kill line gives the
  victim's ``oom_score_adj``), no table, the victim's ``oom_score_adj`` not above 0: the
  victim, for the kernel kills the task with the most memory (``mm/oom_kill.c``,
  ``oom_badness``: RSS, swap and page tables, shifted only by ``oom_score_adj``); with a raised
  ``oom_score_adj``, or a global kill line that does not give it, unknown.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from lostbeat.analyzer.facts import Grower
from lostbeat.analyzer.parsers._kernel_report import Incident as Event
from lostbeat.analyzer.platforms._linux_logs import OOM, Placed, evidence_of
from lostbeat.analyzer.units import size_kb

__all__ = ["SHARE_BYSTANDER", "SHARE_GROWER", "find_grower"]

SHARE_GROWER = 40.0
"""A victim holding this share of the memory (percent) is what used it."""
SHARE_BYSTANDER = 5.0
"""A victim holding less than this share did not use the memory that ran out."""
BYSTANDER_RATIO = 0.1
"""A victim this much smaller than an earlier victim of the same log is a later, extra kill."""
MIN_GROWTH_KB = 64 * 1024.0


def _by_name(ev: Event) -> dict[str, tuple[float, int | None]]:
    """Each program of a task table: its tasks' KB summed, and its largest task's pid."""
    total: dict[str, float] = defaultdict(float)
    pid: dict[str, tuple[int, int]] = {}
    for t in ev.tasks:
        total[t.name] += t.total_kb
        if t.name not in pid or t.total_kb > pid[t.name][0]:
            pid[t.name] = (t.total_kb, t.pid)
    return {n: (kb, pid[n][1]) for n, kb in total.items()}


def _share(kb: float | None, total_kb: float | None) -> float | None:
    return round(100.0 * kb / total_kb, 1) if kb is not None and total_kb else None


def _lost_victim(same_log: Sequence[Placed], ev: Event) -> tuple[float, int | None] | None:
    """The chosen victim's size where its row and its kill line both lost it: its program's
    last kill in the log that gave one."""
    if ev.victim is None or ev.victim_kb is not None or any(t.pid == ev.pid for t in ev.tasks):
        return None
    sized = [q.event for q in same_log[:-1] if q.event.victim == ev.victim
             and q.event.killer == ev.killer and q.event.victim_kb is not None]  # fmt: skip
    return (float(sized[-1].victim_kb or 0), ev.pid) if sized else None


def _from_tables(
    tables: Sequence[Placed],
    victim: Event,
    total_kb: float | None,
    lost: tuple[float, int | None] | None = None,
) -> Grower:
    last = _by_name(tables[-1].event)
    if lost is not None and victim.victim is not None and victim.victim not in last:
        last[victim.victim] = lost
    first = _by_name(tables[0].event) if len(tables) > 1 else {}
    grown = {n: last[n][0] - first[n][0] for n in last if n in first}
    name, kb = max(((n, v[0]) for n, v in last.items()), key=lambda nv: nv[1])
    grew = None
    if grown and max(grown.values()) >= MIN_GROWTH_KB:
        name = max(grown, key=lambda n: grown[n])
        kb, grew = last[name][0], grown[name]
        how = f"{name} grew by {size_kb(grew)} across {len(tables)} OOM reports, to {size_kb(kb)}"
    else:
        how = f"{name} was the largest in the OOM report's task table, with {size_kb(kb)}"
    share = _share(kb, total_kb)
    if share is not None:
        how += f" ({share:.0f} % of the memory)"
    top = sorted(last.items(), key=lambda item: -item[1][0])[:3]
    how += "; top consumers: " + ", ".join(f"{n} {size_kb(v[0])}" for n, (v) in top)
    evidence = tuple(evidence_of(t) for t in tables[-2:])
    return Grower(name, last[name][1], kb, share, grew, how, evidence)


def find_grower(
    placed: Sequence[Placed], chosen: int, total_kb: float | None
) -> tuple[Grower | None, bool | None]:
    """The grower and whether the chosen incident's victim was it, by the table above."""
    if chosen < 0:
        return None, None
    p = placed[chosen]
    ev = p.event
    same_log = [q for q in placed[: chosen + 1] if q.log is p.log]
    tables = [q for q in same_log if q.event.tasks]
    total = total_kb or ev.mem_total_kb
    if tables:
        lost = _lost_victim(same_log, ev) if tables[-1] is p else None
        grower = _from_tables(tables, ev, total, lost)
        if ev.type not in OOM or ev.victim is None:
            return grower, None
        pids = {t.pid for t in tables[-1].event.tasks if t.name == grower.name}
        return grower, ev.victim == grower.name or ev.pid in pids
    if ev.type not in OOM or ev.victim is None:
        return None, None
    return _from_kills(same_log, ev, total)


def _from_kills(
    same_log: Sequence[Placed], ev: Event, total: float | None
) -> tuple[Grower | None, bool | None]:
    sized = [q for q in same_log if q.event.type in OOM and q.event.victim_kb is not None]
    share = _share(ev.victim_kb, total)
    if ev.reason == "oom_kill_allocating_task":
        return None, False  # every victim was whoever allocated: sizes say nothing
    if sized and ev.victim_kb is not None:
        big = max(sized, key=lambda q: q.event.victim_kb or 0)
        big_kb = float(big.event.victim_kb or 0)
        if big.event.victim != ev.victim and ev.victim_kb < BYSTANDER_RATIO * big_kb:
            how = (
                f"{big.event.victim} held {size_kb(big_kb)} when it was killed first; "
                f"{ev.victim}, killed after it, held {size_kb(ev.victim_kb)}"
            )
            grower = Grower(big.event.victim or "", big.event.pid, big_kb,
                            _share(big_kb, total), None, how, (evidence_of(big),))  # fmt: skip
            return grower, False
    if share is not None and share >= SHARE_GROWER:
        how = f"{ev.victim} held {size_kb(ev.victim_kb or 0)}, {share:.0f} % of the memory"
        return Grower(ev.victim or "", ev.pid, ev.victim_kb, share, None, how, ()), True
    if share is not None and share < SHARE_BYSTANDER:
        return None, False
    adj = ev.victim_adj
    by_size = ev.killer == "kernel" and (adj is not None and adj <= 0)
    memcg = ev.in_cgroup and (adj is None or adj <= 0)
    if ev.killer == "systemd-oomd" or memcg or by_size:
        why = (
            "systemd-oomd kills the candidate that uses the most"
            if ev.killer == "systemd-oomd"
            else "the kernel killed the task with the most memory (oom_score_adj "
            f"{adj if adj is not None else 'not raised'})"
        )
        kb = float(ev.victim_kb) if ev.victim_kb is not None else None
        return Grower(ev.victim or "", ev.pid, kb, share, None, f"{ev.victim}: {why}", ()), True
    return None, None
