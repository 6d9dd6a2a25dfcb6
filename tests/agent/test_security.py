"""Who may beat (SO_PEERCRED), the socket's permissions, and floods that must neither grow
the monitor nor hide a real loss."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from conftest import Agent

NOBODY = 65534

CLIENT_AS_NOBODY = textwrap.dedent("""\
    import os, sys
    from lostbeat.heartbeat import Heartbeat, HeartbeatRefused
    hb = Heartbeat(sys.argv[1], name="intruder", interval=0.5)
    os.setgroups([])
    os.setgid({uid})
    os.setuid({uid})
    assert os.getuid() == {uid}
    try:
        hb.connect()
        hb.beat()
    except HeartbeatRefused as err:
        print("refused:", err)
    else:
        print("accepted clt=%s" % hb.clt)
        hb.close()
""").format(uid=NOBODY)


def _run_as_nobody(agent: Agent) -> str:
    done = subprocess.run(
        [sys.executable, "-c", CLIENT_AS_NOBODY, str(agent.socket)],
        capture_output=True, text=True, timeout=20, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


@pytest.mark.timeout(30)
def test_a_uid_that_is_not_allowed_is_refused(agent: Agent) -> None:
    if os.geteuid() != 0:
        print("SKIP: changing to another uid needs root")
        pytest.skip("changing to another uid needs root")
    monitor = agent.monitor("--socket-mode", "0666", "--cores", "0")
    out = _run_as_nobody(agent)
    assert out.startswith("refused:") and "uid-not-allowed" in out
    monitor.wait_line(rf"HB: refused pid=\d+ uid={NOBODY}: uid not allowed")
    assert not monitor.lines("Client registered")


@pytest.mark.timeout(30)
def test_the_same_uid_is_accepted_once_allowed(agent: Agent) -> None:
    if os.geteuid() != 0:
        print("SKIP: changing to another uid needs root")
        pytest.skip("changing to another uid needs root")
    monitor = agent.monitor("--socket-mode", "0666", "--allow-uid", str(NOBODY), "--cores", "0")
    assert _run_as_nobody(agent) == "accepted clt=1"
    monitor.wait_line(r"Client registered \(comm=intruder .* uid=65534")
    monitor.wait_line(r"Client deregistered \(comm=intruder ")


@pytest.mark.timeout(30)
def test_socket_is_created_owner_only_and_a_stale_one_is_replaced(agent: Agent) -> None:
    first = agent.monitor("--cores", "0")
    assert stat.S_IMODE(agent.socket.stat().st_mode) == 0o600
    assert stat.S_ISSOCK(agent.socket.stat().st_mode)
    second = agent.monitor("--cores", "0", ready=False)
    assert second.popen.wait(10) == 2
    assert (
        second.text()
        .strip()
        .endswith(f"{agent.socket}: another monitor is listening on this socket")
    )
    first.stop(signal.SIGKILL)  # dies without removing its socket
    assert agent.socket.exists()
    agent.monitor("--cores", "0")  # replaces the stale socket


FLOOD = textwrap.dedent("""\
    import socket, sys, time
    path, seconds = sys.argv[1], float(sys.argv[2])
    junk = [b"", b"LB1", b"LB1 BEAT seq=1", b"\\xff" * 200, b"x" * 4096, b"LB1 OK clt=1 to=1",
            b"LB1 HELLO name=" + b"n" * 40 + b" interval=1", b"LB1 BEAT seq=1 at=1 took=0"]

    def connect():
        s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        s.connect(path)
        return s

    beaters = []
    for i in range(4):  # registered clients beating as fast as they can
        s = connect()
        s.send(b"LB1 HELLO name=beater%d interval=0.05 timeout=60" % i)
        assert s.recv(64).startswith(b"LB1 OK")
        s.setblocking(False)
        beaters.append(s)
    junkers, sent, refused, seq = [], 0, 0, 0
    until = time.monotonic() + seconds
    while time.monotonic() < until:
        while len(junkers) < 20:  # with the beaters, far more than --max-clients
            s = connect()
            s.setblocking(False)
            junkers.append(s)
        for s in beaters:
            seq += 1
            try:
                s.send(b"LB1 BEAT seq=%d at=1 took=0" % seq)
                sent += 1
            except BlockingIOError:
                pass
        for s in list(junkers):
            try:
                s.send(junk[sent % len(junk)])
                sent += 1
            except BlockingIOError:
                pass
            except OSError:  # refused (no room) or dropped (too many bad messages)
                refused += 1
                junkers.remove(s)
                s.close()
    print(sent, refused)
""")


def _rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


@pytest.mark.timeout(60)
def test_a_flood_neither_grows_the_monitor_nor_hides_a_real_loss(agent: Agent) -> None:
    timeout, interval, seconds = 2.0, 0.5, 6.0
    monitor = agent.monitor("--max-clients", "8", "--cores", "0", "--top", "1", timeout=timeout)
    hbd = agent.hbd(interval=interval, monitor=monitor)
    flood = agent.spawn([sys.executable, "-c", FLOOD, str(agent.socket), str(seconds)], "flood")
    time.sleep(1.5)
    rss_early = _rss_kb(monitor.pid)
    stopped_at = time.monotonic()
    os.kill(hbd.pid, signal.SIGSTOP)
    _, manifest = agent.manifest(timeout=15)
    assert float(manifest["declared_monotonic"]) <= stopped_at + timeout + interval  # type: ignore[arg-type]
    assert [c["pid"] for c in manifest["lost"]] == [hbd.pid]  # type: ignore[union-attr]
    assert flood.popen.wait(30) == 0
    sent, refused = map(int, flood.text().split())
    assert sent > 10_000 and refused > 0
    rss_late = _rss_kb(monitor.pid)
    assert rss_late - rss_early < 2048, (rss_early, rss_late)
    # complaints are rate-limited: about one line per second per kind, whatever the flood
    for kind in ("HB: bad message from", "HB: dropped pid=", r"HB: refused pid=\d+ uid=0: 8 cl"):
        assert 0 < len(monitor.lines(kind)) <= seconds + 4, kind
    assert monitor.lines(r"\(\d+ more suppressed\)")
    assert monitor.popen.poll() is None
