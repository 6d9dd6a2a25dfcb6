"""The monitor's lines over the journal's native protocol, received on a real datagram socket.

The socket here plays journald; the real journald is in the VM suite
(``tests/vm/guest/test_journal.py``).
"""

from __future__ import annotations

import os
import socket
import struct
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

import pytest

from lostbeat.agent import journal, journald


def decode(data: bytes) -> dict[str, str]:
    """The reverse of :func:`journald.encode`, as journald reads a datagram."""
    fields: dict[str, str] = {}
    while data:
        head, sep, rest = data.partition(b"\n")
        assert sep, data
        if b"=" in head:
            key, _, value = head.partition(b"=")
            data = rest
        else:
            key, (size,) = head, struct.unpack("<Q", rest[:8])
            value, data = rest[8 : 8 + size], rest[8 + size :]
            assert data[:1] == b"\n"
            data = data[1:]
        fields[key.decode()] = value.decode()
    return fields


@pytest.fixture()
def receiver(tmp_path: Path) -> Iterator[tuple[socket.socket, Path]]:
    path = tmp_path / "journal.sock"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(path))
    sock.settimeout(2.0)
    yield sock, path
    sock.close()


@pytest.fixture()
def stderr(tmp_path: Path) -> Iterator[tuple[TextIO, dict[str, str]]]:
    """A file standing for standard error, and the JOURNAL_STREAM that names it."""
    with open(tmp_path / "stderr", "w") as err:
        st = os.fstat(err.fileno())
        yield err, {"JOURNAL_STREAM": f"{st.st_dev}:{st.st_ino}"}


def test_lines_arrive_with_their_fields(tmp_path: Path, receiver, stderr) -> None:
    (sock, path), (err, env) = receiver, stderr
    stream = journal.alert_stream(environ=env, stderr=err, socket_path=path)
    assert stream is not None
    stream.write(
        "0:00:00:12.000 cpu1:812)Host: Error: Lost heartbeat (comm=hbd pid=42 t=5 to=5 clt=1)\n"
    )
    stream.flush()
    got = decode(sock.recv(65536))
    assert got["MESSAGE"].endswith("Host: Error: Lost heartbeat (comm=hbd pid=42 t=5 to=5 clt=1)")
    assert (got["PRIORITY"], got["MESSAGE_ID"]) == ("2", journald.MESSAGE_IDS["lost"])
    assert (got["LOSTBEAT_CLIENT"], got["LOSTBEAT_CLIENT_PID"], got["LOSTBEAT_CLT"]) == (
        "hbd",
        "42",
        "1",
    )
    assert got["SYSLOG_IDENTIFIER"] == "lostbeat"
    doc = got["DOCUMENTATION"]
    assert doc.startswith("file://") and doc.endswith("agent.md#alert-lines")
    assert Path(doc.removeprefix("file://").split("#")[0]).is_file()  # a link that leads somewhere
    stream.write(
        "0:00:00:13.000 cpu0:812)Dump: Capture complete: '/var/lib/lb/c 1/manifest.json' files=9 cores=1\n"
    )
    stream.flush()
    got = decode(sock.recv(65536))
    assert got["MESSAGE_ID"] == journald.MESSAGE_IDS["captured"] and got["PRIORITY"] == "5"
    assert got["LOSTBEAT_CAPTURE"] == "/var/lib/lb/c 1"
    assert got["LOSTBEAT_MANIFEST"] == "/var/lib/lb/c 1/manifest.json"
    assert got["LOSTBEAT_CAPTURE_COMPLETE"] == "yes"
    assert (tmp_path / "stderr").read_text() == ""  # nothing twice


@pytest.mark.parametrize(
    ("line", "priority", "kind"),
    [
        ("HB: Lost heartbeat (comm=a pid=1 t=2 to=5 clt=1)", 4, "late"),
        ("HB: Heartbeat resumed (comm=a pid=1 t=0 to=5 clt=1)", 5, "resumed"),
        ("HB: Client registered (comm=a pid=1 t=0 to=5 clt=1) uid=0 interval=1", 6, "registered"),
        ("HB: Client gone (comm=a pid=1 t=3 to=5 clt=1): process exited, not a hang", 4, "gone"),
        ("HB: refused pid=9 uid=1000: uid not allowed", 4, None),
        ("Dump: Writing capture to '/d/x'", 5, "capture-started"),
        (
            "Dump: Capture incomplete (see manifest): '/d/x/manifest.json' files=3 cores=0",
            3,
            "captured",
        ),
        (
            "Dump: capture failed: [Errno 28] No space left on device; no action",
            3,
            "capture-failed",
        ),
        ("Action: none", 5, "action"),
        ("Monitor: protection: mlocked=yes oom_score_adj=-1000 cgroup=/m", 6, None),
        ("Monitor: protection: mlocked=no oom_score_adj=0 cgroup=/m; refused", 4, None),
        ("Monitor: lostbeat 0.1.0 listening on /run/lostbeat/hb.sock timeout=30", 6, "started"),
        ("Monitor: stopped", 6, "stopped"),
    ],
)
def test_each_kind_of_line(line: str, priority: int, kind: str | None) -> None:
    e = journald.entry(f"0:00:00:01.000 cpu0:5){line}")
    assert (e.priority, e.message_id) == (priority, journald.MESSAGE_IDS[kind] if kind else None)
    assert e.fields["LOSTBEAT_SOURCE"] == line.split(":")[0]
    assert ("DOCUMENTATION" in e.fields) is (kind is not None)


def test_an_incomplete_capture_says_so() -> None:
    line = "0:00:00:01.000 cpu0:5)Dump: Capture incomplete (see manifest): '/d/x/manifest.json'"
    fields = journald.entry(line).fields
    assert (fields["LOSTBEAT_CAPTURE"], fields["LOSTBEAT_CAPTURE_COMPLETE"]) == ("/d/x", "no")


def test_a_line_not_of_the_monitor_is_info_without_fields() -> None:
    assert journald.entry("something else") == journald.Entry("something else", 6, None, {})


def test_a_value_with_a_newline_is_sent_binary_safe() -> None:
    data = journald.encode({"MESSAGE": "two\nlines", "A": "b"})
    assert decode(data) == {"MESSAGE": "two\nlines", "A": "b"}


def test_not_the_journal_means_plain_lines(tmp_path: Path, receiver, stderr) -> None:
    (_, path), (err, env) = receiver, stderr
    assert journal.alert_stream(environ={}, stderr=err, socket_path=path) is None
    other = {"JOURNAL_STREAM": "1:2"}
    assert journal.alert_stream(environ=other, stderr=err, socket_path=path) is None
    gone = tmp_path / "no-journal.sock"
    assert journal.alert_stream(environ=env, stderr=err, socket_path=gone) is None


def test_a_line_that_cannot_be_sent_goes_to_stderr(tmp_path: Path, receiver, stderr) -> None:
    (sock, path), (err, env) = receiver, stderr
    stream = journal.alert_stream(environ=env, stderr=err, socket_path=path)
    assert stream is not None
    sock.close()
    path.unlink()  # journald went away
    line = "0:00:00:02.000 cpu0:5)HB: Lost heartbeat (comm=a pid=1 t=2 to=5 clt=1)"
    stream.write(line + "\n")
    stream.flush()
    assert (tmp_path / "stderr").read_text() == line + "\n"


def test_the_monitor_loads_the_protocol_only_for_the_journal() -> None:
    """Its pages are locked: code it does not use is memory it keeps for nothing."""
    probe = (
        "import sys; from lostbeat.agent import monitor, journal; journal.alert_stream();"
        " print('lostbeat.agent.journald' in sys.modules)"
    )
    env = {k: v for k, v in os.environ.items() if k != "JOURNAL_STREAM"}
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          env=env, timeout=60, check=True)  # fmt: skip
    assert done.stdout.strip() == "False"
