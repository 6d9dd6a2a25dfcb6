"""What ESX classic and ESXi share: the hourly history, the crash and its class, the known
issues its lines show, the processes named in ps/pstree/top, the catalog and the releases,
all built into the neutral facts by :func:`esx_facts`.

Each ESX profile adds its own words, artifacts, evidence inventory, settings and plan. Whether the
inputs are ESXi's or ESX classic's is read from their content (:func:`esxi_votes`): the
version files first, then a screen's header, then the forms only one of them writes.
"""

from __future__ import annotations

from lostbeat.analyzer import builds
from lostbeat.analyzer.catalog import CATALOG
from lostbeat.analyzer.facts import (
    Catalog,
    Catalogued,
    Domain,
    DumpSet,
    Facts,
    MemoryHistory,
    PlanBook,
    Pressure,
    ProcessInfo,
    ReleaseInfo,
    SettingCheck,
)
from lostbeat.analyzer.findings import Evidence
from lostbeat.analyzer.issues import KnownIssue, Signs, signed
from lostbeat.analyzer.parsers._panic import Panic
from lostbeat.analyzer.parsers.vmksummary import SummaryLine
from lostbeat.analyzer.platforms._esx_class import classify
from lostbeat.analyzer.platforms._esx_crash import Shown, crash_type, esx_crash, merge_panics
from lostbeat.analyzer.platforms._esx_issues import ESX_ISSUES
from lostbeat.analyzer.platforms._profile import Parsed
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
from lostbeat.analyzer.result import Crash, CrashType, Origin, Platform

__all__ = [
    "MEMORY_CRASHES",
    "esx_catalog",
    "esx_facts",
    "esxi_votes",
    "product_line",
    "vmkernel_dumps",
]

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


MEMORY_CRASHES = frozenset({CrashType.LOST_HEARTBEAT, CrashType.UNKNOWN})
"""What the Service Console running out of memory can cause: a lost heartbeat (KB 308590),
or a crash whose screen is not in the inputs. A VMkernel purple screen is never its doing."""


def _line(version: str | None) -> tuple[int, int] | None:
    parts = (version or "").split(".")
    if len(parts) >= 2 and parts[0].isdigit() and parts[1].isdigit():
        return int(parts[0]), int(parts[1])
    return None


def product_line(parsed: Parsed) -> tuple[int, int] | None:
    """(major, minor) of the first version file that names one ("3.5.0" -> (3, 5)), else of a
    screen's header ("VMware ESXi 5.0.0 [Releasebuild-N"). It tells a 3.5 patch build from a
    4.0 one where the build numbers overlap."""
    for info in parsed.versions:
        if (line := _line(info.version)) is not None:
            return line
    for panic in _panics(parsed):
        if (line := _line(panic.version)) is not None:
            return line
    for log in parsed.logs:
        if (line := _line(log.version)) is not None:
            return line
    return None


def esxi_votes(parsed: Parsed) -> int:
    """Positive when the inputs are ESXi's (5.x-8.x, or 4.x ESXi), negative when ESX classic's,
    0 when nothing says: the version files decide, then a screen's header, then the forms
    only one of them writes (ISO-8601 log stamps and ``@vmkernel#nover`` frames against the
    Service Console's words, esxi-bundles.md), then the bundle's ESXi-only folders."""
    for info in parsed.versions:
        product, line = (info.product or ""), _line(info.version)
        if product.endswith("ESXi") or (line is not None and line >= (5, 0)):
            return 2
        if product or line is not None:
            return -2
    for panic in _panics(parsed):
        line = _line(panic.version)
        if (panic.product or "").endswith("ESXi") or (line is not None and line >= (5, 0)):
            return 2
        if panic.product:
            return -2
    # an agent's backtrace says "VMware ESX" on ESXi too: only a 5.x+ version tells
    if any((line := _line(log.version)) is not None and line >= (5, 0) for log in parsed.logs):
        return 2
    votes = [s.esxi for s in parsed.screens] + [log.esxi for log in parsed.logs]
    esxi, classic = votes.count(True), votes.count(False)
    if esxi != classic:
        return 1 if esxi > classic else -1
    if (
        parsed.vibs
        or parsed.sel
        or any(n.startswith(("var/run/log/", "commands/")) for n in parsed.names)
    ):
        return 1
    # ESXi's vmksummary.log stamps its lines in ISO-8601; ESX's vmksummary in syslog's form
    if any("T" in ln.stamp for s in parsed.summaries for ln in s.lines[:1]):
        return 1
    return 0


def _product(parsed: Parsed) -> str | None:
    votes = esxi_votes(parsed)
    return "ESXi" if votes > 0 else "ESX" if votes < 0 else None


def _release(
    build: int | None, line: tuple[int, int] | None, product: str | None
) -> ReleaseInfo | None:
    found = builds.release_of(build, version=line, product=product)
    if found is None:
        return None
    return ReleaseInfo(
        found.name, found.product, found.version, found.update, found.verified, build
    )


def _panics(parsed: Parsed) -> list[Panic]:
    """Every panic the screens and logs show, screens first (no user world's core)."""
    found = [s.panic for s in parsed.screens if s.panic is not None]
    found += [log.panic for log in parsed.logs if log.panic is not None]
    return [p for p in found if p.shown and not p.process_core]


def crash_build(
    parsed: Parsed, panic: Panic | None, incident: SummaryBoot | None,
    lines: tuple[SummaryLine, ...],
) -> int | None:  # fmt: skip
    """The build of the crashed host: the screen's, else an agent backtrace's, else the last
    hourly line's (of the boot that crashed, else any), else the version files' (written
    after the reboot, so possibly a newer build)."""
    for screen in parsed.screens:
        if screen.build is not None:
            return screen.build
    if panic is not None and panic.build is not None:
        return panic.build
    for log in parsed.logs:  # the build an agent that crashed ran on
        if log.build is not None:
            return log.build
    for window in (incident.lines if incident else (), lines):
        for line in reversed(window):
            if line.vmk_build is not None:
                return line.vmk_build
    return next((v.build for v in parsed.versions if v.build), None)


def _processes(parsed: Parsed) -> tuple[ProcessInfo, ...]:
    entries = [p for t in parsed.tables for p in t.processes]
    if parsed.tops:
        entries.extend(parsed.tops[-1].processes)
    return tuple(
        ProcessInfo(e.name, e.command, e.pid, e.vsz_kb, e.rss_kb, None, e.evidence) for e in entries
    )


def vmkernel_dumps(parsed: Parsed, *, named: str, where: str, advice: str) -> DumpSet:
    """The VMkernel core dumps, which every ESX incident should have: the profile's bundles
    keep them ``named`` so ``where``."""
    return DumpSet(
        "vmkernel",
        "VMkernel dumps",
        parsed.cores.vmkernel,
        expected=True,
        missing=f"No VMkernel core dump ({named}) in {where}",
        advice=advice,
    )


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


def esx_facts(
    parsed: Parsed,
    *,
    words: Platform,
    dumps: tuple[DumpSet, ...],
    plan: PlanBook,
    settings: tuple[SettingCheck, ...] = (),
    issues: tuple[KnownIssue, ...] = ESX_ISSUES,
) -> Facts:
    """The facts of an ESX incident, read the same way for both ESX profiles; each gives its
    own words, evidence inventory, settings checked and plan."""
    lines = merge_summaries(parsed.summaries)
    boots = split_boots(lines)
    crashed = incident(boots)
    window = crashed.lines if crashed else ()
    panics = _panics(parsed)
    shown = Shown(
        screens=tuple(parsed.screens),
        panics=tuple(panics),
        signals=tuple(s for screen in parsed.screens for s in screen.signals)
        + tuple(s for log in parsed.logs for s in log.signals),
        logs=len(parsed.logs),
        dumps=parsed.cores.userworld,
        summary=lines,
        halted=tuple(r.evidence for sel in parsed.sel for r in sel.records if r.processor_fatal),
    )
    panic = merge_panics(panics)
    build = crash_build(parsed, panic, crashed, lines)
    release = _release(build, product_line(parsed), _product(parsed))
    kind = crash_type(shown, boots)
    signs = Signs(
        tuple(e for screen in parsed.screens for e in screen.lines)
        + tuple(e for log in parsed.logs for e in log.lines)
        # each panic's message as read, cut where a flattened paste ran the next record in
        + tuple(
            Evidence(p.message_evidence.path, p.message_evidence.line_no, p.message)
            for p in panics
            if p.message and p.message_evidence
        )
    )
    uptime = next((s.vmk_uptime_s for s in parsed.screens if s.vmk_uptime_s is not None), None)
    matched = [i for i, _ in signed(issues, Crash(kind[0], vmk_uptime_s=uptime), release, signs)]
    verdict = classify(kind[0], panic, matched, [e.text for e in signs.lines], parsed.vibs)
    crash = esx_crash(
        shown, boots, crashed, kind=kind, panic=panic, verdict=verdict, build=build,
        release=release,
    )  # fmt: skip
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
    return Facts(
        words=words,
        crash=crash,
        history=history,
        host=parsed.host or (lines[-1].host if lines else None),
        domain=domain,
        boots=tuple(b.boot for b in boots),
        events=events(lines),
        plot=MemoryHistory(sampling=HOURLY, series=hourly_series(lines), swap=swap_points(lines)),
        boot_times=tuple(b.boot.started_at for b in boots if b.boot.started_at is not None),
        processes=_processes(parsed),
        catalog=esx_catalog(),
        dumps=dumps,
        settings=settings,
        known_issues=issues,
        signs=signs,
        # a restart the summary marks "VMkernel error" with no screen may be a lost heartbeat
        memory_crashes=(
            MEMORY_CRASHES if panics or kind[1] else MEMORY_CRASHES | {CrashType.VMKERNEL}
        ),
        plan=plan,
        release=release,
    )
