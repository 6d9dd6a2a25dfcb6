"""A run killed for real in the middle, then resumed: what was stored is not analysed again."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from lostbeat.cli import main
from tests.fleet.conftest import COUNT


def _fleet(*args: str) -> list[str]:
    return [sys.executable, "-m", "lostbeat", "fleet", *args]


def _stored(db: Path) -> dict[str, float]:
    if not db.exists():
        return {}
    con = sqlite3.connect(db, timeout=5)
    try:
        return dict(con.execute("SELECT key, analysed_at FROM incidents").fetchall())
    except sqlite3.OperationalError:  # the schema is not there yet
        return {}
    finally:
        con.close()


def _start(args: list[str]) -> subprocess.Popen[str]:
    # a session of its own: the kill reaches the command, its fork server and its workers
    return subprocess.Popen(
        args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True
    )


def _wait_for_rows(db: Path, proc: subprocess.Popen[str], at_least: int) -> None:
    deadline = time.monotonic() + 120
    while len(_stored(db)) < at_least:
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "no rows committed in two minutes"
        time.sleep(0.05)


def test_a_killed_run_resumes_without_analysing_done_incidents_again(
    many: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "f.sqlite"
    proc = _start(_fleet(str(many), "--db", str(db), "--workers", "1", "--json"))
    _wait_for_rows(db, proc, 3)
    os.killpg(proc.pid, signal.SIGKILL)  # no goodbye: what was committed is all there is
    proc.communicate()
    assert proc.returncode == -signal.SIGKILL
    before = _stored(db)
    con = sqlite3.connect(db)
    assert con.execute("SELECT id, finished_at FROM runs").fetchall() == [(1, None)]
    con.close()
    assert 3 <= len(before) < COUNT, "the run was not cut in the middle"

    code = main(["fleet", str(many), "--db", str(db), "--workers", "2", "--resume", "--json"])
    out, err = capsys.readouterr()
    assert code == 0
    assert (
        f"resumed run 1: {len(before)} incident(s) were already stored and not analysed again, "
        f"{COUNT - len(before)} analysed now"
    ) in err
    after = _stored(db)
    assert len(after) == COUNT
    assert {k: after[k] for k in before} == before  # not one of them analysed again
    con = sqlite3.connect(db)
    assert con.execute("SELECT id, incidents, errors FROM runs").fetchall() == [(1, COUNT, 0)]
    assert con.execute("SELECT count(DISTINCT run_id) FROM incidents").fetchone() == (1,)
    assert con.execute("SELECT count(*) FROM documents").fetchone() == (COUNT,)
    con.close()
    assert '"run_id": 1' in out and f'"incidents": {COUNT}' in out


def test_ctrl_c_stops_cleanly_and_says_how_to_resume(many: Path, tmp_path: Path) -> None:
    db = tmp_path / "f.sqlite"
    proc = _start(_fleet(str(many), "--db", str(db), "--workers", "1"))
    _wait_for_rows(db, proc, 1)
    os.killpg(proc.pid, signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert out == ""
    stored = len(_stored(db))
    assert err.strip().splitlines()[-1] == (
        f"lostbeat fleet: interrupted; {stored} incident(s) of run 1 stored in {db}; run the "
        "same command with --resume to finish it"
    )


def test_resume_needs_an_unfinished_run_over_the_same_paths(
    many: Path, fleet_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "f.sqlite"
    assert main(["fleet", str(fleet_dir), "--db", str(db), "--resume"]) == 2
    assert capsys.readouterr().err == f"lostbeat fleet: {db}: no unfinished run to resume\n"
    con = sqlite3.connect(db)  # a run over other paths, left unfinished
    con.execute(
        "INSERT INTO runs (started_at, backend, paths, lostbeat_version)"
        " VALUES (0, 'local', ?, 'x')",
        (f'["{many}"]',),
    )
    con.commit()
    con.close()
    assert main(["fleet", str(fleet_dir), "--db", str(db), "--resume"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"lostbeat fleet: {db}: the unfinished run 1 was over {many}: give")
    assert err.count("\n") == 1
