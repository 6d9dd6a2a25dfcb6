"""The pieces every kernel report shares, worded by generation: the ``CPU: N PID: N Comm:``
header, ``Hardware name:``, ``Modules linked in:``, the register block and the call trace
(``[<ffffffff810b6708>] ? func+0x7f/0x23f`` up to 4.14, ``func+0x7f/0x23f`` after, between
``<TASK>`` markers from 5.15; docs/reference/linux-logs.md §2).

Examples:
    >>> import random
    >>> from lostbeat.scenarios.linux.host import sample_host
    >>> h = sample_host(random.Random(3), gens=("6.1",))
    >>> call_trace(h.kernel, ["schedule"], random.Random(1))[:2]
    ['Call Trace:', ' <TASK>']
"""

from __future__ import annotations

import random

from lostbeat.scenarios.linux.host import Host, Kernel, Proc

__all__ = ["build_tag", "call_trace", "cpu_line", "header", "modules", "registers"]

_MODULES = ("xt_conntrack", "nf_nat", "nf_conntrack", "br_netfilter", "bridge", "stp", "llc",
            "overlay", "xfs", "ext4", "mbcache", "jbd2", "dm_mod", "sd_mod", "ahci", "libahci",
            "crct10dif_pclmul", "crc32_pclmul", "ghash_clmulni_intel", "virtio_net",
            "virtio_blk", "e1000e", "i40e", "mlx5_core", "nvme", "nvme_core", "ipmi_si",
            "iTCO_wdt", "intel_rapl_msr", "kvm_intel", "kvm", "irqbypass", "sunrpc", "nfsv4",
            "nfs", "lockd", "grace", "fscache", "megaraid_sas", "tg3", "bnxt_en")  # fmt: skip


def build_tag(k: Kernel) -> str:
    if k.distro == "ubuntu":
        return f"#{int(k.release.split('-')[1]) + 7}-Ubuntu"
    if k.distro == "debian":
        return f"#1 SMP Debian {k.gen}.{int(k.release.split('-')[1]) * 7 + 20}-1"
    return "#1 SMP PREEMPT_DYNAMIC" if k.distro == "arch" else "#1 SMP"


def cpu_line(h: Host, p: Proc, cpu: int, *, taint: str = "Not tainted") -> str:
    """The header under every report: who ran, on which kernel."""
    k = h.kernel
    if not k.at_least(3, 0):
        return f"Pid: {p.pid}, comm: {p.name} {taint} {k.release} {build_tag(k)}"
    uid = f"UID: {p.uid} " if k.at_least(6, 12) else ""
    return f"CPU: {cpu} {uid}PID: {p.pid} Comm: {p.name} {taint} {k.release} {build_tag(k)}"


def header(h: Host, p: Proc, cpu: int, *, taint: str = "Not tainted") -> list[str]:
    out = [cpu_line(h, p, cpu, taint=taint)]
    if h.kernel.at_least(3, 4):
        out.append(f"Hardware name: {h.hardware}")
    return out


def modules(rng: random.Random, extra: str | None = None) -> str:
    picked = rng.sample(_MODULES, rng.randint(8, 20))
    if extra and extra not in picked:
        picked.insert(rng.randrange(len(picked)), extra)
    return "Modules linked in: " + " ".join(picked)


def call_trace(k: Kernel, funcs: list[str], rng: random.Random) -> list[str]:
    """``funcs`` (innermost first) as the generation prints a stack; a ``[module]`` suffix in
    a name is kept after the offsets."""
    out = ["Call Trace:"]
    if k.at_least(5, 15):
        out.append(" <TASK>")
    for f in funcs:
        name, _, module = f.partition(" ")
        off, size = rng.randint(0x5, 0x2FF), rng.randint(0x300, 0xC00)
        tail = f" {module}" if module else ""
        if not k.at_least(4, 15):
            unsure = "? " if rng.random() < 0.15 else ""
            out.append(
                f" [<ffffffff{rng.getrandbits(32):08x}>] {unsure}{name}+{off:#x}/{size:#x}{tail}"
            )
        else:
            out.append(f" {name}+{off:#x}/{size:#x}{tail}")
    if k.at_least(5, 15):
        out.append(" </TASK>")
    return out


def registers(k: Kernel, func: str, rng: random.Random) -> list[str]:
    """``RIP:`` and the register block of a lockup report."""
    off, size = rng.randint(0x5, 0x2FF), rng.randint(0x300, 0xC00)
    name, _, module = func.partition(" ")
    tail = f" {module}" if module else ""
    if not k.at_least(4, 15):
        rip = f"RIP: 0010:[<ffffffff{rng.getrandbits(32):08x}>]  [<ffffffff{rng.getrandbits(32):08x}>] {name}+{off:#x}/{size:#x}{tail}"  # noqa: E501
    else:
        rip = f"RIP: 0010:{name}+{off:#x}/{size:#x}{tail}"
    regs = [rip, f"RSP: 0018:ffff{rng.getrandbits(48):012x} EFLAGS: 00000246"]
    names = ("RAX", "RBX", "RCX", "RDX", "RSI", "RDI", "RBP", "R08", "R09", "R10", "R11", "R12",
             "R13", "R14", "R15")  # fmt: skip
    for i in range(0, len(names), 3):
        regs.append(" ".join(f"{n}: {rng.getrandbits(64):016x}" for n in names[i : i + 3]))
    return regs
