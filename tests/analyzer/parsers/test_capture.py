"""The capture parser reads what the monitor really writes: tested on the agent's renderer."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lostbeat.analyzer.parsers.capture import looks_like_capture, parse_capture
from lostbeat.errors import ArtifactMissing, ParseError
from tests.fuzz.corpus import screen_text


def test_reads_the_monitors_own_screen():
    text = screen_text().decode()  # rendered by the agent's own lostbeat.agent.screen
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
