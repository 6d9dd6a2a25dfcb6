from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lostbeat.analyzer.parsers.vmksummary import (
    Consumer,
    LineKind,
    looks_like_vmksummary,
    parse_vmksummary,
)
from lostbeat.errors import ArtifactMissing, ParseError

DATA = Path(__file__).parent / "data"


def parse_file(name: str):
    with open(DATA / name, encoding="utf-8") as f:
        return parse_vmksummary(f, path=f"var/log/{name}")


def test_kb308590_example_read_from_file():
    summary = parse_file("kb308590-vmksummary.txt")
    assert [line.kind for line in summary.lines] == [
        LineKind.HEARTBEAT,
        LineKind.HEARTBEAT,
        LineKind.STARTING,
    ]
    first, last_hb, start = summary.lines
    assert first.stamp == "Nov 13 03:01:35"
    assert first.host == "esxhostname"
    assert first.epoch == 1258099291
    assert first.cos_uptime_s == 11795301.25
    assert first.vmk_uptime_s == 11795288.970
    assert (first.vms, first.vmk_build, first.vmm_build) == (73, 153875, 153875)
    assert first.swap_used_bytes == 567468032
    assert last_hb.top == (
        Consumer("VMap", 586196),
        Consumer("vmware-h", 83180),
        Consumer("webAcces", 27292),
    )
    assert start.epoch == 1258114439
    assert start.cos_uptime_s is None and start.top == ()
    assert start.evidence.path == "var/log/kb308590-vmksummary.txt"
    assert start.evidence.line_no == 3
    assert (
        start.evidence.text == "Nov 13 07:13:58 esxhostname vmkhalt: (1258114439) Starting system…"
    )
    assert summary.problems == ()


def test_kb1009016_line_follows_the_log_not_the_kb_table():
    (hb,) = parse_file("kb1009016-vmksummary.txt").lines
    assert (hb.host, hb.vms, hb.vmk_build, hb.swap_used_bytes) == ("myhost", 20, 110268, 265330688)
    assert hb.top == (
        Consumer("vmware-h", 61456),
        Consumer("vpxa", 16504),
        Consumer("webAcces", 14548),
    )


@pytest.mark.parametrize(
    ("name", "kinds"),
    [
        (
            "kb1019238-reboot.txt",
            [LineKind.HEARTBEAT, LineKind.REBOOTING, LineKind.STARTING, LineKind.LOADED_VMKERNEL],
        ),
        ("kb1019238-halt.txt", [LineKind.HALTING, LineKind.STARTING, LineKind.LOADED_VMKERNEL]),
        (
            "kb1019238-crash.txt",
            [
                LineKind.HEARTBEAT,
                LineKind.STARTING,
                LineKind.VMKERNEL_ERROR,
                LineKind.LOADED_VMKERNEL,
            ],
        ),
    ],
)
def test_kb1019238_sequences(name, kinds):
    summary = parse_file(name)
    assert [line.kind for line in summary.lines] == kinds
    assert all(line.stamp.startswith(("Mar 9 ", "Sep 1 ")) for line in summary.lines)


def test_kb1019238_esx4_swap_is_kept_as_written():
    hb = parse_file("kb1019238-crash.txt").lines[0]
    assert hb.swap_used_bytes == 356
    assert hb.top[-1] == Consumer("sfcbd", 12600)


def test_padded_day_three_dots_fewer_tokens_and_other_lines():
    summary = parse_vmksummary(
        [
            "Nov  3 03:01:35 esx-01.example.com logger: (1258099291) hb: vmk loaded, "
            "11795301.25, 11795288.970, 73, 153875, 153875, 567468032, VMap-583524, vmware-h-82812",
            "Nov  3 04:01:35 esx-01.example.com logger: (1258102891) hb: vmk loaded, "
            "11798901.25, 11798888.970, 2, 153875, 153875, 0",
            "Nov  3 04:30:00 esx-01.example.com logger: (1258104600) hb: vmk not loaded",
            "Nov  3 05:13:58 esx-01.example.com vmkhalt: (1258114439) Starting system...",
        ],
        path="var/log/vmksummary",
    )
    two, none, other, start = summary.lines
    assert two.stamp == "Nov  3 03:01:35" and two.host == "esx-01.example.com"
    assert two.top == (Consumer("VMap", 583524), Consumer("vmware-h", 82812))
    assert none.top == () and none.vms == 2 and none.swap_used_bytes == 0
    assert other.kind is LineKind.OTHER and other.epoch == 1258104600
    assert start.kind is LineKind.STARTING


def test_bad_line_is_recorded_and_the_rest_kept():
    summary = parse_vmksummary(
        [
            "Nov 13 03:01:35 h logger: (1258099291) hb: vmk loaded, 1.5, 1.0, 3, 1, 1, 4096",
            "",
            "Nov 13 04:01:35 h logger: (1258102891) hb: vmk loaded, 2.5, x, 3, 1, 1, 4096",
            "Nov 13 05:01:35 h logger: (1258106491) hb: vmk loaded, 3.5, 3.0, 3, 1, 1, 4096, VMap",
            "Nov 13 06:01:35 h cron[12]: (root) CMD (run-parts /etc/cron.hourly)",
            "Nov 13 07:01:35 h logger: (1258113691) hb: vmk loaded, 4.5, 4.0, 3, 1, 1, 8192",
        ],
        path="var/log/vmksummary",
    )
    assert [line.evidence.line_no for line in summary.lines] == [1, 6]
    assert [p.line_no for p in summary.problems] == [3, 4]
    assert "var/log/vmksummary:3:" in str(summary.problems[0])
    assert "hb: vmk loaded" in str(summary.problems[0])


@pytest.mark.parametrize("lines", [[], [""], ["  ", "\n", "\t\n"]])
def test_empty_is_missing(lines):
    with pytest.raises(ArtifactMissing) as err:
        parse_vmksummary(lines, path="var/log/vmksummary")
    assert err.value.artifact == "vmksummary"
    assert err.value.path == "var/log/vmksummary"


def test_esxi5_format_is_handed_to_its_own_parser():
    # var/log/vmksummary.log of an ESXi bundle matches this artifact's path (KB 2004566)
    summary = parse_file("kb2004566-esxi5-vmksummary.txt")
    (line,) = summary.lines
    assert (line.kind, line.vms, line.vmk_uptime_s) == (LineKind.HEARTBEAT, 0, 62657.0)
    assert [c.token for c in line.top] == ["sfcb-pycim", "vpxa-worker", "hostd-worker"]


def test_only_bad_records_raise_the_first():
    with pytest.raises(ParseError) as err:
        parse_vmksummary(
            ["", "Nov 13 03:01:35 h logger: (1) hb: vmk loaded, a, b, c"],
            path="var/log/vmksummary",
        )
    assert err.value.line_no == 2
    assert "var/log/vmksummary:2:" in str(err.value)


def test_sniffer():
    assert looks_like_vmksummary((DATA / "kb308590-vmksummary.txt").read_text())
    assert looks_like_vmksummary((DATA / "kb1019238-halt.txt").read_text())
    assert not looks_like_vmksummary((DATA / "kb2004566-esxi5-vmksummary.txt").read_text())
    assert not looks_like_vmksummary((DATA / "kb308590-meminfo.txt").read_text())


_FRAGMENTS = st.sampled_from(
    [
        "Nov 13 03:01:35 esxhostname logger: (1258099291) hb: vmk loaded, ",
        "Nov  3 07:13:58 h vmkhalt: (1258114439) ",
        "11795301.25, 11795288.970, 73, 153875, 153875, 567468032",
        ", VMap-583524",
        "-",
        ",",
        "Starting system…",
        "9" * 30,
    ]
)


@settings(max_examples=200, deadline=None, database=None)
@given(st.lists(st.lists(st.one_of(_FRAGMENTS, st.text(max_size=20)), max_size=6).map("".join)))
def test_arbitrary_text_raises_only_parse_errors(lines):
    try:
        summary = parse_vmksummary(lines, path="x")
    except (ParseError, ArtifactMissing):
        return
    assert all(line.evidence.path == "x" for line in summary.lines)
