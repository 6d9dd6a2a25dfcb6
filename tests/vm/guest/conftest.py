"""The VM suite's fixtures, inside the guest (run by lostbeat-vm-suite.service, never on the
host). Session fixtures do the slow things once: ``agent`` installs the units the way
docs/agent.md tells a user to, ``loss`` makes a service in the watched slice leak until the
slice hangs and the monitor captures.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

import pytest
from helpers import (
    DATASTORE,
    LEAKER,
    LOSTBEAT,
    ORDER,
    RECORDING,
    SLICE_MAX,
    TIMEOUT,
    Agent,
    Loss,
    journal,
    keep,
    lostbeat,
    main_pid,
    make_program,
    messages,
    sh,
    show,
    wait_for,
)

from lostbeat.agent.journald import MESSAGE_IDS


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Run the modules in the order of a user's day: install, lose, read, break, simulate."""
    items.sort(key=lambda item: ORDER.index(item.path.name))


@pytest.fixture(scope="session")
def agent() -> Agent:
    """The units installed as docs/agent.md says, started, and the heartbeat registered."""
    done = subprocess.run(
        [LOSTBEAT, "install-units", "--memory-max", str(SLICE_MAX), "--timeout", str(TIMEOUT),
         "--record-interval", "1"],
        capture_output=True, text=True, timeout=180, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    keep("install-units.txt", done.stderr)
    wait_for(
        "registered heartbeat",
        lambda: [m for m in messages(journal(unit="lostbeat-monitor.service"))
                 if "HB: Client registered (comm=lostbeat-hbd" in m],
        timeout=60,
    )  # fmt: skip
    return Agent(done.stderr)


def _captured() -> Path | None:
    done = sorted(DATASTORE.glob("lost-heartbeat-*/manifest.json"))
    return done[0].parent if done else None


@pytest.fixture(scope="session")
def loss(agent: Agent) -> Loss:
    """A service kept from the OOM killer (as databases often are) leaks in the watched
    slice: at MemoryMax the kernel finds nothing in the slice it may kill, every task
    needing a page retries its page fault, and the heartbeat stops."""
    started = time.time()
    monitor, recorder, hbd = (main_pid(u) for u in (
        "lostbeat-monitor.service", "lostbeat-record.service", "lostbeat-hbd.service"))  # fmt: skip
    program = make_program("leaker", LEAKER)
    sh("systemd-run", "--unit=leaker", "--slice=lostbeat-watched.slice",
       "--description=a service that leaks", "-p", "OOMScoreAdjust=-1000",
       *program.split(), str(9 << 20))  # fmt: skip
    leaker = wait_for("leaker", lambda: main_pid("leaker.service"), timeout=30)
    cmdline = Path(f"/proc/{leaker}/cmdline").read_bytes().replace(b"\0", b" ").decode().strip()
    capture = wait_for("finished capture", _captured, timeout=180)
    monitor_after = main_pid("lostbeat-monitor.service")
    recorder_after = main_pid("lostbeat-record.service")
    keep("screen.txt", (capture / "screen.txt").read_text())
    keep("status-after-loss.txt", sh("systemctl", "status", "--no-pager", "-n", "0",
                                     "lostbeat-monitor.service", "lostbeat-record.service",
                                     "lostbeat-hbd.service", "leaker.service", check=False))  # fmt: skip
    sh("systemctl", "kill", "--signal=SIGKILL", "leaker.service")
    wait_for("leaker gone", lambda: show("leaker.service", "ActiveState") != "active", timeout=60)
    sh("systemctl", "reset-failed", "leaker.service", check=False)
    resumed = wait_for(
        "resumed heartbeat",
        lambda: [m for m in messages(journal(unit="lostbeat-monitor.service", since=started))
                 if "HB: Heartbeat resumed (comm=lostbeat-hbd" in m],
        timeout=60,
    )[0]  # fmt: skip
    time.sleep(2)  # the recorder's next sample after the loss
    status, out, err = lostbeat("analyze", str(capture), str(RECORDING), "--json")
    assert status == 0, err
    analysis = json.loads(out)
    keep("analyze.json", out)
    os.environ["COLUMNS"] = "100"
    keep("analyze.txt", lostbeat("analyze", str(capture), str(RECORDING))[1])
    keep("journal-monitor.txt", sh("journalctl", "--no-pager", "-u", "lostbeat-monitor.service"))
    keep("journal-lost-verbose.txt", sh("journalctl", "--no-pager", "-o", "verbose",
                                        f"MESSAGE_ID={MESSAGE_IDS['lost']}"))  # fmt: skip
    return Loss(started, capture, leaker, cmdline, monitor, recorder, hbd, monitor_after,
               recorder_after, analysis, resumed)  # fmt: skip
