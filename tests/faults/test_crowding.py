"""An allowed unprivileged uid must not crowd root's heartbeat out of the monitor.

Each test runs the real monitor, root's real ``hbd``, and a process of another uid (allowed
with ``--allow-uid``) that registers many clients and never beats, as an attacker with a
login on the host would. Root's daemon must still get a slot, its hang must still be
declared on time and captured, and the capture's log must still hold what led to the loss.
"""

from __future__ import annotations

import os
import re
import signal
import time
from typing import TYPE_CHECKING, cast

import pytest

from lostbeat.agent.alerts import UID_BURST, UID_EVERY

if TYPE_CHECKING:
    from tests.agent.conftest import Agent

HOG, OTHER = 65534, 65533
TIMEOUT = 2.0
INTERVAL = 0.5


def _lost_on_time(agent: Agent, hbd_pid: int, stopped_at: float, timeout: float) -> str:
    """The capture of ``hbd_pid``'s loss; returns its alerts.log."""
    folder, manifest = agent.manifest(timeout=timeout + 15)
    lost = cast(list[dict[str, object]], manifest["lost"])
    assert [c["pid"] for c in lost] == [hbd_pid]
    declared = float(cast(float, manifest["declared_monotonic"]))
    assert stopped_at < declared <= stopped_at + timeout + INTERVAL + 0.3
    return (folder / "alerts.log").read_text()


@pytest.mark.timeout(60)
def test_an_allowed_uid_cannot_take_the_slots_root_and_other_uids_need(agent: Agent) -> None:
    monitor = agent.monitor(
        "--socket-mode", "0666", "--allow-uid", "0", "--allow-uid", str(HOG),
        "--allow-uid", str(OTHER), "--max-clients", "8", "--cores", "0", "--top", "1",
        timeout=TIMEOUT,
    )  # fmt: skip
    # every slot it can get, each asking for the longest interval and timeout there are
    _, held, reasons = agent.clients_as(HOG, 12, interval=3600)
    assert (held, reasons) == (3, "uid-quota")  # (8 - 2 kept for root) / 2 other uids
    monitor.wait_line(rf"HB: refused pid=\d+ uid={HOG}: uid {HOG} holds 3 clients, its share")
    _, held, reasons = agent.clients_as(OTHER, 1, interval=3600, prefix="other")
    assert (held, reasons) == (1, "-")
    hbd = agent.hbd(interval=INTERVAL, monitor=monitor)
    stopped_at = time.monotonic()
    os.kill(hbd.pid, signal.SIGSTOP)
    _lost_on_time(agent, hbd.pid, stopped_at, TIMEOUT)
    assert monitor.popen.poll() is None


@pytest.mark.timeout(60)
def test_clients_that_never_beat_neither_flood_the_log_nor_flush_the_ring(agent: Agent) -> None:
    timeout = 6.0
    monitor = agent.monitor(
        "--socket-mode", "0666", "--allow-uid", "0", "--allow-uid", str(HOG),
        "--max-clients", "64", "--cores", "0", "--top", "1", timeout=timeout,
    )  # fmt: skip
    started = time.monotonic()
    hbd = agent.hbd(interval=INTERVAL, monitor=monitor)
    # 40 clients that say they beat every 50 ms, may stay silent a day, and never beat
    _, held, _ = agent.clients_as(HOG, 40, interval=0.05)
    assert held == 40
    time.sleep(3)
    stopped_at = time.monotonic()
    os.kill(hbd.pid, signal.SIGSTOP)
    alerts = _lost_on_time(agent, hbd.pid, stopped_at, timeout)
    elapsed = time.monotonic() - started

    # the other uid's lines: a burst, then one a second, and the rest counted
    theirs = monitor.lines(r"HB: .*\(comm=hog\d+ ")
    print(f"uid {HOG}: {len(theirs)} lines in {elapsed:.1f} s from 40 clients that never beat")
    assert 0 < len(theirs) <= UID_BURST + elapsed / UID_EVERY + 1, len(theirs)
    assert monitor.lines(rf"\(\d+ more lines of uid {HOG} suppressed\)")
    # root's daemon keeps every line: one a second from t=1 (two intervals), then the loss
    ours = [
        re.search(r"t=(\d+) ", line) for line in monitor.lines(r"HB: Lost heartbeat \(comm=hbd")
    ]
    assert [int(m[1]) for m in ours if m] == [1, 2, 3, 4, 5, 6]
    # and the ring the capture keeps was not flushed: start-up lines, the first loss line
    assert re.search(r"Monitor: lostbeat .* listening on", alerts)
    assert re.search(rf"HB: Lost heartbeat \(comm=hbd pid={hbd.pid} t=1 ", alerts)
    assert re.search(rf"Host: Error: Lost heartbeat \(comm=hbd pid={hbd.pid} t=6 ", alerts)


@pytest.mark.timeout(60)
def test_another_uids_loss_does_not_use_up_roots_capture(agent: Agent) -> None:
    monitor = agent.monitor(
        "--socket-mode", "0666", "--allow-uid", "0", "--allow-uid", str(HOG),
        "--cores", "0", "--top", "1", "--min-capture-interval", "300", timeout=TIMEOUT,
    )  # fmt: skip
    hbd = agent.hbd(interval=INTERVAL, monitor=monitor)
    # a client of the other uid that is lost at once: its loss is captured first
    _, held, _ = agent.clients_as(HOG, 1, interval=0.05, timeout=0.5)
    assert held == 1
    monitor.wait_line(r"Dump: Capture complete", timeout=15)
    first = agent.captures()
    stopped_at = time.monotonic()
    os.kill(hbd.pid, signal.SIGSTOP)
    monitor.wait_line(rf"Host: Error: Lost heartbeat \(comm=hbd pid={hbd.pid} ", timeout=10)
    agent.wait_for(lambda: len(monitor.lines(r"Dump: Capture complete")) == 2, timeout=15,
                   what="root's capture")  # fmt: skip
    (folder,) = set(agent.captures()) - set(first)
    lost = (folder / "manifest.json").read_text()
    assert f'"pid": {hbd.pid}' in lost
    assert not monitor.lines(r"Dump: no capture")
    assert time.monotonic() - stopped_at < TIMEOUT + 15
