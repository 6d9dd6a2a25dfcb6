"""Where the monitor's lines go under systemd: the journal, with fields, or standard error.

Under systemd a service's standard error reaches the journal as plain text. When the
monitor's standard error is the journal already (``JOURNAL_STREAM`` names that stream's
device and inode, systemd.exec(5)) and the journal's socket is there, each line is sent over
the journal's native protocol instead (:mod:`lostbeat.agent.journald`), so that it keeps its
text and gains fields (``PRIORITY``, ``MESSAGE_ID``, ``DOCUMENTATION``, ``LOSTBEAT_*``). Run
by hand, the monitor writes plain lines to the terminal as before, and never imports the
protocol: the protected monitor's memory stays what it was (its pages are locked, and in a
flood of bad clients one more allocator arena is one more MiB, tests/agent/test_security.py).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import TextIO

__all__ = ["JOURNAL_SOCKET", "alert_stream", "journal_is_stderr"]

JOURNAL_SOCKET = Path("/run/systemd/journal/socket")


def journal_is_stderr(environ: Mapping[str, str], fd: int = 2) -> bool:
    """Standard error (or ``fd``) is the journal's stream (``JOURNAL_STREAM`` names its
    device and inode, systemd.exec(5)): run as a systemd service."""
    device, _, inode = environ.get("JOURNAL_STREAM", "").partition(":")
    try:
        st = os.fstat(fd)
    except OSError:
        return False
    return f"{st.st_dev}:{st.st_ino}" == f"{device}:{inode}"


def _is_journal(environ: Mapping[str, str], stream: TextIO) -> bool:
    try:
        fd = stream.fileno()
    except (OSError, ValueError):
        return False
    return journal_is_stderr(environ, fd)


def alert_stream(
    *,
    environ: Mapping[str, str] | None = None,
    stderr: TextIO | None = None,
    socket_path: Path = JOURNAL_SOCKET,
) -> TextIO | None:
    """A stream that sends each line to the journal with its fields, when standard error is
    the journal and its socket is there; None otherwise (plain lines to standard error)."""
    err = sys.stderr if stderr is None else stderr
    if not _is_journal(os.environ if environ is None else environ, err):
        return None
    if not socket_path.is_socket():
        return None
    from lostbeat.agent.journald import open_stream

    return open_stream(socket_path, err.fileno())
