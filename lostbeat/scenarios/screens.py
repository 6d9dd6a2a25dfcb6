"""Purple screens and the VMkernel log kept in the zdump (esx-artifacts.md §2.2, §2.4).

The lost-heartbeat screen follows KB 308590's verbatim example: the header with the build,
the message, the register dump, the world per PCPU, ``@BlueScreen:``, the backtrace, ``VMK
uptime``, the last log lines (``VMNIX: ALERT: HB: 365: Lost heartbeat (comm=.. pid=.. t=..
to=30 clt=1).`` once a minute, then ``Host: 4781: COS Error: Lost heartbeat``) and the dump
progress. Look-alikes: COS Oops (KB 1006802), COS Panic (KB 1016070), PCPU lockup
(KB 1004250, with KB 430676's PCPU heartbeat warnings), ``#PF Exception(14)`` (KB 2012404),
``NOT_IMPLEMENTED ... util.c:83`` (KB 1016239).

The ``HB: 365`` / ``Host: 4781`` numbers are those of the 3.5 examples; on 4.x they are not
known, so other numbers are used there (unverified: source line numbers change by build).
The 4.x header ``VMware ESX 4.0.0 [Releasebuild-N]`` is unverified too (§2.3).

Examples:
    >>> uptime_text(3679438.308)
    '42:14:03:58.308'
"""

from __future__ import annotations

import random
from dataclasses import dataclass, replace

__all__ = ["Crash", "ScreenLog", "crash_screen", "uptime_text"]


def uptime_text(seconds: float) -> str:
    """VMkernel uptime as the screen and log print it: ``D:HH:MM:SS.mmm``."""
    ms = int(round(seconds * 1000))
    s, ms = divmod(ms, 1000)
    m, s = divmod(s, 60)
    h, m = divmod(m, 60)
    d, h = divmod(h, 24)
    return f"{d}:{h:02}:{m:02}:{s:02}.{ms:03}"


@dataclass(frozen=True, slots=True)
class Crash:
    """What the screen and the zdump log must show."""

    kind: str
    """lost_heartbeat, cos_oops, cos_panic, pcpu_lockup, pf_exception, not_implemented."""
    build: int
    family: str
    at_uptime: float
    """VMkernel uptime of the COS error / bluescreen line."""
    pcpus: int
    alerts: tuple[tuple[int, str, int], ...] = ()
    """Lost heartbeat: (t, comm, pid) once a minute, ending with t=30."""
    core_target: str | None = None
    """Where the COS core is dumped (``Dump: ... Dumping core to '...'``), if configured."""
    oops_process: tuple[str, int] = ("esxcfg-rescan", 3215)


@dataclass(frozen=True, slots=True)
class ScreenLog:
    screen: list[str]
    log: list[str]
    """``root/vmkernel-log.1`` as ``vmkdump -l`` extracts it."""


def _hex(rng: random.Random, digits: int) -> str:
    return f"0x{rng.getrandbits(digits * 4):x}"


def _message(c: Crash, rng: random.Random) -> str:
    if c.kind == "lost_heartbeat":
        return "Lost heartbeat"
    if c.kind == "cos_oops":
        return "Oops"
    if c.kind == "cos_panic":
        return rng.choice(
            (
                "COS Panic: Int3 @ mp_register_ioapic",
                "COS Panic: Attempted to kill init!",
                "COS Panic: Aiee, killing interrupt handler!",
            )
        )
    if c.kind == "pcpu_lockup":
        return f"PCPU {rng.randrange(1, c.pcpus)} locked up. Failed to ack TLB invalidate."
    if c.kind == "pf_exception":
        world = rng.choice(("helper1-0", "helper11-2", "vmm0:VM", "idle3", "net-cdp"))
        addr = rng.choice(("0x0", "0x8", "0x1c", _hex(rng, 8)))
        return f"#PF Exception(14) in world {rng.randint(1030, 1400)}:{world} ip {_hex(rng, 7)} addr {addr}"  # noqa: E501
    return f"NOT_IMPLEMENTED /build/mts/release/bora-{c.build}/bora/vmkernel/main/util.c:83"


def _registers(rng: random.Random, wide: bool) -> list[str]:
    d = 12 if wide else 8
    return [
        f"frame={_hex(rng, 7)} ip={_hex(rng, d)} cr2={_hex(rng, d)} cr3={_hex(rng, 8)} cr4=0x6f0",
        f"es={_hex(rng, 8)} ds={_hex(rng, 6)} fs=0x0 gs=0x0",
        f"eax={_hex(rng, 5)} ebx={_hex(rng, 8)} ecx={_hex(rng, 8)} edx={_hex(rng, 8)}",
        f"ebp={_hex(rng, 5)} esi={_hex(rng, 8)} edi={_hex(rng, 5)} err=0 eflags=0x0",
    ]


def _worlds(rng: random.Random, pcpus: int, star: int) -> list[str]:
    names = ("vmware-vm", "vcpu-0:VM", "mks:VM123", "vmm0:VMAB", "Worker#0:", "helper1-0")
    cells = []
    for cpu in range(pcpus):
        name = "console" if cpu == 0 else rng.choice((*names, f"idle{cpu}"))
        world = 1024 if cpu == 0 else rng.randint(1025, 1400)
        cells.append(f"{'*' if cpu == star else ''}{cpu}:{world}/{name}")
    return [" ".join(cells[i : i + 4]) for i in range(0, len(cells), 4)]


def _numbers(family: str) -> tuple[int, int, int]:
    """(HB alert line, Host COS error line, Dump line) numbers of the build family."""
    return (365, 4781, 354) if family == "3.5" else (427, 5193, 389)


_BOOT = (
    "Init: 1054: Initializing VMkernel",
    "Mem: 1432: Low memory reserved for the Service Console",
    "Mod: 936: Starting load for module: vmklinux",
    "Mod: 1212: Initialization for vmklinux succeeded",
    "Host: 2563: Console OS memory allocation",
)
_KERNEL_24 = "2.4.21-47.0.1.ELvmnix/i686"  # KB 1006802's Oops example
_KERNEL_26 = "2.6.18-128.ESX"  # 4.x COS kernel string: unverified (§2.3: 2.6-based)


def _noise(rng: random.Random, uptime: float, c: Crash, volume: str) -> str:
    cpu = rng.randrange(c.pcpus)
    world = 1024 if cpu == 0 and rng.random() < 0.5 else rng.randint(1025, 1400)
    lun = rng.randint(0, 12)
    text = rng.choice(
        (
            f"Alloc: vm {world}: {rng.randint(2000, 9000)}: Regular swap file bitmap checks out.",
            f"World: vm {world}: 900: Starting world vmm0:{rng.choice(('VM', 'vm'))}{lun:02} "
            "with flags 8",
            f"SCSI: 8043: vmhba1:0:{lun}:0 status = 2/0 0x6 0x29 0x0",
            f"StorageMonitor: 196: vmhba1:0:{lun}:0 status = 2/0 0x6 0x2a 0x1",
            f"VSCSI: 2803: Reset request on handle {rng.randint(8190, 8300)} "
            "(0 outstanding commands)",
            f"Migrate: 1286: {rng.getrandbits(40)} D: Migration cleanup started.",
            "<6>Debug scsi underrun",
            f"FS3: 4828: Reclaimed heartbeat for volume {volume}: [Timeout] "
            f"[HB state abcdef02 offset {rng.randint(3000000, 4000000)} gen 5]",
            f"Tcpip_Vmk: 1120: vmk0: set ip {rng.randint(10, 200)}.{lun}.0.{world % 250} failed",
            f'Config: 414: "VMOverheadGrowthLimit" = {rng.randint(0, 9)}, Old Value: -1, '
            "(Status: 0x0)",
        )
    )
    return f"{uptime_text(uptime)} cpu{cpu}:{world}){text}"


def _cos_stack(c: Crash, rng: random.Random, *, memory: bool) -> list[str]:
    name, pid = c.oops_process
    if c.family == "3.5":
        funcs = (
            ("refill_inactive_zone", "rebalance_inactive", "do_try_to_free_pages", "alloc_pages")
            if memory
            else ("kmem_cache_alloc", "scsi_scan_host", "proc_scsi_write", "sys_write")
        )
        out = [
            "Stack trace from cos log:",
            f"<4>EIP:    0060:[<{_hex(rng, 8)[2:]}>]    Not tainted",
            "<4>EFLAGS: 00010246",
            f"<4>EIP is at {funcs[0]} [kernel] {_hex(rng, 3)} ({_KERNEL_24})",
            f"<4>Process {name} (pid: {pid}, stackpage={_hex(rng, 8)[2:]})",
            f"<4>Call Trace:   [<{_hex(rng, 8)[2:]}>] {funcs[1]} [kernel] {_hex(rng, 2)} "
            f"({_hex(rng, 8)})",
        ]
        out += [f"<4>[<{_hex(rng, 8)[2:]}>] {f} [kernel] {_hex(rng, 2)}" for f in funcs[2:]]
        return out
    funcs = (
        ("shrink_inactive_list", "shrink_zone", "try_to_free_pages", "__alloc_pages")
        if memory
        else ("kmem_cache_alloc", "scsi_scan_target", "store_scan", "vfs_write")
    )
    return [
        "Stack trace from cos log:",
        f"<4>RIP: 0010:[<ffffffff{_hex(rng, 8)[2:]}>]  {funcs[0]}+{_hex(rng, 2)}/{_hex(rng, 3)}",
        f"<4>Process {name} (pid: {pid}, threadinfo ffff8100{_hex(rng, 8)[2:]})",
        "<4>Call Trace:",
        *(
            f"<4> [<ffffffff{_hex(rng, 8)[2:]}>] {f}+{_hex(rng, 2)}/{_hex(rng, 3)}"
            for f in funcs[1:]
        ),
    ]


def crash_screen(c: Crash, rng: random.Random, *, span_s: float, volume: str) -> ScreenLog:
    """The purple screen and the zdump's VMkernel log of one crash.

    Args:
        c: the crash.
        rng: the incident's random source.
        span_s: how much log before the crash the zdump keeps.
        volume: a VMFS volume UUID for the noise lines.
    """
    hb_line, host_line, dump_line = _numbers(c.family)
    message = _message(c, rng)
    t = max(1.0, c.at_uptime - span_s)
    events: list[tuple[float, str]] = []
    boot = list(_BOOT) if c.at_uptime < 120 else []
    while t < c.at_uptime - 1:
        text = f"{uptime_text(t)} cpu0:1024){boot.pop(0)}" if boot else _noise(rng, t, c, volume)
        events.append((t, text))
        t += rng.uniform(0.5, 4) if boot else rng.expovariate(1 / 150.0) + 0.5
    if c.kind == "lost_heartbeat":
        for minutes, comm, pid in c.alerts:
            at = c.at_uptime - (30 - minutes) * 60.0 - 0.161 - rng.uniform(0, 0.012)
            events.append(
                (at, f"{uptime_text(at)} cpu0:1024)VMNIX: ALERT: HB: {hb_line}: Lost heartbeat "
                     f"(comm={comm} pid={pid} t={minutes} to=30 clt=1).")
            )  # fmt: skip
    if c.kind == "pcpu_lockup":
        cpu = message.split()[1]
        for k, secs in enumerate((8, 10, 12)):
            at = c.at_uptime - 6 + 2 * k
            events.append(
                (at, f"{uptime_text(at)} cpu0:1024)WARNING: Heartbeat: 961: PCPU {cpu} didn't "
                     f"have a heartbeat for {secs} seconds. *may* be locked up.")
            )  # fmt: skip
    events.sort()
    log = [text for _, text in events]
    star = 0 if c.kind.startswith(("lost", "cos")) else rng.randrange(c.pcpus)
    stamp = uptime_text(c.at_uptime)
    if c.kind in ("lost_heartbeat", "cos_oops"):
        log.append(f"{stamp} cpu0:1024)Host: {host_line}: COS Error: {message}")
    elif c.kind == "cos_panic":
        log.append(f"{stamp} cpu0:1024)Host: {host_line}: {message}")
    else:
        log.append(f"{stamp} cpu{star}:{rng.randint(1025, 1300)})@BlueScreen: {message}")
    if c.core_target and c.kind.startswith(("lost", "cos")):
        log.append(
            f"{uptime_text(c.at_uptime + 0.009)} cpu{rng.randrange(c.pcpus)}:"
            f"{rng.randint(1030, 1060)})Dump: {dump_line}: Dumping core to '{c.core_target}'"
        )
    header = (
        f"VMware ESX Server [Releasebuild-{c.build}]"
        if c.family == "3.5"
        else f"VMware ESX {c.family}.0 [Releasebuild-{c.build}]"
    )
    screen = [header, message, *_registers(rng, c.family != "3.5"), *_worlds(rng, c.pcpus, star)]
    screen.append(f"@BlueScreen: {message}")
    func = {"lost_heartbeat": "blk_dev", "pcpu_lockup": "TLB_Flush"}.get(c.kind, "Util_Udelay")
    for _ in range(rng.randint(1, 3)):
        screen.append(f"{_hex(rng, 5)}:[{_hex(rng, 8)}]{func}+{_hex(rng, 8)} stack: 0x0, 0x0, 0x0")
        func = rng.choice(("IDT_HandleInterrupt", "Host_Heartbeat", "Timer_BHHandler", "BH_Check"))
    shown = c.at_uptime + rng.uniform(0.2, 30.0)
    screen.append(f"VMK uptime: {uptime_text(shown)} TSC: {int(shown * 2992.5e6)}")
    tail = [line for line in log if "Dump:" not in line]
    screen += tail[-rng.randint(2, 4) :]
    if c.kind in ("cos_oops", "cos_panic"):
        screen += _cos_stack(c, rng, memory=False)
    elif c.kind == "lost_heartbeat" and rng.random() < 0.4:  # whatever ran: not the culprit
        screen += _cos_stack(replace(c, oops_process=c.alerts[-1][1:]), rng, memory=True)
    screen.append(
        "Starting coredump to disk Starting coredump to disk Dumping using slot 1 of 1... "
        "using slot 1 of 1... log"
    )
    screen += [line for line in log if "Dump:" in line]
    return ScreenLog(screen, log)
