from __future__ import annotations

import dataclasses
import io

from rich.cells import cell_len
from rich.console import Console

from lostbeat.analyzer.findings import Evidence, Finding, Severity
from lostbeat.analyzer.result import AnalysisResult
from lostbeat.report.terminal import progress, render


def _render(result: AnalysisResult) -> str:
    out = io.StringIO()
    render(result, Console(file=out, width=100, color_system=None))
    return out.getvalue()


def _flat(out: str) -> str:
    """The text with the panel's borders and the wrapping and alignment spaces removed."""
    return " ".join(out.replace("│", " ").replace("╭", " ").replace("╰", " ").split())


def test_verdict_comes_before_evidence_before_plan_before_inputs(leak: AnalysisResult) -> None:
    out = _flat(_render(leak))
    order = [
        out.index("lostbeat: esxhostname"),
        out.index("Lost heartbeat (the Service Console stopped heartbeating)"),
        out.index("Root cause memory leak in VMap [VMware component], confidence 90 %"),
        out.index(" Evidence "),
        out.index("CRITICAL The VMkernel declared a lost heartbeat"),
        out.index(" Plan "),
        out.index("1. VMap is part of VMware HA"),
        out.index(" Inputs "),
    ]
    assert order == sorted(order)


def test_verdict_carries_the_kb_arithmetic(leak: AnalysisResult) -> None:
    out = _flat(_render(leak))
    assert "Swap 541 MB of 541 MB used (100 %)" in out
    assert "Top process VMap: 572 MB of the Service Console's 780 MB (73 %)" in out
    assert (
        "build 153875 (ESX Server 3.5 Update 4), at 2009-11-13 10:00:00 UTC, 73 VMs running" in out
    )
    assert "memory exhausted after 14.0 days" in out
    assert "comm=VMap (a hint only, not the cause)" in out


def test_evidence_shows_file_line_and_text(leak: AnalysisResult) -> None:
    out = _render(leak)
    assert "var/log/vmksummary:8072  Nov 13 04:01:45 esxhostname logger: (1258102905)" in out
    assert "proc/meminfo:4           SwapTotal: 554168 kB" in out
    assert "INFO     Both coredumps were found" in out
    # critical findings come before the info one, whatever the rule order
    assert out.index("CRITICAL Swap was full") < out.index("INFO     Both coredumps")


def test_plan_shows_kb_numbers(leak: AnalysisResult) -> None:
    assert "3. Run top in batch mode to record process memory until it is fixed. (KB 1006797)" in (
        _render(leak)
    )


def test_inputs_summary_lists_skipped_and_broken_with_reasons(leak: AnalysisResult) -> None:
    out = _render(leak)
    assert "4 read, 1 skipped, 1 broken" in out
    assert "SKIPPED  var/log/messages         not used by any rule" in out
    assert "BROKEN   var/log/vmksummary.3.gz  truncated gzip stream" in out


def test_fits_100_columns(any_result: AnalysisResult) -> None:
    out = _render(any_result)
    assert max(cell_len(line) for line in out.splitlines()) <= 100


def test_empty_analysis_says_what_is_unknown(empty: AnalysisResult) -> None:
    out = _flat(_render(empty))
    assert "lostbeat: unknown host" in out
    assert "Unknown: the inputs do not show what happened" in out
    assert "Root cause inconclusive, confidence 0 %" in out
    assert "No findings: no rule found anything to report." in out
    assert "No action proposed." in out
    assert "0 read, 0 skipped, 0 broken" in out
    assert "Core dumps none found" in out
    assert "Swap" not in out  # nothing known about swap: no line rather than zeros


def test_no_crash(no_crash: AnalysisResult) -> None:
    out = _flat(_render(no_crash))
    assert "No crash found" in out
    assert "Root cause not memory exhaustion, confidence 0 %" in out
    assert "Misc.CosCoreFile (unset) (NOT valid)" in out
    assert "(KB 1032962)" in out


def test_hostile_strings_are_printed_not_interpreted(hostile: AnalysisResult) -> None:
    out = _render(hostile)
    assert "[bold red]x[/]" in out  # rich markup shown verbatim
    assert "$\\frac{1}{0}$" in out
    assert "\x1b" not in out and "\u202e" not in out  # escapes made visible
    assert "\\x1b[2J" in out and "\\u202e" in out
    assert 'WARNING  <script>alert("x")</script>' in out
    assert "ERROR    <script>" in out


def test_long_evidence_lists_are_cut_in_the_terminal(leak: AnalysisResult) -> None:
    evidence = tuple(Evidence("var/log/vmksummary", n, f"line {n}") for n in range(1, 11))
    finding = Finding("leak.x", Severity.WARNING, "many lines", "", evidence)
    out = _render(dataclasses.replace(leak, findings=(finding,)))
    assert "var/log/vmksummary:4" in out and "var/log/vmksummary:5 " not in out
    assert "(+6 more lines)" in out


def test_progress_is_silent_when_not_a_terminal() -> None:
    out = io.StringIO()
    with progress(Console(file=out, width=100)) as advance:
        for done in range(0, 1 << 20, 1 << 16):
            advance(done, 1 << 20)
    assert out.getvalue() == ""


def test_progress_draws_a_bar_on_a_terminal() -> None:
    buf = io.StringIO()
    console = Console(file=buf, width=100, force_terminal=True, color_system=None)
    with progress(console) as advance:
        advance(0, None)  # total not known yet
        advance(3 << 20, 8 << 20)
        console.print("between frames")  # forces a refresh with the bar drawn
    out = buf.getvalue()
    assert "reading" in out
    assert "3.1/8.4 MB" in out
    assert "━" in out
