"""The datastore receives process memory as root: it must be root's alone, and a name planted
in it must not stop a capture.

At start the monitor refuses, with one line naming the folder at fault, a datastore that is
a symbolic link, is not owned by root (or the monitor's uid), or can be written by group or
others, and any folder above it that others could write to or that someone else owns (a
sticky folder such as /tmp is fine: others cannot rename what is not theirs), as sshd's
StrictModes does. When a capture's name is taken, the capture takes another one.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import stat
import time
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from tests.agent.conftest import Agent

OTHER = 65534


def _needs_root() -> None:
    if os.geteuid() != 0:
        print("SKIP: giving a folder to another uid needs root")
        pytest.skip("giving a folder to another uid needs root")


def _refused(agent: Agent, datastore: Path) -> str:
    monitor = agent.monitor("--datastore", str(datastore), "--cores", "0", ready=False)
    assert monitor.popen.wait(20) == 2
    text = monitor.text()
    assert text.count("\n") == 1 and "Traceback" not in text, text
    assert not agent.socket.exists()
    return text.strip()


def _unsafe_datastore(workdir: Path, case: str) -> tuple[Path, str]:
    """Make one unsafe layout; returns the datastore and the folder the refusal must name."""
    if case == "symlink":
        target = workdir / "etc"
        target.mkdir(mode=0o700)
        (workdir / "ds").symlink_to(target)
        return workdir / "ds", "the datastore is a symbolic link"
    if case in ("owned by another uid", "group-writable", "writable by others"):
        ds = workdir / "ds"
        ds.mkdir(mode=0o700)
        if case == "owned by another uid":
            os.chown(ds, OTHER, OTHER)
            return ds, f"the datastore is owned by uid {OTHER}"
        os.chmod(ds, 0o770 if case == "group-writable" else 0o703)
        return ds, "the datastore is writable by group or others"
    above = workdir / "above"
    above.mkdir(mode=0o755)
    if case == "folder above writable by others":
        os.chmod(above, 0o777)
        return above / "ds", f"{above} (above the datastore) is writable by group or others"
    os.chown(above, OTHER, OTHER)
    return above / "ds", f"{above} (above the datastore) is owned by uid {OTHER}"


@pytest.mark.timeout(60)
@pytest.mark.parametrize(
    "case",
    [
        "symlink",
        "owned by another uid",
        "group-writable",
        "writable by others",
        "folder above writable by others",
        "folder above owned by another uid",
    ],
)
def test_an_unsafe_datastore_is_refused_in_one_line(agent: Agent, case: str) -> None:
    _needs_root()
    datastore, reason = _unsafe_datastore(agent.workdir, case)
    before = sorted(agent.workdir.rglob("*"))
    line = _refused(agent, datastore)
    assert line.startswith(f"lostbeat monitor: {datastore}: {reason}"), line
    assert "; expected " in line, line
    assert sorted(agent.workdir.rglob("*")) == before + [agent.workdir / "monitor.log"]


@pytest.mark.timeout(60)
def test_a_sticky_folder_above_and_a_linked_folder_above_are_fine(agent: Agent) -> None:
    sticky = agent.workdir / "sticky"
    sticky.mkdir()
    os.chmod(sticky, 0o1777)
    real = agent.workdir / "real"
    real.mkdir(mode=0o700)
    (sticky / "link").symlink_to(real)
    monitor = agent.monitor("--datastore", str(sticky / "link" / "ds"), "--cores", "0")
    created = real / "ds"
    assert stat.S_ISDIR(created.lstat().st_mode)
    assert stat.S_IMODE(created.stat().st_mode) == 0o700
    # the monitor names the folder it resolved once at start, and keeps writing there
    monitor.wait_line(rf"datastore={re.escape(str(created))}$")


@pytest.mark.timeout(60)
def test_a_name_planted_at_the_capture_name_does_not_stop_the_capture(agent: Agent) -> None:
    agent.datastore.mkdir(mode=0o700)
    seen = agent.workdir / "action-saw"
    monitor = agent.monitor(
        "--cores", "0", "--top", "1", "--action",
        f"command:sh -c 'echo \"$LOSTBEAT_CAPTURE\" > {seen}'", timeout=1.0,
    )  # fmt: skip
    hbd = agent.hbd(interval=0.25, monitor=monitor)
    # every name the capture could take in the next 30 s, and its first numbered variants:
    # links to where it must not write (one missing, one a folder), and plain files
    host = re.sub(r"[^A-Za-z0-9._-]", "_", socket.gethostname())
    elsewhere = agent.workdir / "elsewhere"
    elsewhere.mkdir(mode=0o700)
    planted = []
    now = int(time.time())
    for second in range(now, now + 30):
        base = f"lost-heartbeat-{host}-{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime(second))}"
        for n, name in enumerate((base, *(f"{base}-{i}" for i in range(2, 10)))):
            path = agent.datastore / name
            if n % 3 == 0:
                path.symlink_to(agent.workdir / "missing")
            elif n % 3 == 1:
                path.symlink_to(elsewhere)
            else:
                path.write_text("")
            planted.append(path)
    os.kill(hbd.pid, signal.SIGSTOP)
    monitor.wait_line(r"Action: command: sh exited with 0", timeout=20)
    folder = Path(seen.read_text().strip())
    assert folder.parent == agent.datastore and folder not in planted
    assert folder.name.startswith(f"lost-heartbeat-{host}-")
    st = folder.lstat()
    assert stat.S_ISDIR(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o700
    assert (folder / "manifest.json").is_file() and (folder / "screen.txt").is_file()
    assert not (agent.workdir / "missing").exists() and list(elsewhere.iterdir()) == []
    assert all(p.is_symlink() or p.read_text() == "" for p in planted)
    assert monitor.lines(r"Dump: Capture complete") and not monitor.lines("capture failed")
