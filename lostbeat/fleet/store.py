"""The fleet's SQLite database: runs, one row per host and incident, findings, documents.

SQLite is the embedded default: one file (``lostbeat-fleet.sqlite`` unless ``--db`` says
otherwise), readable with any SQLite client. The schema version is SQLite's
``user_version``; a file with another version, or another program's tables, is refused
rather than changed. The incident key is the anchor's absolute path, so analysing the same
bundle again replaces its row (and its findings and document) instead of adding one. Error
rows have ``ok = 0``, the message in ``error`` and NULL verdict columns. A schema 1 database
(before builds and packages were kept) is brought to schema 2 in place, from its documents.

A run that did not finish (``finished_at`` NULL: interrupted, killed) can be resumed: the
incidents it already stored are not analysed again (:meth:`FleetStore.unfinished_run`,
:meth:`FleetStore.keys`).

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
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

from lostbeat import __version__
from lostbeat.analyzer.findings import Severity
from lostbeat.analyzer.result import SCHEMA, CauseKind, CrashType, Origin
from lostbeat.errors import InputError
from lostbeat.fleet import DEFAULT_DB
from lostbeat.fleet._schema import (
    CREATE,
    MIGRATE_1,
    SCHEMA_VERSION,
    SELECT,
    TABLES,
    TABLES_1,
    UPSERT,
)
from lostbeat.fleet.model import BundleResult, FindingRow, KnownIssueRow, PackageRow, Verdict

__all__ = ["DEFAULT_DB", "FleetStore", "RunRow", "SCHEMA_VERSION"]

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class RunRow:
    """One run of ``lostbeat fleet``, as the ``runs`` table keeps it."""

    id: int
    paths: tuple[str, ...]
    backend: str
    finished: bool


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
        tables = {
            r[0] for r in self._db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        }
        if version == 0 and not tables:
            script = f"BEGIN;\n{CREATE}\nPRAGMA user_version = {SCHEMA_VERSION};\nCOMMIT;"
            self._db.executescript(script)
            return
        if version == 1 and set(TABLES_1) <= tables:
            self._migrate_1()
            return
        if version != SCHEMA_VERSION or not set(TABLES) <= tables:
            raise InputError(
                f"expected a lostbeat fleet database (schema {SCHEMA_VERSION}), "
                f"found schema {version} with tables {', '.join(sorted(tables)) or 'none'}",
                path=str(self.path),
            )

    def _migrate_1(self) -> None:
        """Schema 1 -> 2 in one transaction: new columns and table, filled from the
        documents (a document written before ``host_packages`` existed has none)."""
        self._db.execute("BEGIN")
        try:
            for statement in MIGRATE_1.split(";"):
                if statement.strip():
                    self._db.execute(statement)
            rows = self._db.execute("SELECT incident_key, document FROM documents").fetchall()
            for key, text in rows:
                doc = json.loads(text)
                crash = doc.get("crash") or {}
                self._db.execute(
                    "UPDATE incidents SET build = ?, release = ? WHERE key = ?",
                    (crash.get("build"), crash.get("release"), key),
                )
                packages = [
                    PackageRow(p["name"], f"{p['version']}-{p['release']}", p.get("vendor"))
                    for p in doc.get("host_packages") or ()
                ]
                self._save_packages(key, packages)
            self._db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

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

    def unfinished_run(self) -> RunRow | None:
        """The most recent run that has not finished (interrupted or killed), if any; a run
        started after it, finished or not, makes it stale (its rows may be replaced)."""
        row = self._db.execute(
            "SELECT id, paths, backend, finished_at FROM runs ORDER BY id DESC LIMIT 1"
        ).fetchone()
        if row is None or row[3] is not None:
            return None
        return RunRow(int(row[0]), tuple(json.loads(row[1])), str(row[2]), finished=False)

    def keys(self, *, run_id: int) -> set[str]:
        """The incident keys a run has stored (and committed)."""
        rows = self._db.execute("SELECT key FROM incidents WHERE run_id = ?", (run_id,))
        return {str(r[0]) for r in rows}

    def save(self, run_id: int, result: BundleResult) -> None:
        """Upserts one incident with its findings, known issues, packages and document.

        Writes are batched in one transaction until :meth:`commit` or :meth:`finish_run`. An
        incident is saved whole or not at all, even when Ctrl-C comes in the middle.
        """
        if not self._db.in_transaction:
            self._db.execute("BEGIN")
        self._db.execute("SAVEPOINT incident")
        try:
            self._write(run_id, result)
        except BaseException:
            self._db.execute("ROLLBACK TO incident")
            self._db.execute("RELEASE incident")
            raise
        self._db.execute("RELEASE incident")

    def _write(self, run_id: int, result: BundleResult) -> None:
        v = result.verdict
        self._db.execute(
            UPSERT,
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
                "build": v.build if v else None,
                "release": v.release if v else None,
            },
        )
        for table in ("findings", "known_issues", "packages", "documents"):
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
            self._save_packages(result.key, v.packages)
        if result.document is not None:
            self._db.execute(
                "INSERT INTO documents VALUES (?, ?, ?)", (result.key, SCHEMA, result.document)
            )

    def _save_packages(self, key: str, packages: Sequence[PackageRow]) -> None:
        self._db.executemany(
            "INSERT INTO packages VALUES (?, ?, ?, ?, ?)",
            [(key, i, p.name, p.version, p.vendor) for i, p in enumerate(packages)],
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

    def results(self, *, run_id: int | None = None, documents: bool = True) -> list[BundleResult]:
        """The stored incidents (of one run, or all), as results sorted by host then key.

        Args:
            run_id: only this run's incidents.
            documents: with their documents; without, a result's ``document`` is None and
                10,000 incidents take a few MB, not hundreds.
        """
        where, args = ("WHERE i.run_id = ?", (run_id,)) if run_id is not None else ("", ())
        column, join = (
            (", d.document", " LEFT JOIN documents d ON d.incident_key = i.key")
            if documents
            else (", NULL", "")
        )
        rows = self._db.execute(f"{SELECT}{column} FROM incidents i{join} {where}", args)
        scope = f" WHERE incident_key IN (SELECT key FROM incidents i {where})"
        findings = self._children(
            "SELECT incident_key, finding_id, severity, title FROM findings" + scope,
            args,
            lambda i, s, t: FindingRow(i, Severity(s), t),
        )
        known = self._children(
            "SELECT incident_key, kb, title FROM known_issues" + scope, args, KnownIssueRow
        )
        packages = self._children(
            "SELECT incident_key, name, version, vendor FROM packages" + scope, args, PackageRow
        )
        out = [
            _result(row, findings.get(row[0], ()), known.get(row[0], ()), packages.get(row[0], ()))
            for row in rows.fetchall()
        ]
        return sorted(out, key=lambda r: r.sort_key)

    def _children(
        self, sql: str, args: tuple[Any, ...], make: Callable[..., T]
    ) -> dict[str, tuple[T, ...]]:
        """Rows of a child table grouped by incident key, in ``seq`` order. Equal rows are
        one object: 10,000 hosts share a few hundred package versions and finding titles."""
        made: dict[tuple[Any, ...], T] = {}
        grouped: dict[str, list[T]] = defaultdict(list)
        for key, *rest in self._db.execute(sql + " ORDER BY incident_key, seq", args):
            row = tuple(rest)
            item = made.get(row)
            if item is None:
                item = made[row] = make(*row)
            grouped[key].append(item)
        return {key: tuple(items) for key, items in grouped.items()}

    def documents(self, *, run_id: int | None = None) -> Iterator[tuple[str, str | None, str]]:
        """``(key, host, document)`` of the analysed incidents, one at a time, by key."""
        where, args = ("WHERE i.run_id = ?", (run_id,)) if run_id is not None else ("", ())
        yield from self._db.execute(
            "SELECT d.incident_key, i.host, d.document FROM documents d"
            f" JOIN incidents i ON i.key = d.incident_key {where} ORDER BY d.incident_key",
            args,
        )


def _result(
    row: tuple[Any, ...],
    findings: tuple[FindingRow, ...],
    known: tuple[KnownIssueRow, ...],
    packages: tuple[PackageRow, ...],
) -> BundleResult:
    (key, host, paths, ok, error, crash, crashed_at, kind, process, origin) = row[:10]
    (confidence, hours, exhaustion_at, analysis_errors, duration, build, release) = row[10:17]
    document = row[17]
    assert isinstance(key, str) and isinstance(paths, str)
    verdict = None
    if ok:
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
            build=None if build is None else int(build),
            release=None if release is None else str(release),
            packages=packages,
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
