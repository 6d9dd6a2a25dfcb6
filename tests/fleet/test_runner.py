"""The local process pool: real workers, real generated bundles, one broken archive."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lostbeat.analyzer.engine import analyze
from lostbeat.fleet.batch import batch_size
from lostbeat.fleet.discover import discover
from lostbeat.fleet.model import BundleResult, compact_document, verdict_of
from lostbeat.fleet.runner import WORKER_DIED, analyze_incident, run_local
from lostbeat.report.jsonout import from_document
from tests.fleet.helpers import (
    comparable,
    crash_on_case7,
    crash_on_spike,
    raise_on_case7,
    raise_on_spike,
)


@pytest.fixture(scope="module")
def local_results(fleet_dir: Path) -> list[BundleResult]:
    return run_local(discover([fleet_dir]).incidents, workers=2)


def test_one_error_row_and_the_rest_analysed(local_results: list[BundleResult]) -> None:
    assert [r.ok for r in local_results] == [True, True, True, False]
    hosts = [r.host for r in local_results[:3]]
    assert hosts == sorted(hosts) and None not in hosts
    bad = local_results[-1]
    assert bad.key.endswith("/broken/esx-2010-01-01--00.00.1.tgz")
    assert bad.error is not None and bad.error.startswith(bad.key + ": not a gzip or tar archive")
    assert (bad.document, bad.verdict, bad.host) == (None, None, None)


def test_results_are_what_analyze_says(local_results: list[BundleResult]) -> None:
    for r in local_results[:3]:
        assert len(r.paths) == 2 or "/spike/" in r.key  # the psod.txt of the case folder
        expected = analyze(r.paths)
        assert r.document == compact_document(expected)
        assert r.verdict == verdict_of(expected)
        assert r.host == expected.host
        assert r.document is not None
        assert from_document(json.loads(r.document)) == expected
        assert r.duration_s > 0


def test_one_worker_gives_the_same_results(
    fleet_dir: Path, local_results: list[BundleResult]
) -> None:
    alone = run_local(discover([fleet_dir]).incidents, workers=1)
    assert comparable(alone) == comparable(local_results)


def test_a_dying_worker_is_one_error_row(
    fleet_dir: Path, local_results: list[BundleResult]
) -> None:
    seen: list[str] = []
    results = run_local(
        discover([fleet_dir]).incidents,
        workers=2,
        task=crash_on_spike,
        on_result=lambda r: seen.append(r.key),
    )
    assert sorted(seen) == sorted(r.key for r in results)
    died = [r for r in results if r.error == WORKER_DIED]
    assert [r.key for r in died] == [r.key for r in local_results if "/spike/" in r.key]
    others = [r for r in results if r.error != WORKER_DIED]
    assert comparable(others) == comparable([r for r in local_results if "/spike/" not in r.key])


def test_a_task_that_raises_is_one_error_row(fleet_dir: Path) -> None:
    results = run_local(discover([fleet_dir]).incidents, workers=2, task=raise_on_spike)
    failed = [r for r in results if r.error and "task bug" in r.error]
    assert len(failed) == 1
    assert failed[0].error == "the task failed: RuntimeError: task bug"
    assert sum(r.ok for r in results) == 2


def test_batches_give_what_each_incident_gives_alone(many: Path) -> None:
    incidents = discover([many]).incidents
    assert batch_size(len(incidents), 2) == 7  # several incidents a task
    seen: list[str] = []
    results = run_local(incidents, workers=2, on_result=lambda r: seen.append(r.key))
    assert sorted(seen) == sorted(i.key for i in incidents)  # each once
    alone = sorted((analyze_incident(i) for i in incidents), key=lambda r: r.sort_key)
    assert comparable(results) == comparable(alone)
    assert all(r.ok for r in results)


def test_a_worker_dying_in_a_batch_fails_only_its_incident(many: Path) -> None:
    incidents = discover([many]).incidents
    results = run_local(incidents, workers=2, task=crash_on_case7)
    assert [(r.key.split("/")[-2], r.error) for r in results if not r.ok] == [
        ("case007", WORKER_DIED)
    ]
    assert len(results) == len(incidents) == 60


def test_a_task_raising_in_a_batch_fails_only_its_incident(many: Path) -> None:
    results = run_local(discover([many]).incidents, workers=2, task=raise_on_case7)
    failed = [(r.key.split("/")[-2], r.error) for r in results if not r.ok]
    assert failed == [("case007", "the task failed: RuntimeError: task bug")]
    assert sum(r.ok for r in results) == 59


def test_an_incident_with_nothing_readable(tmp_path: Path) -> None:
    empty = tmp_path / "empty.tgz"
    empty.write_bytes(b"")
    (result,) = run_local(discover([tmp_path]).incidents, workers=1)
    assert not result.ok
    assert result.error is not None and result.error.startswith(f"{empty}: empty file")


def test_workers_must_be_positive(fleet_dir: Path) -> None:
    with pytest.raises(ValueError, match="at least 1"):
        run_local(discover([fleet_dir]).incidents, workers=0)
