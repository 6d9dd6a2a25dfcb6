"""The answer key of an incident, derived from what was simulated, never from the files.

Conventions (shared with the analyzer):

* no crash -> ``not_memory``, no culprit, no action; a crash that is not a lost heartbeat ->
  ``not_memory`` and KB 1004250 (interpreting a purple screen);
* a lost heartbeat with fewer than 6 hourly lines in its boot -> ``inconclusive``;
* spike and inconclusive -> KB 1006797 (collect top in batch mode) and KB 653 (engage support);
  contention -> KB 1003501 (more COS RAM or swap);
* a leak by a VMware process -> KB 653; by a third party -> no KB (remove or disable the
  agent, per the support policy); with two leakers, each one's action;
* KB 1032962 whenever a crash happened and Misc.CosCorefile is not a ``/vmfs/volumes/`` path;
* KB 1009607 when cimserver leaks on a build where the Pegasus leak applies (3.5 U2-U5);
* KB 1016239 when the host dies booting with ``NOT_IMPLEMENTED ... util.c:83`` on a build the
  article names (3.5, 4.0); a COS panic hours into a boot is never KB 1016070's (a panic at
  the reboot after an update), whatever its message.
* the class (``expect`` only), as the real corpus settles it: memory exhaustion for a lost
  heartbeat whose history shows a leak, a spike or contention (none when inconclusive); the
  Service Console for its Oops or panic; for a VMkernel PSOD, ``vmkernel`` where the screen
  says so (``NOT_IMPLEMENTED`` at boot), ``unknown`` for a lockup or an exception in core
  frames, whose cause the screen does not give.
"""

from __future__ import annotations

from lostbeat.scenarios.catalog import PROCS
from lostbeat.scenarios.model import CauseKind, CrashClass, CrashType, Origin, Truth
from lostbeat.scenarios.simulate import Timeline
from lostbeat.scenarios.spec import End, Load, Spec

__all__ = ["MIN_HOURS", "truth_of"]

MIN_HOURS = 6
"""Fewer hourly lines than this in the crashed boot: too little history to judge."""

_CRASH = {
    End.LOST_HEARTBEAT: CrashType.LOST_HEARTBEAT,
    End.COS_OOPS: CrashType.COS_OOPS,
    End.COS_PANIC: CrashType.COS_PANIC,
    End.VMKERNEL: CrashType.VMKERNEL,
    End.REBOOT: CrashType.NONE,
    End.HALT: CrashType.NONE,
}
_KIND = {
    Load.LEAK: CauseKind.LEAK,
    Load.SPIKE: CauseKind.SPIKE,
    Load.CONTENTION: CauseKind.CONTENTION,
}


def hours_before_crash(tl: Timeline) -> int:
    """Hourly lines between the crashed boot's start and the crash."""
    assert tl.crash_at is not None
    count = 0
    for line in tl.lines:
        if line.epoch >= tl.crash_at:
            break
        count = 0 if line.kind == "starting" else count + (line.kind == "hb")
    return count


def _crash_class(crash: CrashType, kind: CauseKind, variant: str) -> CrashClass | None:
    if crash is CrashType.LOST_HEARTBEAT:
        return None if kind is CauseKind.INCONCLUSIVE else CrashClass.MEMORY_EXHAUSTION
    if crash is CrashType.VMKERNEL:
        return CrashClass.VMKERNEL if variant == "not_implemented" else CrashClass.UNKNOWN
    if crash is CrashType.NONE:
        return CrashClass.NONE
    return CrashClass.SERVICE_CONSOLE


def truth_of(scenario: str, seed: int, spec: Spec, tl: Timeline) -> Truth:
    """The ground truth of ``spec`` as it played out in ``tl``."""
    host = spec.host
    crash = _CRASH[spec.end]
    kind = CauseKind.NOT_MEMORY
    if crash is CrashType.LOST_HEARTBEAT:
        kind = CauseKind.INCONCLUSIVE
        if hours_before_crash(tl) >= MIN_HOURS:
            kind = _KIND.get(spec.load, CauseKind.INCONCLUSIVE)
    culprits = tuple(g.proc for g in spec.growths) if kind is CauseKind.LEAK else ()
    origins = [PROCS[c].origin for c in culprits]
    known: tuple[str, ...] = ()
    if "cimserver" in culprits and host.build.pegasus_leak:
        known = ("1009607",)
    if spec.boot_failure and host.build.low_memory_boot:
        known = ("1016239",)
    actions: set[str] = set(known)
    if crash is CrashType.NONE:
        pass
    elif crash is not CrashType.LOST_HEARTBEAT:
        actions.add("1004250")
    elif kind in (CauseKind.SPIKE, CauseKind.INCONCLUSIVE):
        actions |= {"1006797", "653"}
    elif kind is CauseKind.CONTENTION:
        actions.add("1003501")
    elif Origin.VMWARE in origins:
        actions.add("653")
    if crash is not CrashType.NONE and not host.core_file.valid:
        actions.add("1032962")
    return Truth(
        scenario=scenario,
        seed=seed,
        crash_type=crash,
        root_cause_kind=kind,
        culprit=culprits[0] if culprits else None,
        culprits=culprits,
        origin=origins[0] if origins else None,
        known_issues=known,
        action_kbs=tuple(sorted(actions)),
        build=host.build.number,
        release=host.build.release,
        cos_ram_mb=host.cos_ram_mb,
        swap_mb=host.swap_mb,
        cos_core_file_valid=host.core_file.valid,
        host=host.name,
        crashed_at=None if tl.crash_at is None else float(tl.crash_at),
        crash_class=_crash_class(crash, kind, spec.variant),
    )
