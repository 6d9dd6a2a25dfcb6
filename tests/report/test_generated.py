"""Reports over generated results: any AnalysisResult round-trips and renders."""

from __future__ import annotations

import io
import json
from pathlib import Path

import jsonschema
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rich.cells import cell_len
from rich.console import Console

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
from lostbeat.report import jsonout
from lostbeat.report.html import render_html
from lostbeat.report.terminal import render

VALIDATOR = jsonschema.Draft202012Validator(json.loads(Path(jsonout.SCHEMA_FILE).read_text()))

_text = st.text(max_size=12)
_opt_text = st.none() | _text
_epoch = st.none() | st.floats(0, 4e9, allow_nan=False)
_ev = st.builds(Evidence, _text, st.none() | st.integers(1, 10**6), _text)
_evs = st.lists(_ev, max_size=2).map(tuple)
_points = st.lists(st.tuples(st.floats(0, 4e9), st.integers(0, 2**40)), max_size=4).map(tuple)
_results = st.builds(
    AnalysisResult,
    host=_opt_text,
    crash=st.builds(
        Crash,
        type=st.sampled_from(CrashType),
        build=st.none() | st.integers(0, 10**7),
        crashed_at=_epoch,
        heartbeat_silence_min=st.none() | st.integers(0, 60),
        evidence=_evs,
    ),
    root_cause=st.builds(
        RootCause,
        kind=st.sampled_from(CauseKind),
        process=_opt_text,
        token=_opt_text,
        origin=st.none() | st.sampled_from(Origin),
        confidence=st.floats(0, 1),
        since=_epoch,
        others=st.lists(_text, max_size=2).map(tuple),
    ),
    memory=st.builds(Memory, at=_epoch, swap_used_bytes=st.none() | st.integers(0, 2**40)),
    coredumps=st.builds(
        Coredumps,
        vmkernel=st.lists(_text, max_size=2).map(tuple),
        cos_core_file_valid=st.none() | st.booleans(),
    ),
    timeline=st.lists(
        st.builds(TimelineEvent, _text, _epoch, _text, st.none() | _ev), max_size=2
    ).map(tuple),
    known_issues=st.lists(st.builds(KnownIssueMatch, _text, _text, _text, _evs), max_size=1).map(
        tuple
    ),
    actions=st.lists(st.builds(Action, _opt_text, _text), max_size=2).map(tuple),
    findings=st.lists(
        st.builds(Finding, _text, st.sampled_from(Severity), _text, _text, _evs), max_size=2
    ).map(tuple),
    inputs=st.lists(
        st.builds(InputRecord, _text, st.sampled_from(InputStatus), _opt_text, _text), max_size=2
    ).map(tuple),
    history=st.builds(
        History,
        consumers=st.lists(st.builds(ProcessSeries, _text, _text, _points), max_size=2).map(tuple),
        swap=_points,
        boots=st.lists(st.floats(0, 4e9), max_size=2).map(tuple),
    ),
    errors=st.lists(_text, max_size=2).map(tuple),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_results)
def test_round_trip_and_schema_hold_for_any_result(result: AnalysisResult) -> None:
    text = jsonout.dumps(result)
    assert jsonout.loads(text) == result
    assert not list(VALIDATOR.iter_errors(json.loads(text)))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_results)
def test_any_result_renders_in_the_terminal_and_as_html(result: AnalysisResult) -> None:
    out = io.StringIO()
    render(result, Console(file=out, width=100, color_system=None))
    text = out.getvalue()
    assert text.index("Evidence") < text.index("Plan") < text.index("Inputs")
    assert max(cell_len(line) for line in text.splitlines()) <= 100
    page = render_html(result)
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    assert "<script" not in page
