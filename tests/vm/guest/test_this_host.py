"""``lostbeat analyze --this-host``'s sources on a real systemd host: an OOM kill in a unit's
memory limit, read back from the host's own evidence where it lies (the guest's journald
keeps no kernel lines, scripts/vm/recipe/configure-base, so the ring buffer through dmesg)
and its /proc/meminfo. The recorder's recording is left out here: the suite's is a day of
1 s samples, slow to read under TCG, and read by the other tests already."""

from __future__ import annotations

import json
from pathlib import Path

from helpers import HOG, Agent, keep, main_pid, make_program, sh, show, wait_for

from lostbeat.analyzer.engine import analyze
from lostbeat.analyzer.this_host import HostPaths, this_host
from lostbeat.report import jsonout


def test_this_host_names_the_oom_kill_it_just_had(agent: Agent) -> None:
    sh("systemd-run", "--unit=thishost-hog", "-p", "MemoryMax=48M", "-p", "MemorySwapMax=0",
       "--description=a service over its memory limit", *make_program("thishog", HOG).split())  # fmt: skip
    pid = wait_for("thishog", lambda: main_pid("thishost-hog.service"), timeout=30)
    wait_for(
        "thishog killed",
        lambda: show("thishost-hog.service", "ActiveState") != "active",
        timeout=120,
    )
    assert show("thishost-hog.service", "Result") == "oom-kill"
    sh("systemctl", "reset-failed", "thishost-hog.service", check=False)
    sources = this_host(HostPaths(recording=Path("/nonexistent")))
    out = jsonout.dumps(analyze([], sources=sources))
    keep("this-host.json", out)
    doc = json.loads(out)
    crash = doc["crash"]
    assert (crash["type"], crash["victim"], crash["constraint"]) == ("oom_kill", "thishog", "memcg")
    read = {r["path"]: r["status"] for r in doc["inputs"]}
    assert "read" in (read.get("dmesg"), read.get("journalctl -k -b 0")), read
    assert read["/proc/meminfo"] == "read", read
    assert any(f"Killed process {pid} (thishog)" in json.dumps(f) for f in doc["findings"])
