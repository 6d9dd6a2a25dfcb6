"""The kernel's OOM report, generation by generation (docs/reference/linux-logs.md §2): the
trigger line, the ``cpuset=`` line (3.x-4.18), the header and stack, the memory cgroup's
usage or the ``Mem-Info:`` block, the task table under the generation's header, the choice
and the kill (``Kill process ... or sacrifice child`` / ``Killed process`` up to 4.19, the
``oom-kill:`` line from 4.19, one ``Out of memory: Killed process`` line from 5.x), the
``oom_reaper`` line, and the panics: no killable process, ``panic_on_oom``.

The victim is the task the kernel's own rule picks (resident pages, swap entries and page
tables, moved by ``oom_score_adj``), or the allocating task under
``vm.oom_kill_allocating_task``; the caller decides the tasks and gets the victim back.

Examples:
    >>> import random
    >>> from lostbeat.scenarios.linux.host import sample_host
    >>> h = sample_host(random.Random(4), gens=("5.15",))
    >>> r = report(random.Random(1), h, 1000.0, tasks=h.procs, trigger=h.procs[-1])
    >>> r.victim is not None and any("Killed process" in m.text for m in r.msgs)
    True
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from lostbeat.scenarios.linux.frame import Msg, stamped
from lostbeat.scenarios.linux.host import Host, Kernel, Proc
from lostbeat.scenarios.linux.trace import call_trace, header

__all__ = ["OomReport", "badness", "panic_lines", "report"]


@dataclass(frozen=True, slots=True)
class OomReport:
    msgs: tuple[Msg, ...]
    victim: Proc | None
    """None when nothing could be killed."""


def _pgtables(p: Proc) -> int:
    return max(1, p.total_vm // 500)


def badness(p: Proc, total_pages: int) -> int:
    """The kernel's points for ``p`` (rss + swap + page tables, moved by oom_score_adj)."""
    if p.adj == -1000:
        return -(10**12)
    return p.rss + p.swapents + _pgtables(p) + p.adj * total_pages // 1000


def _trigger(k: Kernel, p: Proc, memcg: bool) -> str:
    head = f"{p.name} invoked oom-killer: "
    if k.gen == "2.6.32":
        tail = "oom_adj=0" if k.distro == "debian" else f"oom_adj=0, oom_score_adj={p.adj}"
        return f"{head}gfp_mask=0x201da, order=0, {tail}"
    if not k.at_least(4, 13):
        return f"{head}gfp_mask={'0xd0' if memcg else '0x201da'}, order=0, oom_score_adj={p.adj}"
    if not k.at_least(5, 0):
        space = "  " if k.gen == "4.15" else " "
        return (f"{head}gfp_mask=0x6200ca(GFP_HIGHUSER_MOVABLE), nodemask=(null),{space}"
                f"order=0, oom_score_adj={p.adj}")  # fmt: skip
    mask = "0xcc0(GFP_KERNEL)" if memcg else "0x100cca(GFP_HIGHUSER_MOVABLE)"
    return f"{head}gfp_mask={mask}, order=0, oom_score_adj={p.adj}"


def _stack(k: Kernel, memcg: bool, kills: bool = True) -> list[str]:
    """The OOM report's stack: ``dump_header`` under ``oom_kill_process`` when a task is
    killed, under ``out_of_memory`` itself when none can be (mm/oom_kill.c)."""
    top = ["dump_stack_lvl" if k.at_least(5, 15) else "dump_stack", "dump_header",
           *(["oom_kill_process"] if kills else []), "out_of_memory"]  # fmt: skip
    if memcg:
        if k.at_least(5, 0):
            mid = ["mem_cgroup_out_of_memory", "try_charge_memcg" if k.at_least(5, 15) else "try_charge",  # noqa: E501
                   "charge_memcg" if k.at_least(5, 15) else "mem_cgroup_charge"]  # fmt: skip
        else:
            mid = ["mem_cgroup_oom_synchronize", "pagefault_out_of_memory"]
    else:
        mid = ["__alloc_pages_slowpath" + (".constprop.0" if k.at_least(5, 15) else ""),
               "__alloc_pages" if k.at_least(5, 13) else "__alloc_pages_nodemask",
               "alloc_pages_vma"]  # fmt: skip
    low = ["__handle_mm_fault", "handle_mm_fault"]
    low += (
        ["do_user_addr_fault", "exc_page_fault", "asm_exc_page_fault"]
        if k.at_least(5, 8)
        else ["__do_page_fault", "do_page_fault", "page_fault"]
    )
    return top + mid + low


def _meminfo(rng: random.Random, h: Host, swap_free_kb: int) -> list[str]:
    free = rng.randint(h.ram_pages // 200, h.ram_pages // 80)
    anon = h.ram_pages - free - rng.randint(2000, 30000)
    out = ["Mem-Info:",
           f"active_anon:{anon * 9 // 10} inactive_anon:{anon // 10} isolated_anon:0",
           f" active_file:{rng.randint(10, 900)} inactive_file:{rng.randint(10, 900)} isolated_file:0",  # noqa: E501
           " unevictable:0 dirty:0 writeback:0",
           f" slab_reclaimable:{rng.randint(5000, 40000)} slab_unreclaimable:{rng.randint(9000, 60000)}",  # noqa: E501
           f" mapped:{rng.randint(40, 3000)} shmem:{rng.randint(100, 9000)} pagetables:{rng.randint(2000, 30000)} bounce:0",  # noqa: E501
           f" free:{free} free_pcp:{rng.randint(0, 300)} free_cma:0"]  # fmt: skip
    zone = rng.randint(40000, 90000)
    out += [f"Node 0 Normal free:{zone}kB min:{zone - rng.randint(500, 9000)}kB "
            f"low:{zone + rng.randint(1000, 9000)}kB high:{zone + rng.randint(10000, 20000)}kB "
            f"present:{h.ram_pages * 4}kB managed:{h.ram_pages * 4 - 90000}kB",
            "lowmem_reserve[]: 0 0 0 0 0",
            f"{rng.randint(500, 5000)} total pagecache pages",
            f"{rng.randint(0, 900)} pages in swap cache",
            f"Free swap  = {swap_free_kb}kB",
            f"Total swap = {h.swap_mb * 1024}kB",
            f"{h.ram_pages} pages RAM",
            "0 pages HighMem/MovableOnly",
            f"{rng.randint(30000, 90000)} pages reserved"]  # fmt: skip
    return out


def _table(k: Kernel, tasks: tuple[Proc, ...], rng: random.Random) -> list[str]:
    if k.gen == "2.6.32":
        out = ["[ pid ]   uid  tgid total_vm      rss cpu oom_adj oom_score_adj name"]
        out += [f"[{p.pid:>5}]  {p.uid:>4} {p.pid:>5} {p.total_vm:>8} {p.rss:>8} {rng.randrange(8):>3} "  # noqa: E501
                f"{0:>7} {p.adj:>13} {p.name}" for p in tasks]  # fmt: skip
        return out
    if not k.at_least(4, 4):
        out = ["[ pid ]   uid  tgid total_vm      rss nr_ptes swapents oom_score_adj name"]
        return out + [f"[{p.pid:>5}]  {p.uid:>4} {p.pid:>5} {p.total_vm:>8} {p.rss:>8} "
                      f"{_pgtables(p):>7} {p.swapents:>8} {p.adj:>13} {p.name}" for p in tasks]  # fmt: skip # noqa: E501
    if not k.at_least(4, 15):
        out = ["[ pid ]   uid  tgid total_vm      rss nr_ptes nr_pmds swapents oom_score_adj name"]
        return out + [f"[{p.pid:>5}]  {p.uid:>4} {p.pid:>5} {p.total_vm:>8} {p.rss:>8} "
                      f"{_pgtables(p):>7} {3:>7} {p.swapents:>8} {p.adj:>13} {p.name}" for p in tasks]  # fmt: skip # noqa: E501
    if not k.at_least(4, 19):
        out = ["[ pid ]   uid  tgid total_vm      rss pgtables_bytes swapents oom_score_adj name"]
        return out + [f"[{p.pid:>5}]  {p.uid:>4} {p.pid:>5} {p.total_vm:>8} {p.rss:>8} "
                      f"{_pgtables(p) * 4096:>14} {p.swapents:>8} {p.adj:>13} {p.name}" for p in tasks]  # fmt: skip # noqa: E501
    out = ["Tasks state (memory values in pages):"]
    if not k.at_least(6, 8):
        out.append(
            "[  pid  ]   uid  tgid total_vm      rss pgtables_bytes swapents oom_score_adj name"
        )
        return out + [f"[{p.pid:>7}]  {p.uid:>4} {p.pid:>5} {p.total_vm:>8} {p.rss:>8} "
                      f"{_pgtables(p) * 4096:>14} {p.swapents:>8} {p.adj:>13} {p.name}" for p in tasks]  # fmt: skip # noqa: E501
    out.append(
        "[  pid  ]   uid  tgid total_vm      rss rss_anon rss_file rss_shmem pgtables_bytes swapents oom_score_adj name"  # noqa: E501
    )
    return out + [f"[{p.pid:>7}]  {p.uid:>4} {p.pid:>5} {p.total_vm:>8} {p.rss:>8} "
                  f"{p.rss * 9 // 10:>8} {p.rss - p.rss * 9 // 10:>8} {0:>9} "
                  f"{_pgtables(p) * 4096:>14} {p.swapents:>8} {p.adj:>13} {p.name}" for p in tasks]  # fmt: skip # noqa: E501


def _kill(k: Kernel, v: Proc, score: int, *, memcg: str | None, allocating: bool,
          cpuset: str) -> list[str]:  # fmt: skip
    anon, file = v.rss * 4 * 97 // 100, v.rss * 4 * 3 // 100
    sizes = f"total-vm:{v.total_vm * 4}kB, anon-rss:{anon}kB, file-rss:{file}kB"
    who = ("Memory cgroup out of memory" if memcg else
           "Out of memory (oom_kill_allocating_task)" if allocating else "Out of memory")  # fmt: skip # noqa: E501
    out = []
    if k.at_least(4, 19):
        scope = f"oom_memcg={memcg}," if memcg else "global_oom,"
        out.append(f"oom-kill:constraint=CONSTRAINT_{'MEMCG' if memcg else 'NONE'},nodemask=(null),"
                   f"cpuset={cpuset},mems_allowed=0,{scope}task_memcg={memcg or '/system.slice/' + v.unit},"  # noqa: E501
                   f"task={v.name},pid={v.pid},uid={v.uid}")  # fmt: skip
    if k.at_least(5, 0):
        out.append(f"{who}: Killed process {v.pid} ({v.name}) {sizes}, shmem-rss:0kB, "
                   f"UID:{v.uid} pgtables:{_pgtables(v) * 4}kB oom_score_adj:{v.adj}")  # fmt: skip
        return out
    if k.gen == "2.6.32" and k.distro == "debian":
        return [f"{who}: kill process {v.pid} ({v.name}) score {score} or a child",
                f"Killed process {v.pid} ({v.name})"]  # fmt: skip
    out.append(f"{who}: Kill process {v.pid} ({v.name}) score {score} or sacrifice child")
    if k.gen == "2.6.32":
        out.append(f"Killed process {v.pid}, UID {v.uid}, ({v.name}) {sizes}")
    elif k.distro == "rhel" and k.gen == "3.10":
        out.append(f"Killed process {v.pid} ({v.name}), UID {v.uid}, {sizes}, shmem-rss:0kB")
    else:
        out.append(f"Killed process {v.pid} ({v.name}) {sizes}, shmem-rss:0kB")
    return out


def report(
    rng: random.Random,
    h: Host,
    t: float,
    *,
    tasks: tuple[Proc, ...],
    trigger: Proc,
    memcg: str | None = None,
    limit_pages: int | None = None,
    allocating: bool = False,
    panic_on_oom: bool = False,
) -> OomReport:
    """One OOM report at ``t`` seconds since boot over ``tasks`` (those of the memory cgroup
    ``memcg``, limited to ``limit_pages``, when given)."""
    k = h.kernel
    total = limit_pages or h.ram_pages + h.swap_mb * 256
    killable = tuple(p for p in tasks if p.adj != -1000 and p.pid != 1)
    victim = trigger if allocating else (max(killable, key=lambda p: badness(p, total))
                                         if killable else None)  # fmt: skip
    cpu = rng.randrange(h.cpus)
    cpuset = "/" if memcg is None or k.at_least(5, 0) else memcg
    lines = [_trigger(k, trigger, memcg is not None)]
    if k.at_least(3, 0) and not k.at_least(4, 19):
        lines.append(f"{trigger.name} cpuset={cpuset} mems_allowed=0")
    lines += header(h, trigger, cpu)
    lines += call_trace(k, _stack(k, memcg is not None, kills=victim is not None), rng)
    if memcg is not None:
        used = (limit_pages or 0) * 4
        if not k.at_least(4, 19):
            lines.append(f"Task in {memcg} killed as a result of limit of {memcg}")
        lines.append(f"memory: usage {used}kB, limit {used}kB, failcnt {rng.randint(1, 90000)}")
        if k.at_least(5, 0) and rng.random() < 0.6:
            lines.append("swap: usage 0kB, limit 9007199254740988kB, failcnt 0")
            lines.append(f"Memory cgroup stats for {memcg}:")
            lines += [f"anon {used * 1024 - rng.randint(0, 10**6)}", f"file {rng.randint(0, 10**7)}",  # noqa: E501
                      f"kernel {rng.randint(10**6, 10**7)}", "shmem 0", f"pgfault {rng.randint(1000, 10**7)}"]  # fmt: skip # noqa: E501
        else:
            lines.append(f"memory+swap: usage {used}kB, limit 9007199254740988kB, failcnt 0")
            lines.append(
                f"kmem: usage {rng.randint(2000, 90000)}kB, limit 9007199254740988kB, failcnt 0"
            )
            lines.append(f"Memory cgroup stats for {memcg}: cache:{rng.randint(0, 9000)}KB "
                         f"rss:{used - rng.randint(0, 9000)}KB rss_huge:0KB mapped_file:0KB "
                         "swap:0KB inactive_anon:0KB active_anon:0KB")  # fmt: skip
    else:
        lines += _meminfo(rng, h, 0)
    lines += _table(k, tasks if victim else (), rng)
    if victim is None and memcg is not None:
        # a memory cgroup's OOM with nothing to kill returns to wait (no panic): cgroup_oom
        lines.append("Out of memory and no killable processes...")
    elif victim is None:
        lines.append("Out of memory and no killable processes...")
        reason = ("System is deadlocked on memory" if k.at_least(5, 0) else
                  "Out of memory and no killable processes...")  # fmt: skip
        lines += panic_lines(h, trigger, cpu, reason, rng)
    elif panic_on_oom:
        lines += panic_lines(
            h, trigger, cpu, "Out of memory: compulsory panic_on_oom is enabled", rng
        )
        victim = None
    else:
        score = badness(victim, total) * 1000 // max(total, 1)
        lines += _kill(k, victim, max(0, score), memcg=memcg, allocating=allocating,
                       cpuset=cpuset)  # fmt: skip
        if k.at_least(4, 15):
            lines.append(f"oom_reaper: reaped process {victim.pid} ({victim.name}), now "
                         "anon-rss:0kB, file-rss:0kB, shmem-rss:0kB")  # fmt: skip
    return OomReport(stamped(t, lines, rng, first=4), victim)


def panic_lines(
    h: Host, p: Proc, cpu: int, reason: str, rng: random.Random, *, stack: tuple[str, ...] = ()
) -> list[str]:
    """``Kernel panic - not syncing: <reason>`` with the panicking task's header and stack
    (``stack``, under ``panic``; an OOM path when not given)."""
    k = h.kernel
    out = [f"Kernel panic - not syncing: {reason}"]
    out += header(h, p, cpu)
    below = list(stack) or ["out_of_memory", "__alloc_pages_slowpath", "handle_mm_fault"]
    out += call_trace(k, ["dump_stack" if not k.at_least(5, 15) else "dump_stack_lvl", "panic",
                          *below], rng)  # fmt: skip
    out.append(f"Kernel Offset: 0x{rng.getrandbits(28) << 20:x} from 0xffffffff81000000 "
               "(relocation range: 0xffffffff80000000-0xffffffffbfffffff)")  # fmt: skip
    out.append(f"---[ end Kernel panic - not syncing: {reason} ]---")
    return out
