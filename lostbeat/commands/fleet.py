"""``lostbeat fleet PATH... [--workers N] [--scheduler ADDRESS] [--db FILE] [--json]``."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from lostbeat.fleet import DEFAULT_DB
from lostbeat.safetext import clean

_COMMIT_EVERY = 100
_SIDE_FILES = ("-journal", "-wal", "-shm")  # SQLite's files beside the database


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


def run(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from lostbeat.fleet.discover import discover
    from lostbeat.fleet.model import BundleResult, error_result
    from lostbeat.fleet.rollup import rollup
    from lostbeat.fleet.runner import run_dask, run_local
    from lostbeat.fleet.store import FleetStore
    from lostbeat.fleet.summary import fleet_document, render

    db = Path(args.db)
    workers = None if args.scheduler else args.workers or len(os.sched_getaffinity(0))
    found = discover(args.paths, skip=[db, *(Path(f"{db}{s}") for s in _SIDE_FILES)])
    err = Console(stderr=True)
    with FleetStore(db) as store:
        run_id = store.begin_run(
            backend="dask" if args.scheduler else "local",
            workers=workers,
            scheduler=args.scheduler,
            paths=[str(p) for p in args.paths],
        )
        results = [
            error_result(u.path, (u.path,), f"cannot list the folder: {u.reason}")
            for u in found.unreadable
        ]
        for r in results:
            store.save(run_id, r)
        bar = Progress(
            TextColumn("analysing"),
            BarColumn(),
            MofNCompleteColumn(),
            console=err,
            disable=not err.is_terminal,
            transient=True,
        )
        task = bar.add_task("fleet", total=len(found.incidents))

        saved = 0

        def on_result(result: BundleResult) -> None:
            nonlocal saved
            store.save(run_id, result)
            bar.advance(task)
            saved += 1
            if saved % _COMMIT_EVERY == 0:
                store.commit()  # a run cut short keeps what it finished

        with bar:
            if args.scheduler:
                results += run_dask(found.incidents, scheduler=args.scheduler, on_result=on_result)
            else:
                results += run_local(found.incidents, workers=workers, on_result=on_result)
        store.finish_run(run_id)
    results.sort(key=lambda r: r.sort_key)
    summary = rollup(results)
    if args.json:
        doc = fleet_document(summary, results, db=str(db), run_id=run_id)
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
        print(f"results stored in {db} (run {run_id})", file=sys.stderr)
    return 0
