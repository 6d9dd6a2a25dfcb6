"""Where a leak came from: the Fisher test on hand-made hosts, then on generated fleets."""

from __future__ import annotations

import math

import pytest

from lostbeat.fleet.model import BundleResult, PackageRow
from lostbeat.fleet.provenance import ALPHA, HostView, host_views, leak_origins, line_of
from lostbeat.fleet.rollup import rollup
from lostbeat.fleet.summary import fleet_document
from lostbeat.scenarios.fleet import FleetTruth, GeneratedFleet


def host(i: int, build: int, release: str, leaks: set[str], **packages: str) -> HostView:
    rows = {name: PackageRow(name, version, "HP") for name, version in packages.items()}
    return HostView(f"esx{i:02d}", build, release, leaks, rows)


def upper_tail(on_leak: int, on_n: int, leaks: int, total: int) -> float:
    """P(at least ``on_leak`` of the ``leaks`` fall among ``on_n`` of ``total``): the
    one-sided Fisher p-value, from the hypergeometric law directly."""
    return sum(
        math.comb(on_n, k) * math.comb(total - on_n, leaks - k)
        for k in range(on_leak, min(on_n, leaks) + 1)
    ) / math.comb(total, leaks)


def test_the_introducing_build_and_its_p_value() -> None:
    hosts = [host(i, 64607, "ESX 3.5", set()) for i in range(5)]
    hosts += [host(i, 82663, "ESX 3.5 Update 1", set()) for i in range(5, 9)]
    hosts += [host(i, 110268, "ESX 3.5 Update 2", {"cimserver"}) for i in range(9, 15)]
    hosts += [host(15, 110268, "ESX 3.5 Update 2", set())]
    hosts += [host(i, 153875, "ESX 3.5 Update 4", {"cimserver"}) for i in range(16, 20)]
    hosts += [host(i, 164009, "ESX 4.0", set()) for i in range(20, 26)]  # another line
    (origin,) = leak_origins(hosts)
    assert (origin.culprit, origin.leaking_hosts, origin.hosts) == ("cimserver", 10, 26)
    assert (origin.introducing_build, origin.introducing_release) == (110268, "ESX 3.5 Update 2")
    (split,) = origin.splits
    assert split.kind == "build" and split.line == "3.5"
    assert (split.leaking_on, split.hosts_on, split.leaking_off, split.hosts_off) == (10, 11, 0, 9)
    assert split.text == (
        "cimserver leaks on 10 of 11 hosts on ESX 3.5 Update 2 (build 110268) and later, "
        "on none of 9 before"
    )
    # three thresholds on the 3.5 line (82663, 110268, 153875); at best (every leak on the
    # "on" side) they reach p = 0.016, 6e-5 and 0.043: two of them can pass 0.05 / 2, so x2
    assert split.p_value == pytest.approx(2 * upper_tail(10, 11, 10, 20))
    assert [(b.build, b.hosts, b.leaking) for b in origin.builds] == [
        (64607, 5, 0),
        (82663, 4, 0),
        (110268, 7, 6),
        (153875, 4, 4),
        (164009, 6, 0),
    ]


def test_an_agent_version_that_explains_the_leaks_better_than_any_build() -> None:
    hosts = []
    for i in range(24):
        version = "8.1.1-22" if i % 3 == 0 else "8.2.0-164"
        leaks = {"cmahealthd"} if version == "8.1.1-22" and i != 21 else set()
        build = (110268, 153875, 208167)[i % 2 + (i > 12)]
        hosts.append(host(i, build, "ESX", leaks, **{"hp-snmp-agents": version}))
    (origin,) = leak_origins(hosts)
    assert origin.introducing_build is None
    (split,) = origin.splits
    assert (split.kind, split.package, split.version, split.vendor) == (
        "agent",
        "hp-snmp-agents",
        "8.1.1-22",
        "HP",
    )
    assert split.text == (
        "cmahealthd leaks only with HP's hp-snmp-agents 8.1.1-22: on 7 of 8 hosts with it, "
        "on none of 16 with other versions"
    )
    assert origin.agent == "hp-snmp-agents"
    assert [(v.version, v.hosts, v.leaking) for v in origin.versions] == [
        ("8.1.1-22", 8, 7),
        ("8.2.0-164", 16, 0),
    ]


def test_a_version_two_hosts_hold_cannot_explain_a_leak_among_many_versions() -> None:
    # 120 hosts, each with its own build of an agent but for pairs: with that many splits
    # possible, one leaking host sharing a version with one other host proves nothing
    hosts = [
        host(i, 110268, "ESX 3.5 Update 2", set(), **{"hp-health": f"8.{i // 2}.0-1"})
        for i in range(120)
    ]
    hosts[0] = host(0, 110268, "ESX 3.5 Update 2", {"cmaidad"}, **{"hp-health": "8.0.0-1"})
    hosts[50] = host(50, 110268, "ESX 3.5 Update 2", {"cmaidad"}, **{"hp-health": "8.25.0-1"})
    (origin,) = leak_origins(hosts)
    assert origin.splits == ()


def test_nothing_is_claimed_without_significance() -> None:
    hosts = [
        host(i, (64607, 110268)[i % 2], "ESX 3.5", {"vpxa"} if i < 4 else set()) for i in range(12)
    ]
    (origin,) = leak_origins(hosts)
    assert origin.splits == () and origin.introducing_build is None
    assert ALPHA == 0.05


def test_line_of_and_host_views_use_the_latest_incident() -> None:
    assert line_of(208167, None) == "4.0"
    assert line_of(None, "ESX Server 3.5 Update 9") == "3.5"
    assert line_of(None, None) is None
    assert host_views([]) == []


def test_a_generated_fleet_names_its_introducing_build(
    build_fleet: tuple[GeneratedFleet, list[BundleResult]],
) -> None:
    fleet, results = build_fleet
    truth: FleetTruth = fleet.truth
    assert truth.kind == "build" and truth.introducing_build is not None
    summary = rollup(results)
    origin = next(o for o in summary.leak_origins if o.culprit == truth.culprit)
    assert origin.introducing_build == truth.introducing_build
    assert origin.introducing_release == truth.introducing_release
    assert origin.leaking_hosts == sum(h.leaks for h in truth.hosts)
    assert origin.splits[0].p_value < ALPHA
    # in --json too: the same finding, and each row's build
    doc = fleet_document(summary, results)
    (shown,) = [o for o in doc["leak_origins"] if o["culprit"] == truth.culprit]
    assert shown["introducing_build"] == truth.introducing_build
    builds = {r["host"]: r["build"] for r in doc["rows"]}
    assert builds == {h.host: h.build for h in truth.hosts}


def test_a_generated_fleet_names_the_leaking_agent_version(
    agent_fleet: tuple[GeneratedFleet, list[BundleResult]],
) -> None:
    fleet, results = agent_fleet
    truth = fleet.truth
    origin = next(o for o in rollup(results).leak_origins if o.culprit == truth.culprit)
    agent = next(s for s in origin.splits if s.kind == "agent")
    assert (agent.package, agent.version, agent.vendor) == (
        truth.package,
        truth.version,
        truth.vendor,
    )
    assert origin.introducing_build is None  # the builds were drawn at random
    on = [h for h in truth.hosts if h.version == truth.version]
    assert (agent.hosts_on, agent.leaking_on) == (len(on), sum(h.leaks for h in on))
    assert agent.leaking_off == 0


def test_the_terminal_summary_says_where_the_leak_came_from(
    build_fleet: tuple[GeneratedFleet, list[BundleResult]],
) -> None:
    import io

    from rich.console import Console

    from lostbeat.fleet.summary import render

    fleet, results = build_fleet
    console = Console(file=io.StringIO(), width=200, color_system=None)
    render(rollup(results), console)
    out = console.file.getvalue()
    section = out[out.index("Where the leaks came from") :]
    intro = fleet.truth.introducing_build
    line = next(ln for ln in section.splitlines() if ln.startswith(fleet.truth.culprit + " "))
    assert f"(build {intro}) and later, on none of" in line
    assert line.rstrip().endswith(f"{fleet.truth.introducing_release} ({intro})")
