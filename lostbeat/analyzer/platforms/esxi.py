"""ESXi 5.x-8.x: no Service Console; the VMkernel runs the management agents as user worlds.

There is no ``vmnixhbd`` to lose and no COS core: a purple screen is the VMkernel's own, and
memory trouble shows as agents (hostd, vpxa) or a full ramdisk, not as a lost heartbeat. The
plan therefore never speaks of the Service Console's memory or core file.
"""

from __future__ import annotations

from lostbeat.analyzer.facts import DumpSet, Facts, PlanBook
from lostbeat.analyzer.platforms._esx import esx_facts, esxi_votes, vmkernel_dumps
from lostbeat.analyzer.platforms._esx_artifacts import ESXI_ARTIFACTS
from lostbeat.analyzer.platforms._profile import Artifact, Parsed
from lostbeat.analyzer.result import Action, CrashClass, Platform

__all__ = ["ESXI", "Esxi"]

ENGAGE = "653"
INTERPRET = "1004250"

PLAN = PlanBook(
    remove_third_party=Action(
        None,
        "{name} is third-party software leaking memory: find the VIB that installed it and "
        "remove or update it (Third Party Hardware and Software Support Policy)",
    ),
    disable_leaker=Action(
        None, "Restart or stop {name} until it is fixed, and watch its memory with esxtop"
    ),
    engage_for_leak=Action(
        ENGAGE,
        "{name} is {who} leaking memory: engage VMware support with this vm-support bundle and "
        "the VMkernel core dump",
    ),
    raise_memory=Action(
        None,
        "Memory use is static but high: review the host's management agents and third-party "
        "VIBs, and the memory reserved for them",
    ),
    record_finer=Action(
        None,
        "The records cannot see this cause: collect esxtop in batch mode before a recurrence "
        "to see per-world memory as it happens",
    ),
    engage=Action(
        ENGAGE, "Engage VMware support with the vm-support bundle and the VMkernel core dump"
    ),
    interpret=Action(INTERPRET, "Interpret the purple screen as KB 1004250 describes"),
    for_class={
        CrashClass.HARDWARE: Action(
            None,
            "A hardware error, not an ESXi fault: engage the server vendor with the purple "
            "screen, {bank}{device} and the IPMI event log (esxcli hardware ipmi sel list)",
        ),
        CrashClass.DRIVER: Action(
            None,
            "The fault is in {driver}: update its VIB and the "
            "device's firmware to the versions the VMware Compatibility Guide lists for this "
            "release (esxcli software vib list shows what is installed), and engage {vendor}",
        ),
        CrashClass.VMKERNEL: Action(
            INTERPRET,
            "A fault in the VMkernel itself: interpret the purple screen as KB 1004250 "
            "describes, update to a release that fixes it, and engage VMware support with the "
            "VMkernel core dump (var/core/vmkernel-zdump)",
        ),
    },
    agent=Action(
        None,
        "No purple screen: {agent} failed while the host stayed up; restart the management "
        "agents (services.sh restart) and keep its core dump in var/core for VMware support",
    ),
)


WORDS = Platform(
    name="esxi",
    label="ESXi 5.x-8.x",
    domain="the ESXi host",
    domain_short="host",
    daemon=None,
    record="hourly summary",
)


def _dumps(parsed: Parsed) -> tuple[DumpSet, ...]:
    return (
        vmkernel_dumps(
            parsed,
            named="vmkernel-zdump.N",
            where="var/core/",
            advice="collect it from the dump partition or file before it is overwritten",
        ),
        DumpSet("userworld", "user-world core dumps", parsed.cores.userworld, expected=False),
    )


class Esxi:
    """ESXi 5.x-8.x (no Service Console)."""

    name = WORDS.name
    artifacts: dict[str, Artifact] = ESXI_ARTIFACTS

    def recognise(self, parsed: Parsed) -> int:
        """A 5.x or later product line, a version file or screen that says ESXi, or forms only
        ESXi writes (``_esx.esxi_votes``)."""
        return 20 if esxi_votes(parsed) > 0 else 0

    def facts(self, parsed: Parsed) -> Facts:
        return esx_facts(parsed, words=WORDS, dumps=_dumps(parsed), plan=PLAN)


ESXI = Esxi()
