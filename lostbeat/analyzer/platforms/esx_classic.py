"""ESX 3.x/4.x: a Service Console beside the VMkernel, heartbeating it with ``vmnixhbd``.

The seed article's platform (KB 308590): the hourly ``vmksummary``, the Service Console's
``/proc/meminfo``, the VMkernel zdump and the COS core, ``Misc.CosCorefile`` in esx.conf, and
the article's action plan with the KB for each step.
"""

from __future__ import annotations

from lostbeat.analyzer.facts import DumpSet, Facts, PlanBook, SettingCheck
from lostbeat.analyzer.parsers.esx_conf import EsxConf
from lostbeat.analyzer.parsers.vmksummary import LineKind
from lostbeat.analyzer.platforms._esx import esx_facts, esxi_votes, vmkernel_dumps
from lostbeat.analyzer.platforms._esx_artifacts import ESX_ARTIFACTS
from lostbeat.analyzer.platforms._esx_issues import ESX_ISSUES
from lostbeat.analyzer.platforms._profile import Artifact, Parsed
from lostbeat.analyzer.result import Action, CrashClass, Platform

__all__ = ["ESX_CLASSIC", "EsxClassic"]

RAISE_MEMORY = "1003501"
TOP_BATCH = "1006797"
COS_CORE = "1032962"
ENGAGE = "653"
INTERPRET = "1004250"

CORE_FILE_KEY = "/adv/Misc/CosCorefile"
"""Either spelling: ``EsxConf.get`` compares keys case-insensitively (§4.1: the VMkernel's
option table spells it CosCorefile, the KBs CosCoreFile)."""
VMFS_PREFIX = "/vmfs/volumes/"

PLAN = PlanBook(
    remove_third_party=Action(
        None,
        "{name} is third-party software leaking memory: find where it came from and remove or "
        "disable it (Third Party Hardware and Software Support Policy); raising the console's "
        "memory would only delay the next crash",
    ),
    disable_leaker=Action(
        None,
        "Disable or restart {name} on a schedule until it is fixed: workarounds typically "
        "disable the leaking component; raising the console's memory only delays the next crash",
    ),
    engage_for_leak=Action(
        ENGAGE,
        "{name} is {who} leaking memory: engage VMware support with this vm-support bundle and "
        "both core files (VMkernel zdump and COS core)",
    ),
    raise_memory=Action(
        RAISE_MEMORY,
        "Memory use is static but high: increase the RAM (up to 800 MB) or swap assigned to the "
        "Service Console, and review third-party agents' footprint",
    ),
    record_finer=Action(
        TOP_BATCH,
        "The hourly vmksummary cannot see this cause: run top in batch mode (or lostbeat record) "
        "to gather per-process memory within the hour before a recurrence",
    ),
    engage=Action(
        ENGAGE,
        "Engage VMware support with the logs and both core files: the COS core shows each "
        "process's footprint at the crash",
    ),
    interpret=Action(
        INTERPRET, "Not a lost heartbeat: interpret the purple screen as KB 1004250 describes"
    ),
    for_class={
        CrashClass.HARDWARE: Action(
            None,
            "A hardware error, not an ESX fault: engage the server vendor with the purple "
            "screen, {bank}{device} and the management controller's event log",
        ),
        CrashClass.DRIVER: Action(
            None,
            "The fault is in {driver}: update it and the "
            "device's firmware to the versions the VMware Compatibility Guide lists for this "
            "release, and engage {vendor} with the VMkernel core dump",
        ),
        CrashClass.VMKERNEL: Action(
            INTERPRET,
            "A fault in the VMkernel itself: interpret the purple screen as KB 1004250 "
            "describes, look for a patch of this release that fixes it, and engage VMware "
            "support with the VMkernel core dump",
        ),
    },
    agent=Action(
        None,
        "No purple screen: {agent} failed while the host stayed up; restart the management "
        "agents (service mgmt-vmware restart) and keep its core and log for VMware support",
    ),
    fix_setting={
        "cos_core_file": Action(
            COS_CORE,
            "Set Misc.CosCoreFile to a file on a VMFS datastore so the next crash leaves a "
            "Service Console core",
        )
    },
)

KNOWN_ISSUES = ESX_ISSUES
"""The known issues of ESX (``esx_known_issues.toml``); their releases gate them."""


def _core_file(conf: EsxConf | None) -> SettingCheck:
    """``Misc.CosCorefile`` must name a file on a VMFS volume (§4.1: "Full path of vmfs file
    to use for Service Console core dumps")."""
    entry = conf.get(CORE_FILE_KEY) if conf is not None else None
    value = entry.value.strip() if entry is not None else None
    valid: bool | None = None
    if conf is not None:
        valid = bool(value) and value is not None and value.startswith(VMFS_PREFIX)
        valid = valid and len(value or "") > len(VMFS_PREFIX)
    return SettingCheck(
        "cos_core_file",
        "Misc.CosCoreFile",
        value or None,
        valid,
        "it must name a file on a VMFS volume (/vmfs/volumes/...) for the Service Console "
        "core to be written",
        (entry.evidence,) if entry is not None else (),
    )


WORDS = Platform(
    name="esx_classic",
    label="ESX 3.x/4.x (Service Console)",
    domain="the Service Console",
    domain_short="console",
    daemon="vmnixhbd",
    record="hourly summary",
)


def _dumps(parsed: Parsed) -> tuple[DumpSet, ...]:
    return (
        vmkernel_dumps(
            parsed,
            named="vmkernel-zdump-*",
            where="root/, root/old_cores/ or var/core/",
            advice="collect it from the dump partition (vmkdump) before it is overwritten",
        ),
        DumpSet(
            "cos",
            "COS cores",
            parsed.cores.cos,
            expected=True,
            missing="No Service Console core (*.core.gz) in root/old_cores/ or var/core/",
            advice="analysis of the crash state needs it",
        ),
    )


# The Service Console's packages (ESXi has no rpm): the agents and their versions
PACKAGES = Artifact(
    ("tmp/rpm.*.txt",),  # §3.2: vm-support runs rpm -qa; §7 names tmp/rpm.<pid>.txt
    many=True,
    content=True,
    doc="installed packages: VMware's and the management agents', with their versions",
)


class EsxClassic:
    """ESX 3.x/4.x with a Service Console."""

    name = WORDS.name
    artifacts: dict[str, Artifact] = {**ESX_ARTIFACTS, "packages": PACKAGES}

    def recognise(self, parsed: Parsed) -> int:
        """Any ESX artifact; one that says ESXi (a 5.x+ product line, an ESXi header, forms
        only ESXi writes) is ESXi's instead."""
        if esxi_votes(parsed) > 0:
            return 0
        classic_lines = any(
            ln.kind is LineKind.HEARTBEAT for s in parsed.summaries for ln in s.lines
        )
        esx = (
            classic_lines
            or parsed.screens
            or parsed.logs
            or parsed.meminfo
            or parsed.conf
            or parsed.versions
            or parsed.tables
            or parsed.tops
            or parsed.cores.vmkernel
            or parsed.cores.cos
        )
        return 10 if esx else 0

    def facts(self, parsed: Parsed) -> Facts:
        conf = parsed.conf[0] if parsed.conf else None
        return esx_facts(
            parsed, words=WORDS, dumps=_dumps(parsed), settings=(_core_file(conf),), plan=PLAN
        )


ESX_CLASSIC = EsxClassic()
