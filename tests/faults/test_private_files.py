"""Captures hold process memory: root alone may read them, whatever the monitor inherits.

The monitor is started with a umask of 000 and into a datastore that already exists with
mode 0755, the two ways a careless set-up could leave a capture readable by others. The
capture folder must still be 0700 and everything in it, core dumps included, 0600.
"""

from __future__ import annotations

import json
import os
import signal
import stat
from typing import TYPE_CHECKING, cast

import pytest

from lostbeat.agent import cgroup as cg
from tests.agent.conftest import lostbeat_argv

if TYPE_CHECKING:
    from tests.agent.conftest import Agent


@pytest.mark.timeout(60)
def test_captures_are_private_whatever_the_umask_and_the_datastore_mode(
    agent: Agent, memory_cgroup: cg.MemoryCgroup
) -> None:
    agent.datastore.mkdir(mode=0o755)
    os.chmod(agent.datastore, 0o755)
    argv = lostbeat_argv(
        "monitor", "--socket", str(agent.socket), "--datastore", str(agent.datastore),
        "--timeout", "1", "--cgroup", str(memory_cgroup.fs_path), "--top", "1", "--cores", "1",
        "--no-gcore",
    )  # fmt: skip
    monitor = agent.spawn(["sh", "-c", 'umask 000 && exec "$@"', "sh", *argv], "monitor")
    monitor.wait_line(r"Monitor: lostbeat .* listening on")
    hbd = agent.hbd(interval=0.25, cgroup=memory_cgroup, monitor=monitor)
    os.kill(hbd.pid, signal.SIGSTOP)
    folder, manifest = agent.manifest()
    cores = cast(list[dict[str, object]], manifest["cores"])
    assert cores[-1]["status"] == "ok", cores  # gcore skipped (--no-gcore), procmem wrote it
    assert json.loads((folder / "manifest.json").read_text()) == manifest

    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    found = list(folder.rglob("*"))
    assert any(p.name.startswith("core.") for p in found)
    for path in found:
        st = path.lstat()
        assert st.st_uid == os.geteuid(), path
        assert stat.S_IMODE(st.st_mode) == (0o700 if stat.S_ISDIR(st.st_mode) else 0o600), path
