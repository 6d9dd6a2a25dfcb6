"""Where a vm-support bundle keeps each ESX artifact: ESX 3.x/4.x's table, and what ESXi 5-8
adds (``var/run/log/``, ``commands/*.txt``, ``var/core/``; docs/reference/esxi-bundles.md).

Both tables name the same artifacts where the files are the same kind (``vmkernel_log`` is
``var/log/vmkernel`` on ESX 4 and ``var/run/log/vmkernel.log`` on ESXi 7); the profiles list
them and ``platforms.artifact_table`` merges their patterns. A ``§N.N`` cites
docs/reference/esx-artifacts.md.
"""

from __future__ import annotations

from dataclasses import replace

from lostbeat.analyzer.platforms._profile import Artifact

__all__ = ["ESXI_ARTIFACTS", "ESX_ARTIFACTS"]

ESX_ARTIFACTS: dict[str, Artifact] = {
    "vmksummary": Artifact(
        (
            "var/log/vmksummary",  # §1.1, §3.2: vm-support collects /var/log/vmksummary
            # §1.4: rotated names not found, so any suffix (.1, .2.gz) is accepted
            "var/log/vmksummary.*",
            "var/log/vmksummary.d/*",  # §1.1, §3.2: /var/log/vmksummary.d/vmksummary*
        ),
        many=True,
        content=True,
        doc="hourly heartbeat lines: swap used and the top three Service Console consumers",
        tail=True,
    ),
    "vmkernel_log": Artifact(
        (
            "var/log/vmkernel",  # §3.2: var/log/vmkernel*
            "var/log/vmkernel.*",  # §3.2: rotations
            "var/log/vmkwarning*",  # §3.2: warnings
            "root/vmkernel-log.*",  # §5: `vmkdump -l <zdump>` extracts vmkernel-log.N
            "root/old_cores/vmkernel-log.*",  # §5: /root cores move to /root/old_cores
            "var/core/vmkernel-log.*",  # §5: COREDUMP_DIR=/var/core on ESXi
            "vmkernel-log.*",  # esxi-bundles.md B6: vmkdump_extract writes it where it runs
        ),
        many=True,
        content=True,
        doc="VMkernel log lines, including the log extracted from a zdump",
        tail=True,
    ),
    "psod": Artifact(
        # not a vm-support file: a screen someone transcribed; loose files are sniffed (§2.2)
        ("**/psod.txt", "**/*[Pp][Ss][Oo][Dd]*.txt"),
        many=True,
        content=True,
        doc="a transcribed purple diagnostic screen",
    ),
    "esx_log": Artifact(
        (
            # The Service Console's var/log/messages repeats the vmkernel log and the hourly
            # summary, read from their own files; given loose, it is read by its content.
            "var/log/vmware/hostd*",  # esxi-bundles.md B2: hostd's own logs on 4.x
            "var/log/vmware/vpx/vpxa*",  # §3.2 (vpxa beside hostd, DERIVED)
        ),
        many=True,
        content=True,
        doc="the management agents' logs (hostd, vpxa, shell, vobd, LogEFI): agent core dumps "
        "and hangs, reboots asked for, the panic if it was re-logged",
        tail=True,
    ),
    "meminfo": Artifact(
        ("proc/meminfo",),  # §3.2: all of /proc is copied
        many=False,
        content=True,
        doc="Service Console memory and swap totals (post-reboot)",
    ),
    "esx_conf": Artifact(
        ("etc/vmware/esx.conf",),  # §3.2 config, §4.1 advanced options
        many=False,
        content=True,
        doc="host configuration: Misc.CosCorefile, Misc.PsodOnCosPanic",
    ),
    "version": Artifact(
        (
            "tmp/vmware.*.txt",  # §3.3: `vmware -v` output
            "etc/vmware-release",  # §3.3
            "proc/vmware/version",  # §3.3, §1.1
            "commands/vmware_-vl.txt",  # esxi-bundles.md: `vmware -vl` (B2, B3)
            "commands/vmware_-v.txt",  # esxi-bundles.md: the same naming of `vmware -v` (DERIVED)
            "commands/vmware_-l.txt",  # esxi-bundles.md: and of `vmware -l` (DERIVED)
        ),
        many=True,
        content=True,
        doc="product and build of the host",
    ),
    "ps": Artifact(
        ("tmp/ps.*.txt",),  # §3.2: ps -auxwww
        many=True,
        content=True,
        doc="process table at collection time",
    ),
    "pstree": Artifact(
        ("tmp/pstree.*.txt",),  # §3.2: pstree -ap
        many=True,
        content=True,
        doc="process tree at collection time",
    ),
    "top": Artifact(
        ("tmp/top.*.txt",),  # §3.2, §8: top -d 1 -n 10 -b
        many=True,
        content=True,
        doc="ten batch-mode top iterations at collection time",
    ),
    "vmkernel_zdump": Artifact(
        # Not a log: a dump over the read cap is skipped, never read through for its tail.
        ("var/core/vmkernel-zdump.*",),  # esxi-bundles.md B1 reads it as text (DERIVED)
        many=True,
        content=True,
        doc="a VMkernel dump read as text: the log it carries, ending with the panic",
    ),
    "coredumps": Artifact(
        (
            "root/vmkernel-zdump-*",  # §5: first reboot after a PSOD writes it to /root
            "root/old_cores/*",  # §5: vm-support moves /root cores to /root/old_cores
            "var/core/*",  # §5: COREDUMP_DIR on ESXi
            "**/*.core.gz",  # §4.1, §5: COS core <CosCorefile>.<pid>.core.gz
        ),
        many=True,
        content=False,
        doc="VMkernel zdumps and Service Console cores (names only)",
    ),
}


def _with(table: dict[str, Artifact], more: dict[str, tuple[str, ...]]) -> dict[str, Artifact]:
    """``table`` with more patterns for some of its artifacts."""
    out = dict(table)
    for name, patterns in more.items():
        out[name] = replace(out[name], patterns=out[name].patterns + patterns)
    return out


ESXI_ARTIFACTS: dict[str, Artifact] = {
    **_with(
        ESX_ARTIFACTS,
        {
            "vmkernel_log": (
                "var/run/log/vmkernel.log",  # B1, B7, KB 370976
                "var/run/log/vmkernel.*",  # B1: its .N.gz rotations
                "var/run/log/vmkwarning*",  # KB 2004201 (via B2), KB 430676
            ),
            "esx_log": (
                "var/run/log/hostd*",  # B7
                "var/run/log/vpxa*",  # B7
                "var/run/log/shell*",  # B3
                "var/run/log/vobd*",  # B3
                "var/run/log/syslog*",  # KB 2004201
                "var/run/log/[Ll]og[Ee][Ff][Ii]*",  # KB 426284: logEFI.log, the last screen
                "var/log/hostd*",  # B2
                "var/log/vpxa*",  # B2, KB 2004201: var/log links to var/run/log
                "var/log/shell*",  # B2
                "var/log/vobd*",  # KB 2004201
                "var/log/syslog.log*",  # KB 2004201 (Debian's var/log/syslog is a Linux log, §8)
                "var/log/[Ll]og[Ee][Ff][Ii]*",  # KB 426284
            ),
        },
    ),
    "vmksummary_log": Artifact(
        ("var/run/log/vmksummary.log", "var/run/log/vmksummary.*"),  # B3, B4, B5
        many=True,
        content=True,
        doc="ESXi's boots, stops and hourly leaderboards of the top consumers",
        tail=True,
    ),
    "vibs": Artifact(
        (
            "commands/localcli_software-vib-get.txt",  # B3: the installed VIBs' versions
            "commands/localcli_software-vib-list.txt",  # B3: the same naming (DERIVED)
            "commands/esxcli_software-vib-list.txt",  # B8 (unverified)
        ),
        many=True,
        content=True,
        doc="the installed VIBs: each driver's and agent's version and vendor",
    ),
    "ipmi_sel": Artifact(
        # `esxcli hardware ipmi sel list`, named as vm-support names commands/ (DERIVED: no
        # bundle listing shows it)
        ("commands/localcli_hardware-ipmi-sel-list.txt",),  # KB 394465's listing
        many=True,
        content=True,
        doc="the management controller's event log (hardware faults asserted)",
    ),
}
