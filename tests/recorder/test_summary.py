"""The hourly vmksummary line: ESX's format byte for byte, read back by the ESX parser."""

from __future__ import annotations

import re
import socket
import time
from pathlib import Path

import pytest

from lostbeat.analyzer.parsers.vmksummary import LineKind, parse_vmksummary
from lostbeat.errors import AgentError
from lostbeat.recorder.summary import (
    container_id,
    count_guests,
    hb_message,
    kernel_build,
    log_line,
    syslog_stamp,
    top_consumers,
)
from lostbeat.recorder.summary_log import SummaryLog, SyslogSender
from lostbeat.recording.schema import Identity, ProcessKey, ProcSample, Snapshot, SystemSample

# esx-artifacts.md §1.2: "Feb 25 15:01:01 myhost logger: (1235592061) hb: vmk loaded,
# 5166530.82, 5166517.348, 20, 110268, 110268, 265330688, vmware-h-61456, vpxa-16504, ..."
HB_LINE = re.compile(
    r"[A-Z][a-z]{2} [ 1-3][0-9] [0-2][0-9]:[0-5][0-9]:[0-5][0-9] \S+ logger: \([0-9]+\) "
    r"hb: vmk loaded, [0-9]+\.[0-9]{2}, [0-9]+\.[0-9]{3}, [0-9]+, [0-9]+, [0-9]+, [0-9]+"
    r"(, [^,\s]{1,8}-[0-9]+){0,3}"
)


def _snap(sizes: dict[str, tuple[int, int | None]]) -> Snapshot:
    procs = tuple(
        (Identity(ProcessKey(name, name, pid, 0.0)), ProcSample(rss, swap))
        for pid, (name, (rss, swap)) in enumerate(sizes.items(), 100)
    )
    return Snapshot(0.0, 0.0, SystemSample(1, 1, 1, 0), procs)


def test_top_three_by_rss_plus_swap_cut_to_eight_characters() -> None:
    snap = _snap(
        {
            "vmware-hostd": (50_000, 40_000),
            "webAccess": (80_000, 0),
            "vpxa": (3, None),
            "cimserver": (70_000, 15_000),
        }
    )
    top = top_consumers(snap)
    assert top == [("vmware-hostd", 90_000), ("cimserver", 85_000), ("webAccess", 80_000)]
    message = hb_message(
        uptime_s=11795301.251, guests=73, build=153875, swap_used=567468032, top=top
    )
    line = log_line(epoch=1258099291, host="esxhost", tag="logger", message=message)
    assert line.endswith(
        "esxhost logger: (1258099291) hb: vmk loaded, 11795301.25, 11795301.251, 73, 153875, "
        "153875, 567468032, vmware-h-90000, cimserve-85000, webAcces-80000"
    )
    assert HB_LINE.fullmatch(line)
    parsed = parse_vmksummary([line], path="vmksummary").lines[0]
    assert parsed.kind is LineKind.HEARTBEAT and parsed.epoch == 1258099291
    assert (parsed.vms, parsed.vmk_build, parsed.swap_used_bytes) == (73, 153875, 567468032)
    assert [(c.token, c.kb) for c in parsed.top] == [
        ("vmware-h", 90000),
        ("cimserve", 85000),
        ("webAcces", 80000),
    ]


def test_stamps_are_syslog_local_time() -> None:
    epoch = time.mktime((2024, 3, 9, 10, 1, 49, 0, 0, -1))
    assert syslog_stamp(epoch) == "Mar  9 10:01:49"
    assert syslog_stamp(time.mktime((2009, 11, 13, 3, 1, 35, 0, 0, -1))) == "Nov 13 03:01:35"


def test_kernel_build_and_guests() -> None:
    assert kernel_build("6.18.44-fc-v669") == 61844
    assert kernel_build("5.15.0-1053-azure") == 51500
    assert kernel_build("3.10.1160.el7") == 31099
    assert kernel_build(None) == 0
    cgroups = {
        100: "0::/system.slice/docker-4f1c2a3b4c5d6e7f8a9b.scope\n",
        101: "0::/system.slice/docker-4f1c2a3b4c5d6e7f8a9b.scope\n",
        102: "12:memory:/kubepods/burstable/pod1/0123456789abcdef0123456789abcdef01234567\n",
        103: "0::/lxc.payload.web/init.scope\n",
        104: "0::/user.slice/user-0.slice/session-3.scope\n",
    }
    snap = _snap(
        {
            "a": (1, 0),
            "b": (1, 0),
            "c": (1, 0),
            "d": (1, 0),
            "e": (1, 0),
            "qemu-system-x86": (1, 0),
            "firecracker": (1, 0),
        }
    )
    assert count_guests(snap, cgroups.get) == 2 + 3
    assert container_id(cgroups[104]) is None


def test_the_log_rotates_and_remembers_the_last_boot(tmp_path: Path) -> None:
    log = SummaryLog(tmp_path, host="web1", max_bytes=150, keep=2)
    log.write(epoch=1000, tag="vmkhalt", message="Starting system...")
    for hour in range(1, 8):
        log.write(epoch=1000 + 3600 * hour, tag="logger", message=f"hb: vmk loaded, {hour}.00")
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "vmksummary",
        "vmksummary.1",
        "vmksummary.2",
    ]
    lines = (tmp_path / "vmksummary").read_text().splitlines()
    assert lines[-1].endswith("web1 logger: (26200) hb: vmk loaded, 7.00")
    assert log.last_boot() is None  # rotated away past the two kept generations
    log.write(epoch=5_000_000, tag="vmkhalt", message="Starting system...")
    assert log.last_boot() == 5_000_000
    parsed = parse_vmksummary((tmp_path / "vmksummary").read_text().splitlines(), path="v")
    assert parsed.lines[-1].kind is LineKind.STARTING


def test_syslog_gets_the_same_line(tmp_path: Path) -> None:
    address = str(tmp_path / "log.sock")
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as server:
        server.bind(address)
        sender = SyslogSender(address)
        log = SummaryLog(tmp_path, host="web1", syslog=sender)
        line = log.write(epoch=1258099291, tag="logger", message="hb: vmk loaded, 1.00")
        server.settimeout(5)
        datagram = server.recv(4096).decode()
        sender.close()
    assert datagram.startswith("<14>")
    assert datagram == f"<14>{syslog_stamp(1258099291)} logger: (1258099291) hb: vmk loaded, 1.00"
    assert line == f"{syslog_stamp(1258099291)} web1 logger: (1258099291) hb: vmk loaded, 1.00"


def test_no_syslog_socket_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(AgentError, match="cannot reach syslog"):
        SyslogSender(str(tmp_path / "nothing"))
