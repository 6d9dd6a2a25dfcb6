from __future__ import annotations

import tarfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lostbeat.analyzer.engine import analyze
from lostbeat.analyzer.parsers.packages import (
    MAX_PACKAGES,
    looks_like_packages,
    parse_packages,
    split_nvr,
)
from lostbeat.analyzer.result import HostPackage
from lostbeat.errors import ArtifactMissing, ParseError

LISTING = """\
VMware-esx-3.5.0-153875
VMware-hostd-esx-3.5.0-153875
hp-snmp-agents-8.2.0-164.rhel4
srvadmin-omacore-5.5.0-364
openssh-server-3.9p1-11.el4_7.i386
glibc-2.3.4-2.41.i686
glibc-2.3.4-2.41.i386
naviagentcli-6.26.5.0.95-1
"""


def test_listing(tmp_path: Path) -> None:
    file = tmp_path / "rpm.txt"
    file.write_text(LISTING, encoding="utf-8")
    with open(file, encoding="utf-8") as f:
        listing = parse_packages(f, path="tmp/rpm.4711.txt")
    assert listing.problems == ()
    assert listing.packages == (
        HostPackage("VMware-esx", "3.5.0", "153875", "VMware"),
        HostPackage("VMware-hostd-esx", "3.5.0", "153875", "VMware"),
        HostPackage("hp-snmp-agents", "8.2.0", "164.rhel4", "HP"),
        HostPackage("srvadmin-omacore", "5.5.0", "364", "Dell"),
        HostPackage("openssh-server", "3.9p1", "11.el4_7", None),
        HostPackage("glibc", "2.3.4", "2.41", None),  # i686 and i386: one package
        HostPackage("naviagentcli", "6.26.5.0.95", "1", "EMC"),
    )
    assert listing.packages[2].full_version == "8.2.0-164.rhel4"


@pytest.mark.parametrize("lines", [[], ["\n", "   \n"]])
def test_empty_is_missing(lines: list[str]) -> None:
    with pytest.raises(ArtifactMissing) as err:
        parse_packages(lines, path="tmp/rpm.4711.txt")
    assert err.value.artifact == "packages"


def test_malformed_lines_are_problems_and_the_rest_counts() -> None:
    listing = parse_packages(
        ["warning: rpmdb: lock table is out of available locker entries", "glibc-2.3.4-2.41"],
        path="tmp/rpm.4711.txt",
    )
    assert [p.name for p in listing.packages] == ["glibc"]
    (problem,) = listing.problems
    assert problem.line_no == 1
    assert str(problem).startswith("tmp/rpm.4711.txt:1: expected an rpm -qa line")


def test_nothing_readable_is_a_parse_error_naming_the_first_line() -> None:
    with pytest.raises(ParseError) as err:
        parse_packages(["", "total 12", "drwxr-xr-x 2 root root"], path="tmp/rpm.4711.txt")
    assert err.value.line_no == 2


def test_the_bound_counts_packages_kept() -> None:
    lines = [f"pkg{i}-1.0-1" for i in range(MAX_PACKAGES + 5)]
    listing = parse_packages(lines, path="x")
    assert len(listing.packages) == MAX_PACKAGES
    assert str(listing.problems[-1]).startswith(f"x:{MAX_PACKAGES + 1}: more than")


def test_names_with_dashes_and_arches() -> None:
    assert split_nvr("VMware-esx-apps-3.5.0-64607") == ("VMware-esx-apps", "3.5.0", "64607", None)
    assert split_nvr("kernel-2.6.18-164.el5.x86_64") == ("kernel", "2.6.18", "164.el5", "x86_64")
    assert split_nvr("no version here") is None
    assert split_nvr("glibc-2.3.4") is None  # no release


def test_sniffer() -> None:
    assert looks_like_packages(LISTING)
    assert not looks_like_packages("glibc-2.3.4-2.41\nbash-3.0-19.2\nzlib-1.2.1-4\n")  # no VMware
    assert not looks_like_packages("VMware-esx-3.5.0-1\nhello world\nzlib-1.2.1-4\n")


@settings(max_examples=200, deadline=None, database=None)
@given(st.lists(st.text(max_size=40)))
def test_arbitrary_text_raises_only_parse_errors(lines: list[str]) -> None:
    try:
        listing = parse_packages(lines, path="x")
    except (ParseError, ArtifactMissing):
        return
    assert listing.packages


def test_the_analysis_carries_the_bundle_packages(tmp_path: Path) -> None:
    from lostbeat.scenarios import generate

    case = generate("third-party-leak", tmp_path, seed=3)
    with tarfile.open(case.bundle) as tar:
        member = next(m for m in tar.getmembers() if "/tmp/rpm." in m.name)
        data = tar.extractfile(member)
        assert data is not None
        listed = data.read().decode().split()
    result = analyze([case.bundle])
    assert [f"{p.name}-{p.full_version}" for p in result.host_packages] == listed
    assert any(p.vendor == "VMware" for p in result.host_packages)
    read = [r for r in result.inputs if r.kind == "packages"]
    assert [r.status.value for r in read] == ["read"]
