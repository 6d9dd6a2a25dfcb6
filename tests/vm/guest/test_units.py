"""The units, installed the way docs/agent.md tells a user to (``lostbeat install-units``),
on a real systemd host with cgroup v2: what each one is, and that it is so."""

from __future__ import annotations

from pathlib import Path

from helpers import (
    CGROUP,
    RECORDING,
    SLICE_MAX,
    WATCHED,
    Agent,
    cgroup_of,
    journal,
    keep,
    main_pid,
    messages,
    proc_status,
    sh,
    show,
    wait_for,
)

SERVICES = ("lostbeat-monitor.service", "lostbeat-record.service", "lostbeat-hbd.service")


def test_install_units_writes_and_starts_them(agent: Agent) -> None:
    for name in (*SERVICES, "lostbeat.slice", "lostbeat-monitor.slice", "lostbeat-watched.slice"):
        assert f"wrote /etc/systemd/system/{name}" in agent.installed
        assert Path("/etc/systemd/system", name).is_file()
    for service in SERVICES:
        assert show(service, "UnitFileState") == "enabled"
        assert show(service, "ExecStart").startswith("{ path=/opt/lostbeat/bin/lostbeat ;")


def test_systemctl_status_shows_them_active(agent: Agent) -> None:
    out = sh("systemctl", "status", "--no-pager", "-n", "0", *SERVICES)
    keep("status.txt", out)
    assert out.count("Active: active (running)") == len(SERVICES), out
    for service in SERVICES:
        assert sh("systemctl", "is-active", service).strip() == "active"


def test_monitor_is_notify_with_a_watchdog_outside_the_watched_slice(agent: Agent) -> None:
    unit = "lostbeat-monitor.service"
    assert show(unit, "Type") == "notify"
    assert show(unit, "WatchdogUSec") == "30s"
    assert show(unit, "OOMScoreAdjust") == "-1000"
    assert show(unit, "Slice") == "lostbeat-monitor.slice"
    path = cgroup_of(main_pid(unit))
    assert path == "/lostbeat.slice/lostbeat-monitor.slice/lostbeat-monitor.service"
    assert not path.startswith("/lostbeat.slice/lostbeat-watched.slice")
    # READY=1 came once it listened, and a STATUS= line since
    assert show(unit, "StatusText").startswith(("watching ", "1 clients"))


def test_monitor_is_out_of_the_oom_killers_reach_and_mlocked(agent: Agent) -> None:
    pid = main_pid("lostbeat-monitor.service")
    assert Path(f"/proc/{pid}/oom_score_adj").read_text().strip() == "-1000"
    status = proc_status(pid)
    locked, rss = int(status["VmLck"].split()[0]), int(status["VmRSS"].split()[0])
    assert locked > 0 and locked >= rss // 2, status  # mlockall: every page it has, locked
    said = [m for m in messages(journal(unit="lostbeat-monitor.service")) if "protection:" in m]
    assert "mlocked=yes oom_score_adj=-1000" in said[-1]


def test_hbd_runs_in_the_watched_slice_with_its_memory_max(agent: Agent) -> None:
    pid = main_pid("lostbeat-hbd.service")
    assert cgroup_of(pid) == "/lostbeat.slice/lostbeat-watched.slice/lostbeat-hbd.service"
    assert (WATCHED / "memory.max").read_text().strip() == str(SLICE_MAX)
    assert show("lostbeat-watched.slice", "MemoryMax") == str(SLICE_MAX)
    # kept from the OOM killer, so that it stops with the slice rather than being killed
    assert Path(f"/proc/{pid}/oom_score_adj").read_text().strip() == "-1000"
    assert int(proc_status(pid)["VmLck"].split()[0]) == 0  # it feels what the slice feels


def test_recorder_records_outside_the_watched_slice(agent: Agent) -> None:
    pid = main_pid("lostbeat-record.service")
    assert cgroup_of(pid) == "/lostbeat.slice/lostbeat-monitor.slice/lostbeat-record.service"
    assert Path(f"/proc/{pid}/oom_score_adj").read_text().strip() == "-900"
    wait_for("a recording shard", lambda: list(RECORDING.glob("*")), timeout=30)


def test_the_monitor_slice_keeps_its_memory_protection(agent: Agent) -> None:
    # cgroup v2 caps a child's protection at its parent's: both carry 64M
    for folder in (CGROUP / "lostbeat.slice", CGROUP / "lostbeat.slice" / "lostbeat-monitor.slice"):
        assert (folder / "memory.min").read_text().strip() == str(64 << 20)
    assert "memory" in (CGROUP / "lostbeat.slice" / "cgroup.subtree_control").read_text().split()
