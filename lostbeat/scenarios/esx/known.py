"""Crashes that a VMware KB documents, as the generator knows them: which releases they hit,
and the functions and words that identify each (the KB's own, in tests/corpus/kb/).

The generator's own table, independent of the analyzer's: for each KB a crash of the kind
the article describes, on a release it affects, with the identifying functions placed in a
fresh backtrace among drawn frames and the identifying words in fresh lines. Everything else
(addresses, worlds, offsets, the rest of the stack, times) is drawn.

Examples:
    >>> import random
    >>> p = known_panic(random.Random(2), "318512")
    >>> p.known_issues, p.crash_class.value
    (('318512',), 'vmkernel')
    >>> all(any(t in f.function for f in p.frames) for t in p.tokens)
    True
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import replace

from lostbeat.analyzer.result import CrashClass
from lostbeat.scenarios.esx.panic import Frame, Panic, draw, hexa
from lostbeat.scenarios.esx.releases import RELEASES, Release

__all__ = ["SIGNATURES", "known_panic"]


def _with(rng: random.Random, p: Panic, top: list[Frame], **changes: object) -> Panic:
    frames = tuple(top) + tuple(f for f in p.frames if f.function not in {t.function for t in top})
    return replace(p, frames=frames, **changes)  # type: ignore[arg-type]


def _core(*names: str) -> list[Frame]:
    return [Frame(n, offset=0x13 + 0x31 * i) for i, n in enumerate(names)]


def _pf(rng: random.Random, p: Panic, world_name: str) -> str:
    ip = hexa(rng, 12)
    if p.release.major <= 4:
        return f"#PF Exception(14) in world {p.world}:{world_name} ip {ip} addr {hexa(rng, 2)}"
    return f"#PF Exception 14 in world {p.world}:{world_name} IP {ip} addr {hexa(rng, 2)}"


def _kb2012404(rng: random.Random, r: Release) -> Panic:  # world id overflow, 4.x-5.0
    p = draw(rng, "exception", r)
    top = _core("WorldNewInt", "World_NewUserWorld", "UserCartel_NewChildWorld",
                "UserThread_Clone", "User_LinuxSyscallHandler")  # fmt: skip
    return _with(rng, p, top, message=_pf(rng, p, rng.choice(("hostd-worker", "vmx"))),
                 details=(), crash_class=CrashClass.VMKERNEL, known_issues=("2012404",),
                 tokens=("WorldNewInt", "UserCartel_NewChildWorld"))  # fmt: skip


def _kb2151749(rng: random.Random, r: Release) -> Panic:  # Netqueue filters, 6.5
    p = draw(rng, "exception", r)
    top = _core("UplinkTreePackQueueFilters", "UplinkTreeApplyFilters", "UplinkLB_LoadBalanceCB",
                "NetSchedLoadBalance", "Timer_BHHandler")  # fmt: skip
    return _with(rng, p, top, message=_pf(rng, p, "NetWorld-VM-"), crash_class=CrashClass.VMKERNEL,
                 known_issues=("2151749",),
                 tokens=("UplinkTreePackQueueFilters",))  # fmt: skip


def _kb318512(rng: random.Random, r: Release) -> Panic:  # TPS race, 7.0.3 / 8.0.0
    p = draw(rng, "exception", r)
    top = _core("PFrame_IsBackedByLPage", "VmMemCowHintUpdatePost",
                "VmMemCowPostToHintWorldIfMatched", "VmMemCowPShareFn", "VmAssistantProcessTasks")  # fmt: skip # noqa: E501
    return _with(rng, p, top, message=_pf(rng, p, "vmassistant."), crash_class=CrashClass.VMKERNEL,
                 known_issues=("318512",),
                 tokens=("VmMemCowHintUpdatePost",))  # fmt: skip


def _kb323991(rng: random.Random, r: Release) -> Panic:  # PktList split, 8.0 GA/U1
    p = draw(rng, "exception", r)
    top = _core("PktList_SplitByUplinkPort", "PortsetUplinkTx", "Portset_ProcessAllDeferred",
                "NetWorldVMProcessTx", "NetWorldVMPollCB")  # fmt: skip
    message = f"#PF Exception 14 in world {p.world}:NetWorld-VM- IP {hexa(rng, 12)} addr 0x0"
    return _with(rng, p, top, message=message, crash_class=CrashClass.VMKERNEL,
                 known_issues=("323991",),
                 tokens=("PktList_SplitByUplinkPort",))  # fmt: skip


def _kb428541(rng: random.Random, r: Release) -> Panic:  # memory preallocation, 8.x
    p = draw(rng, "exception", r)
    top = _core("VmMemPf_PreallocRange", "AllocPreallocOneDomain", "VmMemPreallocWorldFunc",
                "CpuSched_StartWorld")  # fmt: skip
    return _with(rng, p, top, message=_pf(rng, p, "prealloc-1"), world_name="prealloc-1",
                 crash_class=CrashClass.VMKERNEL, known_issues=("428541",),
                 tokens=("VmMemPf_PreallocRange",))  # fmt: skip


def _kb435592(rng: random.Random, r: Release) -> Panic:  # double fault in syscalls, 7.0
    p = draw(rng, "exception", r)
    top = _core("Syscall_InstructionHandler", "User_LinuxSyscallHandler", "gate_entry")
    message = f"#DF Exception 8 IP {hexa(rng, 12)} SP {hexa(rng, 12)}"
    return _with(rng, p, top, message=message, details=(), crash_class=CrashClass.VMKERNEL,
                 known_issues=("435592",), tokens=("#DF Exception 8", "Syscall_InstructionHandler"))  # fmt: skip # noqa: E501


def _kb370976(rng: random.Random, r: Release) -> Panic:  # inbox i40en stats, 7.x
    p = draw(rng, "driver", r)
    top = [Frame("i40en_UplinkPrivStatsGet", "i40en", "<None>", rng.randint(0x100, 0x6ff), True),
           *_core("UplinkDeviceGetStatsAsyncCB", "UplinkAsyncProcessCallsHelperCB",
                  "HelperQueueFunc")]  # fmt: skip
    frames = tuple(top) + tuple(f for f in p.frames if f.module == "vmkernel")[-2:]
    return replace(p, frames=frames, module="i40en", world_name="HELPER_UPLIN",
                   message=_pf(rng, p, "HELPER_UPLIN"), known_issues=("370976",),
                   tokens=("i40en_UplinkPrivStatsGet@(i40en)",))  # fmt: skip


def _kb429117(rng: random.Random, r: Release) -> Panic:  # iLO interrupt storm, 8.0
    p = draw(rng, "another_cpu", r)
    top = [Frame("ilo_isr", "ilo", "<None>", rng.randint(0x40, 0x1ff), True),
           *_core("IntrCookieBH", "BH_DrainAndDisableInterrupts", "IntrCookie_VmkernelInterrupt"),
           Frame("ehci_filter", "vmkusb", "<None>", rng.randint(0x10, 0x9f), True),
           *_core("IDT_IntrHandler", "gate_entry")]  # fmt: skip
    message = (f"NMI IPI: Panic requested by another PCPU. PC {hexa(rng, 12)}, SP "
               f"{hexa(rng, 12)} (Src 0x4, CPU{p.pcpu})")  # fmt: skip
    return replace(p, frames=tuple(top), module="ilo", message=message,
                   crash_class=CrashClass.HARDWARE, known_issues=("429117",),
                   tokens=("NMI IPI: Panic requested by another PCPU", "ilo_isr@(ilo)"))  # fmt: skip # noqa: E501


def _kb1016239(rng: random.Random, r: Release) -> Panic:  # low memory at boot, 3.5/4.0
    p = draw(rng, "assert", r)
    message = f"NOT_IMPLEMENTED /build/mts/release/bora-{r.number}/bora/vmkernel/main/util.c:83"
    frames = tuple(_core("Util_Udelay", "MemMap_EarlyInit", "Init_VMKernel", "Init_Start"))
    return replace(p, message=message, frames=frames, uptime_s=rng.uniform(20, 90),
                   known_issues=("1016239",), tokens=("util.c:83", "NOT_IMPLEMENTED"))  # fmt: skip


Maker = Callable[[random.Random, Release], Panic]

SIGNATURES: dict[str, tuple[tuple[int, ...], Maker]] = {
    "2012404": ((164009, 208167, 261974, 260247, 502767), _kb2012404),
    "2151749": ((4564106, 5969303), _kb2151749),
    "318512": ((18644231, 19193900, 20513097), _kb318512),
    "323991": ((20513097, 21203435, 21495797), _kb323991),
    "428541": ((20513097, 21495797, 22380479, 23825572, 24022510), _kb428541),
    "435592": ((15843807, 16850804, 17630552, 18644231, 19193900, 21424296), _kb435592),
    "370976": ((15843807, 16850804, 17630552, 18644231, 21424296, 23794027), _kb370976),
    "429117": ((20513097, 21495797, 22380479, 24022510, 24280767), _kb429117),
    "1016239": ((64607, 110268, 123630, 153875, 164009, 208167), _kb1016239),
}
"""KB -> (builds it affects, per the KB's text in tests/corpus/kb/; maker)."""


def known_panic(rng: random.Random, kb: str | None = None) -> Panic:
    """A crash of a known issue (``kb``, or one drawn) on a build it affects."""
    kb = kb or rng.choice(tuple(SIGNATURES))
    builds, make = SIGNATURES[kb]
    return make(rng, RELEASES[rng.choice(builds)])
