"""The Dask path: incidents in batches on a distributed cluster, a bounded number in flight.

Only the paths travel to the workers, not the bundles (the workers need a shared file
system). The incidents go in batches (:func:`batch_size`): one task analyses a batch in a
row and returns its compact results, so the scheduler and the client handle a task per
batch, not per bundle. At most ``2 x threads`` batches are in flight, so the client's and the
scheduler's memory stay flat however many incidents there are. The batches shrink as the
queue empties, so no worker waits on another's last long batch.

A Dask worker runs a task slower than a plain process would: the nanny starts it with
``MALLOC_TRIM_THRESHOLD_=65536``, which also fixes glibc's mmap threshold at 128 KiB, so
every large buffer of the analysis (archive members, inflated logs) is mapped, faulted in
and unmapped again; and each full garbage collection walks Dask's own hundred thousand
objects. Together they cost about a third more CPU a bundle (docs/benchmarks.md). A batch
therefore raises both malloc thresholds and freezes the objects it finds for its own
duration, then gives both back (:func:`_tuned`).

A worker that dies takes its batch with it; the scheduler blames every task that was on the
dead worker (``KilledWorker``), so those incidents are run again one at a time, and only one
that still kills its worker becomes an error row.
"""

from __future__ import annotations

import ctypes
import gc
import os
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager

from lostbeat.errors import InputError
from lostbeat.fleet.discover import Incident
from lostbeat.fleet.model import BundleResult, error_result
from lostbeat.fleet.runner import WORKER_DIED, OnResult, Task, analyze_incident, task_failed

__all__ = ["MAX_BATCH", "analyze_batch", "batch_size", "run_dask", "stream_dask"]

MAX_BATCH = 16
"""Incidents in one task at most: about 0.7 s of analysis, a few hundred KB of results."""

# glibc mallopt parameters (malloc.h)
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3
_BATCH_MMAP = 32 << 20
_BATCH_TRIM = 64 << 20
_DEFAULT_THRESHOLD = 128 << 10  # glibc's default for both


def batch_size(remaining: int, threads: int) -> int:
    """How many incidents the next task takes: a quarter of each thread's share of what is
    left, at most :data:`MAX_BATCH`, at least one.

    >>> batch_size(500, 2), batch_size(40, 2), batch_size(3, 2)
    (16, 5, 1)
    """
    return max(1, min(MAX_BATCH, remaining // (4 * max(threads, 1))))


def _mallopt() -> Callable[[int, int], int] | None:
    try:
        func: Callable[[int, int], int] = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):  # not glibc (musl, macOS): nothing to tune
        return None
    return func


def _env_threshold(name: str) -> int:
    value = os.environ.get(name, "")
    return int(value) if value.isdigit() else _DEFAULT_THRESHOLD


@contextmanager
def _tuned() -> Iterator[None]:
    """Plain-process malloc thresholds and a frozen heap for the length of a batch."""
    mallopt = _mallopt()
    if mallopt is not None:
        mallopt(_M_MMAP_THRESHOLD, _BATCH_MMAP)
        mallopt(_M_TRIM_THRESHOLD, _BATCH_TRIM)
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()
        if mallopt is not None:  # as the worker had them; the freed memory goes back
            mallopt(_M_MMAP_THRESHOLD, _env_threshold("MALLOC_MMAP_THRESHOLD_"))
            mallopt(_M_TRIM_THRESHOLD, _env_threshold("MALLOC_TRIM_THRESHOLD_"))
            ctypes.CDLL(None).malloc_trim(0)


def analyze_batch(incidents: Sequence[Incident]) -> list[BundleResult]:
    """Analyses incidents one after the other; never raises (a failure is an error row)."""
    with _tuned():
        return [analyze_incident(incident) for incident in incidents]


def run_dask(
    incidents: Sequence[Incident],
    *,
    scheduler: str,
    task: Task = analyze_incident,
    on_result: OnResult | None = None,
    timeout_s: float = 10.0,
) -> list[BundleResult]:
    """:func:`stream_dask`, collected and sorted by host then key."""
    done: list[BundleResult] = []

    def emit(result: BundleResult) -> None:
        done.append(result)
        if on_result is not None:
            on_result(result)

    stream_dask(incidents, scheduler=scheduler, emit=emit, task=task, timeout_s=timeout_s)
    return sorted(done, key=lambda r: r.sort_key)


def stream_dask(
    incidents: Sequence[Incident],
    *,
    scheduler: str,
    emit: OnResult,
    task: Task = analyze_incident,
    timeout_s: float = 10.0,
) -> None:
    """Analyses ``incidents`` on a Dask distributed cluster, in batches.

    Args:
        incidents: what to analyse; each key once.
        scheduler: the scheduler's address, e.g. ``tcp://10.0.0.5:8786``.
        emit: called in this process with each result as it arrives, in no set order.
        task: the function run for each incident (batched unless it is run alone).
        timeout_s: how long to try to reach the scheduler.

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
    with client:
        info = client.scheduler_info(n_workers=-1)
        threads = sum(int(w.get("nthreads", 1)) for w in info.get("workers", {}).values())
        queue = deque(incidents)
        running: dict[object, list[Incident]] = {}
        # with_results: results are fetched in the background, not one round trip each;
        # raise_errors=False: a failed task yields its exception as its result
        completed = as_completed(  # type: ignore[no-untyped-call]
            loop=client.loop, with_results=True, raise_errors=False
        )

        def submit() -> None:
            while queue and len(running) < 2 * max(threads, 1):
                batch = [queue.popleft() for _ in range(batch_size(len(queue), threads))]
                future = client.submit(_batch_task, batch, task, pure=False)
                running[future.key] = batch
                completed.add(future)  # type: ignore[no-untyped-call]

        submit()
        suspects: list[Incident] = []
        for future, value in completed:
            batch = running.pop(future.key)
            if future.status == "error":
                value = future.exception()  # the value is Dask's (type, exception, traceback)
            for result, incident in zip(_batch_results(value, batch), batch, strict=True):
                if result.error == WORKER_DIED:
                    suspects.append(incident)  # perhaps only beside the one that killed it
                else:
                    emit(result)
            future.release()
            submit()
        for incident in sorted(suspects, key=lambda i: i.key):
            # alone: if its worker dies again, it is this incident that kills it
            alone = client.submit(task, incident, pure=False)
            try:
                value = alone.result()
            except Exception as err:  # noqa: BLE001 - KilledWorker again
                value = err
            emit(_alone_result(value, incident))
            alone.release()  # type: ignore[no-untyped-call]


def _batch_task(incidents: Sequence[Incident], task: Task) -> list[BundleResult]:
    if task is analyze_incident:
        return analyze_batch(incidents)
    with _tuned():
        return [task(incident) for incident in incidents]


def _batch_results(value: object, batch: Sequence[Incident]) -> list[BundleResult]:
    """The batch's results, or one error row per incident for the exception it ended with."""
    if isinstance(value, list) and len(value) == len(batch):
        return [
            v if isinstance(v, BundleResult) else _not_a_result(v, i)
            for v, i in zip(value, batch, strict=True)
        ]
    if isinstance(value, BaseException):  # KilledWorker, a lost task, a pickling error
        name = type(value).__name__
        message = WORKER_DIED if name == "KilledWorker" else task_failed(value)
    else:
        message = f"the task returned {type(value).__name__}, not a list of results"
    return [error_result(i.key, i.paths, message) for i in batch]


def _alone_result(value: object, incident: Incident) -> BundleResult:
    if isinstance(value, BundleResult):
        return value
    if isinstance(value, BaseException):
        return _batch_results(value, [incident])[0]
    return _not_a_result(value, incident)


def _not_a_result(value: object, incident: Incident) -> BundleResult:
    message = f"the task returned {type(value).__name__}, not a BundleResult"
    return error_result(incident.key, incident.paths, message)
