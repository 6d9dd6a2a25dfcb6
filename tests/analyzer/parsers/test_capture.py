"""The capture parser reads what the monitor really writes: tested on the agent's renderer."""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lostbeat.agent.cgroup import CgroupMemory, CgroupVersion, Hierarchy, MemoryCgroup
from lostbeat.agent.clients import ClientState, ClientView
from lostbeat.agent.consumers import Consumer
from lostbeat.agent.screen import CpuTask, Screen, TopRow, render
from lostbeat.analyzer.parsers.capture import looks_like_capture, parse_capture
from lostbeat.errors import ArtifactMissing, ParseError


def screen_text() -> str:
    client = ClientView(1, "lostbeat-hbd", 4242, 0, ClientState.LOST, 1.0, 5.0, 5.4, 17, ())
    group = MemoryCgroup(Hierarchy(CgroupVersion.V1, Path("/sys/fs/cgroup/memory")), "/sim")
    top = (
        TopRow(Consumer(4300, "leaker", "D", 0, 1, 240000, 0, 20480), "mem_cgroup_oom_synchronize"),
        TopRow(Consumer(4242, "lostbeat-hbd", "D", 0, 1, 12000, 0, None), None),
    )
    screen = Screen(
        version="0.1.0",
        kernel="6.1.0-28-amd64",
        machine="x86_64",
        host="web1",
        lost=(client,),
        declared_utc="2026-11-25T19:01:02.123Z",
        uptime=751.042,
        monitor_cpu=0,
        cpus=(CpuTask(0, 812, "lostbeat"), CpuTask(1, None, "idle1")),
        loadavg="0.5 0.4 0.3",
        meminfo="MemTotal: 24601184 kB\nMemFree: 22000000 kB\nMemAvailable: 23000000 kB\n"
        "SwapTotal: 1048576 kB\nSwapFree: 1048000 kB\n",
        pressure=(("memory", "some avg10=0.00"),),
        cgroup=group,
        cgroup_memory=CgroupMemory(268000000, 268435456, True, True, 3, 0),
        scope="cgroup /sim",
        top=top,
        alerts=("0:00:12:26.000 cpu0:812)HB: late",),
        clients=(client,),
        capture_dir="/var/lib/lostbeat/x",
    )
    return render(screen)


def test_reads_the_monitors_own_screen():
    text = screen_text()
    assert looks_like_capture(text)
    s = parse_capture(text.splitlines(), path="cap/screen.txt")
    assert (s.host, s.kernel, s.comm, s.pid, s.t, s.to) == (
        "web1",
        "6.1.0-28-amd64",
        "lostbeat-hbd",
        4242,
        5,
        5.0,
    )
    assert s.declared_at == pytest.approx(1795633262.123)
    assert s.uptime_s == pytest.approx(751.042)
    assert (s.mem_total_kb, s.swap_total_kb, s.swap_used_kb) == (24601184, 1048576, 576)
    assert s.limit_bytes == 268435456
    assert [(p.pid, p.comm, p.state, p.rss_kb, p.growth_kb, p.wchan) for p in s.top] == [
        (4300, "leaker", "D", 240000, 20480, "mem_cgroup_oom_synchronize"),
        (4242, "lostbeat-hbd", "D", 12000, None, None),
    ]
    assert s.top[0].evidence.path == "cap/screen.txt"


def test_empty_is_missing():
    with pytest.raises(ArtifactMissing):
        parse_capture(["", "  "], path="screen.txt")


def test_not_a_screen_names_the_line():
    with pytest.raises(ParseError) as err:
        parse_capture(["", "VMware ESX Server [Releasebuild-1]"], path="screen.txt")
    assert err.value.line_no == 2
    assert "screen.txt:2" in str(err.value)
    assert not looks_like_capture("VMware ESX Server [Releasebuild-1]\nLost heartbeat\n")


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(max_size=120), max_size=30))
def test_arbitrary_text_raises_only_documented_errors(lines):
    with contextlib.suppress(ParseError):
        parse_capture(["lostbeat 0.1.0 [Linux 6 x86_64] host=h", *lines], path="f")
