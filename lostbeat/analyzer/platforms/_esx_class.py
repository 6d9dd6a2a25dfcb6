"""What kind of fault an ESX crash was, and who to ask about it (crash.class, the suspect).

In this order, first that holds (the real corpus's vocabulary, tests/corpus/real/README.md):

1. a known issue the lines match says so (its article settles the class);
2. ``hardware``: a machine check (``Machine Check Exception``, an uncorrectable machine check
   error, KB 372284), an NMI from the board (``LINT1/NMI``, KB 1804; ``ApeiHESTNmiHandler
   requested PSOD``, KB 399748), processors the VMkernel refuses to boot on together
   (``Fatal CPU mismatch on feature``), a panic raised by a hardware-error handler (PCIe
   DPC/EDR, KB 394393), or a CPU stuck in a management controller's interrupt handler when the
   heartbeat NMI caught it (iLO, KB 429117);
3. ``driver``: the suspect (the first module of the backtrace that is not the VMkernel core,
   ``_esx_modules``; with no module shown, the driver whose own world faulted or that owns the
   device an IOMMU fault names) is a device driver, or the failure is in the driver tree
   (``vmkdrivers/...``, KB 2011474's form);
4. ``vmkernel``: an assertion, ``NOT_IMPLEMENTED`` or ``NOT REACHED`` in the VMkernel's own
   source or one of its modules (``bora/vmkernel/...``, ``bora/modules/vmkernel/...``: KB
   311064, KB 1016239, KB 391216, KB 387631), a panic a module asked for
   (``vmk_PanicWithModuleID``) with no module but VMware's own in the backtrace (KB 341164,
   KB 318022), or a VMkernel heap at its maximum size before the crash (KB 430676, KB 367598);
5. ``service_console``: a Service Console Oops or panic (KB 1006802, KB 1016070);
6. ``unknown`` otherwise: a lockup, an exception in core code, a lost heartbeat whose cause
   the history must tell; the screen alone does not say.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from lostbeat.analyzer.issues import KnownIssue
from lostbeat.analyzer.parsers._panic import Panic, PanicKind
from lostbeat.analyzer.parsers.vibs import VibList
from lostbeat.analyzer.platforms._esx_modules import (
    Suspect,
    hardware_frame,
    management_frame,
    suspect,
    world_suspect,
)
from lostbeat.analyzer.result import CrashClass, CrashType

__all__ = ["Verdict", "classify"]

# A check the VMkernel's own source failed: an assertion, a NOT_IMPLEMENTED, a NOT REACHED
_VMKERNEL_CHECKS = (PanicKind.ASSERT, PanicKind.NOT_IMPLEMENTED, PanicKind.FAILURE)
_MODULE_PANIC = "vmk_PanicWithModuleID"  # how a module asks the VMkernel to panic
_HEAP_FULL = "already at its maximum size"  # "Heap <name> already at its maximum size" (KB 430676)


@dataclass(frozen=True, slots=True)
class Verdict:
    class_: CrashClass
    suspect: Suspect | None
    why: str
    """Which rule settled the class, for the crash's evidence trail."""


def _hardware(panic: Panic) -> str | None:
    functions = [f.function for f in panic.frames]
    if panic.kind is PanicKind.MCE:
        return "a machine check exception"
    if panic.kind is PanicKind.NMI:
        return "a non-maskable interrupt from the hardware"
    if panic.kind is PanicKind.CPU_MISMATCH:
        return "processors the VMkernel cannot run on together (a CPU feature mismatch)"
    if hardware_frame(functions):
        return "a panic raised by a hardware-error handler"
    modules = [f.module for f in panic.frames]
    if panic.kind is PanicKind.NO_HEARTBEAT and management_frame(functions, modules):
        return "an interrupt storm from the management controller"
    return None


def _asked_by_vmware(panic: Panic, found: Suspect | None) -> bool:
    """Whether a module asked for the panic (``vmk_PanicWithModuleID``, a module's own check
    failing) and no module but VMware's own is in the backtrace (KB 341164's nfs41client,
    KB 318022's vSAN): VMware's code gave up, not a driver's."""
    asked = any(f.function == _MODULE_PANIC for f in panic.frames)
    return asked and (found is None or (not found.driver and found.vendor == "VMware"))


def _version(found: Suspect, vibs: Sequence[VibList]) -> Suspect:
    """The suspect's version as the installed VIBs show it, where they do."""
    for vib_list in vibs:
        vib = vib_list.by_name(found.module)
        if vib is not None and vib.version:
            vendor = found.vendor or vib.vendor
            return Suspect(found.module, vib.version, vendor, found.driver)
    return found


def classify(
    crash: CrashType,
    panic: Panic | None,
    issues: Sequence[KnownIssue],
    lines: Sequence[str],
    vibs: Sequence[VibList],
) -> Verdict:
    """The class of a crash of type ``crash``; ``issues`` are the known issues its lines
    match (for its type and release), ``lines`` the texts the crash's evidence holds."""
    if crash is CrashType.NONE:
        return Verdict(CrashClass.NONE, None, "no crash")
    if crash is CrashType.UNKNOWN:
        return Verdict(CrashClass.UNKNOWN, None, "no screen")
    frames = [
        (f.function, f.module if f.module or not f.at_module else "", f.version)
        for f in (panic.frames if panic else ())
    ]
    involved = [(i.module, i.version, i.external) for i in panic.involved] if panic else []
    found = suspect(frames, involved)
    row = next((i for i in issues if i.class_ is not None and crash in i.crash), None)
    if found is None and row is not None and row.module:
        found = Suspect(row.module, None, row.vendor, row.class_ is CrashClass.DRIVER)
    if found is None and panic is not None:
        found = world_suspect(panic.message)
    if found is not None:
        found = _version(found, vibs)
    if row is not None and row.class_ is not None:
        return Verdict(row.class_, found, f"KB {row.kb}")
    if crash in (CrashType.COS_OOPS, CrashType.COS_PANIC):
        return Verdict(CrashClass.SERVICE_CONSOLE, found, "a Service Console fault")
    if crash is not CrashType.VMKERNEL or panic is None:
        return Verdict(CrashClass.UNKNOWN, found, "the screen does not say")
    if why := _hardware(panic):
        return Verdict(CrashClass.HARDWARE, found, why)
    message = panic.message or ""
    if found is not None and found.driver:
        return Verdict(CrashClass.DRIVER, found, f"the backtrace's first module {found.module}")
    if panic.kind is PanicKind.FAILURE and "vmkdrivers/" in message:
        return Verdict(CrashClass.DRIVER, found, "a failure in the driver layer")
    if panic.kind in _VMKERNEL_CHECKS and "vmkernel/" in message:
        return Verdict(CrashClass.VMKERNEL, found, "an assertion in the VMkernel")
    if _asked_by_vmware(panic, found):
        return Verdict(CrashClass.VMKERNEL, found, "a panic one of VMware's modules asked for")
    if any(_HEAP_FULL in line for line in lines):
        return Verdict(CrashClass.VMKERNEL, found, "a VMkernel heap at its maximum size")
    return Verdict(CrashClass.UNKNOWN, found, "the screen does not say")
