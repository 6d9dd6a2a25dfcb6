"""The Dask path: incidents in batches on a distributed cluster, a bounded number in flight.

Only the paths travel to the workers, not the bundles (the workers need a shared file
system). The incidents go in batches (:mod:`lostbeat.fleet.batch`, as in the local pool):
one task analyses a batch in a row and returns its compact results, so the scheduler and the
client handle a task per batch, not per bundle. At most ``2 x threads`` batches are in
flight, so the client's and the scheduler's memory stay flat however many incidents there
are; results are fetched in the background as tasks finish, in no set order.

A worker that dies takes its batch with it; the scheduler blames every task that was on the
dead worker (``KilledWorker``), so those incidents are run again one at a time, and only one
that still kills its worker becomes an error row.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence

from lostbeat.errors import InputError
from lostbeat.fleet.batch import WORKER_DIED, batch_results, not_a_result, run_batch, take_batch
from lostbeat.fleet.discover import Incident
from lostbeat.fleet.model import BundleResult
from lostbeat.fleet.runner import OnResult, Task, analyze_incident

__all__ = ["run_dask", "stream_dask"]


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
                batch = take_batch(queue, threads)
                future = client.submit(run_batch, batch, task, pure=False)
                running[future.key] = batch
                completed.add(future)  # type: ignore[no-untyped-call]

        submit()
        suspects: list[Incident] = []
        for future, value in completed:
            batch = running.pop(future.key)
            if future.status == "error":
                value = future.exception()  # the value is Dask's (type, exception, traceback)
            for result, incident in zip(batch_results(value, batch), batch, strict=True):
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


def _alone_result(value: object, incident: Incident) -> BundleResult:
    if isinstance(value, BundleResult):
        return value
    if isinstance(value, BaseException):
        return batch_results(value, [incident])[0]
    return not_a_result(value, incident)
