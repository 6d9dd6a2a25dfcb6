"""The monitor restarted while clients beat: no false loss, every client back within one
timeout, and the new monitor still catches a real loss.

What a client does when its monitor goes away: ``lostbeat hbd`` sees the connection break on
its next send (``MonitorUnavailable``), says so once, and reconnects on every beat until a
monitor answers; the new monitor registers it as a new client with a fresh deadline. A
program using the library (``lostbeat.heartbeat.Heartbeat``) gets ``MonitorUnavailable``
from ``beat()`` and calls ``connect()`` again, as the script below does. The monitor is
restarted three times: SIGTERM, SIGKILL (its socket is left behind, stale, and replaced), and
SIGTERM again. Times are read from the monitor's own log lines (host uptime, to the
millisecond).
"""

from __future__ import annotations

import os
import re
import signal
import sys
import textwrap
import time
from typing import TYPE_CHECKING, cast

import pytest

if TYPE_CHECKING:
    from tests.agent.conftest import Agent, Proc

TIMEOUT = 2.0
INTERVAL = 0.5
HBDS = ("hbd-a", "hbd-b", "hbd-c")

LIBRARY_CLIENT = textwrap.dedent("""\
    import sys, time
    from lostbeat.heartbeat import Heartbeat, MonitorUnavailable
    hb = Heartbeat(sys.argv[1], name="libclient", interval=0.25)
    while True:
        try:
            if not hb.connected:
                hb.connect()
                print("connected clt=%s" % hb.clt, flush=True)
            hb.beat()
        except MonitorUnavailable as err:
            print("unavailable:", err, flush=True)
        time.sleep(0.25)
""")

_LINE = re.compile(r"^(\d+):(\d\d):(\d\d):(\d\d)\.(\d{3}) cpu\d+:(\d+)\)(.*)$")


def log_of(monitor: Proc) -> list[tuple[float, str]]:
    """(uptime in seconds, text) of each line this monitor process wrote."""
    out = []
    for line in monitor.text().splitlines():
        m = _LINE.match(line)
        if m and int(m[6]) == monitor.pid:
            d, h, mi, s, ms = (int(g) for g in m.groups()[:5])
            out.append((((d * 24 + h) * 60 + mi) * 60 + s + ms / 1000, m[7]))
    return out


def registered_within_a_timeout(agent: Agent, monitor: Proc, names: tuple[str, ...]) -> None:
    def seen() -> dict[str, float]:
        found: dict[str, float] = {}
        for at, text in log_of(monitor):
            m = re.match(r"HB: Client registered \(comm=(\S+) ", text)
            if m and m[1] in names:
                found.setdefault(m[1], at)
        return found if len(found) == len(names) else {}

    registered = agent.wait_for(seen, timeout=3 * TIMEOUT, what="every client to come back")
    listening = next(at for at, text in log_of(monitor) if "listening on" in text)
    late = {name: at - listening for name, at in registered.items() if at - listening > TIMEOUT}
    assert not late, f"back after more than one timeout: {late}"


@pytest.mark.timeout(90)
def test_restarting_the_monitor_under_beating_clients_loses_no_one(agent: Agent) -> None:
    monitor = agent.monitor("--cores", "0", "--min-capture-interval", "0", timeout=TIMEOUT)
    hbds = [agent.hbd(interval=INTERVAL, name=name, monitor=monitor) for name in HBDS]
    library = agent.spawn([sys.executable, "-c", LIBRARY_CLIENT, str(agent.socket)], "libclient")
    names = (*HBDS, "libclient")
    registered_within_a_timeout(agent, monitor, names)
    monitors = [monitor]
    for how in (signal.SIGTERM, signal.SIGKILL, signal.SIGTERM):
        time.sleep(TIMEOUT)  # beating steadily under this monitor
        code = monitor.stop(how)
        assert code == (0 if how == signal.SIGTERM else -signal.SIGKILL)
        assert agent.socket.exists() == (how == signal.SIGKILL)  # removed on a clean stop
        monitor = agent.monitor("--cores", "0", "--min-capture-interval", "0", timeout=TIMEOUT)
        monitors.append(monitor)
        registered_within_a_timeout(agent, monitor, names)
    time.sleep(2 * TIMEOUT)

    for each in monitors:
        texts = [text for _, text in log_of(each)]
        assert texts, "no log lines of this monitor"
        false = [t for t in texts if re.search(r"Lost heartbeat|Host: Error|Client gone", t)]
        assert not false, false
    assert all(p.popen.poll() is None for p in (*hbds, library))
    assert library.text().count("connected clt=") == 4  # once per monitor
    assert all(h.text().count("connection lost") == 3 for h in hbds), [h.text() for h in hbds]

    # the last monitor still watches: a real loss is declared at its timeout
    stopped_at = time.monotonic()
    os.kill(hbds[0].pid, signal.SIGSTOP)
    _, manifest = agent.manifest(timeout=15)
    declared = float(manifest["declared_monotonic"])  # type: ignore[arg-type]
    assert stopped_at < declared <= stopped_at + TIMEOUT + INTERVAL + 0.2
    assert [c["comm"] for c in cast(list[dict[str, object]], manifest["lost"])] == ["hbd-a"]
