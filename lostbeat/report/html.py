"""The HTML report: one self-contained file that opens offline.

The page holds the verdict, the evidence, the plan and the memory plots (inline SVG from
:mod:`lostbeat.report.plots`); its CSS is inline, it has no script, and its
Content-Security-Policy forbids loading anything, so it renders the same with no network.
Every string from a bundle is hostile: the jinja2 template escapes all of them
(autoescape on), and the SVG carries none.

Examples:
    >>> from lostbeat.report.example import example_result
    >>> page = render_html(example_result())
    >>> page.startswith("<!DOCTYPE html>"), "<script" in page, page.count("<svg")
    (True, False, 4)
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from jinja2 import Environment, PackageLoader, StrictUndefined

from lostbeat import __version__
from lostbeat.analyzer.findings import Severity
from lostbeat.analyzer.result import AnalysisResult, InputStatus
from lostbeat.errors import LostbeatError
from lostbeat.report import _format
from lostbeat.report.plots import MAX_CONSUMERS, memory_plots

__all__ = ["render_html", "write_html"]

_SEVERITY_ORDER = {Severity.CRITICAL: 0, Severity.WARNING: 1, Severity.INFO: 2}


@cache
def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("lostbeat.report", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["clean"] = _format.clean
    env.filters["when"] = _format.when
    env.filters["size_kb"] = _format.size_kb
    env.filters["size_bytes"] = _format.size_bytes
    return env


def render_html(result: AnalysisResult) -> str:
    """The report as one HTML document.

    Args:
        result: the analysis to show.

    Returns:
        The page: UTF-8 text, no external resource, no script.
    """
    plots = memory_plots(result)
    plotted = sum(1 for s in result.history.consumers if s.points)
    findings = sorted(result.findings, key=lambda f: _SEVERITY_ORDER.get(f.severity, 3))
    template = _environment().get_template("report.html.j2")
    return template.render(
        result=result,
        version=__version__,
        verdict=_format.verdict_lines(result),
        findings=findings,
        counts=_format.input_counts(result),
        unread=[r for r in result.inputs if r.status is not InputStatus.READ],
        plots=plots,
        coredumps=_format.coredump_rows(result.coredumps),
        omitted=max(plotted - MAX_CONSUMERS, 0),
        title_host=_format.clean(result.host, limit=80) if result.host else "unknown host",
    )


def write_html(result: AnalysisResult, path: Path) -> None:
    """Writes the report to ``path`` (UTF-8), replacing any file there.

    Raises:
        LostbeatError: the file cannot be written; the message names it.
    """
    page = render_html(result)
    try:
        path.write_text(page, encoding="utf-8")
    except OSError as err:
        reason = err.strerror or str(err)
        raise LostbeatError(f"{path}: cannot write the HTML report: {reason}") from err
