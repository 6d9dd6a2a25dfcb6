"""The fleet's SQLite database: runs, one row per host and incident, findings, documents.

SQLite is the embedded default: one file (``lostbeat-fleet.sqlite`` unless ``--db`` says
otherwise), readable with any SQLite client. The schema version is SQLite's
``user_version``; a file with another version, or another program's tables, is refused
rather than changed. The incident key is the anchor's absolute path, so analysing the same
bundle again replaces its row (and its findings and document) instead of adding one. Error
rows have ``ok = 0``, the message in ``error`` and NULL verdict columns.

Examples:
    >>> import tempfile, pathlib
    >>> from lostbeat.fleet.model import error_result
    >>> with tempfile.TemporaryDirectory() as tmp, FleetStore(pathlib.Path(tmp, "f.db")) as db:
    ...     run = db.begin_run(backend="local", workers=2, scheduler=None, paths=("/b",))
    ...     db.save(run, error_result("/b/x.tgz", ("/b/x.tgz",), "not a tar archive"))
    ...     db.finish_run(run)
    ...     [(r.key, r.ok, r.error) for r in db.results()]
    [('/b/x.tgz', False, 'not a tar archive')]
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

from lostbeat import __version__
from lostbeat.analyzer.findings import Severity
from lostbeat.analyzer.result import SCHEMA, CauseKind, CrashType, Origin
from lostbeat.errors import InputError
from lostbeat.fleet import DEFAULT_DB
from lostbeat.fleet.model import BundleResult, FindingRow, KnownIssueRow, Verdict

__all__ = ["DEFAULT_DB", "FleetStore", "SCHEMA_VERSION"]

SCHEMA_VERSION = 1

_TABLES = ("runs", "incidents", "findings", "known_issues", "documents")

_SCHEMA = """
CREATE TABLE runs (
    id INTEGER PRIMARY KEY,
    started_at REAL NOT NULL,
    finished_at REAL,
    backend TEXT NOT NULL,
    workers INTEGER,
    scheduler TEXT,
    paths TEXT NOT NULL,
    incidents INTEGER,
    errors INTEGER,
    lostbeat_version TEXT NOT NULL
);
CREATE TABLE incidents (
    key TEXT PRIMARY KEY,
    host TEXT,
    run_id INTEGER NOT NULL REFERENCES runs(id),
    paths TEXT NOT NULL,
    ok INTEGER NOT NULL,
    error TEXT,
    crash_type TEXT,
    crashed_at REAL,
    root_cause_kind TEXT,
    root_cause_process TEXT,
    root_cause_origin TEXT,
    root_cause_confidence REAL,
    hours_to_exhaustion REAL,
    exhaustion_at REAL,
    known_issue_kbs TEXT,
    analysis_errors INTEGER,
    duration_s REAL NOT NULL,
    analysed_at REAL NOT NULL
);
CREATE INDEX incidents_host ON incidents(host);
CREATE INDEX incidents_cause ON incidents(root_cause_kind, root_cause_process);
CREATE INDEX incidents_exhaustion ON incidents(exhaustion_at);
CREATE TABLE findings (
    incident_key TEXT NOT NULL REFERENCES incidents(key) ON DELETE CASCADE,
    seq INTEGER NOT NULL,
    finding_id TEXT NOT NULL,
    severity TEXT NOT NULL,
    title TEXT NOT NULL,
    PRIMARY KEY (incident_key, seq)
);
CREATE INDEX findings_id ON findings(finding_id);
CREATE TABLE known_issues (
    incident_key TEXT NOT NULL REFERENCES incidents(key) ON DELETE CASCADE,
    seq INTEGER NOT NULL,
    kb TEXT NOT NULL,
    title TEXT NOT NULL,
    PRIMARY KEY (incident_key, seq)
);
CREATE INDEX known_issues_kb ON known_issues(kb);
CREATE TABLE documents (
    incident_key TEXT PRIMARY KEY REFERENCES incidents(key) ON DELETE CASCADE,
    schema TEXT NOT NULL,
    document TEXT NOT NULL
);
"""

_UPSERT = """
INSERT INTO incidents VALUES (
    :key, :host, :run_id, :paths, :ok, :error, :crash_type, :crashed_at, :root_cause_kind,
    :root_cause_process, :root_cause_origin, :root_cause_confidence, :hours_to_exhaustion,
    :exhaustion_at, :known_issue_kbs, :analysis_errors, :duration_s, :analysed_at)
ON CONFLICT(key) DO UPDATE SET
    host = excluded.host, run_id = excluded.run_id, paths = excluded.paths,
    ok = excluded.ok, error = excluded.error, crash_type = excluded.crash_type,
    crashed_at = excluded.crashed_at, root_cause_kind = excluded.root_cause_kind,
    root_cause_process = excluded.root_cause_process,
    root_cause_origin = excluded.root_cause_origin,
    root_cause_confidence = excluded.root_cause_confidence,
    hours_to_exhaustion = excluded.hours_to_exhaustion,
    exhaustion_at = excluded.exhaustion_at, known_issue_kbs = excluded.known_issue_kbs,
    analysis_errors = excluded.analysis_errors, duration_s = excluded.duration_s,
    analysed_at = excluded.analysed_at
"""


class FleetStore:
    """One open fleet database; use it as a context manager.

    Args:
        path: the database file; created with the schema when absent or empty.

    Raises:
        InputError: the file is not SQLite, belongs to another program or has another
            schema version.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            self._db = sqlite3.connect(path, isolation_level=None)
        except sqlite3.Error as err:
            raise InputError(f"cannot open the fleet database ({err})", path=str(path)) from err
        try:
            self._db.execute("PRAGMA foreign_keys = ON")
            self._prepare()
        except sqlite3.DatabaseError as err:
            self._db.close()
            raise InputError(f"expected a SQLite database ({err})", path=str(path)) from err
        except InputError:
            self._db.close()
            raise

    def _prepare(self) -> None:
        version = self._db.execute("PRAGMA user_version").fetchone()[0]
        tables = {r[0] for r in self._db.execute("SELECT name FROM sqlite_master")}
        if version == 0 and not tables:
            script = f"BEGIN;\n{_SCHEMA}\nPRAGMA user_version = {SCHEMA_VERSION};\nCOMMIT;"
            self._db.executescript(script)
            return
        if version != SCHEMA_VERSION or not set(_TABLES) <= tables:
            raise InputError(
                f"expected a lostbeat fleet database (schema {SCHEMA_VERSION}), "
                f"found schema {version} with tables {', '.join(sorted(tables)) or 'none'}",
                path=str(self.path),
            )

    def __enter__(self) -> FleetStore:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        if self._db.in_transaction:
            self._db.execute("COMMIT")
        self._db.close()

    def begin_run(
        self, *, backend: str, workers: int | None, scheduler: str | None, paths: Sequence[str]
    ) -> int:
        """Records the start of a run and returns its id."""
        cur = self._db.execute(
            "INSERT INTO runs (started_at, backend, workers, scheduler, paths, lostbeat_version)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (time.time(), backend, workers, scheduler, json.dumps(list(paths)), __version__),
        )
        assert cur.lastrowid is not None
        return cur.lastrowid

    def save(self, run_id: int, result: BundleResult) -> None:
        """Upserts one incident with its findings, known issues and document.

        Writes are batched in one transaction until :meth:`commit` or :meth:`finish_run`.
        """
        if not self._db.in_transaction:
            self._db.execute("BEGIN")
        v = result.verdict
        self._db.execute(
            _UPSERT,
            {
                "key": result.key,
                "host": result.host,
                "run_id": run_id,
                "paths": json.dumps(list(result.paths)),
                "ok": int(result.ok),
                "error": result.error,
                "crash_type": v.crash_type.value if v else None,
                "crashed_at": v.crashed_at if v else None,
                "root_cause_kind": v.root_cause_kind.value if v else None,
                "root_cause_process": v.process if v else None,
                "root_cause_origin": v.origin.value if v and v.origin else None,
                "root_cause_confidence": v.confidence if v else None,
                "hours_to_exhaustion": v.hours_to_exhaustion if v else None,
                "exhaustion_at": v.exhaustion_at if v else None,
                "known_issue_kbs": " ".join(v.known_issue_kbs) if v else None,
                "analysis_errors": v.analysis_errors if v else None,
                "duration_s": result.duration_s,
                "analysed_at": time.time(),
            },
        )
        for table in ("findings", "known_issues", "documents"):
            self._db.execute(f"DELETE FROM {table} WHERE incident_key = ?", (result.key,))
        if v is not None:
            self._db.executemany(
                "INSERT INTO findings VALUES (?, ?, ?, ?, ?)",
                [
                    (result.key, i, f.id, f.severity.value, f.title)
                    for i, f in enumerate(v.findings)
                ],
            )
            self._db.executemany(
                "INSERT INTO known_issues VALUES (?, ?, ?, ?)",
                [(result.key, i, k.kb, k.title) for i, k in enumerate(v.known_issues)],
            )
        if result.document is not None:
            self._db.execute(
                "INSERT INTO documents VALUES (?, ?, ?)", (result.key, SCHEMA, result.document)
            )

    def commit(self) -> None:
        if self._db.in_transaction:
            self._db.execute("COMMIT")

    def finish_run(self, run_id: int) -> None:
        """Counts the run's incidents and errors, stamps its end and commits."""
        self.commit()
        self._db.execute(
            "UPDATE runs SET finished_at = ?,"
            " incidents = (SELECT count(*) FROM incidents WHERE run_id = ?),"
            " errors = (SELECT count(*) FROM incidents WHERE run_id = ? AND ok = 0)"
            " WHERE id = ?",
            (time.time(), run_id, run_id, run_id),
        )

    def results(self, *, run_id: int | None = None) -> list[BundleResult]:
        """The stored incidents (of one run, or all), as results sorted by host then key."""
        where, args = ("WHERE i.run_id = ?", (run_id,)) if run_id is not None else ("", ())
        rows = self._db.execute(
            "SELECT i.key, i.host, i.paths, i.ok, i.error, i.crash_type, i.crashed_at,"
            " i.root_cause_kind, i.root_cause_process, i.root_cause_origin,"
            " i.root_cause_confidence, i.hours_to_exhaustion, i.exhaustion_at,"
            " i.analysis_errors, i.duration_s, d.document"
            f" FROM incidents i LEFT JOIN documents d ON d.incident_key = i.key {where}",
            args,
        ).fetchall()
        out = [self._result(row) for row in rows]
        return sorted(out, key=lambda r: r.sort_key)

    def _result(self, row: tuple[Any, ...]) -> BundleResult:
        (key, host, paths, ok, error, crash, crashed_at, kind, process, origin) = row[:10]
        (confidence, hours, exhaustion_at, analysis_errors, duration, document) = row[10:]
        assert isinstance(key, str) and isinstance(paths, str)
        verdict = None
        if ok:
            findings = tuple(
                FindingRow(fid, Severity(sev), title)
                for fid, sev, title in self._db.execute(
                    "SELECT finding_id, severity, title FROM findings"
                    " WHERE incident_key = ? ORDER BY seq",
                    (key,),
                )
            )
            known = tuple(
                KnownIssueRow(kb, title)
                for kb, title in self._db.execute(
                    "SELECT kb, title FROM known_issues WHERE incident_key = ? ORDER BY seq",
                    (key,),
                )
            )
            verdict = Verdict(
                crash_type=CrashType(crash),
                root_cause_kind=CauseKind(kind),
                crashed_at=_float(crashed_at),
                process=None if process is None else str(process),
                origin=None if origin is None else Origin(origin),
                confidence=float(_float(confidence) or 0.0),
                hours_to_exhaustion=_float(hours),
                exhaustion_at=_float(exhaustion_at),
                known_issues=known,
                findings=findings,
                analysis_errors=int(_float(analysis_errors) or 0),
            )
        return BundleResult(
            key=key,
            paths=tuple(json.loads(paths)),
            host=None if host is None else str(host),
            ok=bool(ok),
            error=None if error is None else str(error),
            document=None if document is None else str(document),
            verdict=verdict,
            duration_s=float(_float(duration) or 0.0),
        )


def _float(value: object) -> float | None:
    if value is None:
        return None
    assert isinstance(value, int | float)
    return float(value)
