"""Analyse many incidents at once in a local process pool (the Dask path is
:mod:`lostbeat.fleet.cluster`).

Parallelism returns values and shares no state: a task analyses a batch of incidents
(:mod:`lostbeat.fleet.batch`) and returns their :class:`~lostbeat.fleet.model.BundleResult`;
the parent sorts them by host and key, so the output does not depend on which worker
finished first. A broken input is one error row (the analyzer's
:class:`~lostbeat.errors.InputError` message), and so is a worker that dies: at most
``2 * workers`` batches are in flight; when a worker dies the pool is lost, the incidents not
yet started go to a fresh pool, and those that were in flight are run again one at a time,
so only the one that kills its worker becomes an error row.

:func:`stream_local` hands each result over as it arrives and keeps none, so a fleet of any
size runs in the same memory; :func:`run_local` collects and sorts them.

Workers use the ``forkserver`` start method: the parent may hold threads (a Dask client, a
progress bar), and forking a process with threads can deadlock a child. The fork server
preloads the analyzer, so a new worker starts in milliseconds, not a second.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import time
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import replace

from lostbeat.analyzer._inflater import one_arena
from lostbeat.errors import LostbeatError
from lostbeat.fleet.batch import WORKER_DIED, run_batch, take_batch, task_failed
from lostbeat.fleet.discover import Incident
from lostbeat.fleet.model import BundleResult, compact_document, error_result, verdict_of

__all__ = [
    "OnResult",
    "Task",
    "WORKER_DIED",
    "analyze_incident",
    "pool",
    "run_local",
    "stream_local",
    "task_failed",
]

Task = Callable[[Incident], BundleResult]
OnResult = Callable[[BundleResult], None]


def analyze_incident(incident: Incident) -> BundleResult:
    """Analyses one incident; never raises (a failure is the error row it returns). A host
    folder's evidence that names no host is named after the folder.

    Args:
        incident: the paths of one host and one crash.
    """
    from lostbeat.analyzer.engine import analyze

    start = time.perf_counter()
    try:
        result = analyze(incident.paths)
        if result.host is None and incident.folder_host is not None:
            result = replace(result, host=incident.folder_host)  # evidence that names none
        document = compact_document(result)
    except LostbeatError as err:
        message = str(err)
    except Exception as err:  # noqa: BLE001 - one incident's failure must not stop the fleet
        message = f"internal error: {type(err).__name__}: {err}"
    else:
        return BundleResult(
            key=incident.key,
            paths=incident.paths,
            host=result.host,
            ok=True,
            error=None,
            document=document,
            verdict=verdict_of(result),
            duration_s=time.perf_counter() - start,
        )
    return error_result(
        incident.key, incident.paths, message, duration_s=time.perf_counter() - start
    )


# Imported once by the fork server; each worker forks from it with the analyzer loaded
# (importing scipy.stats alone takes most of a second).
_PRELOAD = ["lostbeat.fleet.runner", "lostbeat.analyzer.engine"]


def _start_worker() -> None:
    # Ctrl-C is the parent's to handle: it cancels what has not started and stops.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    one_arena()  # a worker's reading threads share one malloc arena, as the command's do


def pool(workers: int) -> ProcessPoolExecutor:
    """A process pool whose workers fork from a fork server that imported the analyzer."""
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(_PRELOAD)
    return ProcessPoolExecutor(max_workers=workers, mp_context=context, initializer=_start_worker)


def _sorted(results: Iterable[BundleResult]) -> list[BundleResult]:
    return sorted(results, key=lambda r: r.sort_key)


def run_local(
    incidents: Sequence[Incident],
    *,
    workers: int | None = None,
    task: Task = analyze_incident,
    on_result: OnResult | None = None,
) -> list[BundleResult]:
    """:func:`stream_local`, collected.

    Returns:
        One result per incident, sorted by host then key.
    """
    done: list[BundleResult] = []

    def emit(result: BundleResult) -> None:
        done.append(result)
        if on_result is not None:
            on_result(result)

    stream_local(incidents, emit=emit, workers=workers, task=task)
    return _sorted(done)


def stream_local(
    incidents: Sequence[Incident],
    *,
    emit: OnResult,
    workers: int | None = None,
    task: Task = analyze_incident,
) -> None:
    """Analyses ``incidents`` in a local process pool.

    Args:
        incidents: what to analyse; each key once.
        emit: called in the parent with each result as it arrives, in no set order.
        workers: worker processes; default: the CPUs this process may use.
        task: the function each worker runs (a module-level function, so it pickles).
    """
    n = workers if workers is not None else len(os.sched_getaffinity(0))
    if n < 1:
        raise ValueError(f"workers must be at least 1, got {n}")
    queue = deque(incidents)
    suspects: list[Incident] = []
    while queue:
        with pool(n) as executor:
            try:
                suspects.extend(_drain(executor, queue, workers=n, task=task, emit=emit))
            except BaseException:
                executor.shutdown(wait=False, cancel_futures=True)
                raise
    for incident in suspects:
        emit(_alone(incident, task))


def _drain(
    executor: ProcessPoolExecutor,
    queue: deque[Incident],
    *,
    workers: int,
    task: Task,
    emit: OnResult,
) -> list[Incident]:
    """Runs the queue through ``executor`` in batches, at most two a worker in flight;
    returns the incidents of the batches in flight if the pool broke."""
    running: dict[Future[list[BundleResult]], list[Incident]] = {}
    while queue or running:
        while queue and len(running) < 2 * workers:
            batch = take_batch(queue, workers)
            running[executor.submit(run_batch, batch, task)] = batch
        finished, _ = wait(running, return_when=FIRST_COMPLETED)
        for future in finished:
            batch = running[future]
            try:
                results = future.result()
            except BrokenProcessPool:
                return _salvage(running, emit)
            except Exception as err:  # noqa: BLE001 - e.g. a result that does not pickle
                results = [error_result(i.key, i.paths, task_failed(err)) for i in batch]
            del running[future]
            for result in results:
                emit(result)
    return []


def _salvage(
    running: dict[Future[list[BundleResult]], list[Incident]], emit: OnResult
) -> list[Incident]:
    """After a worker died: keeps the results that made it, returns the rest as suspects."""
    suspects: list[Incident] = []
    for future, batch in running.items():
        if future.done() and future.exception() is None:
            for result in future.result():
                emit(result)
        else:
            suspects.extend(batch)
    return suspects


def _alone(incident: Incident, task: Task) -> BundleResult:
    """Runs one incident in a pool of its own: if the worker dies, it is this incident."""
    with pool(1) as executor:
        try:
            return executor.submit(task, incident).result()
        except BrokenProcessPool:
            return error_result(incident.key, incident.paths, WORKER_DIED)
        except Exception as err:  # noqa: BLE001
            return error_result(incident.key, incident.paths, task_failed(err))
