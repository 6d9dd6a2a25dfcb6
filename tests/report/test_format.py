from __future__ import annotations

import dataclasses
import math

import pytest

from lostbeat.analyzer.result import AnalysisResult, Crash, CrashType, Memory
from lostbeat.report import _format as fmt


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("plain", "plain"),
        ("a\tb", "a b"),
        ("\x1b[31mred", "\\x1b[31mred"),
        ("line\nbreak", "line\\x0abreak"),
        ("\u202etxt.exe", "\\u202etxt.exe"),
        ("caf\u00e9 \u4e2d", "caf\u00e9 \u4e2d"),
        ("tag\U000e0080", "tag\\U000e0080"),
    ],
)
def test_clean_makes_controls_visible(raw: str, shown: str) -> None:
    assert fmt.clean(raw) == shown


def test_clean_limit() -> None:
    assert fmt.clean("x" * 10, limit=5) == "xxxx…"
    assert fmt.clean("x" * 5, limit=5) == "xxxxx"


@pytest.mark.parametrize(
    ("kb", "shown"),
    [
        (None, "unknown"),
        (512, "512 KB"),
        (799732, "780 MB"),
        (586196, "572 MB"),
        (20 << 20, "20.0 GB"),
    ],
)
def test_size_kb_rounds_down_like_the_kb(kb: int | None, shown: str) -> None:
    assert fmt.size_kb(kb) == shown


def test_size_bytes_matches_kb_308590() -> None:
    assert fmt.size_bytes(567468032) == "541 MB"
    assert fmt.size_bytes(554168 * 1024) == "541 MB"
    assert fmt.size_bytes(0) == "0 KB"  # known zero is not unknown
    assert fmt.size_bytes(None) == "unknown"


@pytest.mark.parametrize(
    ("value", "shown"),
    [(None, "unknown"), (math.nan, "unknown"), (0.0, "0 %"), (0.4, "<1 %"), (100.0007, "100 %")],
)
def test_percent(value: float | None, shown: str) -> None:
    assert fmt.percent(value) == shown


def test_hours_and_times() -> None:
    assert fmt.hours(4.25) == "4.2 h"
    assert fmt.hours(36) == "36 h"
    assert fmt.hours(336) == "14.0 days"
    assert fmt.hours(None) == "unknown"
    assert fmt.when(None) == "unknown"
    assert fmt.iso_utc(math.inf) is None
    assert fmt.iso_utc(1e300) is None  # out of range: unknown, not a crash


def test_verdict_order_and_memory_lines(leak: AnalysisResult) -> None:
    labels = [line.label for line in fmt.verdict_lines(leak)]
    assert labels == [
        "Crash",
        "Heartbeat",
        "Root cause",
        "Why",
        "Swap",
        "Top process",
        "Measured",
        "Exhaustion",
    ]


def test_verdict_shows_unknown_parts_as_unknown(leak: AnalysisResult) -> None:
    memory = Memory(swap_used_bytes=567468032, top_process_kb=586196)
    lines = {
        line.label: line.text
        for line in fmt.verdict_lines(dataclasses.replace(leak, memory=memory))
    }
    assert lines["Swap"] == "541 MB of unknown used (unknown)"
    assert lines["Top process"] == "top process: 572 MB of the Service Console's unknown (unknown)"
    assert "Measured" not in lines


def test_input_counts(leak: AnalysisResult) -> None:
    assert fmt.input_counts(leak) == fmt.InputCounts(read=4, skipped=1, broken=1)


def test_no_crash_says_what_the_inputs_show_instead(leak: AnalysisResult) -> None:
    def label(crash: Crash) -> str:
        return fmt.crash_label(dataclasses.replace(leak, crash=crash))

    assert label(Crash(CrashType.NONE)) == "No crash found"
    agent = Crash(CrashType.NONE, message="no purple screen here: hostd crashed")
    assert label(agent) == "No crash found; no purple screen here: hostd crashed"
    # a crash's message is the verdict's evidence, not its label
    assert label(Crash(CrashType.VMKERNEL, message="#PF Exception 14")).startswith("VMkernel")
