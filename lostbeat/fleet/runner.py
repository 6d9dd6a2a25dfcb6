"""Analyse many incidents at once: a local process pool, or a Dask distributed cluster.

Parallelism returns values and shares no state: each task analyses one incident and returns
a :class:`~lostbeat.fleet.model.BundleResult`; the parent sorts them by host and key, so
the output does not depend on which worker finished first. A broken input is one error row
(the analyzer's :class:`~lostbeat.errors.InputError` message), and so is a worker that dies:

* local pool: at most ``2 * workers`` incidents are in flight. When a worker dies the pool
  is lost; the incidents not yet started go to a fresh pool, and those that were in flight
  are run again one at a time, so only the one that kills its worker becomes an error row.
* Dask: the scheduler retries a task whose worker died on another worker, but it blames every
  task that was on the dead worker; so the tasks it gives up on (``KilledWorker``) are run
  again one at a time, and only one that still kills its worker becomes an error row.

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

from lostbeat.errors import InputError, LostbeatError
from lostbeat.fleet.discover import Incident
from lostbeat.fleet.model import BundleResult, compact_document, error_result, verdict_of

__all__ = ["Task", "WORKER_DIED", "analyze_incident", "run_dask", "run_local"]

Task = Callable[[Incident], BundleResult]
OnResult = Callable[[BundleResult], None]

WORKER_DIED = "the worker process died while analysing this incident"


def analyze_incident(incident: Incident) -> BundleResult:
    """Analyses one incident; never raises (a failure is the error row it returns).

    Args:
        incident: the paths of one host and one crash.
    """
    from lostbeat.analyzer.engine import analyze

    start = time.perf_counter()
    try:
        result = analyze(incident.paths)
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


def _ignore_interrupts() -> None:
    # Ctrl-C is the parent's to handle: it cancels what has not started and stops.
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _pool(workers: int) -> ProcessPoolExecutor:
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(_PRELOAD)
    return ProcessPoolExecutor(
        max_workers=workers, mp_context=context, initializer=_ignore_interrupts
    )


def _sorted(results: Iterable[BundleResult]) -> list[BundleResult]:
    return sorted(results, key=lambda r: r.sort_key)


def run_local(
    incidents: Sequence[Incident],
    *,
    workers: int | None = None,
    task: Task = analyze_incident,
    on_result: OnResult | None = None,
) -> list[BundleResult]:
    """Analyses ``incidents`` in a local process pool.

    Args:
        incidents: what to analyse; each key once.
        workers: worker processes; default: the CPUs this process may use.
        task: the function each worker runs (a module-level function, so it pickles).
        on_result: called in the parent with each result as it arrives (progress).

    Returns:
        One result per incident, sorted by host then key.
    """
    n = workers if workers is not None else len(os.sched_getaffinity(0))
    if n < 1:
        raise ValueError(f"workers must be at least 1, got {n}")
    done: list[BundleResult] = []

    def emit(result: BundleResult) -> None:
        done.append(result)
        if on_result is not None:
            on_result(result)

    queue = deque(incidents)
    suspects: list[Incident] = []
    while queue:
        with _pool(n) as pool:
            try:
                suspects.extend(_drain(pool, queue, window=2 * n, task=task, emit=emit))
            except BaseException:
                pool.shutdown(wait=False, cancel_futures=True)
                raise
    for incident in suspects:
        emit(_alone(incident, task))
    return _sorted(done)


def _drain(
    pool: ProcessPoolExecutor,
    queue: deque[Incident],
    *,
    window: int,
    task: Task,
    emit: OnResult,
) -> list[Incident]:
    """Runs the queue through ``pool``; returns the incidents in flight if the pool broke."""
    running: dict[Future[BundleResult], Incident] = {}
    while queue or running:
        while queue and len(running) < window:
            incident = queue.popleft()
            running[pool.submit(task, incident)] = incident
        finished, _ = wait(running, return_when=FIRST_COMPLETED)
        for future in finished:
            incident = running[future]
            try:
                result = future.result()
            except BrokenProcessPool:
                return _salvage(running, emit)
            except Exception as err:  # noqa: BLE001 - e.g. a result that does not pickle
                result = error_result(incident.key, incident.paths, _task_failed(err))
            del running[future]
            emit(result)
    return []


def _salvage(running: dict[Future[BundleResult], Incident], emit: OnResult) -> list[Incident]:
    """After a worker died: keeps the results that made it, returns the rest as suspects."""
    suspects: list[Incident] = []
    for future, incident in running.items():
        if future.done() and future.exception() is None:
            emit(future.result())
        else:
            suspects.append(incident)
    return suspects


def _alone(incident: Incident, task: Task) -> BundleResult:
    """Runs one incident in a pool of its own: if the worker dies, it is this incident."""
    with _pool(1) as pool:
        try:
            return pool.submit(task, incident).result()
        except BrokenProcessPool:
            return error_result(incident.key, incident.paths, WORKER_DIED)
        except Exception as err:  # noqa: BLE001
            return error_result(incident.key, incident.paths, _task_failed(err))


def _task_failed(err: BaseException) -> str:
    return f"the task failed: {type(err).__name__}: {err}"


def run_dask(
    incidents: Sequence[Incident],
    *,
    scheduler: str,
    task: Task = analyze_incident,
    on_result: OnResult | None = None,
    timeout_s: float = 10.0,
) -> list[BundleResult]:
    """Analyses ``incidents`` on a Dask distributed cluster, one task per incident.

    The workers must be able to import lostbeat and to read the incidents' paths (a shared
    file system): only the paths travel, not the bundles.

    Args:
        incidents: what to analyse; each key once.
        scheduler: the scheduler's address, e.g. ``tcp://10.0.0.5:8786``.
        task: the function each task runs.
        on_result: called with each result as it arrives (progress).
        timeout_s: how long to try to reach the scheduler.

    Returns:
        One result per incident, sorted by host then key.

    Raises:
        InputError: Dask is not installed, or the scheduler cannot be reached.
    """
    try:
        from distributed import Client, as_completed
    except ImportError as err:
        raise InputError(
            "the Dask path needs the fleet extra: pip install 'lostbeat[fleet]'",
            path=scheduler,
        ) from err
    try:
        client = Client(  # type: ignore[no-untyped-call]
            scheduler, timeout=timeout_s, set_as_default=False
        )
    except (OSError, ValueError, TypeError) as err:
        raise InputError(f"cannot reach the Dask scheduler ({err})", path=scheduler) from err
    done: list[BundleResult] = []

    def emit(result: BundleResult) -> None:
        done.append(result)
        if on_result is not None:
            on_result(result)

    with client:
        futures = client.map(task, list(incidents), pure=False)
        by_key: dict[object, Incident] = {f.key: i for f, i in zip(futures, incidents, strict=True)}
        suspects: list[Incident] = []
        # with_results: results are fetched in batches in the background, not one round trip
        # each; raise_errors=False: a failed task yields its exception as its result
        completed = as_completed(  # type: ignore[no-untyped-call]
            futures, loop=client.loop, with_results=True, raise_errors=False
        )
        for future, value in completed:
            incident = by_key[future.key]
            if future.status == "error":
                value = future.exception()  # the value is Dask's (type, exception, traceback)
            result = _dask_result(value, incident)
            if result.error == WORKER_DIED:
                suspects.append(incident)  # perhaps only beside the task that killed it
            else:
                emit(result)
            future.release()
        for incident in sorted(suspects, key=lambda i: i.key):
            future = client.submit(task, incident, pure=False)
            try:
                value = future.result()
            except Exception as err:  # noqa: BLE001 - KilledWorker again: it is this one
                value = err
            emit(_dask_result(value, incident))
    return _sorted(done)


def _dask_result(value: object, incident: Incident) -> BundleResult:
    """The task's result, or the error row of the exception it ended with."""
    if isinstance(value, BundleResult):
        return value
    if isinstance(value, BaseException):  # KilledWorker, a lost task, a pickling error
        name = type(value).__name__
        message = WORKER_DIED if name == "KilledWorker" else _task_failed(value)
    else:
        message = f"the task returned {type(value).__name__}, not a BundleResult"
    return error_result(incident.key, incident.paths, message)
