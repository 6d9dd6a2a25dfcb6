"""The marker file ``lostbeat-recording.json`` that makes a directory a recording.

Sample data::

    {"schema": "lostbeat.recording/1", "schema_version": 1, "host": "web1",
     "lostbeat": "0.1.0", "created": 1714608000.0, "interval_s": 10.0}

Examples:
    >>> m = read_marker(b'{"schema": "lostbeat.recording/1", "schema_version": 1, "host": "web1"}',
    ...                 path="lostbeat-recording.json")
    >>> m.host, m.schema_version, m.interval_s
    ('web1', 1, None)
    >>> read_marker(b'{"schema": "other"}', path="m.json")
    Traceback (most recent call last):
    ...
    lostbeat.errors.RecordingCorrupt: m.json: expected schema 'lostbeat.recording/1', got 'other'
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from lostbeat import __version__
from lostbeat.errors import InputError, ParseError, RecordingCorrupt
from lostbeat.recording.schema import MARKER_NAME, MARKER_SCHEMA, SCHEMA_VERSION

__all__ = ["Marker", "open_directory", "read_marker"]


@dataclass(frozen=True, slots=True)
class Marker:
    schema_version: int
    host: str | None
    version: str | None
    """The lostbeat version that created the recording."""
    created: float | None
    interval_s: float | None


def read_marker(data: bytes, *, path: str) -> Marker:
    """Parse and check a marker file's bytes.

    Raises:
        ParseError: not a JSON object.
        RecordingCorrupt: another schema, or a newer version than this lostbeat reads.
    """
    try:
        doc = json.loads(data)
    except (ValueError, RecursionError) as err:  # RecursionError: nesting deeper than Python's
        line_no = getattr(err, "lineno", None)
        raise ParseError("expected a JSON object", path=path, line_no=line_no) from err
    if not isinstance(doc, dict):
        raise ParseError("expected a JSON object", path=path)
    if doc.get("schema") != MARKER_SCHEMA:
        raise RecordingCorrupt(
            f"expected schema {MARKER_SCHEMA!r}, got {doc.get('schema')!r}", path=path
        )
    version = doc.get("schema_version")
    if not isinstance(version, int) or version > SCHEMA_VERSION:
        raise RecordingCorrupt(
            f"schema_version {version!r} is not supported (this lostbeat reads up to "
            f"{SCHEMA_VERSION})",
            path=path,
        )

    host, lb_version = doc.get("host"), doc.get("lostbeat")
    created, interval = _number(doc.get("created")), _number(doc.get("interval_s"))
    return Marker(
        schema_version=version,
        host=host if isinstance(host, str) else None,
        version=lb_version if isinstance(lb_version, str) else None,
        created=created,
        interval_s=interval,
    )


def _number(value: object) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool):
        try:
            return float(value)
        except OverflowError:  # an integer beyond any float: not a time or an interval
            return None
    return None


def open_directory(directory: Path, *, host: str, interval_s: float, now: float) -> Marker:
    """Make ``directory`` a recording (or check that it is one) and return its marker.

    Raises:
        InputError: the path is a file, or a non-empty directory that is not a recording.
        ParseError, RecordingCorrupt: its marker is unreadable or from a newer lostbeat.
    """
    marker_path = directory / MARKER_NAME
    if directory.exists() and not directory.is_dir():
        raise InputError("expected a directory for the recording", path=str(directory))
    if marker_path.exists():
        found = read_marker(marker_path.read_bytes(), path=str(marker_path))
        if found.schema_version < SCHEMA_VERSION:
            # its shards will hold lines of this schema from now on: say so, so that an
            # older lostbeat refuses the directory at once rather than line by line
            found = Marker(
                SCHEMA_VERSION, found.host, found.version, found.created, found.interval_s
            )
            _write_marker(directory, found)
        return found
    if directory.is_dir() and any(directory.iterdir()):
        raise InputError(
            f"not a recording (no {MARKER_NAME}) and not empty; choose an empty or new directory",
            path=str(directory),
        )
    directory.mkdir(parents=True, exist_ok=True)
    marker = Marker(SCHEMA_VERSION, host, __version__, now, interval_s)
    _write_marker(directory, marker)
    return marker


def _write_marker(directory: Path, marker: Marker) -> None:
    doc = {
        "schema": MARKER_SCHEMA,
        "schema_version": marker.schema_version,
        "host": marker.host,
        "lostbeat": marker.version,
        "created": marker.created,
        "interval_s": marker.interval_s,
    }
    tmp = directory / f".{MARKER_NAME}.tmp"
    tmp.write_text(json.dumps(doc, indent=1) + "\n")
    os.replace(tmp, directory / MARKER_NAME)
