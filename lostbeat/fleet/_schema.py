"""The fleet database's SQL: the schema (version 2), the migration from 1, the statements.

Kept apart from :mod:`lostbeat.fleet.store`, which runs them. docs/fleet.md describes the
tables.
"""

from __future__ import annotations

__all__ = ["CREATE", "MIGRATE_1", "SCHEMA_VERSION", "SELECT", "TABLES", "TABLES_1", "UPSERT"]

SCHEMA_VERSION = 2

TABLES_1 = ("runs", "incidents", "findings", "known_issues", "documents")
TABLES = (*TABLES_1, "packages")

_BASE = """
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
    analysed_at REAL NOT NULL,
    build INTEGER,
    release TEXT
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

_PACKAGES = """
CREATE TABLE packages (
    incident_key TEXT NOT NULL REFERENCES incidents(key) ON DELETE CASCADE,
    seq INTEGER NOT NULL,
    name TEXT NOT NULL,
    version TEXT NOT NULL,
    vendor TEXT,
    PRIMARY KEY (incident_key, seq)
);
CREATE INDEX packages_name ON packages(name, version);
CREATE INDEX incidents_run ON incidents(run_id);
"""

CREATE = _BASE + _PACKAGES

# schema 1 -> 2: the host's build, release and packages; backfilled from the documents
MIGRATE_1 = (
    "ALTER TABLE incidents ADD COLUMN build INTEGER;\n"
    "ALTER TABLE incidents ADD COLUMN release TEXT;\n" + _PACKAGES
)

UPSERT = """
INSERT INTO incidents VALUES (
    :key, :host, :run_id, :paths, :ok, :error, :crash_type, :crashed_at, :root_cause_kind,
    :root_cause_process, :root_cause_origin, :root_cause_confidence, :hours_to_exhaustion,
    :exhaustion_at, :known_issue_kbs, :analysis_errors, :duration_s, :analysed_at, :build,
    :release)
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
    analysed_at = excluded.analysed_at, build = excluded.build, release = excluded.release
"""

SELECT = (
    "SELECT i.key, i.host, i.paths, i.ok, i.error, i.crash_type, i.crashed_at,"
    " i.root_cause_kind, i.root_cause_process, i.root_cause_origin,"
    " i.root_cause_confidence, i.hours_to_exhaustion, i.exhaustion_at,"
    " i.analysis_errors, i.duration_s, i.build, i.release"
)
