"""ESXi 5.x-8.x: no Service Console; the VMkernel runs the management agents as user worlds.

There is no ``vmnixhbd`` to lose and no COS core: a purple screen is the VMkernel's own, and
memory trouble shows as agents (hostd, vpxa) or a full ramdisk, not as a lost heartbeat. The
plan therefore never speaks of the Service Console's memory or core file.
"""

from __future__ import annotations

from lostbeat.analyzer.facts import DumpSet, Facts, PlanBook
from lostbeat.analyzer.platforms._esx import ESX_ARTIFACTS, esx_catalog, product_line, read_esx
from lostbeat.analyzer.platforms._profile import Artifact, Parsed
from lostbeat.analyzer.result import Action, Platform

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
        "The hourly vmksummary.log cannot see this cause: collect esxtop in batch mode before a "
        "recurrence to see per-world memory within the hour",
    ),
    engage=Action(
        ENGAGE, "Engage VMware support with the vm-support bundle and the VMkernel core dump"
    ),
    interpret=Action(INTERPRET, "Interpret the purple screen as KB 1004250 describes"),
)


class Esxi:
    """ESXi 5.x-8.x (no Service Console)."""

    name = "esxi"
    artifacts: dict[str, Artifact] = ESX_ARTIFACTS

    def recognise(self, parsed: Parsed) -> int:
        """A 5.x or later product line, or a version file that says ESXi."""
        line = product_line(parsed)
        esxi = any("esxi" in (v.product or "").lower() for v in parsed.versions)
        return 20 if esxi or (line is not None and line >= (5, 0)) else 0

    def facts(self, parsed: Parsed) -> Facts:
        view = read_esx(parsed)
        return Facts(
            words=Platform(
                name=self.name,
                label="ESXi 5.x-8.x",
                domain="the ESXi host",
                domain_short="host",
                daemon=None,
                record="hourly summary",
            ),
            crash=view.crash,
            history=view.history,
            host=parsed.host or (view.lines[-1].host if view.lines else None),
            domain=view.domain,
            boots=tuple(b.boot for b in view.boots),
            events=view.events,
            plot=view.plot,
            boot_times=tuple(
                b.boot.started_at for b in view.boots if b.boot.started_at is not None
            ),
            processes=view.processes,
            catalog=esx_catalog(),
            dumps=(
                DumpSet(
                    "vmkernel",
                    "VMkernel dumps",
                    parsed.cores.vmkernel,
                    expected=True,
                    missing="No VMkernel core dump (vmkernel-zdump-*) in var/core/",
                    advice="collect it from the dump partition or file before it is overwritten",
                ),
            ),
            plan=PLAN,
            release=view.release,
        )


ESXI = Esxi()
