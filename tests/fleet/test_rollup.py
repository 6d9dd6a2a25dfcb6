"""Roll-up across hosts, and its two renderings: the terminal summary and the JSON document."""

from __future__ import annotations

import io
import json
import random

from rich.console import Console

from lostbeat.fleet.model import error_result
from lostbeat.fleet.rollup import Group, rollup
from lostbeat.fleet.summary import DOCUMENT_SCHEMA, fleet_document, render
from lostbeat.report.example import example_result
from tests.fleet.helpers import bundle_result, leak_on, spike_on

HOSTILE = "[bold red]esx[/]\x1b[2J"


def fleet() -> list:
    return [
        bundle_result(leak_on("esx01", shift_h=5), "/b/esx01-a.tgz"),
        bundle_result(leak_on("esx01", shift_h=-100), "/b/esx01-old.tgz"),
        bundle_result(leak_on("esx02", shift_h=1), "/b/esx02.tgz"),
        bundle_result(leak_on("esx03", process="foo-agent"), "/b/esx03.tgz"),
        bundle_result(spike_on("esx04"), "/b/esx04.tgz"),
        error_result("/b/bad.tgz", ("/b/bad.tgz",), "/b/bad.tgz: not a gzip or tar archive"),
    ]


def test_groups_count_hosts_once_and_sort_by_hosts() -> None:
    s = rollup(fleet())
    assert (s.incidents, s.analysed, s.errors, s.hosts) == (6, 5, 1, 4)
    assert s.by_root_cause == (
        Group("leak", "", ("esx01", "esx02", "esx03"), 4),
        Group("spike", "", ("esx04",), 1),
    )
    assert s.by_culprit == (
        Group("VMap", "vmware", ("esx01", "esx02"), 3),
        Group("cimserver", "vmware", ("esx04",), 1),
        Group("foo-agent", "vmware", ("esx03",), 1),
    )
    assert s.by_known_issue == (
        Group("1009607", "Pegasus (cimserver) memory leaks", ("esx04",), 1),
    )
    assert [(e.key, e.error) for e in s.error_rows] == [
        ("/b/bad.tgz", "/b/bad.tgz: not a gzip or tar archive")
    ]


def test_soonest_takes_each_hosts_latest_projection() -> None:
    s = rollup(fleet())
    base = example_result().root_cause.exhaustion_at
    assert base is not None
    # esx01's older incident (100 h earlier) gives way to its latest one (+5 h)
    assert [(h.host, h.exhaustion_at) for h in s.soonest] == [
        ("esx03", base),
        ("esx02", base + 3600.0),
        ("esx01", base + 5 * 3600.0),
    ]
    assert all(h.crashed for h in s.soonest)
    assert len(rollup(fleet(), soonest=2).soonest) == 2


def test_the_order_of_results_does_not_matter() -> None:
    results = fleet()
    expected = rollup(results)
    for seed in range(5):
        shuffled = results[:]
        random.Random(seed).shuffle(shuffled)
        assert rollup(shuffled) == expected


def test_unknown_hosts_are_shown_by_their_incident() -> None:
    s = rollup([bundle_result(leak_on(None), "/b/anon.tgz")])
    assert s.by_root_cause[0].hosts == ("(unknown host) /b/anon.tgz",)


def render_text(results: list) -> str:
    console = Console(file=io.StringIO(), width=100, color_system=None)
    render(rollup(results), console)
    out = console.file.getvalue()
    assert isinstance(out, str)
    return out


def test_terminal_summary() -> None:
    out = render_text(fleet())
    lines = [line.rstrip() for line in out.splitlines()]
    assert lines[0] == "Fleet: 6 incidents, 5 analysed on 4 hosts, 1 error"
    assert "Hosts by root cause" in lines
    assert any(
        line.split() == ["memory", "leak", "3", "4", "esx01,", "esx02,", "esx03"] for line in lines
    )
    assert any(line.split()[:4] == ["VMap", "vmware", "2", "3"] for line in lines)
    assert any(line.split()[:2] == ["1009607", "Pegasus"] for line in lines)
    soonest = lines.index("Heading for exhaustion soonest")
    assert [ln.split()[0] for ln in lines[soonest + 2 : soonest + 5]] == ["esx03", "esx02", "esx01"]
    assert "2009-11-13 10:00:00 UTC" in lines[soonest + 2]
    assert "/b/bad.tgz  not a gzip or tar archive" in out


def test_terminal_summary_shows_bundle_text_as_text() -> None:
    out = render_text([bundle_result(leak_on(HOSTILE, process=HOSTILE), "/b/x.tgz")])
    assert "[bold red]esx[/]\\x1b[2J" in out
    assert "\x1b" not in out


def test_many_hosts_are_summarised() -> None:
    results = [bundle_result(leak_on(f"esx{n:02}"), f"/b/{n}.tgz") for n in range(9)]
    assert "esx00, esx01, esx02, esx03, esx04, esx05 and 3 more" in render_text(results)


def test_json_document() -> None:
    results = sorted(fleet(), key=lambda r: r.sort_key)
    doc = fleet_document(rollup(results), results, db="f.sqlite", run_id=3)
    doc = json.loads(json.dumps(doc, allow_nan=False))  # plain JSON types only
    assert doc["schema"] == DOCUMENT_SCHEMA
    assert (doc["incidents"], doc["analysed"], doc["errors"], doc["hosts"]) == (6, 5, 1, 4)
    assert doc["by_culprit"][0] == {
        "label": "VMap",
        "detail": "vmware",
        "hosts": ["esx01", "esx02"],
        "incidents": 3,
    }
    assert [r["key"] for r in doc["rows"]] == [r.key for r in results]
    bad = doc["rows"][-1]
    assert (bad["ok"], bad["host"], bad["crash_type"], bad["findings"]) == (False, None, None, [])
    first = doc["rows"][0]
    assert first["root_cause_kind"] == "leak"
    assert first["exhaustion_at_iso"] is not None
    assert first["findings"][0] == {
        "id": "crash.lost_heartbeat",
        "severity": "critical",
        "title": "The VMkernel declared a lost heartbeat after 30 minutes of silence",
    }
    assert doc["soonest"][0]["host"] == "esx03"
