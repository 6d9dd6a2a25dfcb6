"""AnalysisResult values built directly: the reports' only input.

Cases: a leak with a fortnight of history (the documented example), a host that did not
crash, an empty/inconclusive analysis, one full of hostile strings, and a month of hourly
history for ten consumers (the size budget).
"""

from __future__ import annotations

import math

import pytest

from lostbeat.analyzer.findings import Evidence, Finding, Severity
from lostbeat.analyzer.result import (
    Action,
    AnalysisResult,
    CauseKind,
    Coredumps,
    Crash,
    CrashType,
    History,
    InputRecord,
    InputStatus,
    KnownIssueMatch,
    Memory,
    Origin,
    ProcessSeries,
    RootCause,
    TimelineEvent,
)
from lostbeat.report.example import example_result

HOSTILE = '<script>alert("x")</script>[bold red]x[/] $\\frac{1}{0}$ --> \x1b[2J \u202e'
"""Markup for HTML, rich and mathtext, a comment end, a terminal escape and a bidi override."""

_T0 = 1_700_000_000.0


def leak_result() -> AnalysisResult:
    return example_result()


def no_crash_result() -> AnalysisResult:
    points = tuple((_T0 + 3600.0 * i, 90_000 + 50 * (i % 5)) for i in range(48))
    return AnalysisResult(
        host="esx02.example.com",
        crash=Crash(type=CrashType.NONE),
        root_cause=RootCause(
            kind=CauseKind.NOT_MEMORY,
            explanation="The host did not crash; memory stayed flat over two days.",
        ),
        memory=Memory(
            at=points[-1][0],
            swap_used_bytes=0,
            swap_total_bytes=1_610_608_640,
            swap_used_percent=0.0,
            mem_total_bytes=838_860_800,
            top_process="vmware-hostd",
            top_process_kb=90_200,
            top_process_ram_percent=11.0,
        ),
        coredumps=Coredumps(cos_core_file=None, cos_core_file_valid=False),
        findings=(Finding("crash.none", Severity.INFO, "No crash in the inputs"),),
        actions=(Action("1032962", "Set Misc.CosCoreFile so the next COS crash leaves a core."),),
        inputs=(InputRecord("var/log/vmksummary", InputStatus.READ, "vmksummary"),),
        history=History(
            consumers=(ProcessSeries("vmware-h", "vmware-hostd", points),),
            swap=tuple((t, 0) for t, _ in points),
            swap_total_bytes=1_610_608_640,
            mem_total_bytes=838_860_800,
            boots=(_T0 - 86400.0,),
        ),
    )


def empty_result() -> AnalysisResult:
    return AnalysisResult(
        host=None,
        crash=Crash(type=CrashType.UNKNOWN),
        root_cause=RootCause(kind=CauseKind.INCONCLUSIVE),
        memory=Memory(),
        coredumps=Coredumps(),
    )


def hostile_result() -> AnalysisResult:
    ev = Evidence(f"var/log/{HOSTILE}", 7, HOSTILE)
    series = ProcessSeries(HOSTILE[:8], HOSTILE, ((_T0, 1000), (_T0 + 3600.0, 2000)))
    return AnalysisResult(
        host=HOSTILE,
        crash=Crash(
            type=CrashType.LOST_HEARTBEAT,
            message=HOSTILE,
            release=HOSTILE,
            alert_comm=HOSTILE,
            crashed_at=_T0 + 7200.0,
            evidence=(ev,),
        ),
        root_cause=RootCause(
            kind=CauseKind.LEAK,
            process=HOSTILE,
            token=HOSTILE[:8],
            origin=Origin.THIRD_PARTY,
            confidence=0.5,
            others=(HOSTILE,),
            explanation=HOSTILE,
        ),
        memory=Memory(top_process=HOSTILE, top_process_kb=2000, mem_total_bytes=10_000_000),
        coredumps=Coredumps(vmkernel=(HOSTILE,), cos=(HOSTILE,), cos_core_file=HOSTILE),
        timeline=(TimelineEvent(HOSTILE, _T0, HOSTILE, ev),),
        known_issues=(KnownIssueMatch(HOSTILE, HOSTILE, HOSTILE, (ev,)),),
        actions=(Action(HOSTILE, HOSTILE),),
        findings=(Finding(HOSTILE, Severity.WARNING, HOSTILE, HOSTILE, (ev,)),),
        inputs=(InputRecord(HOSTILE, InputStatus.BROKEN, HOSTILE, HOSTILE),),
        history=History(consumers=(series,), swap=((_T0, 1), (_T0 + 3600.0, 2))),
        errors=(HOSTILE,),
    )


def month_result(consumers: int = 10) -> AnalysisResult:
    """A month of hourly summaries (720 points) for ``consumers`` processes, one leaking."""
    hours = 720
    series = []
    for n in range(consumers):
        rate = 600.0 if n == 0 else 0.0
        pts = tuple(
            (_T0 + 3600.0 * i, round(50_000 + 10_000 * n + rate * i + 800 * math.sin(i / 5 + n)))
            for i in range(hours)
        )
        series.append(ProcessSeries(f"proc{n}", f"process-number-{n}", pts))
    end = _T0 + 3600.0 * (hours - 1)
    base = example_result()
    return AnalysisResult(
        host="esx-month",
        crash=Crash(type=CrashType.LOST_HEARTBEAT, crashed_at=end + 1800.0),
        root_cause=RootCause(kind=CauseKind.LEAK, process="process-number-0", token="proc0"),
        memory=base.memory,
        coredumps=Coredumps(),
        history=History(
            consumers=tuple(series),
            swap=tuple((t, 4096 * round(i * 100)) for i, (t, _) in enumerate(series[0].points)),
            swap_total_bytes=600 * 1024 * 1024,
            mem_total_bytes=800 * 1024 * 1024,
            boots=(_T0 - 3600.0, _T0 + 3600.0 * 300.5),
            projection=((_T0, 50_000.0), (end + 1800.0, 50_000.0 + 600.0 * hours)),
        ),
    )


CASES = {
    "leak": leak_result,
    "no_crash": no_crash_result,
    "empty": empty_result,
    "hostile": hostile_result,
    "month": month_result,
}


@pytest.fixture(params=sorted(CASES))
def any_result(request: pytest.FixtureRequest) -> AnalysisResult:
    return CASES[request.param]()


@pytest.fixture
def leak() -> AnalysisResult:
    return leak_result()


@pytest.fixture
def no_crash() -> AnalysisResult:
    return no_crash_result()


@pytest.fixture
def empty() -> AnalysisResult:
    return empty_result()


@pytest.fixture
def hostile() -> AnalysisResult:
    return hostile_result()


@pytest.fixture
def month() -> AnalysisResult:
    return month_result()


@pytest.fixture
def hostile_text() -> str:
    return HOSTILE
