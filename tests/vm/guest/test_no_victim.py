"""Nothing to kill: a memory cgroup in the watched slice whose only task is kept from the OOM
killer (oom_score_adj -1000, which the containers the main suite runs in refuse) reaches its
limit. The kernel kills nothing and says so at each retry of the charge, and the group hangs;
the monitor raises a ``Kernel:`` alarm and writes a kernel capture that names the task."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

from helpers import (
    CGROUP,
    DATASTORE,
    HOG,
    Agent,
    journal,
    keep,
    main_pid,
    make_program,
    messages,
    proc_status,
    sh,
    show,
    wait_for,
)

HEADLINE = "Out of memory and no killable processes..."
UNIT = "unkillable.service"
GROUP = "/lostbeat.slice/lostbeat-watched.slice/unkillable.service"


def _kernel_captures() -> set[Path]:
    return {p.parent for p in DATASTORE.glob("kernel-*/manifest.json")}


def test_nothing_to_kill_in_the_watched_slice_is_an_alarm_and_a_capture(agent: Agent) -> None:
    since, before = time.time(), _kernel_captures()
    sh("systemd-run", f"--unit={UNIT}", "--slice=lostbeat-watched.slice",
       "--description=a service kept from the OOM killer, alone in its memory cgroup",
       "-p", "MemoryMax=48M", "-p", "OOMScoreAdjust=-1000",
       *make_program("unkillable", HOG).split())  # fmt: skip
    pid = wait_for("unkillable", lambda: main_pid(UNIT), timeout=30)
    try:
        assert proc_status(pid)["Name"] == "unkillable"
        assert Path(f"/proc/{pid}/oom_score_adj").read_text().strip() == "-1000"
        alarm = wait_for(
            "the monitor's alarm",
            lambda: [m for m in messages(journal(unit="lostbeat-monitor.service", since=since))
                     if re.search(rf"\)Kernel: {re.escape(HEADLINE)}( \(\d+ more suppressed\))?$",
                                  m)],
            timeout=120,
        )  # fmt: skip
        folder = wait_for(
            "a kernel capture", lambda: sorted(_kernel_captures() - before), timeout=60
        )[0]
        events = dict(
            line.split() for line in (CGROUP / GROUP.lstrip("/") / "memory.events").read_text()
            .splitlines()
        )  # fmt: skip
        dmesg = sh("dmesg")
    finally:
        sh("systemctl", "kill", "--signal=SIGKILL", UNIT, check=False)
        wait_for("unkillable gone", lambda: show(UNIT, "ActiveState") != "active", timeout=60)
        sh("systemctl", "reset-failed", UNIT, check=False)
    keep("journal-no-victim.txt", "\n".join(alarm) + "\n")
    # the kernel's own report: the group at its limit named, nothing killed in it
    assert f"Memory cgroup stats for {GROUP}:" in dmesg and HEADLINE in dmesg
    assert int(events["oom"]) > 0 and int(events["oom_kill"]) == 0, events
    manifest = json.loads((folder / "manifest.json").read_text())
    keep("manifest-no-victim.json", json.dumps(manifest, indent=1))
    assert (manifest["trigger"], manifest["message"]) == ("kernel", HEADLINE)
    assert manifest["cores"] == [] and not (folder / "cores").exists()  # it stops no process
    assert manifest["scope"] == {"cgroup": "/lostbeat.slice/lostbeat-watched.slice",
                                 "version": "v2"}  # fmt: skip
    screen = (folder / "screen.txt").read_text()
    keep("screen-no-victim.txt", screen)
    lines = screen.splitlines()
    assert lines[1] == HEADLINE and lines[3] == f"@BlueScreen: {HEADLINE}"
    top = {c["pid"]: c for c in manifest["top"]}
    assert top[pid]["comm"] == "unkillable", manifest["top"]  # the task that hangs its group
    assert f"proc/{pid}/oom_score_adj" in {f["path"] for f in manifest["files"]}
    assert (folder / f"proc/{pid}/oom_score_adj").read_text().strip() == "-1000"
    assert (folder / f"proc/{pid}/cgroup").read_text().strip() == f"0::{GROUP}"
