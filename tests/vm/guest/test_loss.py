"""A real lost heartbeat under systemd: a service in the watched slice leaks until the slice
hangs; the monitor declares the loss and captures; monitor and recorder live on; the
analyzer names the leaker from the capture and the recording."""

from __future__ import annotations

import json

from helpers import TIMEOUT, Loss, journal, main_pid, messages, show


def test_the_loss_is_declared(loss: Loss) -> None:
    said = messages(journal(unit="lostbeat-monitor.service", since=loss.started))
    late = [m for m in said if "HB: Lost heartbeat (comm=lostbeat-hbd" in m]
    lost = [m for m in said if "Host: Error: Lost heartbeat (comm=lostbeat-hbd" in m]
    assert late and len(lost) == 1, said
    assert f"pid={loss.hbd_pid} t={TIMEOUT} to={TIMEOUT} clt=" in lost[0]


def test_the_capture_is_complete_and_its_manifest_last(loss: Loss) -> None:
    manifest = json.loads((loss.capture / "manifest.json").read_text())
    assert manifest["complete"] is True, manifest["steps"]
    assert manifest["scope"] == {
        "cgroup": "/lostbeat.slice/lostbeat-watched.slice",
        "version": "v2",
    }
    files = {f["path"] for f in manifest["files"] if f["status"] == "ok"}
    assert {"screen.txt", "alerts.log", "cgroup/memory.max", "cgroup/memory.events"} <= files
    for pid in (loss.leaker_pid, loss.hbd_pid):
        assert {f"proc/{pid}/status", f"proc/{pid}/cgroup", f"proc/{pid}/stack"} <= files
    assert (loss.capture / "cgroup" / "memory.max").read_text().strip() == str(256 << 20)
    events = dict(
        line.split() for line in (loss.capture / "cgroup/memory.events").read_text().splitlines()
    )
    assert int(events["oom"]) > 0 and int(events["oom_kill"]) == 0  # nothing it could kill
    top = manifest["top"][0]
    assert (top["pid"], top["comm"]) == (loss.leaker_pid, "leaker")
    cores = [c for c in manifest["cores"] if c["path"]]
    assert any(c["pid"] == loss.leaker_pid and c["size"] > 100 << 20 for c in cores), cores
    for core in cores:
        assert (loss.capture / core["path"]).stat().st_size == core["size"]
    written = [p.stat().st_mtime_ns for p in loss.capture.rglob("*") if p.is_file()]
    assert (loss.capture / "manifest.json").stat().st_mtime_ns == max(written)
    screen = (loss.capture / "screen.txt").read_text()
    assert (
        "Lost heartbeat" in screen and "Cgroup: v2 /lostbeat.slice/lostbeat-watched.slice" in screen
    )


def test_monitor_and_recorder_survive(loss: Loss) -> None:
    assert (loss.monitor_after, loss.recorder_after) == (loss.monitor_pid, loss.recorder_pid)
    assert main_pid("lostbeat-record.service") == loss.recorder_pid
    assert show("lostbeat-record.service", "NRestarts") == "0"
    assert "HB: Heartbeat resumed (comm=lostbeat-hbd" in loss.resumed


def test_analyze_names_the_leaker_and_its_unit(loss: Loss) -> None:
    cause = loss.analysis["root_cause"]
    assert isinstance(cause, dict) and loss.analysis["crash"]["type"] == "lost_heartbeat"
    assert (cause["kind"], cause["process"]) == ("leak", "leaker"), cause
    # where the leaker is on this host: its pid, command line and systemd unit
    assert cause.get("pid") == loss.leaker_pid, cause
    assert cause.get("cmdline") == loss.leaker_cmdline, cause
    assert cause.get("unit") == "leaker.service", cause
