"""The SQLite store: schema, upsert, round trip, and refusing files that are not ours."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import replace
from pathlib import Path

import pytest

from lostbeat.analyzer.result import AnalysisResult, HostPackage
from lostbeat.errors import InputError
from lostbeat.fleet.model import PackageRow, error_result
from lostbeat.fleet.store import SCHEMA_VERSION, FleetStore, RunRow
from lostbeat.report.jsonout import from_document
from tests.fleet.helpers import bundle_result, leak_on, spike_on


def saved(db: Path, results: list) -> int:
    with FleetStore(db) as store:
        run = store.begin_run(backend="local", workers=2, scheduler=None, paths=["/b"])
        for r in results:
            store.save(run, r)
        store.finish_run(run)
    return run


def test_round_trip(tmp_path: Path) -> None:
    results = [
        bundle_result(leak_on("esx01"), "/b/1.tgz", duration_s=0.25),
        bundle_result(spike_on("esx02"), "/b/2.tgz"),
        error_result("/b/3.tgz", ("/b/3.tgz", "/b/3.psod.txt"), "not a tar archive"),
    ]
    run = saved(tmp_path / "f.sqlite", results)
    with FleetStore(tmp_path / "f.sqlite") as store:
        assert store.results() == results
        assert store.results(run_id=run) == results
        assert store.results(run_id=run + 1) == []
    document = results[0].document
    assert document is not None
    assert from_document(json.loads(document)) == leak_on("esx01")


def test_tables_hold_one_row_per_incident_with_its_findings(tmp_path: Path) -> None:
    db = tmp_path / "f.sqlite"
    saved(
        db,
        [bundle_result(leak_on("esx01"), "/b/1.tgz"), bundle_result(spike_on("esx02"), "/b/2.tgz")],
    )
    con = sqlite3.connect(db)
    assert con.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    rows = con.execute(
        "SELECT host, ok, crash_type, root_cause_kind, root_cause_process, root_cause_origin,"
        " root_cause_confidence, hours_to_exhaustion, known_issue_kbs FROM incidents ORDER BY key"
    ).fetchall()
    assert rows == [
        ("esx01", 1, "lost_heartbeat", "leak", "VMap", "vmware", 0.9, 336.0, ""),
        ("esx02", 1, "lost_heartbeat", "spike", "cimserver", "vmware", 0.9, None, "1009607"),
    ]
    findings = con.execute(
        "SELECT severity, finding_id FROM findings WHERE incident_key = '/b/1.tgz' ORDER BY seq"
    ).fetchall()
    assert findings == [(f.severity.value, f.id) for f in leak_on("esx01").findings]
    hosts = con.execute(
        "SELECT i.host FROM known_issues k JOIN incidents i ON i.key = k.incident_key"
        " WHERE k.kb = '1009607'"
    ).fetchall()
    assert hosts == [("esx02",)]
    assert con.execute("SELECT count(*) FROM documents").fetchone()[0] == 2
    run = con.execute(
        "SELECT backend, workers, incidents, errors, finished_at FROM runs"
    ).fetchone()
    assert run[:4] == ("local", 2, 2, 0) and run[4] is not None
    con.close()


def test_a_second_run_replaces_the_same_incident(tmp_path: Path) -> None:
    db = tmp_path / "f.sqlite"
    saved(
        db,
        [bundle_result(leak_on("esx01"), "/b/1.tgz"), bundle_result(spike_on("esx02"), "/b/2.tgz")],
    )
    second = saved(db, [error_result("/b/1.tgz", ("/b/1.tgz",), "unreadable now")])
    con = sqlite3.connect(db)
    assert con.execute(
        "SELECT key, ok, error, run_id, crash_type FROM incidents ORDER BY key"
    ).fetchall() == [
        ("/b/1.tgz", 0, "unreadable now", second, None),
        ("/b/2.tgz", 1, None, 1, "lost_heartbeat"),
    ]
    assert con.execute(
        "SELECT count(*) FROM findings WHERE incident_key = '/b/1.tgz'"
    ).fetchone() == (0,)
    assert con.execute("SELECT count(*) FROM documents").fetchone() == (1,)
    assert con.execute("SELECT id, incidents, errors FROM runs ORDER BY id").fetchall() == [
        (1, 2, 0),
        (second, 1, 1),
    ]
    con.close()


def test_refuses_files_that_are_not_a_fleet_database(tmp_path: Path) -> None:
    text = tmp_path / "notes.txt"
    text.write_text("hello, this is not SQLite at all, not even close\n" * 100)
    with pytest.raises(InputError, match="expected a SQLite database") as err:
        FleetStore(text)
    assert str(err.value).startswith(f"{text}: ")
    foreign = tmp_path / "other.sqlite"
    con = sqlite3.connect(foreign)
    con.execute("CREATE TABLE t (x)")
    con.commit()
    con.close()
    with pytest.raises(InputError, match="found schema 0 with tables t"):
        FleetStore(foreign)
    newer = tmp_path / "newer.sqlite"
    saved(newer, [])
    con = sqlite3.connect(newer)
    con.execute("PRAGMA user_version = 99")
    con.commit()
    con.close()
    with pytest.raises(InputError, match=r"\(schema 2\), found schema 99"):
        FleetStore(newer)
    with pytest.raises(InputError, match="cannot open the fleet database"):
        FleetStore(tmp_path / "no" / "such" / "folder.sqlite")


def with_packages(result: AnalysisResult, *packages: HostPackage) -> AnalysisResult:
    return replace(result, host_packages=packages)


HP_AGENTS = HostPackage("hp-snmp-agents", "8.2.0", "164.rhel4", "HP")
GLIBC = HostPackage("glibc", "2.3.4", "2.41")


def test_build_release_and_packages_round_trip(tmp_path: Path) -> None:
    results = [
        bundle_result(with_packages(leak_on("esx01"), HP_AGENTS, GLIBC), "/b/1.tgz"),
        bundle_result(spike_on("esx02"), "/b/2.tgz"),
    ]
    verdict = results[0].verdict
    assert verdict is not None and verdict.build == 153875
    assert verdict.packages == (
        PackageRow("hp-snmp-agents", "8.2.0-164.rhel4", "HP"),
        PackageRow("glibc", "2.3.4-2.41", None),
    )
    saved(tmp_path / "f.sqlite", results)
    with FleetStore(tmp_path / "f.sqlite") as store:
        assert store.results() == results
        light = store.results(documents=False)
        assert [r.document for r in light] == [None, None]
        assert [r.verdict for r in light] == [r.verdict for r in results]
        assert list(store.documents()) == [(r.key, r.host, r.document) for r in results]
    con = sqlite3.connect(tmp_path / "f.sqlite")
    assert con.execute(
        "SELECT i.host, i.build, i.release, p.name, p.version FROM packages p"
        " JOIN incidents i ON i.key = p.incident_key WHERE p.vendor = 'HP'"
    ).fetchall() == [
        ("esx01", 153875, "ESX Server 3.5 Update 4", "hp-snmp-agents", "8.2.0-164.rhel4")
    ]
    con.close()


def test_a_schema_1_database_is_migrated_from_its_documents(tmp_path: Path) -> None:
    db = tmp_path / "old.sqlite"
    results = [
        bundle_result(with_packages(leak_on("esx01"), HP_AGENTS), "/b/1.tgz"),
        error_result("/b/2.tgz", ("/b/2.tgz",), "not a tar archive"),
    ]
    saved(db, results)
    con = sqlite3.connect(db)  # what lostbeat 0.1 wrote: no build, release or packages
    con.executescript(
        "DROP TABLE packages; DROP INDEX incidents_run;"
        " ALTER TABLE incidents DROP COLUMN build; ALTER TABLE incidents DROP COLUMN release;"
        " PRAGMA user_version = 1;"
    )
    con.close()
    with FleetStore(db) as store:
        assert store.results() == results
    con = sqlite3.connect(db)
    assert con.execute("PRAGMA user_version").fetchone() == (SCHEMA_VERSION,)
    assert con.execute("SELECT key, build FROM incidents ORDER BY key").fetchall() == [
        ("/b/1.tgz", 153875),
        ("/b/2.tgz", None),
    ]
    con.close()


def test_an_unfinished_run_and_the_keys_it_stored(tmp_path: Path) -> None:
    db = tmp_path / "f.sqlite"
    saved(db, [bundle_result(leak_on("esx01"), "/b/1.tgz")])
    with FleetStore(db) as store:
        assert store.unfinished_run() is None  # the last run finished
        run = store.begin_run(backend="dask", workers=None, scheduler="tcp://x:1", paths=["/b"])
        store.save(run, bundle_result(spike_on("esx02"), "/b/2.tgz"))
        store.commit()
    with FleetStore(db) as store:  # as after a kill: the run never finished
        assert store.unfinished_run() == RunRow(run, ("/b",), "dask", finished=False)
        assert store.keys(run_id=run) == {"/b/2.tgz"}
        assert store.keys(run_id=1) == {"/b/1.tgz"}
        store.finish_run(run)
        assert store.unfinished_run() is None


class _Interrupting(tuple[PackageRow, ...]):
    """Packages whose reading is cut by Ctrl-C, half-way through a save."""

    def __iter__(self):  # type: ignore[no-untyped-def]
        raise KeyboardInterrupt


def test_an_incident_cut_by_ctrl_c_is_not_stored_half(tmp_path: Path) -> None:
    db = tmp_path / "f.sqlite"
    whole = bundle_result(leak_on("esx01"), "/b/1.tgz")
    first = bundle_result(spike_on("esx02"), "/b/2.tgz")
    assert first.verdict is not None
    cut = replace(first, verdict=replace(first.verdict, packages=_Interrupting()))
    with FleetStore(db) as store:
        run = store.begin_run(backend="local", workers=1, scheduler=None, paths=["/b"])
        store.save(run, whole)
        with pytest.raises(KeyboardInterrupt):
            store.save(run, cut)  # its incident row and findings were written before the cut
        store.commit()
        assert store.keys(run_id=run) == {"/b/1.tgz"}
    con = sqlite3.connect(db)
    for table in ("findings", "known_issues", "documents"):
        keys = con.execute(f"SELECT DISTINCT incident_key FROM {table}").fetchall()
        assert keys in ([], [("/b/1.tgz",)]), table
    con.close()
