"""A real OOM kill in the watched slice (a memory cgroup on cgroup v2), as the recorder saw
it, explained by ``lostbeat analyze`` of the recording: the kill, its victim, and the grower
with its pid, command line and systemd unit."""

from __future__ import annotations

import json
import time

from helpers import RECORDING, Agent, keep, lostbeat, main_pid, make_program, sh, show, wait_for

GROWER = """\
import time
keep = []
while True:  # 8 MiB a second: the recorder, sampling every second, sees it grow
    block = bytearray(2 << 20)
    for i in range(0, len(block), 4096):
        block[i] = 1
    keep.append(block)
    time.sleep(0.25)
"""


def _analysis() -> dict[str, object] | None:
    status, out, err = lostbeat("analyze", "--json", str(RECORDING))
    if status != 0:
        return None
    doc: dict[str, object] = json.loads(out)
    crash = doc.get("crash")
    return doc if isinstance(crash, dict) and crash.get("victim") == "grower" else None


def test_an_oom_kill_in_the_slice_is_explained_from_the_recording(agent: Agent) -> None:
    started = time.time()
    program = make_program("grower", GROWER)
    sh("systemd-run", "--unit=grower", "--slice=lostbeat-watched.slice",
       "--description=a service that grows until the slice is full", *program.split())  # fmt: skip
    pid = wait_for("grower", lambda: main_pid("grower.service"), timeout=30)
    cmdline = " ".join(program.split())
    wait_for("grower killed", lambda: show("grower.service", "ActiveState") != "active",
             timeout=180)  # fmt: skip
    assert show("grower.service", "Result") == "oom-kill"
    sh("systemctl", "reset-failed", "grower.service", check=False)
    doc = wait_for("the kill in the recording's analysis", _analysis, timeout=60, every=2)
    keep("oom-explained.json", json.dumps(doc, indent=2) + "\n")
    crash, cause = doc["crash"], doc["root_cause"]
    assert isinstance(crash, dict) and isinstance(cause, dict)
    # the slice's own limit was hit: an OOM kill whose constraint is the memory cgroup
    assert (crash["type"], crash["class"], crash["killer"], crash["constraint"]) == (
        "oom_kill", "memory_exhaustion", "kernel", "memcg")  # fmt: skip
    assert crash["victim_pid"] == pid
    assert started < crash["at"] < time.time()
    # the grower named as users ask: name, pid, command line and unit
    assert (cause["process"], cause["pid"], cause["unit"]) == ("grower", pid, "grower.service")
    assert cause["cmdline"] == cmdline, cause
    assert cause["kind"] == "leak", cause
