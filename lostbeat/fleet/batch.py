"""Batches of incidents, the unit of work of both backends (the local pool and Dask).

One task analyses a batch in a row and returns its results, so the parent (and on Dask the
scheduler and the client) handle a task per batch, not per incident: fewer round trips,
fewer wake-ups of the parent, fewer results waiting in a pipe while a worker idles. The
batches shrink as the queue empties (:func:`batch_size`), so no worker waits on another's
last long batch.

A batch raises glibc's malloc thresholds and freezes the objects it finds for its own
duration, then gives both back (:func:`tuned`). A Dask worker needs it most: its nanny
starts it with ``MALLOC_TRIM_THRESHOLD_=65536``, which also fixes glibc's mmap threshold at
128 KiB, so every large buffer of the analysis (archive members, inflated logs) is mapped,
faulted in and unmapped again; and each full garbage collection walks Dask's own hundred
thousand objects. Together they cost a Dask worker about a fifth more CPU a bundle than a
plain process (47.4 against 38.8 ms, measured when this tuning came). A local worker gains
the frozen heap (the analyzer its fork server imported).

On a Dask worker a batch also pauses the worker's statistical profiler (:func:`quiet_worker`).
It samples every thread's stack from the worker's event loop a hundred times a second, so the
analysis must hand the GIL over a hundred times a second and wait for it back: paused, the
worker's CPU a bundle fell by 1.0 ms (38.1 against 37.1 ms, its event loop's from 2.4 to
1.6 ms; medians of 6 alternated runs of 100 bundles, each run lower with it paused).

Examples:
    >>> batch_size(500, 2), batch_size(40, 2), batch_size(3, 2)
    (16, 5, 1)
"""

from __future__ import annotations

import ctypes
import gc
import os
import sys
import threading
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from lostbeat.fleet.discover import Incident
from lostbeat.fleet.model import BundleResult, error_result

__all__ = [
    "MAX_BATCH",
    "WORKER_DIED",
    "batch_results",
    "batch_size",
    "quiet_worker",
    "run_batch",
    "take_batch",
    "task_failed",
    "tuned",
]

Task = Callable[[Incident], BundleResult]

MAX_BATCH = 16
"""Incidents in one task at most: about 0.7 s of analysis, a few hundred KB of results."""

WORKER_DIED = "the worker process died while analysing this incident"

# glibc mallopt parameters (malloc.h)
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3
_BATCH_MMAP = 32 << 20
_BATCH_TRIM = 64 << 20
_DEFAULT_THRESHOLD = 128 << 10  # glibc's default for both


def batch_size(remaining: int, workers: int) -> int:
    """How many incidents the next task takes: a quarter of each worker's share of what is
    left, at most :data:`MAX_BATCH`, at least one."""
    return max(1, min(MAX_BATCH, remaining // (4 * max(workers, 1))))


def take_batch(queue: deque[Incident], workers: int) -> list[Incident]:
    """The next batch, taken from the front of ``queue``."""
    return [queue.popleft() for _ in range(batch_size(len(queue), workers))]


def task_failed(err: BaseException) -> str:
    """The error row's message for a task that raised instead of returning a result."""
    return f"the task failed: {type(err).__name__}: {err}"


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
def tuned() -> Iterator[None]:
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


def _dask_worker() -> Any:
    """The Dask worker running this task, or None (not on a Dask worker: nothing imported
    ``distributed``, which a local pool worker never does)."""
    distributed = sys.modules.get("distributed")
    if distributed is None:
        return None
    try:
        return distributed.get_worker()
    except ValueError:  # imported, but this is not a worker's task
        return None


class _Pause:
    """The batches running in this worker process (one a thread), and whether the profiler
    ran when the first of them began."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.batches = 0
        self.resume = False


_PAUSE = _Pause()


@contextmanager
def quiet_worker() -> Iterator[None]:
    """On a Dask worker: its statistical profiler (the ``profile`` periodic callback of the
    event loop) paused while any batch runs, and started again after the last one; elsewhere
    nothing. The callback is stopped and started on the event loop's thread, where tornado
    wants it."""
    worker = _dask_worker()
    callback = worker.periodic_callbacks.get("profile") if worker is not None else None
    if callback is None:  # not a worker, or one whose profiler is off
        yield
        return
    with _PAUSE.lock:
        _PAUSE.batches += 1
        if _PAUSE.batches == 1:
            _PAUSE.resume = callback.is_running()
            worker.loop.add_callback(callback.stop)
    try:
        yield
    finally:
        with _PAUSE.lock:
            _PAUSE.batches -= 1
            if _PAUSE.batches == 0 and _PAUSE.resume:
                worker.loop.add_callback(callback.start)


def run_batch(incidents: Sequence[Incident], task: Task) -> list[BundleResult]:
    """Runs ``task`` on each incident in a row; a task that raises is its incident's error
    row, never the batch's."""
    with tuned(), quiet_worker():
        return [_one(task, incident) for incident in incidents]


def _one(task: Task, incident: Incident) -> BundleResult:
    try:
        return task(incident)
    except Exception as err:  # noqa: BLE001 - one incident's failure must not stop the batch
        return error_result(incident.key, incident.paths, task_failed(err))


def batch_results(value: object, batch: Sequence[Incident]) -> list[BundleResult]:
    """The batch's results, or one error row per incident for the exception it ended with
    (``KilledWorker``: :data:`WORKER_DIED`)."""
    if isinstance(value, list) and len(value) == len(batch):
        return [
            v if isinstance(v, BundleResult) else not_a_result(v, i)
            for v, i in zip(value, batch, strict=True)
        ]
    if isinstance(value, BaseException):  # KilledWorker, a lost task, a pickling error
        name = type(value).__name__
        message = WORKER_DIED if name == "KilledWorker" else task_failed(value)
    else:
        message = f"the task returned {type(value).__name__}, not a list of results"
    return [error_result(i.key, i.paths, message) for i in batch]


def not_a_result(value: object, incident: Incident) -> BundleResult:
    """The error row of a task that returned something else than a result."""
    message = f"the task returned {type(value).__name__}, not a BundleResult"
    return error_result(incident.key, incident.paths, message)
