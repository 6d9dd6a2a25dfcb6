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

Examples:
    >>> batch_size(500, 2), batch_size(40, 2), batch_size(3, 2)
    (16, 5, 1)
"""

from __future__ import annotations

import ctypes
import gc
import os
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager

from lostbeat.fleet.discover import Incident
from lostbeat.fleet.model import BundleResult, error_result

__all__ = [
    "MAX_BATCH",
    "WORKER_DIED",
    "batch_results",
    "batch_size",
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


def run_batch(incidents: Sequence[Incident], task: Task) -> list[BundleResult]:
    """Runs ``task`` on each incident in a row; a task that raises is its incident's error
    row, never the batch's."""
    with tuned():
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
