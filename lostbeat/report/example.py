"""An example analysis, built on the figures of KB 308590's vmksummary and meminfo examples.

The docs (docs/json-schema.md, docs/img/report-example.png) and the report tests show this
result, so what they show is what the code writes. The two last vmksummary lines, the
swap and meminfo figures and the build are the article's; the fortnight of history before
them and the crash time are made up to fit (the article has two lines only).

Examples:
    >>> result = example_result()
    >>> result.memory.swap_used_percent, result.memory.top_process_ram_percent
    (100.0, 73.3)
    >>> len(result.history.consumers[0].points)
    336
"""

from __future__ import annotations

import math

from lostbeat.analyzer.findings import Evidence, Finding, Severity
from lostbeat.analyzer.result import (
    Action,
    AnalysisResult,
    CauseKind,
    Coredumps,
    Crash,
    CrashClass,
    CrashType,
    DumpList,
    History,
    InputRecord,
    InputStatus,
    Memory,
    Origin,
    Platform,
    ProcessSeries,
    RootCause,
    Setting,
    TimelineEvent,
)

__all__ = ["example_result"]

_LAST = 1258102905.0  # "(1258102905) hb: vmk loaded" - the last summary, KB 308590
_HOURS = 336  # a fortnight of hourly summaries
_BOOT = _LAST - 11798915.64  # that line's uptime: up 136 days
_RESTART = 1258114439.0  # "vmkhalt: (1258114439) Starting system..."
_CRASH = 1258106400.0  # made up: between the last summary and the next one
_STOPPED = _CRASH - 30 * 60  # the heartbeat timeout is 30 minutes (KB 308590)
_MEM_TOTAL_KB = 799732
_SWAP_TOTAL_KB = 554168
_SWAP_USED = 567468032
_RATE_KB_H = 1030.0

_SUMMARY = "var/log/vmksummary"
_VMKERNEL = "var/log/vmkernel"
_LINE_AT = (
    "Nov 13 04:01:45 esxhostname logger: (1258102905) hb: vmk loaded, 11798915.64, "
    "11798902.253, 73, 153875, 153875, 567468032, VMap-586196, vmware-h-83180, webAcces-27292"
)
_LINE_BEFORE = (
    "Nov 13 03:01:35 esxhostname logger: (1258099291) hb: vmk loaded, 11795301.25, "
    "11795288.970, 73, 153875, 153875, 567468032, VMap-583524, vmware-h-82812, webAcces-27332"
)


def _series(last: tuple[int, int], *, rate: float, wobble: float) -> tuple[tuple[float, int], ...]:
    """Hourly points ending in the article's last two values."""
    start = last[1] - rate * (_HOURS - 1)
    points = []
    for i in range(_HOURS - 2):
        kb = start + rate * i + wobble * math.sin(i / 3.0)
        points.append((_LAST - 3600.0 * (_HOURS - 1 - i), round(kb)))
    points.append((_LAST - 3614.0, last[0]))
    points.append((_LAST, last[1]))
    return tuple(points)


def _history() -> History:
    vmap = _series((583524, 586196), rate=_RATE_KB_H, wobble=900.0)
    hostd = _series((82812, 83180), rate=0.0, wobble=400.0)
    web = _series((27332, 27292), rate=0.0, wobble=60.0)
    swap = tuple(
        (t, round(_SWAP_USED * max(0.0, (kb - 300000) / (586196 - 300000)) ** 1.5))
        for t, kb in vmap
    )
    first = vmap[0]
    projection = ((first[0], float(first[1])), (_CRASH, vmap[-1][1] + _RATE_KB_H * 0.8))
    return History(
        consumers=(
            ProcessSeries("VMap", "VMap", vmap),
            ProcessSeries("vmware-h", "vmware-hostd", hostd),
            ProcessSeries("webAcces", "webAccess", web),
        ),
        swap=swap,
        swap_total_bytes=_SWAP_TOTAL_KB * 1024,
        mem_total_bytes=_MEM_TOTAL_KB * 1024,
        boots=(_BOOT, _RESTART),
        projection=projection,
    )


def _findings() -> tuple[Finding, ...]:
    alert = Evidence(
        _VMKERNEL,
        4121,
        "Nov 13 05:00:00 esxhostname vmkernel: 136:14:26:50.174 cpu0:1024)VMNIX: ALERT: HB: 365: "
        "Lost heartbeat (comm=VMap pid=9173 t=30 to=30 clt=1).",
    )
    cos_error = Evidence(
        _VMKERNEL,
        4122,
        "Nov 13 05:00:00 esxhostname vmkernel: 136:14:26:50.341 cpu0:1024)Host: 4781: COS Error: "
        "Lost heartbeat",
    )
    return (
        Finding(
            "crash.lost_heartbeat",
            Severity.CRITICAL,
            "The VMkernel declared a lost heartbeat after 30 minutes of silence",
            "The Service Console stopped heartbeating the VMkernel; comm=VMap in the alert is a "
            "hint only.",
            (alert, cos_error),
        ),
        Finding(
            "leak.monotonic",
            Severity.CRITICAL,
            "VMap grew steadily for 14 days, about 1 MB an hour",
            "Its footprint rose from 241 MB to 572 MB over 336 hourly summaries without falling.",
            (Evidence(_SUMMARY, 8071, _LINE_BEFORE), Evidence(_SUMMARY, 8072, _LINE_AT)),
        ),
        Finding(
            "swap.exhausted",
            Severity.CRITICAL,
            "Swap was full: 541 MB used of 541 MB",
            "",
            (
                Evidence(_SUMMARY, 8072, _LINE_AT),
                Evidence("proc/meminfo", 4, "SwapTotal: 554168 kB"),
            ),
        ),
        Finding(
            "coredump.present",
            Severity.INFO,
            "Both coredumps were found",
            "Tech Support can read the state of every process from the COS core.",
            (Evidence("root/old_cores/cos-core-esxhostname.123.core.gz", None, "gzip, 41 MB"),),
        ),
    )


_CORE_FILE = "/vmfs/volumes/4533e089-1dfcdd21-f1d3-001a140ebdca/cos-core-esxhostname"
_ZDUMPS = ("root/old_cores/vmkernel-zdump-111309.07.13.1",)
_COS_CORES = ("root/old_cores/cos-core-esxhostname.123.core.gz",)


def example_result() -> AnalysisResult:
    """The example: a VMware HA (VMap) leak that exhausted the Service Console's swap."""
    vmap_kb = 586196
    return AnalysisResult(
        host="esxhostname",
        crash=Crash(
            type=CrashType.LOST_HEARTBEAT,
            message="Lost heartbeat",
            build=153875,
            release="ESX Server 3.5 Update 4",  # build table is BACKGROUND-unverified
            crashed_at=_CRASH,
            heartbeat_stopped_at=_STOPPED,
            vmk_uptime_s=round(_CRASH - _BOOT, 2),
            heartbeat_silence_min=30,
            heartbeat_timeout_min=30,
            uptime_s=11798915.64,
            vms_affected=73,
            alert_comm="VMap",
            evidence=_findings()[0].evidence,
            class_=CrashClass.MEMORY_EXHAUSTION,
        ),
        root_cause=RootCause(
            kind=CauseKind.LEAK,
            process="VMap",
            token="VMap",
            origin=Origin.VMWARE,
            confidence=0.9,
            rate_kb_per_hour=_RATE_KB_H,
            since=_LAST - 3600.0 * (_HOURS - 1),
            exhaustion_at=_CRASH,
            hours_to_exhaustion=round((_CRASH - (_LAST - 3600.0 * (_HOURS - 1))) / 3600.0, 1),
            explanation="VMap grew about 1 MB an hour for two weeks until swap was full and the "
            "Service Console could no longer get a page to heartbeat with.",
            held_kb=float(vmap_kb),
            held_percent=round(100.0 * vmap_kb / _MEM_TOTAL_KB, 1),
        ),
        memory=Memory(
            at=_LAST,
            swap_used_bytes=_SWAP_USED,
            swap_total_bytes=_SWAP_TOTAL_KB * 1024,
            swap_used_percent=round(100.0 * _SWAP_USED / (_SWAP_TOTAL_KB * 1024), 1),
            mem_total_bytes=_MEM_TOTAL_KB * 1024,
            top_process="VMap",
            top_process_kb=vmap_kb,
            top_process_ram_percent=round(100.0 * vmap_kb / _MEM_TOTAL_KB, 1),
            swap_danger_at=_LAST - 3600.0 * 40,
            ram_danger_at=_LAST - 3600.0 * 220,
        ),
        coredumps=Coredumps(
            vmkernel=_ZDUMPS,
            cos=_COS_CORES,
            cos_core_file=_CORE_FILE,
            cos_core_file_valid=True,
            dumps=(
                DumpList("vmkernel", "VMkernel dumps", _ZDUMPS),
                DumpList("cos", "COS cores", _COS_CORES),
            ),
            settings=(Setting("cos_core_file", "Misc.CosCoreFile", _CORE_FILE, True),),
        ),
        timeline=(
            TimelineEvent("boot", _BOOT, "host booted (uptime 136 days at the last summary)"),
            TimelineEvent(
                "last_summary", _LAST, "last hourly summary", Evidence(_SUMMARY, 8072, _LINE_AT)
            ),
            TimelineEvent(
                "crash", _CRASH, "Lost heartbeat purple screen", _findings()[0].evidence[1]
            ),
            TimelineEvent("boot", _RESTART, "Starting system...", None),
        ),
        actions=(
            Action(
                None,
                "VMap is part of VMware HA and is leaking: engage VMware Technical Support with "
                "both coredumps; adding Service Console memory would only delay the next crash.",
            ),
            Action(None, "As a workaround, consider disabling the leaking component (VMware HA)."),
            Action("1006797", "Run top in batch mode to record process memory until it is fixed."),
        ),
        findings=_findings(),
        inputs=(
            InputRecord(_SUMMARY, InputStatus.READ, "vmksummary"),
            InputRecord(_VMKERNEL, InputStatus.READ, "vmkernel_log"),
            InputRecord("proc/meminfo", InputStatus.READ, "meminfo"),
            InputRecord("etc/vmware/esx.conf", InputStatus.READ, "esx_conf"),
            InputRecord("var/log/messages", InputStatus.SKIPPED, None, "not used by any rule"),
            InputRecord(
                "var/log/vmksummary.3.gz", InputStatus.BROKEN, "vmksummary", "truncated gzip stream"
            ),
        ),
        history=_history(),
        platform=Platform(
            name="esx_classic",
            label="ESX 3.x/4.x (Service Console)",
            domain="the Service Console",
            domain_short="console",
            daemon="vmnixhbd",
            record="hourly summary",
        ),
    )
