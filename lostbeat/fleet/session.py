"""One run of ``lostbeat fleet``: analyse the incidents into the store, resumable.

Each result is written to the store as it arrives and committed at least every
:data:`COMMIT_EVERY_S` seconds (and every :data:`COMMIT_EVERY` results), then dropped: the
process keeps no result in memory, so its memory stays flat over 10,000 incidents. A run
cut short (Ctrl-C, a kill, a crash) keeps what it committed and stays unfinished in the
``runs`` table; ``resume=True`` continues that run and analyses only the incidents it has not
stored yet.

Examples:
    >>> Progress(total=200, done=50, errors=1, elapsed_s=2.0).line()
    'analysed 50 of 200 incidents (25 %), 1 error, 2 s'
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from lostbeat.errors import InputError
from lostbeat.fleet.discover import Discovery, Incident
from lostbeat.fleet.model import BundleResult, error_result
from lostbeat.fleet.provenance import prefetch
from lostbeat.fleet.store import FleetStore

__all__ = ["COMMIT_EVERY", "COMMIT_EVERY_S", "Outcome", "Progress", "analyse_into"]

COMMIT_EVERY = 100
COMMIT_EVERY_S = 1.0


@dataclass(frozen=True, slots=True)
class Progress:
    """Where a run stands, for a progress bar or a progress line."""

    total: int
    """Incidents this call analyses (a resumed run: only those not done before)."""
    done: int
    errors: int
    elapsed_s: float

    def line(self) -> str:
        percent = 100 * self.done // self.total if self.total else 100
        errors = f"{self.errors} error" + ("" if self.errors == 1 else "s")
        return (
            f"analysed {self.done} of {self.total} incidents ({percent} %), {errors}, "
            f"{self.elapsed_s:.0f} s"
        )


@dataclass(frozen=True, slots=True)
class Outcome:
    run_id: int
    analysed: int
    """Incidents analysed (or found unreadable) by this call."""
    skipped: int
    """Incidents the resumed run had already stored: not analysed again."""
    finished: bool
    """False when the run was interrupted; it can be resumed."""


Analyse = Callable[[Sequence[Incident], Callable[[BundleResult], None]], None]
"""Runs the incidents through a backend, handing each result over as it arrives."""


def _same_paths(stored: Sequence[str], given: Sequence[str]) -> bool:
    return sorted(os.path.abspath(p) for p in stored) == sorted(os.path.abspath(p) for p in given)


def analyse_into(
    store: FleetStore,
    found: Discovery,
    analyse: Analyse,
    *,
    backend: str,
    workers: int | None,
    scheduler: str | None,
    paths: Sequence[str],
    resume: bool = False,
    on_progress: Callable[[Progress], None] | None = None,
) -> Outcome:
    """Analyses what ``found`` holds into ``store``, as a new run or the resumed one.

    Ctrl-C stops the analysis: what finished is committed, the run stays unfinished and the
    outcome says so; it is not raised.

    Args:
        store: the open fleet database.
        found: the incidents (and unreadable folders) to store.
        analyse: the backend, e.g. ``lambda i, emit: stream_local(i, emit=emit)``.
        backend, workers, scheduler: recorded in the ``runs`` row.
        paths: the paths as given, recorded in the ``runs`` row.
        resume: continue the last unfinished run instead of starting one.
        on_progress: called after each result.

    Raises:
        InputError: ``resume`` without an unfinished run, or one over other paths.
    """
    incidents = list(found.incidents)
    unreadable = [
        error_result(u.path, (u.path,), f"cannot list the folder: {u.reason}")
        for u in found.unreadable
    ]
    skipped = 0
    if resume:
        run = store.unfinished_run()
        if run is None:
            raise InputError("no unfinished run to resume", path=str(store.path))
        if not _same_paths(run.paths, paths):
            raise InputError(
                f"the unfinished run {run.id} was over {' '.join(run.paths)}: give the same "
                "paths to resume it",
                path=str(store.path),
            )
        run_id = run.id
        done = store.keys(run_id=run_id)
        stored_before = len(done)
        before = len(incidents) + len(unreadable)
        incidents = [i for i in incidents if i.key not in done]
        unreadable = [u for u in unreadable if u.key not in done]
        skipped = before - len(incidents) - len(unreadable)
    else:
        run_id = store.begin_run(backend=backend, workers=workers, scheduler=scheduler, paths=paths)
        stored_before = 0
    for row in unreadable:
        store.save(run_id, row)
    store.commit()
    start = last_commit = time.monotonic()
    count = errors = pending = 0

    def on_result(result: BundleResult) -> None:
        nonlocal count, errors, pending, last_commit
        store.save(run_id, result)
        count += 1
        errors += not result.ok
        pending += 1
        now = time.monotonic()
        if pending >= COMMIT_EVERY or now - last_commit >= COMMIT_EVERY_S:
            store.commit()  # a run cut short keeps what it finished
            pending, last_commit = 0, now
        if on_progress is not None:
            on_progress(Progress(len(incidents), count, errors, now - start))

    if incidents:
        prefetch()  # the summary's import, on a core the analysis leaves idle at its start
    try:
        analyse(incidents, on_result)
    except KeyboardInterrupt:
        store.commit()
        # counted in the store: Ctrl-C may come between a save and the count
        analysed = len(store.keys(run_id=run_id)) - stored_before
        return Outcome(run_id, analysed, skipped, finished=False)
    store.finish_run(run_id)
    return Outcome(run_id, count + len(unreadable), skipped, finished=True)
