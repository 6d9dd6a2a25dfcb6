"""The terminal report: verdict, then evidence, then the plan, then what was read.

Written for a person with a minute: the first screen says what crashed, who is to blame
and the memory arithmetic of KB 308590. Nothing relies on colour (severities are words),
and every bundle string is shown as plain text, never as rich markup.

Examples:
    >>> import io
    >>> from rich.console import Console
    >>> from lostbeat.report.example import example_result
    >>> out = io.StringIO()
    >>> render(example_result(), Console(file=out, width=100, color_system=None))
    >>> "memory leak in VMap [VMware component], confidence 90 %" in out.getvalue()
    True
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.console import Console, Group, RenderableType
from rich.padding import Padding
from rich.panel import Panel
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
)
from rich.table import Table
from rich.text import Text

from lostbeat.analyzer.findings import Evidence, Finding, Severity
from lostbeat.analyzer.result import AnalysisResult, InputStatus
from lostbeat.report._format import clean, coredump_rows, input_counts, verdict_lines

__all__ = ["ProgressCallback", "progress", "render"]

ProgressCallback = Callable[[int, int | None], None]
"""Called with (bytes read so far, total bytes or None when unknown)."""

_SEVERITY_ORDER = {Severity.CRITICAL: 0, Severity.WARNING: 1, Severity.INFO: 2}
_EVIDENCE_SHOWN = 4  # per finding; the JSON and HTML reports carry them all
_TEXT_LIMIT = 400  # characters of one evidence line


def render(result: AnalysisResult, console: Console) -> None:
    """Prints the whole report to ``console``.

    Args:
        result: the analysis to show.
        console: where to print; width 100 and no colour are enough.
    """
    host = clean(result.host) if result.host else "unknown host"
    console.print(Panel(_verdict(result), title=f"lostbeat: {host}", title_align="left"))
    console.print(_heading("Evidence"))
    console.print(_evidence(result))
    console.print(_heading("Plan"))
    console.print(_plan(result))
    console.print(_heading("Inputs"))
    console.print(_inputs(result))


def _heading(title: str) -> Text:
    return Text(f"\n{title}", style="bold")


def _verdict(result: AnalysisResult) -> Table:
    grid = Table.grid(padding=(0, 2))
    grid.add_column(no_wrap=True, style="bold")
    grid.add_column(overflow="fold")
    for line in verdict_lines(result):
        grid.add_row(Text(line.label), Text(line.text))
    return grid


def _evidence_rows(evidence: tuple[Evidence, ...], grid: Table) -> None:
    for item in evidence[:_EVIDENCE_SHOWN]:
        grid.add_row(Text(clean(item.where)), Text(clean(item.text, limit=_TEXT_LIMIT)))
    if len(evidence) > _EVIDENCE_SHOWN:
        grid.add_row(Text(""), Text(f"(+{len(evidence) - _EVIDENCE_SHOWN} more lines)"))


def _finding(finding: Finding) -> RenderableType:
    head = Text(f"{finding.severity.value.upper():<8} ", style="bold")
    head.append(clean(finding.title))
    parts: list[RenderableType] = [head]
    if finding.detail:
        parts.append(Padding(Text(clean(finding.detail)), (0, 0, 0, 9)))
    if finding.evidence:
        grid = Table.grid(padding=(0, 2), pad_edge=True)
        grid.add_column(overflow="fold", max_width=40)
        grid.add_column(overflow="fold")
        _evidence_rows(finding.evidence, grid)
        parts.append(Padding(grid, (0, 0, 0, 9)))
    return Group(*parts)


def _evidence(result: AnalysisResult) -> RenderableType:
    findings = sorted(result.findings, key=lambda f: _SEVERITY_ORDER.get(f.severity, 3))
    parts: list[RenderableType] = [_finding(f) for f in findings]
    if not findings:
        parts.append(Text("No findings: no rule found anything to report."))
    for issue in result.known_issues:
        text = Text("KNOWN    ", style="bold")
        text.append(f"KB {clean(issue.kb)}: {clean(issue.title)}. {clean(issue.workaround)}")
        parts.append(text)
    parts.append(_coredumps(result))
    return Group(*parts)


def _coredumps(result: AnalysisResult) -> RenderableType:
    grid = Table.grid(padding=(0, 2))
    grid.add_column(no_wrap=True)
    grid.add_column(overflow="fold")
    for label, text in coredump_rows(result.coredumps):
        grid.add_row(Text(label), Text(text))
    return Group(Text("\nCoredumps", style="bold"), Padding(grid, (0, 0, 0, 9)))


def _plan(result: AnalysisResult) -> RenderableType:
    if not result.actions:
        return Text("No action proposed.")
    grid = Table.grid(padding=(0, 1))
    grid.add_column(no_wrap=True, justify="right")
    grid.add_column(overflow="fold")
    for n, action in enumerate(result.actions, start=1):
        text = Text(clean(action.text))
        if action.kb:
            text.append(f" (KB {clean(action.kb)})")
        grid.add_row(Text(f"{n}."), text)
    return grid


def _inputs(result: AnalysisResult) -> RenderableType:
    counts = input_counts(result)
    parts: list[RenderableType] = [
        Text(f"{counts.read} read, {counts.skipped} skipped, {counts.broken} broken")
    ]
    unread = [r for r in result.inputs if r.status is not InputStatus.READ]
    if unread:
        grid = Table.grid(padding=(0, 2))
        grid.add_column(no_wrap=True)
        grid.add_column(overflow="fold", max_width=50)
        grid.add_column(overflow="fold")
        for record in unread:
            reason = clean(record.reason) if record.reason else "no reason given"
            grid.add_row(Text(record.status.value.upper()), Text(clean(record.path)), Text(reason))
        parts.append(grid)
    for error in result.errors:
        parts.append(Text("ERROR    " + clean(error, limit=_TEXT_LIMIT)))
    return Group(*parts)


@contextmanager
def progress(console: Console) -> Iterator[ProgressCallback]:
    """A transient progress bar while a bundle is read; silent when not a terminal.

    Yields:
        A callback taking (bytes read so far, total bytes or None) - the analyzer's
        ``Progress`` - that moves the bar.

    Example:
        >>> import io
        >>> from rich.console import Console
        >>> with progress(Console(file=io.StringIO())) as advance:
        ...     advance(512, 1024)
    """
    bar = Progress(
        TextColumn("reading"),
        BarColumn(),
        DownloadColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=True,
        disable=not console.is_terminal,
    )
    task = bar.add_task("reading", total=None)

    def advance(done: int, total: int | None) -> None:
        bar.update(task, completed=done, total=total)

    with bar:
        yield advance
