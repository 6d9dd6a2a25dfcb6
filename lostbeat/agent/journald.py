"""The journal's native protocol for the monitor's lines, with their fields (stdlib only).

Under systemd a service's standard error reaches the journal as plain text. Sent over the
journal's native protocol instead (one datagram of ``KEY=value`` lines to
``/run/systemd/journal/socket``; systemd.journal-fields(7), sd_journal_sendv(3)), the same
line carries fields a reader can match on::

    MESSAGE=0:00:01:02.345 cpu1:812)Host: Error: Lost heartbeat (comm=hbd pid=42 t=9 to=9 clt=1)
    PRIORITY=2
    MESSAGE_ID=db2fe57e118b4f8895202109aba509dc
    DOCUMENTATION=file:///opt/lostbeat/lib/python3.11/site-packages/lostbeat/data/agent.md#...
    LOSTBEAT_SOURCE=Host
    LOSTBEAT_CLIENT=hbd
    LOSTBEAT_CLIENT_PID=42

:mod:`lostbeat.agent.journal` decides whether the monitor uses it and imports this module only
then. A datagram that cannot be sent (journald busy, restarting or gone) is written to
standard error as a plain line instead: a line may lose its fields, never itself.

Examples:
    >>> e = entry("0:00:00:09.000 cpu0:7)Dump: Capture complete: '/d/c/manifest.json' files=9")
    >>> e.priority, e.message_id == MESSAGE_IDS["captured"], e.fields["LOSTBEAT_CAPTURE"]
    (5, True, '/d/c')
"""

from __future__ import annotations

import contextlib
import os
import re
import socket
import struct
from collections.abc import Mapping
from dataclasses import dataclass, field
from io import BufferedWriter, RawIOBase, TextIOWrapper
from pathlib import Path
from typing import Any, TextIO

import lostbeat

__all__ = ["MESSAGE_IDS", "Entry", "encode", "entry", "open_stream"]

IDENTIFIER = "lostbeat"
_MAX_PENDING = 64 * 1024  # a "line" longer than this is sent as it is

MESSAGE_IDS: Mapping[str, str] = {
    # fixed 128-bit ids (journalctl MESSAGE_ID=...): never change one once released
    "late": "c0b9fa59d510411088e82ea8ff1d97db",
    "lost": "db2fe57e118b4f8895202109aba509dc",
    "resumed": "98050613460f4980bb09a2e8b413f1ee",
    "registered": "57522c9340aa457a9359b658fc58a89c",
    "deregistered": "5ed39d55d942436fb67e8aa8d45cbc38",
    "gone": "1c377b4308d243d9812c30557b1b66ba",
    "capture-started": "29f6bef6d03445269c2044aae515ec32",
    "captured": "0abbfc8d1a4042daa7b7b722c947f62e",
    "capture-failed": "9d44e45f43de487f912fa5191d3c0b82",
    "action": "76a6053b99cb4d1dbf57ae6cf337c615",
    "started": "67c4b5bd1a19458fbae235fc486f883e",
    "stopped": "4a011c7ed0504a188be73725bc87742b",
}

# (source, start of the text) -> (syslog priority, message kind, section of docs/agent.md)
_KINDS: tuple[tuple[str, str, int, str | None, str], ...] = (
    ("Host", "Error: Lost heartbeat", 2, "lost", "alert-lines"),
    ("HB", "Lost heartbeat", 4, "late", "alert-lines"),
    ("HB", "Heartbeat resumed", 5, "resumed", "alert-lines"),
    ("HB", "Client registered", 6, "registered", "alert-lines"),
    ("HB", "Client deregistered", 6, "deregistered", "alert-lines"),
    ("HB", "Client gone", 4, "gone", "alert-lines"),
    ("HB", "", 4, None, "alert-lines"),  # refused, bad message, dropped
    ("Dump", "Writing capture to", 5, "capture-started", "the-capture"),
    ("Dump", "Capture complete", 5, "captured", "the-capture"),
    ("Dump", "Capture incomplete", 3, "captured", "the-capture"),
    ("Dump", "capture failed", 3, "capture-failed", "the-capture"),
    ("Dump", "no capture", 4, None, "the-capture"),
    ("Dump", "", 6, None, "the-capture"),
    ("Action", "", 5, "action", "running-it"),
    ("Monitor", "protection:", 6, None, "how-the-monitor-protects-itself"),
    ("Monitor", "lostbeat ", 6, "started", "running-it"),
    ("Monitor", "stopped", 6, "stopped", "running-it"),
)
_LINE = re.compile(r"^\S+ cpu\S*?:(?P<pid>[0-9]+)\)(?P<source>[A-Za-z]+): (?P<text>.*)$", re.S)
_CLIENT = re.compile(
    r"\(comm=(?P<comm>[^ ()]*) pid=(?P<pid>[0-9]+) t=[0-9]+ to=\S+ clt=(?P<clt>[0-9]+)\)"
)
_QUOTED = re.compile(r"'([^']*)'")


@dataclass(frozen=True, slots=True)
class Entry:
    """One journal entry: the line and what is known about it."""

    message: str
    priority: int
    message_id: str | None
    fields: dict[str, str] = field(default_factory=dict)


def _docs() -> str | None:
    """``docs/agent.md`` as a file URL: in the wheel (``lostbeat/data``) or the checkout."""
    package = Path(lostbeat.__file__).resolve().parent
    for path in (package / "data" / "agent.md", package.parent / "docs" / "agent.md"):
        if path.is_file():
            return path.as_uri()
    return None


_DOCS = _docs()


def entry(line: str) -> Entry:
    """What a monitor line says, as journal fields."""
    match = _LINE.match(line)
    if match is None:
        return Entry(line, 6, None, {})
    source, text = match["source"], match["text"]
    priority, kind, section = 6, None, "alert-lines"
    for src, start, prio, name, anchor in _KINDS:
        if src == source and text.startswith(start):
            priority, kind, section = prio, name, anchor
            break
    if source == "Monitor" and text.startswith("protection:"):
        unprotected = "mlocked=no" in text or "oom_score_adj=-1000" not in text
        priority = 4 if unprotected else 6
    fields = {"LOSTBEAT_SOURCE": source}
    client = _CLIENT.search(text)
    if client is not None:
        fields |= {
            "LOSTBEAT_CLIENT": client["comm"],
            "LOSTBEAT_CLIENT_PID": client["pid"],
            "LOSTBEAT_CLT": client["clt"],
        }
    quoted = _QUOTED.search(text)
    if kind == "capture-started" and quoted:
        fields["LOSTBEAT_CAPTURE"] = quoted[1]
    elif kind == "captured" and quoted:
        fields |= {
            "LOSTBEAT_CAPTURE": os.path.dirname(quoted[1]),
            "LOSTBEAT_MANIFEST": quoted[1],
            "LOSTBEAT_CAPTURE_COMPLETE": "yes" if "complete:" in text else "no",
        }
    if kind is not None and _DOCS is not None:
        fields["DOCUMENTATION"] = f"{_DOCS}#{section}"
    return Entry(line, priority, MESSAGE_IDS[kind] if kind else None, fields)


def encode(fields: Mapping[str, str]) -> bytes:
    """The native protocol's datagram: ``KEY=value`` lines; a value holding a newline as
    ``KEY``, newline, its length (64-bit little-endian), the bytes, newline.

    >>> encode({"MESSAGE": "a", "X": "b\\nc"})
    b'MESSAGE=a\\nX\\n\\x03\\x00\\x00\\x00\\x00\\x00\\x00\\x00b\\nc\\n'
    """
    out = bytearray()
    for key, value in fields.items():
        data = value.encode("utf-8", "replace")
        if b"\n" in data:
            out += key.encode("ascii") + b"\n" + struct.pack("<Q", len(data)) + data + b"\n"
        else:
            out += key.encode("ascii") + b"=" + data + b"\n"
    return bytes(out)


class _JournalWriter(RawIOBase):
    """Sends each whole line written to it as one journal entry; standard error if it can't."""

    def __init__(self, path: Path, fallback: int) -> None:
        super().__init__()
        self._path = str(path)
        self._fallback = fallback
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
        self._sock.setblocking(False)  # a busy journald must not stall the monitor
        self._pending = bytearray()

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:  # any buffer, as RawIOBase.write takes
        self._pending += memoryview(data).cast("B")
        while b"\n" in self._pending or len(self._pending) > _MAX_PENDING:
            cut = self._pending.find(b"\n")
            cut = cut if cut >= 0 else len(self._pending)
            line = bytes(self._pending[:cut])
            del self._pending[: cut + 1]
            self._send(line.decode("utf-8", "replace"))
        return memoryview(data).nbytes

    def _send(self, line: str) -> None:
        e = entry(line)
        fields = {"MESSAGE": e.message, "PRIORITY": str(e.priority)}
        if e.message_id:
            fields["MESSAGE_ID"] = e.message_id
        fields |= {"SYSLOG_IDENTIFIER": IDENTIFIER, **e.fields}
        try:
            self._sock.sendto(encode(fields), self._path)
        except OSError:
            # the ring keeps the line; a log that cannot be written must not stop the monitor
            with contextlib.suppress(OSError):
                os.write(self._fallback, (line + "\n").encode("utf-8", "replace"))

    def close(self) -> None:
        self._sock.close()
        super().close()


def open_stream(socket_path: Path, fallback: int) -> TextIO:
    """A text stream whose every line goes to the journal at ``socket_path`` with its fields,
    or to the file descriptor ``fallback`` (standard error) when it cannot be sent."""
    raw = BufferedWriter(_JournalWriter(socket_path, fallback))
    return TextIOWrapper(raw, encoding="utf-8", errors="replace", line_buffering=True)
