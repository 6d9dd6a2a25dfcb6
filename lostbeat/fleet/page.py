"""``lostbeat fleet --html FILE``: the fleet page and, beside it, each incident's own report.

The page (:func:`lostbeat.report.fleet_html.render_fleet_html`) renders the run's
``lostbeat.fleet/1`` document, the one ``--json`` prints. Each analysed incident links to its
own report, the single-incident HTML report of ``lostbeat analyze --html``, written into the
folder beside the page named after it: ``fleet.html`` gets ``fleet-incidents/``. A report's
file name is the host and a digest of its document, so a report that is already there is
current and is not rendered again (rendering one takes about a third of a second, most of it
plotting); the reports no page links any more are removed. They are rendered in a local
process pool, in the store's order, a bounded number at a time.

Examples:
    >>> reports_folder(Path("/srv/out/fleet.html"))
    PosixPath('/srv/out/fleet-incidents')
    >>> report_name("esx01", '{"schema": "lostbeat.analysis/1"}')
    'esx01-f47fa4cc58323981.html'
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, wait
from pathlib import Path

from lostbeat.errors import LostbeatError
from lostbeat.fleet.model import BundleResult
from lostbeat.fleet.rollup import FleetSummary
from lostbeat.fleet.runner import pool
from lostbeat.fleet.store import FleetStore
from lostbeat.fleet.summary import fleet_document

__all__ = ["render_report", "report_name", "reports_folder", "write_page"]

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
_REPORT = re.compile(r".+-[0-9a-f]{16}\.html")


def reports_folder(page: Path) -> Path:
    """The folder of the incidents' reports beside the page."""
    return page.with_name(f"{page.stem}-incidents")


def report_name(host: str | None, document: str) -> str:
    """A report's file name: the host (made safe for a file name) and the document's digest."""
    digest = hashlib.blake2b(document.encode(), digest_size=8).hexdigest()
    safe = _UNSAFE.sub("_", host or "unknown-host").strip("._")[:60] or "host"
    return f"{safe}-{digest}.html"


def render_report(document: str, path: str) -> str:
    """Writes the single-incident report of one stored document (run in a worker)."""
    from lostbeat.report.html import write_html
    from lostbeat.report.jsonout import from_document

    write_html(from_document(json.loads(document), path=path), Path(path))
    return path


def _missing(
    store: FleetStore, folder: Path, run_id: int, links: dict[str, str]
) -> Iterator[tuple[str, str]]:
    """``(document, path)`` of each report not written yet; fills ``links`` as it goes."""
    for key, host, document in store.documents(run_id=run_id):
        name = report_name(host, document)
        links[key] = f"{folder.name}/{name}"
        target = folder / name
        if not target.exists():
            yield document, str(target)


def _render_all(jobs: Iterator[tuple[str, str]], workers: int) -> int:
    """Renders the reports in a local pool, at most ``2 x workers`` in flight."""
    done = 0
    with pool(workers) as executor:
        running: set[Future[str]] = set()
        for job in jobs:
            if len(running) >= 2 * workers:
                finished, running = wait(running, return_when=FIRST_COMPLETED)
                done += sum(1 for f in finished if f.result())
            running.add(executor.submit(render_report, *job))
        done += sum(1 for f in running if f.result())
    return done


def write_page(
    store: FleetStore,
    summary: FleetSummary,
    results: Sequence[BundleResult],
    page: Path,
    *,
    run_id: int,
    workers: int | None = None,
    reports: bool = True,
) -> int:
    """Writes the fleet page of one run and the reports it links to.

    Args:
        store: the database the run is in (the documents are read from it).
        summary: the run's roll-up.
        results: the run's results (documents not needed).
        page: the HTML file to write; its reports go in :func:`reports_folder`.
        run_id: the run.
        workers: processes rendering the reports; default one per CPU.
        reports: write and link each incident's own report; without, the page alone.

    Returns:
        How many reports were rendered (those already there are not).

    Raises:
        LostbeatError: the page or the folder cannot be written.
    """
    from lostbeat.report.fleet_html import render_fleet_html

    links: dict[str, str] = {}
    rendered = 0
    if reports:
        folder = reports_folder(page)
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise LostbeatError(f"{folder}: cannot write the reports: {err.strerror}") from err
        n = workers or len(os.sched_getaffinity(0))
        rendered = _render_all(_missing(store, folder, run_id, links), n)
        linked = {Path(link).name for link in links.values()}
        for stale in folder.iterdir():
            if _REPORT.fullmatch(stale.name) and stale.name not in linked:
                stale.unlink()
    doc = fleet_document(summary, results, db=str(store.path), run_id=run_id)
    text = render_fleet_html(doc, reports=links)
    try:
        page.write_text(text, encoding="utf-8")
    except OSError as err:
        raise LostbeatError(f"{page}: cannot write the fleet page: {err.strerror}") from err
    return rendered
