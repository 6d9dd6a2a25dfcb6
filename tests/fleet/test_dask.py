"""The Dask path on a real ``LocalCluster`` (worker processes): the same results as locally."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import dask
import pytest
from distributed import Client, LocalCluster, Worker

from lostbeat.cli import main
from lostbeat.errors import InputError
from lostbeat.fleet.batch import batch_size
from lostbeat.fleet.cluster import run_dask
from lostbeat.fleet.discover import discover
from lostbeat.fleet.model import BundleResult
from lostbeat.fleet.runner import WORKER_DIED, run_local
from tests.fleet.helpers import (
    LINUX_HOSTS,
    comparable,
    crash_on_case7,
    crash_on_spike,
    profiler_seen,
)


@pytest.fixture(scope="module")
def cluster() -> Iterator[LocalCluster]:
    # one retry, not three, for a task whose worker died: the crash test stays short
    with (
        dask.config.set({"distributed.scheduler.allowed-failures": 1}),
        LocalCluster(
            processes=True,
            n_workers=2,
            threads_per_worker=1,
            dashboard_address=":0",  # 8787 may be taken by another cluster on this machine
        ) as c,
    ):
        yield c


@pytest.fixture(scope="module")
def local(fleet_dir: Path) -> list[BundleResult]:
    return run_local(discover([fleet_dir]).incidents, workers=2)


def test_dask_results_are_identical_to_the_local_pool(
    cluster: LocalCluster, fleet_dir: Path, local: list[BundleResult]
) -> None:
    seen: list[BundleResult] = []
    results = run_dask(
        discover([fleet_dir]).incidents, scheduler=cluster.scheduler_address, on_result=seen.append
    )
    assert comparable(results) == comparable(local)
    assert sorted(r.key for r in seen) == sorted(r.key for r in results)
    assert [r.ok for r in results] == [True, True, True, False]


def test_batches_give_the_results_of_the_local_pool(cluster: LocalCluster, many: Path) -> None:
    incidents = discover([many]).incidents
    assert batch_size(len(incidents), 2) == 7  # several incidents a task
    seen: list[BundleResult] = []
    results = run_dask(incidents, scheduler=cluster.scheduler_address, on_result=seen.append)
    assert comparable(results) == comparable(run_local(incidents, workers=2))
    assert len(seen) == len(incidents) == 60 and all(r.ok for r in results)


def _profilers(dask_worker: Worker) -> bool:
    """Whether the worker's profiler runs, once the event loop has had 5 s to start it."""
    import time

    profile = dask_worker.periodic_callbacks["profile"]
    deadline = time.monotonic() + 5.0
    while not profile.is_running() and time.monotonic() < deadline:
        time.sleep(0.01)
    return bool(profile.is_running())


def test_a_batch_pauses_the_workers_profiler_and_starts_it_again(
    cluster: LocalCluster, many: Path
) -> None:
    incidents = discover([many]).incidents[:6]
    results = run_dask(incidents, scheduler=cluster.scheduler_address, task=profiler_seen)
    assert {r.error for r in results} == {"profiler running: False"}
    with Client(cluster.scheduler_address) as client:  # type: ignore[no-untyped-call]
        assert list(client.run(_profilers).values()) == [True, True]


def test_a_worker_dying_in_a_batch_fails_only_its_incident(
    cluster: LocalCluster, many: Path
) -> None:
    incidents = discover([many]).incidents
    results = run_dask(incidents, scheduler=cluster.scheduler_address, task=crash_on_case7)
    died = [r.key for r in results if not r.ok]
    assert len(died) == 1 and "/case007/" in died[0]
    assert [r.error for r in results if not r.ok] == [WORKER_DIED]
    assert sum(r.ok for r in results) == len(incidents) - 1
    cluster.wait_for_workers(2, timeout=60)


def test_a_dying_dask_worker_is_one_error_row(
    cluster: LocalCluster, fleet_dir: Path, local: list[BundleResult]
) -> None:
    results = run_dask(
        discover([fleet_dir]).incidents, scheduler=cluster.scheduler_address, task=crash_on_spike
    )
    assert [r.key for r in results if r.error == WORKER_DIED] == [
        r.key for r in local if "/spike/" in r.key
    ]
    assert comparable([r for r in results if r.error != WORKER_DIED]) == comparable(
        [r for r in local if "/spike/" not in r.key]
    )
    cluster.wait_for_workers(2, timeout=60)  # the nanny restarts the dead worker


def test_the_cli_on_dask_stores_what_the_local_run_stores(
    cluster: LocalCluster, fleet_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    docs = {}
    for name, flags in (
        ("local", ["--workers", "2"]),
        ("dask", ["--scheduler", cluster.scheduler_address]),
    ):
        db = tmp_path / f"{name}.sqlite"
        assert main(["fleet", str(fleet_dir), "--db", str(db), "--json", *flags]) == 0
        out = json.loads(capsys.readouterr().out)
        for row in out["rows"]:
            row.pop("duration_s")
        docs[name] = out
        con = sqlite3.connect(db)
        backend = con.execute("SELECT backend, scheduler FROM runs").fetchone()
        stored = con.execute(
            "SELECT i.key, d.document FROM incidents i LEFT JOIN documents d"
            " ON d.incident_key = i.key ORDER BY i.key"
        ).fetchall()
        docs[name + "-db"] = stored
        con.close()
        assert backend[0] == name
    assert docs["dask"]["rows"] == docs["local"]["rows"]
    assert docs["dask-db"] == docs["local-db"]
    assert len(docs["local-db"]) == 4


def test_an_unreachable_scheduler_is_one_clear_error(fleet_dir: Path) -> None:
    with pytest.raises(InputError, match="cannot reach the Dask scheduler") as err:
        run_dask(discover([fleet_dir]).incidents, scheduler="tcp://127.0.0.1:9", timeout_s=1.0)
    assert str(err.value).startswith("tcp://127.0.0.1:9: ")


def test_linux_host_folders_on_dask_as_in_the_local_pool(
    cluster: LocalCluster, mixed_tree: Path, mixed_local: list[BundleResult]
) -> None:
    results = run_dask(discover([mixed_tree]).incidents, scheduler=cluster.scheduler_address)
    assert comparable(results) == comparable(mixed_local)
    crash = {r.host: r.verdict.crash_type for r in results if r.verdict is not None}
    assert {host: crash[host] for host in LINUX_HOSTS} == {
        host: expected for host, (_, expected) in LINUX_HOSTS.items()
    }
