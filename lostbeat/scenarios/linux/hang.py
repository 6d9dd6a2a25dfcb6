"""Hung tasks, soft and hard lockups, RCU stalls and the panics they end in, as each kernel
generation words them (docs/reference/linux-logs.md §3-§5).

What each settles (the real Linux corpus's reading, §7 "traps"): a task hung in direct
reclaim, or a soft lockup in ``kswapd``, is memory exhaustion; a task hung on a journal
commit, NFS or iSCSI is not memory (``root_cause.kind`` ``not_memory``, its cause not named);
a soft lockup spinning in the core is ``kernel``, in a module's function ``driver``; an RCU
stall's starvation line ("OOM is now expected behavior") is a prediction, not an OOM.

Examples:
    >>> import random
    >>> from lostbeat.scenarios.linux.host import sample_host
    >>> h = sample_host(random.Random(6), gens=("5.10",))
    >>> e = hung_task(random.Random(2), h, 5000.0, wait="reclaim")
    >>> e.expect.crash_class.value, any("blocked for more than" in m.text for m in e.msgs)
    ('memory_exhaustion', True)
"""

from __future__ import annotations

import random
from dataclasses import dataclass, replace

from lostbeat.analyzer.result import CauseKind, CrashClass, CrashType
from lostbeat.scenarios.expect import Expect
from lostbeat.scenarios.linux.frame import Msg, stamped
from lostbeat.scenarios.linux.host import Host, Kernel, Proc, workload
from lostbeat.scenarios.linux.oom import panic_lines
from lostbeat.scenarios.linux.trace import build_tag, call_trace, header, modules, registers

__all__ = ["Event", "hard_lockup", "hung_task", "rcu_stall", "soft_lockup"]


@dataclass(frozen=True, slots=True)
class Event:
    msgs: tuple[Msg, ...]
    expect: Expect
    victim_pid: int | None = None


def _msgs(t: float, lines: list[str], rng: random.Random) -> tuple[Msg, ...]:
    return stamped(t, lines, rng, first=3)


def _kthread(name: str, rng: random.Random) -> Proc:
    return Proc(rng.randint(90, 2000), 0, name, 0, 0)


_STORAGE_USER = ["io_schedule", "wait_on_page_bit_common", "filemap_fdatawait_range",
                 "file_write_and_wait_range", "ext4_sync_file [ext4]", "do_fsync",
                 "__x64_sys_fsync", "do_syscall_64", "entry_SYSCALL_64_after_hwframe"]  # fmt: skip
_JBD2 = ["io_schedule", "bit_wait_io", "__wait_on_bit", "out_of_line_wait_on_bit",
         "jbd2_journal_commit_transaction [jbd2]", "kjournald2 [jbd2]", "kthread",
         "ret_from_fork"]  # fmt: skip
_NFS = ["rpc_wait_bit_killable [sunrpc]", "__wait_on_bit", "out_of_line_wait_on_bit",
        "__rpc_execute [sunrpc]", "rpc_run_task [sunrpc]", "nfs4_call_sync_sequence [nfsv4]",
        "_nfs4_proc_getattr [nfsv4]", "nfs4_proc_getattr [nfsv4]", "__nfs_revalidate_inode [nfs]",
        "nfs_getattr [nfs]", "vfs_statx", "__do_sys_newstat", "do_syscall_64"]  # fmt: skip
_ISCSI = ["io_schedule", "blk_mq_get_tag", "__blk_mq_alloc_request", "blk_mq_submit_bio",
          "submit_bio_noacct", "submit_bio", "submit_bh_wbc", "__block_write_full_page",
          "blkdev_writepage", "do_writepages", "__writeback_single_inode", "wb_writeback",
          "wb_workfn", "process_one_work", "worker_thread", "kthread"]  # fmt: skip
_RECLAIM = ["io_schedule", "folio_wait_bit_common", "shrink_folio_list", "shrink_inactive_list",
            "shrink_lruvec", "shrink_node", "do_try_to_free_pages", "try_to_free_pages",
            "__alloc_pages_slowpath.constprop.0", "__alloc_pages", "folio_alloc",
            "__handle_mm_fault", "handle_mm_fault", "do_user_addr_fault", "exc_page_fault"]  # fmt: skip # noqa: E501


def _task_line(k: Kernel, p: Proc, ppid: int, rng: random.Random) -> list[str]:
    if not k.at_least(4, 0):
        return [f"{p.name:<15} D ffff{rng.getrandbits(48):012x}     0 {p.pid:>5} {ppid:>6} 0x00000080",  # noqa: E501
                " " + " ".join(f"ffff{rng.getrandbits(48):012x}" for _ in range(4))]  # fmt: skip
    if not k.at_least(5, 0):
        return [f"{p.name:<15} D    0 {p.pid:>5} {ppid:>6} 0x80000000"]
    if not k.at_least(6, 0):
        return [
            f"task:{p.name:<15} state:D stack:    0 pid:{p.pid:>5} ppid:{ppid:>6} flags:0x00004000"
        ]
    tgid = f" tgid:{p.pid:<5}" if k.at_least(6, 6) else ""
    return [
        f"task:{p.name:<15} state:D stack:0     pid:{p.pid:<5}{tgid} ppid:{ppid:<6} flags:0x00004000"  # noqa: E501
    ]


def hung_task(rng: random.Random, h: Host, t: float, *, wait: str, panic: bool = False) -> Event:
    """``INFO: task NAME:PID blocked for more than N seconds.`` for a task waiting on
    ``storage``, ``nfs``, ``iscsi`` or in ``reclaim``; before it what it waited on."""
    k = h.kernel
    pre: list[str] = []
    if wait == "storage":
        if rng.random() < 0.5:
            dev = rng.choice(("sda1", "vda1", "dm-0", "nvme0n1p2", "sdb1"))
            p = _kthread(f"jbd2/{dev}-8", rng)
            stack = _JBD2
        else:
            p = rng.choice([x for x in h.procs if x.rss > 5000] or list(h.procs))
            stack = _STORAGE_USER
        disk = rng.choice(("sdb", "sdc", "sda"))
        pre = [f"sd {rng.randint(0, 6)}:0:0:{rng.randint(0, 3)}: [{disk}] tag#{rng.randint(0, 60)} "
               "FAILED Result: hostbyte=DID_TIME_OUT driverbyte=DRIVER_OK",
               f"blk_update_request: I/O error, dev {disk}, sector {rng.randint(10**5, 10**9)} op 0x1:(WRITE) flags 0x800 phys_seg 1 prio class 0"][: rng.randint(0, 2)]  # fmt: skip # noqa: E501
    elif wait == "nfs":
        p = rng.choice([x for x in h.procs if x.rss > 5000] or list(h.procs))
        stack = _NFS
        server = rng.choice(("nas01", "filer2", "10.0.4.20", "storage.internal"))
        pre = [f"nfs: server {server} not responding, still trying"] * rng.randint(1, 3)
    elif wait == "iscsi":
        p = _kthread(f"kworker/{rng.randrange(h.cpus)}:{rng.randint(0, 3)}", rng)
        stack = _ISCSI
        c = rng.randint(1, 4)
        pre = [f" connection{c}:0: ping timeout of 5 secs expired, recv timeout 5, last rx "
               f"{rng.getrandbits(32)}, last ping {rng.getrandbits(32)}, now {rng.getrandbits(32)}",
               f" connection{c}:0: detected conn error (1022)",
               f" session{c}: session recovery timed out after 120 secs"]  # fmt: skip
    else:
        p = rng.choice((_kthread("kthreadd", rng), _kthread("khugepaged", rng),
                        rng.choice(h.procs)))  # fmt: skip
        if p.name == "kthreadd":
            p = replace(p, pid=2)
        stack = _RECLAIM
        if k.at_least(4, 13) and not k.at_least(5, 0):
            pre = [f"{p.name}: page allocation stalls for {rng.randint(10000, 90000)}ms, "
                   "order:0, mode:0x14200ca(GFP_HIGHUSER_MOVABLE), nodemask=(null)"]  # fmt: skip
        else:
            pre = [
                f"{p.name}: page allocation failure: order:0, mode:0x{rng.choice(('40cc0', '1100cca', '8c40'))}(GFP_KERNEL|__GFP_COMP), nodemask=(null),cpuset=/,mems_allowed=0"  # noqa: E501
            ]
    seconds = (
        rng.choice((120, 120, 120, 241, 362, 480, 600))
        if wait != "reclaim"
        else rng.choice((120, 122, 245))
    )
    taint = rng.choice(("Not tainted", "Tainted: G           OE", "Tainted: P           O"))
    lines = [f"INFO: task {p.name}:{p.pid} blocked for more than {seconds} seconds.",
             f"      {taint} {k.release} {build_tag(k)}",
             '"echo 0 > /proc/sys/kernel/hung_task_timeout_secs" disables this message.']  # fmt: skip # noqa: E501
    lines += _task_line(k, p, 2 if p.uid == 0 and p.rss == 0 else 1, rng)
    lines += call_trace(k, ["__schedule", "schedule", *stack], rng)
    cls = CrashClass.MEMORY_EXHAUSTION if wait == "reclaim" else None
    kind = None if wait == "reclaim" else CauseKind.NOT_MEMORY
    crash = CrashType.HUNG_TASK
    if panic:
        watcher = _kthread("khungtaskd", rng)
        lines += panic_lines(h, watcher, rng.randrange(h.cpus), "hung_task: blocked tasks", rng,
                             stack=("watchdog", "kthread", "ret_from_fork"))  # fmt: skip
        crash = CrashType.KERNEL_PANIC
    msgs = _msgs(t - rng.uniform(30, seconds), pre, rng) + _msgs(t, lines, rng)
    return Event(msgs, Expect(crash, cls, victim=p.name, root_cause_kind=kind), p.pid)


_DRIVER_SPIN = ("mlx5e_poll_tx_cq [mlx5_core]", "i40e_clean_rx_irq [i40e]", "nvme_poll_cq [nvme]",
                "megasas_complete_cmd [megaraid_sas]", "bnxt_poll [bnxt_en]", "tg3_poll [tg3]")  # fmt: skip # noqa: E501


def soft_lockup(rng: random.Random, h: Host, t: float, *, where: str, panic: bool = False) -> Event:
    """``BUG: soft lockup - CPU#N stuck for Ns! [comm:pid]`` in ``kswapd`` (reclaim),
    ``spin`` (a core lock) or ``driver`` (a module's poll loop)."""
    k = h.kernel
    cpu = rng.randrange(h.cpus)
    module = None
    if where == "kswapd":
        p = Proc(rng.randint(60, 200), 0, f"kswapd{rng.randint(0, 1)}", 0, 0)
        rip = "shrink_page_list" if not k.at_least(5, 16) else "shrink_folio_list"
        stack = ["shrink_inactive_list", "shrink_node_memcg" if not k.at_least(5, 0) else "shrink_lruvec",  # noqa: E501
                 "shrink_node", "balance_pgdat", "kswapd", "kthread", "ret_from_fork"]  # fmt: skip
        cls = CrashClass.MEMORY_EXHAUSTION
    elif where == "driver":
        p = rng.choice((Proc(rng.randint(10, 90), 0, f"ksoftirqd/{cpu}", 0, 0), workload(rng, h)))
        rip = rng.choice(_DRIVER_SPIN)
        module = rip.split("[")[1].rstrip("]")
        stack = [rip.replace("_poll_tx_cq", "_napi_poll").replace("clean_rx_irq", "napi_poll"),
                 "net_rx_action", "__do_softirq", "irq_exit_rcu", "common_interrupt"]  # fmt: skip
        cls = CrashClass.DRIVER
    else:
        p = rng.choice(
            (
                workload(rng, h),
                Proc(rng.randint(10, 900), 0, f"kworker/{cpu}:{rng.randint(0, 3)}", 0, 0),
            )
        )
        rip = "native_queued_spin_lock_slowpath"
        stack = ["_raw_spin_lock", "smp_call_function_many_cond", "on_each_cpu_cond_mask",
                 "flush_tlb_mm_range", "tlb_finish_mmu", "unmap_region", "__do_munmap",
                 "__vm_munmap", "__x64_sys_munmap", "do_syscall_64"]  # fmt: skip
        cls = CrashClass.KERNEL
    seconds = rng.choice((22, 23, 23, 26, 48, 82))
    prefix = "watchdog: " if k.at_least(4, 14) else ("NMI watchdog: " if k.at_least(4, 0) else "")
    lines = [f"{prefix}BUG: soft lockup - CPU#{cpu} stuck for {seconds}s! [{p.name}:{p.pid}]",
             modules(rng, module)]  # fmt: skip
    if not k.at_least(3, 10):
        lines.append(f"CPU {cpu} ")
        lines.append(modules(rng, module))
    lines += header(h, p, cpu, taint="Tainted: G             L")
    lines += registers(k, rip, rng)
    lines += call_trace(k, stack, rng)
    crash = CrashType.SOFT_LOCKUP
    if panic:
        lines += panic_lines(h, p, cpu, "softlockup: hung tasks", rng,
                             stack=("watchdog_timer_fn", "__hrtimer_run_queues",
                                    "hrtimer_interrupt"))  # fmt: skip
        crash = CrashType.KERNEL_PANIC
    return Event(_msgs(t, lines, rng), Expect(crash, cls, victim=p.name), p.pid)


def hard_lockup(rng: random.Random, h: Host, t: float, *, panic: bool = False) -> Event:
    """``Watchdog detected hard LOCKUP on cpu N``, in the core or a module's function."""
    k = h.kernel
    cpu = rng.randrange(h.cpus)
    p = Proc(0, 0, f"swapper/{cpu}", 0, 0) if rng.random() < 0.5 else workload(rng, h)
    driver = rng.random() < 0.35
    rip = rng.choice(_DRIVER_SPIN) if driver else "native_queued_spin_lock_slowpath"
    lines = []
    if k.at_least(4, 0):
        lines.append(f"NMI watchdog: Watchdog detected hard LOCKUP on cpu {cpu}")
        lines.append(modules(rng, rip.split("[")[1].rstrip("]") if driver else None))
        lines += header(h, p, cpu)
    else:
        lines.append(f"WARNING: CPU: {cpu} PID: {p.pid} at kernel/watchdog.c:{rng.randint(240, 330)} "  # noqa: E501
                     "watchdog_overflow_callback+0x98/0xc0()")  # fmt: skip
        lines.append(f"Watchdog detected hard LOCKUP on cpu {cpu}")
        lines.append(modules(rng, rip.split("[")[1].rstrip("]") if driver else None))
        lines += header(h, p, cpu)
    lines += registers(k, rip, rng)
    lines += call_trace(k, [rip, "_raw_spin_lock_irqsave", "__wake_up_common_lock",
                            "irq_work_run", "flush_smp_call_function_queue"], rng)  # fmt: skip
    crash = CrashType.HARD_LOCKUP
    if panic:
        reason = (
            "Hard LOCKUP" if rng.random() < 0.5 else f"Watchdog detected hard LOCKUP on cpu {cpu}"
        )
        lines += panic_lines(h, p, cpu, reason, rng,
                             stack=("nmi_panic", "watchdog_overflow_callback", "perf_event_overflow"))  # fmt: skip # noqa: E501
        crash = CrashType.KERNEL_PANIC
    cls = CrashClass.DRIVER if driver else None
    return Event(_msgs(t, lines, rng), Expect(crash, cls))


def rcu_stall(rng: random.Random, h: Host, t: float) -> Event:
    """An RCU CPU stall report as the generation words it; sometimes with the kthread
    starvation lines that end "OOM is now expected behavior"."""
    k = h.kernel
    cpu = rng.randrange(h.cpus)
    flavour = "rcu_preempt" if k.distro in ("fedora", "arch") or rng.random() < 0.3 else "rcu_sched"
    jiffies = rng.choice((21002, 15003, 60006, 5252, 84007))
    if not k.at_least(3, 10):
        lines = [f"INFO: {flavour}_state detected stall on CPU {cpu} (t={jiffies} jiffies)"]
    else:
        pre = "rcu: " if k.at_least(5, 0) else ""
        lines = [f"{pre}INFO: {flavour} detected stalls on CPUs/tasks:",
                 f"{pre}\t{cpu}-...!: (1 GPs behind) idle={rng.getrandbits(12):x}/1/0x4000000000000000 "  # noqa: E501
                 f"softirq={rng.randint(10**5, 10**7)}/{rng.randint(10**5, 10**7)} fqs={rng.randint(0, 9000)}",  # noqa: E501
                 f"\t(detected by {(cpu + 1) % h.cpus}, t={jiffies} jiffies, g={rng.randint(10**5, 10**8)}, "  # noqa: E501
                 f"q={rng.randint(100, 90000)})",
                 f"Task dump for CPU {cpu}:"]  # fmt: skip
        if k.at_least(4, 15) and rng.random() < 0.5:
            lines += [f"{pre}{flavour} kthread starved for {jiffies} jiffies! g{rng.randint(10**5, 10**8)} "  # noqa: E501
                      "f0x0 RCU_GP_WAIT_FQS(5) ->state=0x402 ->cpu=" + str(cpu),
                      f"{pre}\tUnless {flavour} kthread gets sufficient CPU time, OOM is now expected behavior.",  # noqa: E501
                      f"{pre}RCU grace-period kthread stack dump:"]  # fmt: skip
    lines += header(h, workload(rng, h), cpu)
    lines += call_trace(k, ["__schedule", "schedule", "rcu_gp_fqs_loop", "rcu_gp_kthread", "kthread",  # noqa: E501
                            "ret_from_fork"], rng)  # fmt: skip
    return Event(_msgs(t, lines, rng), Expect(CrashType.RCU_STALL))
