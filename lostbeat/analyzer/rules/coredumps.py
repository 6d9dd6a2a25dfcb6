"""The evidence for support: the VMkernel zdump and the COS core, and the core-file setting.

The article: the zdump goes to ``/root/`` or ``/var/core/`` and is rotated to
``/root/old_cores/``; the COS core to ``/root/old_cores/`` or ``/var/core/``; "the move can
fail, so both locations should be checked". ``Misc.CosCorefile`` (spelled CosCorefile in the
VMkernel's option table, CosCoreFile in the KBs) must name a file on a VMFS volume
(esx-artifacts.md §4.1: "Full path of vmfs file to use for Service Console core dumps").
"""

from __future__ import annotations

from dataclasses import dataclass

from lostbeat.analyzer.facts import HostFacts
from lostbeat.analyzer.findings import Evidence, Finding, Severity
from lostbeat.analyzer.result import Coredumps, Crash, CrashType
from lostbeat.analyzer.rules._rule import rule

__all__ = ["CoredumpJudgement", "judge_coredumps"]

KEY = "/adv/Misc/CosCorefile"
"""Either spelling: ``EsxConf.get`` compares keys case-insensitively."""
VMFS_PREFIX = "/vmfs/volumes/"


@dataclass(frozen=True, slots=True)
class CoredumpJudgement:
    coredumps: Coredumps
    findings: tuple[Finding, ...]


@rule("coredumps", artifacts=("coredumps", "esx_conf"))
def judge_coredumps(facts: HostFacts, crash: Crash) -> CoredumpJudgement:
    """Which cores are there, in which location, and is the COS core file set validly."""
    inv = facts.coredumps
    if facts.captures:
        return _linux(facts)
    entry = None
    if facts.esx_conf is not None:
        entry = facts.esx_conf.get(KEY)
    value = entry.value.strip() if entry is not None else None
    valid: bool | None
    if facts.esx_conf is None:
        valid = None
    else:
        valid = (
            bool(value)
            and value is not None
            and value.startswith(VMFS_PREFIX)
            and (len(value) > len(VMFS_PREFIX))
        )
    cores = Coredumps(
        vmkernel=inv.vmkernel, cos=inv.cos, cos_core_file=value or None, cos_core_file_valid=valid
    )
    findings: list[Finding] = []
    crashed = crash.type not in (CrashType.NONE,)
    conf_ev: tuple[Evidence, ...] = (entry.evidence,) if entry is not None else ()
    if inv.vmkernel:
        findings.append(
            Finding(
                "coredumps.vmkernel",
                Severity.INFO,
                f"VMkernel core dump present ({len(inv.vmkernel)})",
                ", ".join(inv.vmkernel),
            )
        )
    elif crashed:
        findings.append(
            Finding(
                "coredumps.vmkernel_missing",
                Severity.WARNING,
                "No VMkernel core dump (vmkernel-zdump-*) in root/, root/old_cores/ or var/core/",
                "collect it from the dump partition (vmkdump) before it is overwritten",
            )
        )
    if inv.cos:
        findings.append(
            Finding(
                "coredumps.cos",
                Severity.INFO,
                f"Service Console core present ({len(inv.cos)})",
                ", ".join(inv.cos),
            )
        )
    elif crashed:
        findings.append(
            Finding(
                "coredumps.cos_missing",
                Severity.WARNING,
                "No Service Console core (*.core.gz) in root/old_cores/ or var/core/",
                "analysis of the crash state needs it",
                conf_ev,
            )
        )
    if valid is False:
        shown = f"'{value}'" if value else "not set"
        findings.append(
            Finding(
                "coredumps.cos_core_file_invalid",
                Severity.WARNING,
                f"Misc.CosCorefile is {shown}",
                "it must name a file on a VMFS volume (/vmfs/volumes/...) for "
                "the Service Console core to be written",
                conf_ev,
            )
        )
    return CoredumpJudgement(cores, tuple(findings))


def _linux(facts: HostFacts) -> CoredumpJudgement:
    """A lostbeat monitor capture: the cores it took of the watched domain's processes stand
    where an ESX bundle has its COS core; there is no VMkernel dump nor core-file setting."""
    cores = facts.coredumps.captured
    if cores:
        finding = Finding(
            "coredumps.captured",
            Severity.INFO,
            f"The capture holds {len(cores)} core dump(s) of the top consumers",
            ", ".join(cores),
        )
    else:
        finding = Finding(
            "coredumps.captured_missing",
            Severity.WARNING,
            "The capture holds no core dump",
            "its manifest.json says why each attempt failed",
        )
    return CoredumpJudgement(Coredumps(cos=cores), (finding,))
