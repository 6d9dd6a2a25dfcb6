"""Beats cannot be faked for another process: a client is its own connection.

An allowed local process registers under the very name of a hung daemon and beats fast;
the daemon must still be declared lost at its timeout, and the capture must name the
daemon's pid (from ``SO_PEERCRED``), not the impostor's.
"""

from __future__ import annotations

import os
import signal
import sys
import textwrap
import time
from typing import TYPE_CHECKING, cast

import pytest

if TYPE_CHECKING:
    from tests.agent.conftest import Agent

TIMEOUT = 1.0
INTERVAL = 0.25

IMPOSTOR = textwrap.dedent("""\
    import sys, time
    from lostbeat.heartbeat import Heartbeat
    with Heartbeat(sys.argv[1], name="hbd", interval=0.05, timeout=1) as hb:
        print("beating as hbd clt=%s" % hb.clt, flush=True)
        while True:
            hb.beat()
            time.sleep(0.05)
""")


@pytest.mark.timeout(30)
def test_beating_under_a_hung_daemons_name_does_not_hide_its_loss(agent: Agent) -> None:
    monitor = agent.monitor("--cores", "0", "--top", "1", timeout=TIMEOUT)
    hbd = agent.hbd(interval=INTERVAL, monitor=monitor)
    impostor = agent.spawn([sys.executable, "-c", IMPOSTOR, str(agent.socket)], "impostor")
    impostor.wait_line(r"beating as hbd clt=2")
    stopped_at = time.monotonic()
    os.kill(hbd.pid, signal.SIGSTOP)
    _, manifest = agent.manifest(timeout=15)
    lost = cast(list[dict[str, object]], manifest["lost"])
    assert [(c["comm"], c["pid"], c["clt"]) for c in lost] == [("hbd", hbd.pid, 1)]
    declared = float(cast(float, manifest["declared_monotonic"]))
    assert stopped_at < declared <= stopped_at + TIMEOUT + INTERVAL + 0.2
    assert impostor.popen.poll() is None
    assert not monitor.lines(rf"Lost heartbeat \(comm=hbd pid={impostor.pid} ")
