"""``lostbeat fleet PATH... [--workers N | --scheduler ADDRESS] [--db FILE] [--json]
[--html FILE] [--resume] [--progress]``."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from lostbeat.fleet import DEFAULT_DB
from lostbeat.safetext import clean

_SIDE_FILES = ("-journal", "-wal", "-shm")  # SQLite's files beside the database
_PROGRESS_STEP = 5  # percent between two progress lines


def _workers(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        n = 0
    if n < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of workers >= 1, got {text!r}")
    return n


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "paths",
        nargs="+",
        metavar="PATH",
        help="folders to search, vm-support archives (.tgz, .tar.gz, .tar), unpacked bundle "
        "folders or lostbeat recordings; loose files named like an archive plus a suffix "
        "(case1.tgz + case1.psod.txt) belong to it",
    )
    where = parser.add_mutually_exclusive_group()
    where.add_argument(
        "--workers",
        type=_workers,
        metavar="N",
        help="local worker processes (default: one per CPU)",
    )
    where.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="run on a Dask distributed cluster, e.g. tcp://10.0.0.5:8786 (the workers must "
        "have lostbeat installed and see the same paths)",
    )
    parser.add_argument(
        "--db",
        type=Path,
        default=Path(DEFAULT_DB),
        metavar="FILE",
        help=f"SQLite database the results go into (default: ./{DEFAULT_DB}); re-running "
        "replaces the rows of the same incidents",
    )
    parser.add_argument(
        "--json",
        action="store_true",
        help="print the summary and one row per incident as JSON (schema lostbeat.fleet/1)",
    )
    parser.add_argument(
        "--html",
        type=Path,
        metavar="FILE",
        help="also write the fleet page, one offline HTML file, and each incident's own "
        "report in the folder FILE's name without .html plus '-incidents' beside it",
    )
    parser.add_argument(
        "--no-incident-reports",
        action="store_true",
        help="with --html: write the fleet page only, without each incident's own report "
        "(rendering one takes about half a second of CPU)",
    )
    parser.add_argument(
        "--resume",
        action="store_true",
        help="finish the last run that was interrupted (same paths, same --db): the "
        "incidents it already stored are not analysed again",
    )
    parser.add_argument(
        "--progress",
        action="store_true",
        help="print a progress line to stderr every 5 %% even when stderr is not a "
        "terminal (on a terminal a progress bar is always shown)",
    )


def run(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, TextColumn
    from rich.progress import Progress as Bar

    from lostbeat.fleet.cluster import stream_dask
    from lostbeat.fleet.discover import Incident, discover
    from lostbeat.fleet.model import BundleResult
    from lostbeat.fleet.rollup import rollup
    from lostbeat.fleet.runner import stream_local
    from lostbeat.fleet.session import Progress, analyse_into
    from lostbeat.fleet.store import FleetStore
    from lostbeat.fleet.summary import fleet_document, render

    db = Path(args.db)
    workers = None if args.scheduler else args.workers or len(os.sched_getaffinity(0))
    skip = [db, *(Path(f"{db}{s}") for s in _SIDE_FILES)]
    if args.html is not None:
        from lostbeat.fleet.page import reports_folder

        skip += [args.html, reports_folder(args.html)]
    found = discover(args.paths, skip=skip)
    err = Console(stderr=True)
    bar = Bar(
        TextColumn("analysing"),
        BarColumn(),
        MofNCompleteColumn(),
        console=err,
        disable=not err.is_terminal,
        transient=True,
    )
    task = bar.add_task("fleet", total=None)
    shown = -1

    def on_progress(p: Progress) -> None:
        nonlocal shown
        bar.update(task, total=p.total, completed=p.done)
        step = 100 * p.done // max(p.total, 1) // _PROGRESS_STEP
        if args.progress and not err.is_terminal and step > shown:
            shown = step
            print(p.line(), file=sys.stderr, flush=True)

    scheduler: str | None = args.scheduler

    def analyse(incidents: Sequence[Incident], emit: Callable[[BundleResult], None]) -> None:
        if scheduler is not None:
            stream_dask(incidents, scheduler=scheduler, emit=emit)
        else:
            stream_local(incidents, emit=emit, workers=workers)

    with FleetStore(db) as store:
        with bar:
            outcome = analyse_into(
                store,
                found,
                analyse,
                backend="dask" if args.scheduler else "local",
                workers=workers,
                scheduler=args.scheduler,
                paths=[str(p) for p in args.paths],
                resume=args.resume,
                on_progress=on_progress,
            )
        if args.resume and outcome.skipped:
            print(
                f"resumed run {outcome.run_id}: {outcome.skipped} incident(s) were already "
                f"stored and not analysed again, {outcome.analysed} analysed now",
                file=sys.stderr,
            )
        if not outcome.finished:
            print(
                f"lostbeat fleet: interrupted; {outcome.analysed} incident(s) of run "
                f"{outcome.run_id} stored in {db}; run the same command with --resume to "
                "finish it",
                file=sys.stderr,
            )
            return 130
        results = store.results(run_id=outcome.run_id, documents=False)
        summary = rollup(results)
        if args.html is not None:
            from lostbeat.fleet.page import write_page

            write_page(
                store,
                summary,
                results,
                args.html,
                run_id=outcome.run_id,
                workers=workers,
                reports=not args.no_incident_reports,
            )
    if args.json:
        doc = fleet_document(summary, results, db=str(db), run_id=outcome.run_id)
        sys.stdout.write(json.dumps(doc, indent=2, sort_keys=True, allow_nan=False) + "\n")
    else:
        render(summary, Console())
    if found.ignored:
        print(
            f"{len(found.ignored)} loose file(s) belong to no incident and were not read "
            f"(first: {clean(str(found.ignored[0]))}); see docs/fleet.md for the grouping rule",
            file=sys.stderr,
        )
    if not args.json:
        print(f"results stored in {db} (run {outcome.run_id})", file=sys.stderr)
    if args.html is not None:
        print(f"fleet page written to {args.html}", file=sys.stderr)
    return 0
