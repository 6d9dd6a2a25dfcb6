"""systemd's watchdog: a monitor that stops answering (SIGSTOP) is killed and started again,
the journal says so, and the new monitor takes its clients back."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

from helpers import Agent, journal, keep, main_pid, messages, proc_status, sh, show, wait_for

from lostbeat.agent.journald import MESSAGE_IDS

UNIT = "lostbeat-monitor.service"


def test_a_stopped_monitor_is_killed_and_restarted_and_takes_its_clients_back(agent: Agent) -> None:
    old, hbd = main_pid(UNIT), main_pid("lostbeat-hbd.service")
    restarts = int(show(UNIT, "NRestarts"))
    since = time.time()
    os.kill(old, signal.SIGSTOP)
    new = wait_for(
        "restarted monitor",
        lambda: (
            (pid := main_pid(UNIT)) not in (0, old)
            and show(UNIT, "ActiveState") == "active"
            and pid
        ),
        timeout=120,
    )
    took = time.time() - since
    # WatchdogSec=30s counts from the last WATCHDOG=1, sent every 15 s; then RestartSec=2s and
    # the new monitor's start
    assert 15 <= took < 75, took
    assert int(show(UNIT, "NRestarts")) == restarts + 1
    said = messages(journal(unit=UNIT, since=since))
    keep(
        "journal-watchdog.txt",
        sh("journalctl", "--no-pager", "-u", UNIT, "--since", f"@{since:.0f}"),
    )
    assert any("Watchdog timeout (limit 30s)!" in m for m in said), said
    assert any(f"Killing process {old} (lostbeat-mon) with signal SIGABRT" in m for m in said), said
    assert any("Failed with result 'watchdog'" in m for m in said), said
    assert any("Scheduled restart job" in m for m in said), said
    back = wait_for(
        "the heartbeat daemon registered with the new monitor",
        lambda: [e for e in journal(f"MESSAGE_ID={MESSAGE_IDS['registered']}", f"_PID={new}")
                 if e.get("LOSTBEAT_CLIENT_PID") == str(hbd)],
        timeout=60,
    )  # fmt: skip
    assert back and main_pid("lostbeat-hbd.service") == hbd  # the same daemon, not a new one
    assert Path(f"/proc/{new}/oom_score_adj").read_text().strip() == "-1000"
    assert int(proc_status(new)["VmLck"].split()[0]) > 0
