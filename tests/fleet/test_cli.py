"""``lostbeat fleet`` end to end through ``lostbeat.cli.main``: summary, JSON, database."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from lostbeat.analyzer.engine import analyze
from lostbeat.cli import main
from lostbeat.fleet.model import compact_document


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["fleet", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_summary_on_the_terminal(
    fleet_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "f.sqlite"
    code, out, err = run_cli(capsys, str(fleet_dir), "--db", str(db), "--workers", "2")
    assert code == 0
    lines = [line.rstrip() for line in out.splitlines()]
    assert lines[0] == "Fleet: 4 incidents, 3 analysed on 3 hosts, 1 error"
    leak = analyze(list((fleet_dir / "vmware-leak").iterdir()))
    cim = analyze(list((fleet_dir / "cimserver-35").iterdir()))
    assert leak.root_cause.process == "VMap"  # KB 308590's figures (scenario seed 0)
    assert [k.kb for k in cim.known_issues] == ["1009607"]
    for title in ("Hosts by root cause", "Hosts by culprit", "Hosts by known issue"):
        assert title in lines
    assert any(ln.split()[:2] == ["VMap", "vmware"] and leak.host in ln for ln in lines)
    assert any(ln.split()[:1] == ["1009607"] and cim.host in ln for ln in lines)
    # vmksummary sizes are virtual: an ESX leak is told by what it held, not by a projected
    # exhaustion (docs/analysis.md), so no host heads for one here (test_rollup covers them)
    assert leak.root_cause.exhaustion_at is None and cim.root_cause.exhaustion_at is None
    assert "Heading for exhaustion soonest" not in lines
    origins = lines.index("Where the leaks came from")
    assert lines[origins + 1] == "On one host each, nothing sets apart: VMap, cimserver"
    assert "Errors (not analysed)" in lines
    assert "not a gzip or tar archive" in out
    assert err.strip() == f"results stored in {db} (run 1)"


def test_json_and_database(
    fleet_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "f.sqlite"
    code, out, err = run_cli(capsys, str(fleet_dir), "--db", str(db), "--json")
    assert (code, err) == (0, "")
    doc = json.loads(out)
    assert (doc["schema"], doc["run_id"], doc["db"]) == ("lostbeat.fleet/1", 1, str(db))
    assert (doc["incidents"], doc["analysed"], doc["errors"], doc["hosts"]) == (4, 3, 3 - 2, 3)
    rows = doc["rows"]
    assert [r["ok"] for r in rows] == [True, True, True, False]
    con = sqlite3.connect(db)
    stored = dict(con.execute("SELECT incident_key, document FROM documents").fetchall())
    for row in rows[:3]:
        expected = analyze(row["paths"])
        assert stored[row["key"]] == compact_document(expected)
        assert row["host"] == expected.host
        assert row["root_cause_kind"] == expected.root_cause.kind.value
        assert [f["id"] for f in row["findings"]] == [f.id for f in expected.findings]
    assert con.execute("SELECT count(*) FROM incidents").fetchone() == (4,)

    # a second run over the same paths replaces the rows: still four incidents, two runs
    code, out, _ = run_cli(capsys, str(fleet_dir), "--db", str(db), "--json")
    assert code == 0 and json.loads(out)["run_id"] == 2
    assert con.execute("SELECT count(*), min(run_id) FROM incidents").fetchone() == (4, 2)
    assert con.execute("SELECT count(*) FROM runs WHERE finished_at IS NOT NULL").fetchone() == (2,)
    con.close()


def test_the_database_defaults_to_the_current_folder_and_is_not_an_input(
    fleet_dir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    case = fleet_dir / "spike"
    monkeypatch.chdir(case)  # a case folder: its loose files belong to its archive
    try:
        code, out, _ = run_cli(capsys, ".", "--json")
        assert code == 0
        (row,) = json.loads(out)["rows"]
        archive = next(case.glob("*.tgz"))
        loose = sorted(str(p) for p in case.iterdir() if p != archive and p.suffix != ".sqlite")
        assert row["paths"] == [str(archive), *loose]
        assert (case / "lostbeat-fleet.sqlite").is_file()
    finally:
        (case / "lostbeat-fleet.sqlite").unlink()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["/no/such/folder"], "lostbeat fleet: /no/such/folder: no such file or folder"),
        (["{tmp}/empty"], "lostbeat fleet: {tmp}/empty: no vm-support archive, bundle folder,"),
        (["{fleet}", "--db", "{tmp}/notes.txt"], "lostbeat fleet: {tmp}/notes.txt: expected a"),
    ],
)
def test_user_errors_are_one_line(
    args: list[str],
    message: str,
    fleet_dir: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    (tmp_path / "empty").mkdir()
    (tmp_path / "notes.txt").write_text("not a database, just some text\n" * 50)
    fill = {"tmp": str(tmp_path), "fleet": str(fleet_dir)}
    code, out, err = run_cli(capsys, *(a.format(**fill) for a in args))
    assert code == 2 and out == ""
    assert err.startswith(message.format(**fill))
    assert err.count("\n") == 1


@pytest.mark.parametrize(
    "args", [["--workers", "0"], ["--workers", "two"], ["--workers", "2", "--scheduler", "x:1"]]
)
def test_bad_flags_are_usage_errors(
    args: list[str], fleet_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["fleet", str(fleet_dir), *args])
    assert exit_.value.code == 2
    assert "usage: lostbeat fleet" in capsys.readouterr().err
