"""A VMkernel purple screen before it is written down: the :class:`Panic`, and how each kind
of crash draws one.

Kinds, with the class the real corpus gives each (tests/corpus/real/README.md):

* ``exception``: ``#PF Exception 14``, ``#GP Exception 13`` or ``#DF Exception 8`` in core
  frames; the screen does not give the cause (``unknown``).
* ``lockup``: ``PCPU N locked up. Failed to ack TLB invalidate`` or ``Spin count exceeded``,
  after the PCPU heartbeat warnings (``unknown``).
* ``another_cpu``: ``Panic from another CPU`` with ``PCPU N: no heartbeat`` and the saved
  Heartbeat NMI backtrace, or the screen's ``NMI IPI: Panic requested by another PCPU``
  (``unknown``).
* ``module``: an exception in a VMware module that is not the core (``tcpip4``, ``esx``,
  ``nfsclient``...): ``unknown``, its module the suspect.
* ``driver``: an exception whose first non-core frame is a vendor's driver: ``driver``.
* ``mce``, ``nmi``: a Machine Check Exception, or an NMI from the management controller
  (``LINT1/NMI``, an APEI/HEST fatal PCIe error): ``hardware``.
* ``assert``, ``heap``: a VMkernel assertion, or a heap at its maximum size: ``vmkernel``.

Known issues (``known.py``) reuse these kinds with a KB's functions and words.

Examples:
    >>> import random
    >>> from lostbeat.scenarios.esx.releases import RELEASES
    >>> p = draw(random.Random(3), "driver", RELEASES[19193900])
    >>> p.crash_class.value, p.module == p.frames[0].module
    ('driver', True)
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from lostbeat.analyzer.result import CrashClass
from lostbeat.scenarios.esx.parts import (
    CORE_CHAINS,
    CORE_TAIL,
    DRIVERS,
    VMWARE_MODULES,
    WORLDS,
)
from lostbeat.scenarios.esx.releases import Release

__all__ = ["KINDS", "Frame", "Panic", "draw", "hexa", "world_id"]

KINDS = ("exception", "lockup", "another_cpu", "module", "driver", "mce", "nmi", "assert", "heap")


def hexa(rng: random.Random, digits: int) -> str:
    return f"0x{rng.getrandbits(digits * 4):x}"


@dataclass(frozen=True, slots=True)
class Frame:
    function: str
    module: str = "vmkernel"
    """``vmkernel`` for the core, else the module's name."""
    version: str = "nover"
    """What the frame prints after ``#``: ``nover`` (core), ``<None>`` (native), a version."""
    offset: int = 0x10
    native: bool = False
    """A native module prints its name in parentheses: ``@(i40en)#<None>``."""


@dataclass(frozen=True, slots=True)
class Panic:
    """One VMkernel crash."""

    release: Release
    kind: str
    message: str
    """What follows ``@BlueScreen: ``."""
    world: int
    world_name: str
    pcpu: int
    pcpus: int
    frames: tuple[Frame, ...]
    crash_class: CrashClass
    uptime_s: float
    details: tuple[str, ...] = ()
    """Screen lines right after the message (``PTEs:``, MCE detail, the module line)."""
    warnings: tuple[str, ...] = ()
    """vmkernel log texts (after ``cpuN:W)``) in the minutes before the panic."""
    saved_from: str | None = None
    """``Saved backtrace from: pcpu 12 Heartbeat NMI``'s subject, when another CPU's stack."""
    module: str | None = None
    """The first non-core module of the backtrace (the suspect)."""
    known_issues: tuple[str, ...] = ()
    tokens: tuple[str, ...] = field(default=())
    """Words that must all be shown for the known issue to be recognisable."""
    known_on: str | None = None
    """The one release family the known issue affects: elsewhere it holds only where no build
    is shown (the release cannot rule it out)."""


def world_id(rng: random.Random, release: Release) -> int:
    """World ids by era: four digits on 3.x/4.x, five on 5.x-6.x, 2097152 and up on 7.0+."""
    if release.major <= 4:
        return rng.randint(4096, 9999) if release.major == 4 else rng.randint(1024, 1500)
    if release.major < 7:
        return rng.randint(33000, 99999)
    return rng.randint(2097152, 2110000) if rng.random() < 0.7 else rng.randint(10**9, 2 * 10**9)


def _core(rng: random.Random, subsystem: str, depth: int) -> list[Frame]:
    chain = CORE_CHAINS[subsystem]
    start = rng.randrange(0, max(1, len(chain) - depth + 1))
    frames = [Frame(f, offset=rng.randint(0x8, 0xFFF)) for f in chain[start : start + depth]]
    tail = rng.choice(CORE_TAIL)
    if frames[-1].function != tail:
        frames.append(Frame(tail, offset=rng.randint(0x10, 0x4FF)))
    return frames


def _exception_message(rng: random.Random, r: Release, world: int, name: str, ip: str) -> str:
    vector = (
        rng.choice(("pf", "pf", "pf", "gp", "df")) if r.major >= 5 else rng.choice(("pf", "gp"))
    )
    addr = rng.choice(("0x0", "0x8", "0x18", "0x1c0", hexa(rng, 3)))
    if r.major <= 4:
        if vector == "pf":
            return f"#PF Exception(14) in world {world}:{name} ip {ip} addr {addr}"
        return f"#GP Exception(13) in world {world}:{name} @ {ip}"
    if vector == "pf":
        return f"#PF Exception 14 in world {world}:{name} IP {ip} addr {addr}"
    if vector == "gp":
        return f"#GP Exception 13 in world {world}:{name} @ {ip}"
    return f"#DF Exception 8 IP {ip} SP {hexa(rng, 12)}"


def _ip(rng: random.Random, r: Release) -> str:
    if r.major == 3:
        return hexa(rng, 6)
    base = 0x418000000000 if r.major < 7 else 0x420000000000
    return f"0x{base + rng.getrandbits(30):x}"


def _pte(rng: random.Random) -> str:
    return "PTEs:" + ";".join(hexa(rng, 9) for _ in range(rng.randint(1, 3))) + ";0x0;"


def _heartbeat_warnings(rng: random.Random, cpu: int) -> tuple[str, ...]:
    number = rng.choice((796, 961, 1020))
    return tuple(
        f"WARNING: Heartbeat: {number}: PCPU {cpu} didn't have a heartbeat for {s} seconds; "
        "*may* be locked up."
        for s in sorted(rng.sample(range(7, 40), rng.randint(1, 3)))
    )


def draw(rng: random.Random, kind: str, release: Release) -> Panic:
    """One crash of ``kind`` on ``release``."""
    pcpus = rng.choice((8, 12, 16, 24, 32, 48, 64, 96))
    pcpu = rng.randrange(pcpus)
    uptime = rng.uniform(600, 400 * 86400)
    subsystem = rng.choice(tuple(CORE_CHAINS))
    world = world_id(rng, release)
    name = rng.choice(WORLDS[subsystem])
    frames = _core(rng, subsystem, rng.randint(3, 6))
    cls = CrashClass.UNKNOWN
    details: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    saved = None
    module = None
    known: tuple[str, ...] = ()
    tokens: tuple[str, ...] = ()
    ip = _ip(rng, release)
    message = _exception_message(rng, release, world, name, ip)
    if message.startswith("#PF") and release.major >= 5:
        details = (_pte(rng),)
    if kind in ("lockup", "another_cpu", "assert", "heap"):
        details = ()
    if kind == "lockup":
        other = rng.choice([c for c in range(pcpus) if c != pcpu])
        if rng.random() < 0.5:
            more = sorted({other, *rng.sample(range(pcpus), rng.randint(0, 3))})
            message = f"PCPU {other} locked up. Failed to ack TLB invalidate"
            message += (
                f" (total of {len(more)} locked up, PCPU(s): {','.join(map(str, more))})."
                if len(more) > 1 or rng.random() < 0.3
                else "."
            )
        else:
            message = f"Spin count exceeded - possible deadlock with PCPU {other}"
            saved = f"pcpu {other} SpinLock spin out NMI"
            frames = _core(rng, "lock", rng.randint(3, 5))
        warnings = _heartbeat_warnings(rng, other)
    elif kind == "another_cpu":
        other = rng.choice([c for c in range(pcpus) if c != pcpu])
        message = (
            "NMI IPI: Panic requested by another PCPU. RIPOFF(base):RBP:CS "
            f"[{hexa(rng, 5)}({hexa(rng, 12)}):{hexa(rng, 4)}:0x{rng.choice(('fc8', 'f48'))}]"
            f" (Src 0x1, CPU{pcpu})"
        )
        saved = f"pcpu {other} Heartbeat NMI"
        warnings = (*_heartbeat_warnings(rng, other), f"PCPU {other}: no heartbeat "
                    f"({rng.randint(1, 3)}/{rng.randint(3, 4)} IPIs received)")  # fmt: skip
        frames = _core(rng, rng.choice(("lock", "net", "heap")), rng.randint(3, 6))
    elif kind in ("module", "driver"):
        frames, module = _module_frames(rng, kind, release, frames)
        if kind == "driver":
            cls = CrashClass.DRIVER
            driver = DRIVERS[module]
            name = driver.world
            message = _exception_message(rng, release, world, name, ip)
            details = (_pte(rng),) if message.startswith("#PF") and release.major >= 5 else ()
    elif kind == "mce":
        return _mce(rng, release, pcpu, pcpus, world, uptime)
    elif kind == "nmi":
        return _nmi(rng, release, pcpu, pcpus, world, uptime)
    elif kind == "assert":
        cls = CrashClass.VMKERNEL
        path = rng.choice(("main/pframe_int.h", "main/heap.c", "sched/cpusched.c",
                           "main/world.c", "vmm/vmmemsched.c", "net/pktlist.c"))  # fmt: skip
        prefix = (
            "bora/vmkernel"
            if release.major >= 4
            else f"/build/mts/release/bora-{release.number}/bora/vmkernel"
        )
        message = f"ASSERT {prefix}/{path}:{rng.randint(80, 3400)}"
        frames = [Frame("Panic", offset=rng.randint(0x20, 0xFF)), *frames]
    elif kind == "heap":
        cls = CrashClass.VMKERNEL
        heap = rng.choice(("netPktHeap", "cswitch", "vmklnxHeap", "netGPHeap", "LVM"))
        warnings = tuple(
            f"WARNING: Heap: {rng.choice((3058, 3573, 4214))}: Heap {heap} already at its "
            "maximum size. Cannot expand."
            for _ in range(rng.randint(2, 5))
        )
        frames = _core(rng, "heap", rng.randint(3, 6))
        other = rng.choice([c for c in range(pcpus) if c != pcpu])
        message = f"PCPU {other} locked up. Failed to ack TLB invalidate."
        warnings += _heartbeat_warnings(rng, other)
        if heap == "cswitch":  # KB 430676: the virtual switch's heap, exhausted by RSPAN
            known, tokens = ("430676",), (f"Heap {heap} already at its maximum size",)
    if not release.modules_in_frames:
        frames = [Frame(f.function, offset=f.offset) for f in frames if f.module == "vmkernel"]
        module = None if kind == "module" else module
    return Panic(release, kind, message, world, name, pcpu, pcpus, tuple(frames), cls, uptime,
                 details, warnings, saved, module, known, tokens)  # fmt: skip


def _module_frames(
    rng: random.Random, kind: str, release: Release, core: list[Frame]
) -> tuple[list[Frame], str]:
    if kind == "module":
        module = rng.choice(tuple(VMWARE_MODULES))
        funcs = VMWARE_MODULES[module]
        native = release.native_drivers and module not in ("esx",)
        version = "<None>" if native else "nover"
    else:
        pool = [d for d in DRIVERS.values() if d.native == release.native_drivers]
        driver = rng.choice(pool)
        module, funcs, native, version = (
            driver.name,
            driver.functions,
            driver.native,
            driver.version,
        )
        core = _core(rng, driver.kind, rng.randint(3, 5))
    chosen = rng.sample(funcs, rng.randint(1, min(3, len(funcs))))
    top = [Frame(f, module, version, rng.randint(0x10, 0x9FF), native) for f in chosen]
    return top + core, module


def _mce(rng: random.Random, r: Release, pcpu: int, pcpus: int, world: int, uptime: float) -> Panic:
    bank = rng.choice((0, 1, 4, 5, 7, 9, 12))
    status = f"0x{rng.choice(('be', 'bd', 'b2', 'fe'))}{rng.getrandbits(56):014x}"
    error = rng.choice((
        "Level 0 Data Cache DataRead Error", "Level 2 Unified Cache Generic Error",
        "Memory Controller Read Error on Channel 1", "Bus and Interconnect Error",
    ))  # fmt: skip
    name = rng.choice(("idle" + str(pcpu), "vmm0:db01", "NetWorld-VM-", "vmx-vcpu-3:"))
    if r.major >= 6:
        message = f"Machine Check Exception on PCPU{pcpu} in world {world}:{name}"
        details = ("System has encountered a Hardware Error - Please contact the hardware vendor",
                   f"MCE: bank{bank}: status={status}: {error}")  # fmt: skip
    else:
        message = "Machine Check Exception: Unable to continue"
        details = (f"Machine check on PCPU{pcpu}, bank {bank}: status={status}",
                   "System has encountered a Hardware Error - Please contact the hardware vendor")  # fmt: skip # noqa: E501
    warnings = (
        f"ALERT: MCA: 200: {rng.choice(('SRAR Excp', 'UC Excp', 'CMCI'))} G{rng.randint(1, 9)} "
        f"B{bank} S{status[2:]} Cache Hierarchy: {error}.",
        f"MCAIntel: {rng.randint(900, 1300)}: Force retiring MPN {hexa(rng, 7)} to recover "
        f"from MCA error detected by cpu{pcpu} in bank{bank}.",
    )
    frames = [Frame("MCEHandleException", offset=0x2a1), Frame("IDT_HandleException", offset=0x13c),
              Frame("gate_entry", offset=0x0)]  # fmt: skip
    # KB 372284 quotes the MPN retirement of ESXi 7.0's machine checks
    return Panic(r, "mce", message, world, name, pcpu, pcpus, tuple(frames),
                 CrashClass.HARDWARE, uptime, details, warnings, known_issues=("372284",),
                 tokens=("Force retiring MPN",), known_on="7.0")  # fmt: skip


def _nmi(rng: random.Random, r: Release, pcpu: int, pcpus: int, world: int, uptime: float) -> Panic:
    lint = (
        "LINT1/NMI (motherboard nonmaskable interrupt), undiagnosed. This may be a hardware "
        "problem; please contact your hardware vendor."
    )
    warnings: tuple[str, ...] = ()
    if r.major >= 6 and rng.random() < 0.5:
        device = f"0000:{rng.randint(0x10, 0xD8):02x}:00.{rng.randint(0, 1)}"
        warnings = (
            "ApeiHEST: 233: Invoked HestNMIHandler",
            "ApeiHEST: 259: Uncorrectable Errors",
            "ApeiHEST: 294: Error Event Severity: Fatal",
            f"ALERT: ApeiHEST: 327: Fatal error from {device}(PCI Express Endpoint), "
            f"VID:0x{rng.getrandbits(16):04x}, DID:0x{rng.getrandbits(16):04x} DevSts: 0x6, "
            "AERUeSts: 0x4000.",
            "NMI: 1031: ApeiHESTNmiHandler requested PSOD",
        )
    frames = (Frame("NMICheckLint1", offset=0xd1), Frame("NMI_Interrupt", offset=0x2c6),
              Frame("IDTNMIWork", offset=0x99), Frame("Int2_NMI", offset=0x19),
              Frame("gate_entry", offset=0x0))  # fmt: skip
    name = rng.choice((f"idle{pcpu}", "vmx-vcpu-1:", "NetWorld-VM-"))
    # KB 399748 is the HEST handler's NMI
    known = ("399748",) if warnings else ()
    return Panic(r, "nmi", lint, world, name, pcpu, pcpus, frames, CrashClass.HARDWARE,
                 uptime, (), warnings, known_issues=known,
                 tokens=("ApeiHESTNmiHandler requested PSOD",))  # fmt: skip
