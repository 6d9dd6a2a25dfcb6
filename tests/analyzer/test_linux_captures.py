"""Captures the monitor writes before any loss, as the analyzer reads them: written for real
by the monitor's capturer (lostbeat/agent/capture.py) into a datastore, then analysed.

A ``pre-loss`` capture (an early warning) declares nothing lost; a ``kernel`` capture is the
incident its kernel line reports, typed by the same scanner as a host's logs; a capture's
manifest says which, and a screen without one says so itself when it was a loss.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from lostbeat.agent.capture import CaptureConfig, Capturer, Incident
from lostbeat.agent.consumers import Sampler
from lostbeat.analyzer.engine import analyze
from lostbeat.analyzer.parsers.capture import parse_capture_manifest
from lostbeat.analyzer.result import AnalysisResult, CrashClass, CrashType
from lostbeat.procfs import Procfs

KILL = (
    "Memory cgroup out of memory: Killed process {pid} (python3) total-vm:512000kB, "
    "anon-rss:98000kB, file-rss:2000kB, shmem-rss:0kB, UID:0 pgtables:400kB oom_score_adj:0"
)


def _capture(datastore: Path, trigger: str, message: str) -> Path:
    procfs = Procfs()
    me = os.getpid()
    capturer = Capturer(
        procfs=procfs,
        config=CaptureConfig(datastore=datastore, top=2, cores=1, gcore=False),
        sampler=Sampler(procfs, scope=lambda: [me]),
        cgroup=None,
        keepalive=lambda: None,
        say=lambda source, text: None,
    )
    now = time.monotonic()
    incident = Incident((), (), (), now, now, time.time(), 100.0, None, trigger, message)
    return capturer.capture(incident).folder


def _run(*sources: Path) -> AnalysisResult:
    return analyze(list(sources))


def test_a_pre_loss_capture_is_no_lost_heartbeat(tmp_path: Path) -> None:
    warning = "Memory runs out in 12 s at +9.8 MiB/s (230 of 256 MiB used, host)"
    folder = _capture(tmp_path, "pre-loss", warning)
    assert folder.name.startswith("pre-loss-")
    result = _run(folder)
    crash = result.crash
    assert crash.type is CrashType.NONE and crash.class_ is CrashClass.NONE
    assert crash.message is not None and "no heartbeat was lost" in crash.message
    assert warning in crash.message
    assert crash.evidence and crash.evidence[0].path.endswith("screen.txt")


def test_a_kernel_capture_is_the_incident_its_line_reports(tmp_path: Path) -> None:
    pid = os.getpid()
    folder = _capture(tmp_path, "kernel", KILL.format(pid=pid))
    crash = _run(folder).crash
    assert (crash.type, crash.killer, crash.victim, crash.victim_pid) == (
        CrashType.OOM_KILL, "kernel", "python3", pid,
    )  # fmt: skip
    assert crash.constraint == "memcg"
    assert crash.class_ is CrashClass.MEMORY_EXHAUSTION
    assert crash.message is not None and "holding 97 MB" in crash.message  # 100000 kB


def test_the_manifest_decides_when_the_screen_is_given_with_it(tmp_path: Path) -> None:
    """The whole datastore given: each screen paired with its own manifest."""
    _capture(tmp_path, "pre-loss", "Memory pressure: some stall 150 ms within 1 s on /x")
    time.sleep(0.01)
    hang = "INFO: task lb-held:4242 blocked for more than 120 seconds."
    kernel = _capture(tmp_path, "kernel", hang)
    crash = _run(tmp_path).crash
    assert (crash.type, crash.victim, crash.victim_pid) == (CrashType.HUNG_TASK, "lb-held", 4242)
    # a kernel capture its manifest calls an early warning's is not read as a kernel event
    manifest = kernel / "manifest.json"
    lines = manifest.read_text().splitlines()
    parsed = parse_capture_manifest(lines, path=str(manifest))
    assert (parsed.trigger, parsed.message) == ("kernel", hang)
    manifest.write_text(
        manifest.read_text().replace('"trigger": "kernel"', '"trigger": "pre-loss"')
    )
    assert _run(tmp_path).crash.type is CrashType.NONE


def test_a_loss_is_still_a_loss(tmp_path: Path) -> None:
    folder = _capture(tmp_path, "lost-heartbeat", "Lost heartbeat")
    assert _run(folder).crash.type is CrashType.LOST_HEARTBEAT
    (folder / "manifest.json").unlink()  # the screen alone says it was a loss
    assert _run(folder).crash.type is CrashType.LOST_HEARTBEAT
