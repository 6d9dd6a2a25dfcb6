"""The recorder's journal entries, with fields a reader can match on.

Sent over journald's native protocol: one datagram of ``KEY=value`` lines to
``/run/systemd/journal/socket`` (systemd.journal-fields(7); the framing of a value that
holds a newline is sd_journal_sendv(3)'s). The recorder sends one entry per kernel event it
recognises and one per early warning, for example::

    MESSAGE=Memory cgroup out of memory: Killed process 4300 (leaker) total-vm:…
    PRIORITY=3
    MESSAGE_ID=6b1f0e2c4a7d4d1f9a53c1d2e8b7f604
    SYSLOG_IDENTIFIER=lostbeat-record
    LOSTBEAT_KIND=oom-kill
    LOSTBEAT_PID=4300
    LOSTBEAT_COMM=leaker
    LOSTBEAT_CONSTRAINT=CONSTRAINT_MEMCG
    LOSTBEAT_MEMCG=/lostbeat-watched.slice
    LOSTBEAT_RSS_KB=97920
    LOSTBEAT_RECORDING=/var/lib/lostbeat/recording

``journalctl MESSAGE_ID=6b1f0e2c4a7d4d1f9a53c1d2e8b7f604`` lists the kernel events,
``journalctl LOSTBEAT_KIND=early-warning`` the warnings. A datagram that cannot be sent is
dropped (the recording and standard error keep the event): a journal that is busy or gone
never stalls the recorder.

Examples:
    >>> encode({"MESSAGE": "a", "X": "b\\nc"})
    b'MESSAGE=a\\nX\\n\\x03\\x00\\x00\\x00\\x00\\x00\\x00\\x00b\\nc\\n'
"""

from __future__ import annotations

import socket
from collections.abc import Mapping
from pathlib import Path

from lostbeat.agent.journal import JOURNAL_SOCKET, journal_is_stderr  # the monitor's own
from lostbeat.agent.journald import encode  # the native protocol, written once

__all__ = ["JOURNAL_SOCKET", "MESSAGE_IDS", "Journal", "encode", "journal_is_stderr"]

IDENTIFIER = "lostbeat-record"
MESSAGE_IDS: Mapping[str, str] = {
    # fixed 128-bit ids: never change one once released
    "kernel-event": "6b1f0e2c4a7d4d1f9a53c1d2e8b7f604",
    "early-warning": "e4c2d1b0a3f94e6c8d7b5a4f3e2d1c0b",
}


class Journal:
    """Sends entries to journald; never blocks, never raises."""

    def __init__(self, path: Path = JOURNAL_SOCKET, *, recording: Path | None = None) -> None:
        self.path = path
        self._recording = recording
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
        self._sock.setblocking(False)
        self.sent = self.failed = 0

    def send(self, kind: str, message: str, *, priority: int, fields: Mapping[str, str]) -> bool:
        """One entry of ``kind`` (a key of :data:`MESSAGE_IDS`); returns whether it went."""
        entry = {
            "MESSAGE": message,
            "PRIORITY": str(priority),
            "MESSAGE_ID": MESSAGE_IDS[kind],
            "SYSLOG_IDENTIFIER": IDENTIFIER,
            **{k: v for k, v in fields.items() if v},
        }
        if self._recording is not None:
            entry["LOSTBEAT_RECORDING"] = str(self._recording)
        try:
            self._sock.sendto(encode(entry), str(self.path))
        except OSError:
            self.failed += 1
            return False
        self.sent += 1
        return True

    def close(self) -> None:
        self._sock.close()
