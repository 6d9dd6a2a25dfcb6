"""The fleet summary, for a terminal (rich) and as a JSON document (``lostbeat.fleet/1``).

Every string from a bundle (host, process, titles, error messages) is shown as plain text
through :func:`~lostbeat.report._format.clean`, never as rich markup.

Examples:
    >>> import io
    >>> from rich.console import Console
    >>> from lostbeat.fleet.model import error_result
    >>> from lostbeat.fleet.rollup import rollup
    >>> console = Console(file=io.StringIO(), width=100, color_system=None)
    >>> render(rollup([error_result("/b/x.tgz", ("/b/x.tgz",), "not a tar archive")]), console)
    >>> "/b/x.tgz  not a tar archive" in console.file.getvalue()
    True
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from lostbeat.analyzer.result import CauseKind
from lostbeat.fleet.model import BundleResult, host_label
from lostbeat.fleet.provenance import LeakOrigin
from lostbeat.fleet.rollup import FleetSummary, Group
from lostbeat.report._format import CAUSE_LABELS, clean, hours, iso_utc, when

__all__ = ["DOCUMENT_SCHEMA", "fleet_document", "origin_lines", "render"]

DOCUMENT_SCHEMA = "lostbeat.fleet/1"
_HOSTS_SHOWN = 6


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _host_list(hosts: Sequence[str]) -> Text:
    shown = ", ".join(clean(h, limit=60) for h in hosts[:_HOSTS_SHOWN])
    more = len(hosts) - _HOSTS_SHOWN
    return Text(shown + (f" and {more} more" if more > 0 else ""))


def _table(title: str, *columns: str) -> Table:
    table = Table(title=title, title_justify="left", box=None, header_style="bold", pad_edge=False)
    for column in columns:
        table.add_column(column, overflow="fold")
    return table


def _cause_label(value: str) -> str:
    try:
        return CAUSE_LABELS[CauseKind(value)]
    except ValueError:
        return value


def _groups(title: str, groups: Sequence[Group], first: str, detail: str | None) -> Table:
    columns = (
        (first, detail, "hosts", "incidents", "host names")
        if detail
        else (first, "hosts", "incidents", "host names")
    )
    table = _table(title, *columns)
    for g in groups:
        label = _cause_label(g.label) if detail is None else clean(g.label, limit=40)
        cells: list[Text] = [Text(label)]
        if detail is not None:
            cells.append(Text(clean(g.detail, limit=120) or "-"))
        cells += [Text(str(len(g.hosts))), Text(str(g.incidents)), _host_list(g.hosts)]
        table.add_row(*cells)
    return table


def render(summary: FleetSummary, console: Console) -> None:
    """Prints the summary: counts, the three groupings, the soonest exhaustions, errors."""
    console.print(
        Text(
            f"Fleet: {_plural(summary.incidents, 'incident')}, {summary.analysed} analysed on "
            f"{_plural(summary.hosts, 'host')}, {_plural(summary.errors, 'error')}",
            style="bold",
        )
    )
    if summary.by_root_cause:
        console.print()
        console.print(_groups("Hosts by root cause", summary.by_root_cause, "root cause", None))
    if summary.by_culprit:
        console.print()
        console.print(_groups("Hosts by culprit", summary.by_culprit, "culprit", "origin"))
    if summary.by_known_issue:
        console.print()
        console.print(_groups("Hosts by known issue", summary.by_known_issue, "KB", "title"))
    if summary.soonest:
        console.print()
        table = _table(
            "Heading for exhaustion soonest", "host", "culprit", "exhaustion", "leak run", "state"
        )
        for h in summary.soonest:
            table.add_row(
                Text(clean(h.host, limit=60)),
                Text(clean(h.process, limit=40) if h.process else "unknown"),
                Text(when(h.exhaustion_at)),
                Text(hours(h.hours_to_exhaustion)),
                Text("crashed" if h.crashed else "projected"),
            )
        console.print(table)
    if summary.leak_origins:
        console.print()
        _origins(summary.leak_origins, console)
    if summary.error_rows:
        console.print()
        table = _table("Errors (not analysed)", "incident", "error")
        for e in summary.error_rows:
            message = e.error.removeprefix(f"{e.key}: ")  # the message often names the key
            table.add_row(Text(clean(e.key)), Text(clean(message, limit=300)))
        console.print(table)


def origin_lines(origin: LeakOrigin) -> list[str]:
    """What the fleet says of one culprit: its significant splits, or its spread alone."""
    lines = [f"{s.text} (p = {s.p_value:.1g})" for s in origin.splits]
    if not lines:
        where = sorted({b.release or f"build {b.build}" for b in origin.builds if b.leaking})
        lines.append(
            f"{origin.culprit} leaks on {origin.leaking_hosts} of {origin.hosts} hosts"
            + (f" ({', '.join(where)})" if where else "")
            + "; no build or agent version sets them apart"
        )
    return lines


def _origins(origins: Sequence[LeakOrigin], console: Console) -> None:
    alone = [o.culprit for o in origins if o.leaking_hosts == 1 and not o.splits]
    table = _table("Where the leaks came from", "culprit", "leaks on", "introduced in")
    for o in origins:
        if o.culprit in alone:
            continue
        intro = (
            f"{o.introducing_release or 'build'} ({o.introducing_build})"
            if o.introducing_build is not None
            else "-"
        )
        text = "\n".join(clean(line, limit=300) for line in origin_lines(o))
        table.add_row(Text(clean(o.culprit, limit=40)), Text(text), Text(clean(intro)))
    names = ", ".join(clean(c, limit=40) for c in alone)
    if table.row_count:
        console.print(table)
        if alone:
            console.print(Text(f"On one host each, nothing sets apart: {names}"))
    else:
        console.print(Text("Where the leaks came from", style="italic"))
        console.print(Text(f"On one host each, nothing sets apart: {names}"))


def _group_doc(g: Group) -> dict[str, Any]:
    return {"label": g.label, "detail": g.detail, "hosts": list(g.hosts), "incidents": g.incidents}


def _row_doc(r: BundleResult) -> dict[str, Any]:
    v = r.verdict
    return {
        "key": r.key,
        "host": r.host,
        "host_label": host_label(r),
        "paths": list(r.paths),
        "ok": r.ok,
        "error": r.error,
        "crash_type": v.crash_type.value if v else None,
        "crashed_at": v.crashed_at if v else None,
        "crashed_at_iso": iso_utc(v.crashed_at) if v else None,
        "root_cause_kind": v.root_cause_kind.value if v else None,
        "root_cause_process": v.process if v else None,
        "root_cause_origin": v.origin.value if v and v.origin else None,
        "root_cause_confidence": v.confidence if v else None,
        "hours_to_exhaustion": v.hours_to_exhaustion if v else None,
        "exhaustion_at": v.exhaustion_at if v else None,
        "exhaustion_at_iso": iso_utc(v.exhaustion_at) if v else None,
        "known_issue_kbs": list(v.known_issue_kbs) if v else [],
        "findings": [
            {"id": f.id, "severity": f.severity.value, "title": f.title}
            for f in (v.findings if v else ())
        ],
        "analysis_errors": v.analysis_errors if v else None,
        "duration_s": round(r.duration_s, 4),
        "build": v.build if v else None,
        "release": v.release if v else None,
        "agents": [
            {"name": p.name, "version": p.version, "vendor": p.vendor}
            for p in (v.packages if v else ())
            if p.vendor is not None
        ],
    }


def fleet_document(
    summary: FleetSummary,
    results: Sequence[BundleResult],
    *,
    db: str | None = None,
    run_id: int | None = None,
) -> dict[str, Any]:
    """The summary and one row per incident, as plain JSON types.

    Args:
        summary: the roll-up of ``results``.
        results: one per incident, sorted by host then key.
        db: the database the run was stored in.
        run_id: the run's id in that database.
    """
    return {
        "schema": DOCUMENT_SCHEMA,
        "db": db,
        "run_id": run_id,
        "incidents": summary.incidents,
        "analysed": summary.analysed,
        "errors": summary.errors,
        "hosts": summary.hosts,
        "by_root_cause": [_group_doc(g) for g in summary.by_root_cause],
        "by_culprit": [_group_doc(g) for g in summary.by_culprit],
        "by_known_issue": [_group_doc(g) for g in summary.by_known_issue],
        "soonest": [
            {
                "host": h.host,
                "key": h.key,
                "process": h.process,
                "exhaustion_at": h.exhaustion_at,
                "exhaustion_at_iso": iso_utc(h.exhaustion_at),
                "hours_to_exhaustion": h.hours_to_exhaustion,
                "crashed": h.crashed,
            }
            for h in summary.soonest
        ],
        "leak_origins": [asdict(o) for o in summary.leak_origins],
        "rows": [_row_doc(r) for r in results],
    }
