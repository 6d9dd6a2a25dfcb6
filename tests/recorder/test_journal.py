"""The recorder's journal entries, received on a real datagram socket as journald would
receive them, for a real leak in a memory cgroup: an early warning naming the grower while
it grows, then the kernel's OOM kill of it, with structured fields."""

from __future__ import annotations

import os
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest

from lostbeat.agent import cgroup as cg
from lostbeat.agent.kmsg import KMSG
from lostbeat.recorder.daemon import Recorder, RecorderConfig
from lostbeat.recorder.journal import MESSAGE_IDS
from lostbeat.recorder.live import LiveConfig

LEAK = "import time\nkeep = []\nwhile True:\n    keep.append(bytearray(b'x') * (3 << 19))\n    time.sleep(0.25)\n"


def decode(data: bytes) -> dict[str, str]:
    """journald's native protocol: KEY=value lines, or KEY, newline, 64-bit length, bytes."""
    fields, at = {}, 0
    while at < len(data):
        end = data.index(b"\n", at)
        line = data[at:end]
        if b"=" in line:
            key, _, value = line.partition(b"=")
            fields[key.decode()] = value.decode()
            at = end + 1
        else:
            (size,) = struct.unpack_from("<Q", data, end + 1)
            start = end + 9
            fields[line.decode()] = data[start : start + size].decode()
            at = start + size + 1
    return fields


def _leak_with_journal(group: cg.MemoryCgroup, tmp: Path) -> tuple[list[dict[str, str]], int]:
    """Record while a process leaks into ``group`` until the OOM killer kills it; returns
    the journal entries received (in order) and the leaker's pid."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(tmp / "journal.sock"))
    sock.settimeout(0.2)
    entries: list[dict[str, str]] = []
    live = LiveConfig(
        cgroup=group, trend_window_s=5.0, warn_tte_s=12.0, journal=tmp / "journal.sock"
    )
    recorder = Recorder(RecorderConfig(tmp / "rec", interval_s=0.25, kernel_log=KMSG, live=live))
    thread, done = threading.Thread(target=recorder.run), threading.Event()

    def receive() -> None:  # as journald does: at once, whatever the recorder does meanwhile
        while not done.is_set():
            try:
                entries.append(decode(sock.recv(1 << 16)))
            except TimeoutError:
                continue

    listener = threading.Thread(target=receive)
    listener.start()
    try:
        (group.fs_path / "memory.limit_in_bytes").write_text(str(96 << 20))
        thread.start()
        time.sleep(1.0)
        procs = group.fs_path / "cgroup.procs"
        leaker = subprocess.Popen(
            ["sh", "-c", f'echo $$ > "{procs}" && exec "$@"', "sh", sys.executable, "-c", LEAK]
        )
        assert leaker.wait(60) == -signal.SIGKILL
        until = time.monotonic() + 10
        while time.monotonic() < until and not any(
            e.get("LOSTBEAT_KIND") == "oom-kill" for e in entries
        ):
            time.sleep(0.1)
    finally:
        recorder.stop.set()
        thread.join(20)
        done.set()
        listener.join(5)
        sock.close()
    return entries, leaker.pid


@pytest.mark.timeout(120)
def test_an_early_warning_and_the_oom_kill_reach_the_journal_with_fields(v1_memory_group) -> None:  # type: ignore[no-untyped-def]
    if not os.access(KMSG, os.R_OK):
        print(f"SKIP: {KMSG} is not readable here")
        pytest.skip(f"{KMSG} is not readable here")
    with tempfile.TemporaryDirectory(prefix="lbt-j-", dir="/tmp") as tmp:
        with v1_memory_group("lostbeat-j") as group:
            entries, pid = _leak_with_journal(group, Path(tmp))
        warning = next(e for e in entries if e.get("LOSTBEAT_KIND") == "early-warning")
        kill = next(
            e for e in entries
            if e.get("LOSTBEAT_KIND") == "oom-kill" and e.get("LOSTBEAT_PID") == str(pid)
        )  # fmt: skip
        assert entries.index(warning) < entries.index(kill)  # the warning came first
        assert warning["MESSAGE_ID"] == MESSAGE_IDS["early-warning"] and warning["PRIORITY"] == "4"
        assert warning["LOSTBEAT_SUSPECT_PID"] == str(pid)
        assert 0 < float(warning["LOSTBEAT_TTE_SECONDS"]) <= 12  # said to the second
        assert warning["MESSAGE"].startswith("memory runs out in ")
        assert kill["MESSAGE_ID"] == MESSAGE_IDS["kernel-event"] and kill["PRIORITY"] == "3"
        assert kill["MESSAGE"].startswith(f"Memory cgroup out of memory: Killed process {pid} ")
        assert kill["LOSTBEAT_CONSTRAINT"] == "CONSTRAINT_MEMCG"
        assert kill["LOSTBEAT_MEMCG"] == group.path
        assert int(kill["LOSTBEAT_RSS_KB"]) > 60 << 10
        assert kill["SYSLOG_IDENTIFIER"] == "lostbeat-record"
        assert kill["LOSTBEAT_RECORDING"] == str(Path(tmp) / "rec")
