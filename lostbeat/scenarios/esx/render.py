"""A :class:`Panic` written down: the purple screen, the vmkernel log that ends in it, the log
``vmkdump_extract`` gets from the zdump, and 8.0 Update 3's ``LogEFI.log``.

Each line is tagged with its part (``header``, ``message``, ``detail``, ``regs``, ``pcpus``,
``uptime``, ``saved``, ``frame``, ``tail``, ``log``) so that the paste forms (``forms.py``) can
cut a screen where people cut it. Layouts follow public screens of each era (classic 3.x/4.x:
registers, the world per PCPU, ``@BlueScreen:`` and the last log lines; ESXi 5+: ``cr0=``,
``*PCPU``, the PCPU state line, ``Code start: ... VMK uptime:``, the frames, the dump lines);
register values and addresses are drawn.

Examples:
    >>> import random
    >>> from lostbeat.scenarios.esx.panic import draw
    >>> from lostbeat.scenarios.esx.releases import RELEASES
    >>> p = draw(random.Random(1), "exception", RELEASES[3620759])
    >>> lines = screen(p, random.Random(2))
    >>> lines[0].text
    'VMware ESXi 6.0.0 [Releasebuild-3620759 x86_64]'
    >>> lines[1].part
    'message'
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass

from lostbeat.scenarios.esx.panic import Frame, Panic, hexa, world_id
from lostbeat.scenarios.esx.releases import Release
from lostbeat.scenarios.screens import uptime_text

__all__ = ["Line", "frame_text", "log_prefix", "logefi", "prefix", "screen", "vmkernel_log"]


@dataclass(frozen=True, slots=True)
class Line:
    part: str
    text: str


def frame_text(p: Panic, f: Frame, rng: random.Random, *, sp: bool = True) -> str:
    """One backtrace frame as the era prints it."""
    wide = p.release.wide
    where = f"[{_code(p, rng)}]"
    if not p.release.modules_in_frames:
        name = f"{f.function}+{f.offset:#x}"
    else:
        module = f"({f.module})" if f.native else f.module
        name = f"{f.function}@{module}#{f.version}+{f.offset:#x}"
    stack = ", ".join(hexa(rng, rng.choice((1, 8, 12))) for _ in range(rng.choice((1, 1, 3, 5))))
    if not wide:
        stack = "0x0, 0x0, 0x0"
    head = f"{_stack_addr(p, rng)}:" if sp else ""
    return f"{head}{where}{name} stack: {stack}"


def _code(p: Panic, rng: random.Random) -> str:
    if not p.release.wide:
        return hexa(rng, 7)
    base = 0x418000000000 if p.release.major < 7 else 0x420000000000
    return f"0x{base + rng.getrandbits(30):x}"


def _stack_addr(p: Panic, rng: random.Random) -> str:
    if not p.release.wide:
        return hexa(rng, 5)
    base = 0x412200000000 if p.release.major < 7 else 0x453900000000
    return f"0x{base + rng.getrandbits(32):x}"


def _registers(p: Panic, rng: random.Random) -> list[str]:
    if not p.release.wide:
        return [
            f"frame={hexa(rng, 7)} ip={hexa(rng, 8)} cr2={hexa(rng, 8)} cr3={hexa(rng, 8)} "
            "cr4=0x6f0",
            f"es={hexa(rng, 8)} ds={hexa(rng, 6)} fs=0x0 gs=0x0",
            f"eax={hexa(rng, 5)} ebx={hexa(rng, 8)} ecx={hexa(rng, 8)} edx={hexa(rng, 8)}",
            f"ebp={hexa(rng, 5)} esi={hexa(rng, 8)} edi={hexa(rng, 5)} err=0 eflags=0x0",
        ]
    regs = ["rax", "rbx", "rcx", "rdx", "rbp", "rsi", "rdi", "r8", "r9", "r10", "r11", "r12",
            "r13", "r14", "r15"]  # fmt: skip
    out = []
    if p.release.major >= 5:
        out.append(
            f"cr0=0x8001003d cr2={hexa(rng, 9)} cr3={hexa(rng, 8)} cr4=0x{rng.choice(('216c', '42768', '14216c'))}"  # noqa: E501
        )
    out.append(f"frame={hexa(rng, 12)} ip={hexa(rng, 12)} err={rng.choice(('0', '0x2', '0x10'))} "
               f"rflags=0x{rng.choice(('10206', '10246', '10286'))}")  # fmt: skip
    for i in range(0, len(regs), 3):
        out.append(" ".join(f"{r}={hexa(rng, rng.choice((1, 9, 12)))}" for r in regs[i : i + 3]))
    return out


def _pcpu_lines(p: Panic, rng: random.Random) -> list[str]:
    if p.release.major <= 4:
        cells = [
            f"{'*' if cpu == p.pcpu else ''}{cpu}:{p.world if cpu == p.pcpu else 4096 + cpu}/"
            f"{p.world_name[:10] if cpu == p.pcpu else ('console' if cpu == 0 else f'idle{cpu}')}"
            for cpu in range(min(p.pcpus, 8))
        ]
        return [" ".join(cells[i : i + 4]) for i in range(0, len(cells), 4)]
    states = "".join(rng.choice("SSVVVUU") for _ in range(p.pcpus))
    rows = [f"*PCPU{p.pcpu}:{p.world}/{p.world_name}"]
    for start in range(0, p.pcpus, 32):
        rows.append(f"PCPU{start:>3}: {states[start : start + 32]}")
    return rows


def _dump_tail(p: Panic) -> list[str]:
    if p.release.major <= 4:
        return ["Starting coredump to disk Dumping using slot 1 of 1... log"]
    return [
        "Coredump to disk. Slot 1 of 1 on device mpx.vmhba32:C0:T0:L0:9.",
        "Finalized dump header (13/13) DiskDump: Successful.",
        "No file configured to dump data.",
        'No port for remote debugger. "Escape" for local debugger.',
    ]


def screen(p: Panic, rng: random.Random) -> list[Line]:
    """The purple screen, top to bottom."""
    out = [Line("header", p.release.header()), Line("message", p.message)]
    out += [Line("detail", d) for d in p.details]
    out += [Line("regs", r) for r in _registers(p, rng)]
    out += [Line("pcpus", r) for r in _pcpu_lines(p, rng)]
    up = uptime_text(p.uptime_s)
    if p.release.major <= 4:
        out.append(Line("message", f"@BlueScreen: {p.message}"))
        out += [Line("frame", frame_text(p, f, rng)) for f in p.frames]
        out.append(Line("uptime", f"VMK uptime: {up} TSC: {int(p.uptime_s * 2.4e9)}"))
        for text in p.warnings[-3:]:
            out.append(Line("log", f"{up} cpu{p.pcpu}:{p.world}){text}"))
    else:
        out.append(Line("uptime", f"Code start: {_code(p, rng)[:-5]}00000 VMK uptime: {up}"))
        if p.saved_from:
            out.append(Line("saved", f"Saved backtrace from: {p.saved_from}"))
        out += [Line("frame", frame_text(p, f, rng)) for f in p.frames]
        out.append(Line("tail", f"base fs=0x0 gs={hexa(rng, 12)} Kgs=0x0"))
    out += [Line("tail", t) for t in _dump_tail(p)]
    return out


def prefix(r: Release, at: float, uptime: float, cpu: int, world: int | str, *, host: str) -> str:
    """What stands before (and with) ``cpuN:W)`` in release ``r``'s vmkernel log at epoch
    ``at``, the VMkernel being up for ``uptime`` seconds: ``2021-10-20T03:11:41.679Z cpu0:2352732)``
    on ESXi 5+ (with ``In(182) vmkernel:`` on 8.0 Update 3), ``Mar 6 17:31:16 esx01 vmkernel:
    15:07:33:10.284 cpu2:4245)`` in ESX 3.x/4.x syslog."""
    when = dt.datetime.fromtimestamp(at, dt.UTC)
    if r.iso_logs:
        iso = f"{when:%Y-%m-%dT%H:%M:%S}.{int(at * 1000) % 1000:03}Z"
        vmk = " In(182) vmkernel: " if r.syslog_header else " "
        return f"{iso}{vmk}cpu{cpu}:{world})"
    stamp = f"{when:%b} {when.day} {when:%H:%M:%S}"
    return f"{stamp} {host} vmkernel: {uptime_text(max(1.0, uptime))} cpu{cpu}:{world})"


def log_prefix(p: Panic, at: float, cpu: int, world: int | str, *, end: float, host: str) -> str:
    """:func:`prefix` for a line of ``p``'s log at ``at``, the panic being at ``end``."""
    return prefix(p.release, at, p.uptime_s - (end - at), cpu, world, host=host)


def vmkernel_log(
    p: Panic, rng: random.Random, *, end: int, host: str, noise: list[tuple[float, str]]
) -> list[Line]:
    """The vmkernel log up to the panic at epoch ``end``: ``noise`` (epoch, text) and the
    warnings before, then the panic's own lines, stamped as the era stamps them."""
    rows: list[tuple[float, str]] = list(noise)
    for i, text in enumerate(p.warnings):
        rows.append((end - (len(p.warnings) - i) * rng.uniform(2, 40), text))
    rows.sort()
    out = []
    for at, text in rows:
        cpu, world = rng.randrange(p.pcpus), world_id(rng, p.release)
        out.append(Line("log", log_prefix(p, at, cpu, world, end=end, host=host) + text))
    at = float(end)

    def pre() -> str:
        nonlocal at
        at += rng.uniform(0.001, 0.02)
        return log_prefix(p, at, p.pcpu, p.world, end=end, host=host)

    if p.kind == "another_cpu" and p.release.iso_logs and p.saved_from:
        out.append(Line("message", f"{pre()}Panic: {rng.choice((589, 603))}: Panic from another "
                    f"CPU (cpu {p.pcpu}, world {p.world}): ip={hexa(rng, 12)} "
                    f"randomOff={hexa(rng, 7)}:"))  # fmt: skip
        out += [Line("detail", w) for w in p.warnings if "no heartbeat" in w][-1:]
        out.append(Line("saved", f"{pre()}Panic: 767: Saved backtrace: {p.saved_from}"))
        out += [Line("frame", f"{pre()}{p.saved_from}: {frame_text(p, f, rng)}") for f in p.frames]
        return out
    out.append(Line("message", f"{pre()}@BlueScreen: {p.message}"))
    out += [Line("detail", f"{pre()}{d}") for d in p.details]
    out.append(Line("uptime", f"{pre()}Code start: {_code(p, rng)[:-5]}00000 VMK uptime: "
                              f"{uptime_text(p.uptime_s)}"))  # fmt: skip
    if p.saved_from:
        out.append(Line("saved", f"{pre()}Saved backtrace from: {p.saved_from}"))
    out += [Line("frame", f"{pre()}{frame_text(p, f, rng)}") for f in p.frames]
    if p.release.major >= 5:
        out.append(Line("tail", f"{pre()}base fs=0x0 gs={hexa(rng, 12)} Kgs=0x0"))
    return out


def logefi(p: Panic, rng: random.Random, *, end: int) -> list[Line]:
    """``/var/run/log/LogEFI.log`` of an 8.0 Update 3 host after the panic (KB 426284's
    form): the header, the message without ``@BlueScreen:``, the module line, registers,
    the PCPU lines and the frames."""
    when = dt.datetime.fromtimestamp(end, dt.UTC)
    pid = rng.randint(2098000, 2099999)
    ms = rng.randint(100, 900)

    def cpu() -> str:
        return f"{when:%Y-%m-%dT%H:%M:%S}.{ms:03}Z In(14) LogEFI: cpu{p.pcpu}:{p.world})"

    def own() -> str:
        return f"{when:%Y-%m-%dT%H:%M:%S}.{ms + 64:03}Z In(14) LogEFI[{pid}]: "

    out = [Line("header", cpu() + p.release.header()), Line("message", own() + p.message)]
    out += [Line("detail", own() + d) for d in p.details]
    out += [Line("regs", cpu() + r) for r in _registers(p, rng)]
    out += [Line("pcpus", own() + r) for r in _pcpu_lines(p, rng)]
    out.append(Line("uptime", f"{cpu()}Code start: {_code(p, rng)[:-5]}00000 VMK uptime: "
                              f"{uptime_text(p.uptime_s)}"))  # fmt: skip
    out += [Line("frame", cpu() + frame_text(p, f, rng)) for f in p.frames]
    return out
