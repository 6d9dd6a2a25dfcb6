"""A full disk under the datastore: the monitor goes on watching, says it cannot write, and
leaves nothing half-written that looks complete.

The datastore is a real 2 MiB tmpfs, mounted for the test (root only; skipped, saying why,
elsewhere) and filled by a real file. A capture that could not be written whole must either
have no ``manifest.json`` (the documented sign of a capture that did not finish) or a
manifest that says ``complete: false`` and gives each file that is there its true size.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, cast

import pytest

if TYPE_CHECKING:
    from tests.agent.conftest import Agent, Proc

TIMEOUT = 1.0
INTERVAL = 0.25


@contextlib.contextmanager
def small_tmpfs(where: Path, size: str = "4m") -> Iterator[Path]:
    if os.geteuid() != 0:
        print("SKIP: mounting a tmpfs needs root")
        pytest.skip("mounting a tmpfs needs root")
    where.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size},mode=0700", "tmpfs", str(where)],
        capture_output=True,
        text=True,
        check=False,
    )
    if mounted.returncode != 0:
        print(f"SKIP: cannot mount a tmpfs: {mounted.stderr.strip()}")
        pytest.skip(f"cannot mount a tmpfs: {mounted.stderr.strip()}")
    try:
        yield where
    finally:
        if subprocess.run(["umount", str(where)], check=False).returncode != 0:
            subprocess.run(["umount", "-l", str(where)], check=False)


def fill(path: Path, *, leave: int) -> int:
    """Write ``path`` until the file system has at most ``leave`` bytes free; bytes written."""
    written = 0
    chunk = b"\0" * 4096
    with path.open("ab", buffering=0) as out:  # unbuffered: nothing left to flush at close
        while True:
            st = os.statvfs(path.parent)
            free = st.f_bavail * st.f_frsize
            if free <= leave:
                break
            try:
                written += out.write(chunk[: max(1, min(len(chunk), free - leave))]) or 0
            except OSError as err:
                assert err.errno == errno.ENOSPC, err
                break
    return written


def check_no_false_completeness(datastore: Path) -> list[dict[str, object]]:
    """Every capture folder: no manifest, or a manifest that tells the truth. Returns the
    manifests found."""
    manifests = []
    for folder in sorted(datastore.glob("lost-heartbeat-*")):
        manifest = folder / "manifest.json"
        if not manifest.exists():
            continue  # documented: a capture that did not finish
        body = json.loads(manifest.read_text())  # whole and valid, or it would not be there
        files = body["files"]
        for entry in files:
            if entry["status"] == "ok":
                assert (folder / entry["path"]).stat().st_size == entry["size"], entry
            else:
                assert entry["size"] is None and entry["note"], entry
                # a write the disk cut short leaves no partial file behind
                assert not (folder / entry["path"]).exists(), entry
        assert body["complete"] is all(f["status"] == "ok" for f in files), body
        manifests.append(body)
    return manifests


def lose_and_come_back(agent: Agent, monitor: Proc, hbd: Proc) -> str:
    """Stop the client until the monitor has declared it lost and said what became of the
    capture, then resume it and wait until the monitor sees it beat. Returns that line."""
    before = len(monitor.lines(r"Dump: (Capture|capture failed)"))
    resumed = len(monitor.lines(r"Heartbeat resumed"))
    os.kill(hbd.pid, signal.SIGSTOP)
    outcome = agent.wait_for(
        lambda: monitor.lines(r"Dump: (Capture|capture failed)")[before:],
        timeout=20,
        what="the capture's outcome",
    )
    os.kill(hbd.pid, signal.SIGCONT)
    agent.wait_for(
        lambda: len(monitor.lines(r"Heartbeat resumed")) > resumed, timeout=10, what="a beat"
    )
    return str(outcome[0])


@pytest.mark.timeout(90)
def test_a_full_datastore_is_reported_and_never_looks_complete(agent: Agent) -> None:
    with small_tmpfs(agent.workdir / "mnt") as mnt:
        datastore = mnt / "captures"
        filler = mnt / "filler"
        monitor = agent.monitor(
            "--datastore", str(datastore), "--cores", "0", "--top", "2",
            "--min-capture-interval", "0", "--step-timeout", "2", timeout=TIMEOUT,
        )  # fmt: skip
        hbd = agent.hbd(interval=INTERVAL, monitor=monitor)

        # 1. not a byte free: nothing of the capture can be written
        fill(filler, leave=0)
        first = lose_and_come_back(agent, monitor, hbd)
        assert "capture failed" in first and "No space left on device" in first, first
        assert not list(datastore.rglob("manifest.json"))
        assert monitor.lines(r"Host: Error: Lost heartbeat \(comm=hbd ")
        assert monitor.popen.poll() is None  # still watching

        # 2. a little room: some files fit and the rest fail; the manifest fits or not
        outcomes = []
        for room in (8 << 10, 96 << 10, 320 << 10, 700 << 10):
            filler.unlink()
            fill(filler, leave=room)
            outcomes.append(lose_and_come_back(agent, monitor, hbd))
            check_no_false_completeness(datastore)
        for line in outcomes:
            assert (
                "Capture complete" in line
                or "Capture incomplete" in line
                or ("capture failed" in line and "No space left on device" in line)
            ), line
        assert any("capture failed" in line for line in outcomes), outcomes  # room ran out
        failed_files = [
            str(f["note"])
            for m in check_no_false_completeness(datastore)
            for f in cast(list[dict[str, object]], m["files"])
            if f["status"] != "ok"
        ]
        assert all("No space left on device" in note for note in failed_files), failed_files

        # 3. room again: the next loss is captured whole, by the same monitor
        filler.unlink()
        last = lose_and_come_back(agent, monitor, hbd)
        assert "Capture complete" in last, last
        manifests = check_no_false_completeness(datastore)
        assert manifests[-1]["complete"] is True
        lost = cast(list[dict[str, object]], manifests[-1]["lost"])
        assert [c["pid"] for c in lost] == [hbd.pid]
        assert monitor.stop(signal.SIGTERM) == 0
