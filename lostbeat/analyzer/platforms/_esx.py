"""What ESX classic and ESXi share: the artifact table of a vm-support bundle, the hourly
history, the crash, the processes named in ps/pstree/top, the catalog and the releases.

Each ESX profile adds its own words, evidence inventory, known issues and plan.
"""

from __future__ import annotations

from dataclasses import dataclass

from lostbeat.analyzer import builds
from lostbeat.analyzer.catalog import CATALOG
from lostbeat.analyzer.facts import (
    Catalog,
    Catalogued,
    Domain,
    MemoryHistory,
    Pressure,
    ProcessInfo,
    ReleaseInfo,
)
from lostbeat.analyzer.parsers.vmksummary import SummaryLine
from lostbeat.analyzer.platforms._esx_crash import crash_build, esx_crash
from lostbeat.analyzer.platforms._profile import Artifact, Parsed
from lostbeat.analyzer.platforms._summary import (
    HOURLY,
    SummaryBoot,
    events,
    hourly_series,
    incident,
    merge_summaries,
    split_boots,
    swap_points,
)
from lostbeat.analyzer.result import Crash, Origin, TimelineEvent

__all__ = ["ESX_ARTIFACTS", "EsxView", "esx_catalog", "product_line", "read_esx"]

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

_INTERPRETERS = ("java", "perl", "python", "python2", "python3", "sh", "bash", "mono")
_THIRD_PARTY_PATHS = ("/opt/hp", "/opt/dell", "/opt/ibm", "/opt/emc")
_VMWARE_PATHS = ("/usr/lib/vmware", "/opt/vmware", "/usr/sbin/vmware")


def esx_catalog() -> Catalog:
    """Who ships which Service Console program (analyzer/catalog.py)."""
    by_name = {
        p.name: Catalogued(
            p.origin, f"{p.vendor}: {p.role} ({p.source}{'' if p.verified else ', unverified'})"
        )
        for p in CATALOG
    }
    by_path = tuple((prefix, Origin.THIRD_PARTY) for prefix in _THIRD_PARTY_PATHS) + tuple(
        (prefix, Origin.VMWARE) for prefix in _VMWARE_PATHS
    )
    return Catalog(by_name, by_path, _INTERPRETERS)


def product_line(parsed: Parsed) -> tuple[int, int] | None:
    """(major, minor) of the first version file that names one: "3.5.0" -> (3, 5).
    It tells a 3.5 patch build from a 4.0 one where the build numbers overlap."""
    for info in parsed.versions:
        parts = (info.version or "").split(".")
        if len(parts) >= 2 and parts[0].isdigit() and parts[1].isdigit():
            return int(parts[0]), int(parts[1])
    return None


def _release(build: int | None, line: tuple[int, int] | None) -> ReleaseInfo | None:
    found = builds.release_of(build, version=line)
    if found is None:
        return None
    return ReleaseInfo(found.name, "ESX", found.version, found.update, found.verified)


def _processes(parsed: Parsed) -> tuple[ProcessInfo, ...]:
    entries = [p for t in parsed.tables for p in t.processes]
    if parsed.tops:
        entries.extend(parsed.tops[-1].processes)
    return tuple(
        ProcessInfo(e.name, e.command, e.pid, e.vsz_kb, e.rss_kb, None, e.evidence) for e in entries
    )


@dataclass(frozen=True, slots=True)
class EsxView:
    """The parts of an ESX incident both ESX profiles read the same way."""

    lines: tuple[SummaryLine, ...]
    boots: tuple[SummaryBoot, ...]
    crash: Crash
    release: ReleaseInfo | None
    domain: Domain
    history: MemoryHistory
    plot: MemoryHistory
    processes: tuple[ProcessInfo, ...]
    events: tuple[TimelineEvent, ...]


def _pressure(last: SummaryLine | None, domain: Domain) -> Pressure:
    """The last hourly summary against the console's sizes (KB 308590's arithmetic)."""
    if last is None:
        return Pressure()
    swap_kb = last.swap_used_bytes / 1024.0 if last.swap_used_bytes is not None else None
    total = domain.swap_total_kb
    swap = 100.0 * swap_kb / total if swap_kb is not None and total else None
    ram = (
        100.0 * sum(c.kb for c in last.top) / domain.ram_kb if domain.ram_kb and last.top else None
    )
    free = max(total - swap_kb, 0.0) if swap_kb is not None and total else None
    return Pressure(swap, ram, free)


def read_esx(parsed: Parsed) -> EsxView:
    lines = merge_summaries(parsed.summaries)
    boots = split_boots(lines)
    crashed = incident(boots)
    window = crashed.lines if crashed else ()
    screens = parsed.screens
    signals = tuple(s for screen in screens for s in screen.signals) + tuple(
        s for log in parsed.logs for s in log.signals
    )
    build = crash_build(screens, crashed, [v.build for v in parsed.versions if v.build])
    release = _release(build, product_line(parsed))
    crash = esx_crash(screens, signals, boots, crashed, build=build, release=release)
    info = parsed.meminfo[0] if parsed.meminfo else None
    domain = Domain(
        ram_kb=info.total / 1024.0 if info and info.total is not None else None,
        swap_total_kb=info.swap_total / 1024.0 if info and info.swap_total is not None else None,
        evidence=info.evidence if info else (),
    )
    last = window[-1] if window else None
    history = MemoryHistory(
        sampling=HOURLY,
        series=hourly_series(window),
        samples=len(window),
        end=float(last.epoch) if last is not None and last.epoch is not None else None,
        swap=swap_points(window),
        pressure=_pressure(last, domain),
        last_evidence=(last.evidence,) if last is not None else (),
    )
    plot = MemoryHistory(sampling=HOURLY, series=hourly_series(lines), swap=swap_points(lines))
    return EsxView(
        lines,
        boots,
        crash,
        release,
        domain,
        history,
        plot,
        _processes(parsed),
        events(lines),
    )
