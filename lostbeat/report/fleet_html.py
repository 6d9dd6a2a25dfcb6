"""The fleet page: one self-contained HTML file that opens offline, like the incident report.

It renders a ``lostbeat.fleet/1`` document (what ``lostbeat fleet --json`` prints; the
report layer reads no fleet code): incidents by root cause and by crash class over time
(inline SVG, :mod:`lostbeat.report.fleet_plots`), where each culprit's leaks came from (the
builds, releases and agent versions it leaks on and those it does not), the culprits across
hosts, the hosts heading for exhaustion soonest, the known issues and their spread over hosts,
releases and time, and every incident, each linked to its own report. Every string from a
bundle is escaped by the jinja2 template (autoescape on) and cleaned of control characters;
the page has no script, and its Content-Security-Policy forbids loading anything.

Examples:
    >>> doc = {"schema": "lostbeat.fleet/1", "db": "f.sqlite", "run_id": 1, "incidents": 0,
    ...        "analysed": 0, "errors": 0, "hosts": 0, "by_root_cause": [], "by_culprit": [],
    ...        "by_known_issue": [], "soonest": [], "leak_origins": [], "rows": []}
    >>> page = render_fleet_html(doc)
    >>> page.startswith("<!DOCTYPE html>"), "<script" in page
    (True, False)
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from lostbeat import __version__
from lostbeat.report._format import CAUSE_LABELS, hours, when
from lostbeat.report.fleet_plots import CLASS_WORDS, time_plots
from lostbeat.report.html import _environment

__all__ = ["DETAILED", "HOSTS_SHOWN", "IssueSpread", "render_fleet_html"]

HOSTS_SHOWN = 12
"""Host names listed in a cell; the rest are counted."""
DETAILED = 3
"""A culprit gets its table of builds when a split is significant or it leaks on this many
hosts; the others share one table."""


@dataclass(frozen=True, slots=True)
class IssueSpread:
    """A known issue across the fleet: how many hosts, on which releases, over what time."""

    kb: str
    title: str
    hosts: tuple[str, ...]
    incidents: int
    releases: tuple[tuple[str, int], ...]
    """(release, hosts), most hosts first."""
    first: float | None
    last: float | None


def _spread(doc: Mapping[str, Any]) -> list[IssueSpread]:
    by_kb: dict[str, list[Mapping[str, Any]]] = defaultdict(list)
    for row in doc["rows"]:
        for kb in row.get("known_issue_kbs") or ():
            by_kb[kb].append(row)
    out = []
    for group in doc["by_known_issue"]:
        rows = by_kb.get(group["label"], [])
        releases: Counter[str] = Counter()
        for host in {r["host_label"]: r for r in rows}.values():
            releases[host.get("release") or "release unknown"] += 1
        times = [r["crashed_at"] for r in rows if r.get("crashed_at") is not None]
        out.append(
            IssueSpread(
                kb=group["label"],
                title=group["detail"],
                hosts=tuple(group["hosts"]),
                incidents=group["incidents"],
                releases=tuple(sorted(releases.items(), key=lambda kv: (-kv[1], kv[0]))),
                first=min(times) if times else None,
                last=max(times) if times else None,
            )
        )
    return out


def _detailed(origin: Mapping[str, Any]) -> bool:
    return bool(origin["splits"]) or origin["leaking_hosts"] >= DETAILED


def _cause(value: str | None) -> str:
    for kind, label in CAUSE_LABELS.items():
        if kind.value == value:
            return label
    return value or "-"


def _crash(value: str | None) -> str:
    return CLASS_WORDS.get(value or "", value or "-")


def render_fleet_html(doc: Mapping[str, Any], *, reports: Mapping[str, str] | None = None) -> str:
    """The fleet page as one HTML document.

    Args:
        doc: a ``lostbeat.fleet/1`` document (:func:`lostbeat.fleet.summary.fleet_document`).
        reports: incident key -> relative link to that incident's own report.

    Returns:
        The page: UTF-8 text, no external resource, no script.
    """
    rows: Sequence[Mapping[str, Any]] = doc["rows"]
    plots = time_plots(rows)
    undated = sum(1 for r in rows if r.get("crashed_at") is None)
    template = _environment().get_template("fleet.html.j2")
    return template.render(
        doc=doc,
        version=__version__,
        plots=plots,
        undated=undated,
        spread=_spread(doc),
        reports=reports or {},
        detailed=[o for o in doc["leak_origins"] if _detailed(o)],
        minor=[o for o in doc["leak_origins"] if not _detailed(o)],
        analysed=[r for r in rows if r.get("ok")],
        failed=[r for r in rows if not r.get("ok")],
        cause=_cause,
        crash=_crash,
        when=when,
        hours=hours,
        shown=HOSTS_SHOWN,
    )
