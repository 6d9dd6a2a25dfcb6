"""The monitor's status file: each client's last beat, for ``lostbeat record --metrics``.

With ``--status FILE`` the monitor rewrites, about once a second, a small JSON document
(written to a temporary name, then renamed, so a reader sees a whole one)::

    {"schema": "lostbeat.monitor-status/1", "written": 1714608000.5, "pid": 812,
     "clients": [{"clt": 1, "comm": "hbd", "pid": 4242, "uid": 0, "state": "alive",
                  "last_beat": 1714608000.1, "timeout": 30.0}]}

``last_beat`` is the wall-clock time of the client's last beat (of its HELLO before the
first). The heartbeat age a reader reports is its own clock less ``last_beat``; if the
monitor itself stops, ``written`` stops moving, and the reader says so.

Examples:
    >>> s = parse_status('{"schema": "lostbeat.monitor-status/1", "written": 10.0, "pid": 1,'
    ...                  ' "clients": [{"clt": 1, "comm": "hbd", "pid": 5, "uid": 0,'
    ...                  ' "state": "lost", "last_beat": 4.0, "timeout": 5}]}', path="s")
    >>> s.written, s.clients[0].comm, s.clients[0].last_beat
    (10.0, 'hbd', 4.0)
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from lostbeat.errors import ParseError

if TYPE_CHECKING:  # the recorder reads this file: it needs none of the monitor's modules
    from lostbeat.agent.alerts import AlertLog
    from lostbeat.agent.clients import ClientView

__all__ = [
    "SCHEMA",
    "ClientStatus",
    "MonitorStatus",
    "StatusFile",
    "parse_status",
    "write_status",
]

SCHEMA = "lostbeat.monitor-status/1"


@dataclass(frozen=True, slots=True)
class ClientStatus:
    clt: int
    comm: str
    pid: int
    uid: int
    state: str
    last_beat: float
    timeout: float


@dataclass(frozen=True, slots=True)
class MonitorStatus:
    written: float
    pid: int
    clients: tuple[ClientStatus, ...]


def write_status(path: Path, views: Sequence[ClientView], *, wall: float) -> None:
    """Replace the status file (a whole document: temporary name, then rename)."""
    doc = {
        "schema": SCHEMA,
        "written": round(wall, 3),
        "pid": os.getpid(),
        "clients": [
            {
                "clt": v.clt,
                "comm": v.name,
                "pid": v.pid,
                "uid": v.uid,
                "state": str(v.state),
                "last_beat": round(wall - v.since, 3),
                "timeout": v.timeout,
            }
            for v in views
        ],
    }
    replace_file(path, (json.dumps(doc, separators=(",", ":")) + "\n").encode())


def replace_file(path: Path, data: bytes) -> None:
    """Replace ``path`` whole: written under a hidden temporary name beside it, then renamed
    over it, so that a reader sees the old file or the new one, never half of one."""
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o644)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)
    os.replace(tmp, path)


class StatusFile:
    """Rewrites the status file once a second (no file when ``path`` is None); a failure
    is logged, at most once a minute, and the monitor goes on."""

    def __init__(self, path: Path | None, log: AlertLog) -> None:
        self.path, self._log, self._last = path, log, -1e18

    def tick(self, now: float, views: Callable[[float], Sequence[ClientView]]) -> None:
        if self.path is None or now - self._last < 1.0:
            return
        self._last = now
        try:
            write_status(self.path, views(now), wall=time.time())
        except OSError as err:
            self._log.limited("status", "Monitor", f"status file: {err}", now=now, every=60)


def parse_status(text: str, *, path: str) -> MonitorStatus:
    """Raises:
    ParseError: not a status document of this schema.
    """
    try:
        doc = json.loads(text)
        if not isinstance(doc, dict) or doc.get("schema") != SCHEMA:
            raise ValueError(f"expected schema {SCHEMA!r}")
        clients = tuple(
            ClientStatus(
                int(c["clt"]),
                str(c["comm"]),
                int(c["pid"]),
                int(c["uid"]),
                str(c["state"]),
                float(c["last_beat"]),
                float(c["timeout"]),
            )
            for c in doc["clients"]
        )
        return MonitorStatus(float(doc["written"]), int(doc["pid"]), clients)
    except (ValueError, KeyError, TypeError) as err:
        raise ParseError(f"expected a monitor status document: {err}", path=path) from err
