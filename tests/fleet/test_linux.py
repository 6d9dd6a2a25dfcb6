"""Folders of loose Linux evidence (real texts from tests/corpus/real-linux) beside
vm-support bundles: one incident per host folder, through the local pool."""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

from lostbeat.analyzer.engine import analyze
from lostbeat.fleet.discover import IncidentKind, discover
from lostbeat.fleet.model import BundleResult, compact_document
from lostbeat.fleet.runner import analyze_incident
from tests.fleet.helpers import LINUX_HOSTS, REAL_LINUX, linux_key


def test_each_host_folder_is_one_incident_and_the_bundles_are_as_before(
    mixed_tree: Path, fleet_dir: Path
) -> None:
    found = discover([mixed_tree])
    assert found.ignored == () and found.unreadable == ()
    by_key = {i.key: i for i in found.incidents}
    for host, (files, _) in LINUX_HOSTS.items():
        folder = mixed_tree / "linux" / host
        incident = by_key[linux_key(folder.parent, host)]
        if incident.key != str(folder):  # a sosreport, and the note beside it
            packed = incident.key.endswith(".tar.xz")
            assert incident.kind is (IncidentKind.ARCHIVE if packed else IncidentKind.BUNDLE_DIR)
            assert incident.paths == (incident.key, str(folder / "ticket.txt"))
        else:
            assert incident.kind is IncidentKind.HOST_FOLDER
            assert incident.paths == tuple(str(folder / name) for name in sorted(files))
    assert len(found.incidents) == len(LINUX_HOSTS) + 4
    # the ESX cases are the incidents they are on their own
    alone = discover([fleet_dir]).incidents
    esx = [i for i in found.incidents if i.key.startswith(str(mixed_tree / "esx"))]
    moved = str(mixed_tree / "esx")
    assert [(i.kind, i.paths) for i in esx] == [
        (i.kind, tuple(p.replace(str(fleet_dir), moved) for p in i.paths)) for i in alone
    ]


def test_the_local_pool_gives_each_host_its_crash_type(
    mixed_tree: Path, mixed_local: list[BundleResult]
) -> None:
    linux = [r for r in mixed_local if r.key.startswith(str(mixed_tree / "linux"))]
    assert sorted(r.host for r in linux if r.host) == sorted(LINUX_HOSTS)
    for r in linux:
        assert r.host is not None and r.ok, r.error
        assert r.key == linux_key(mixed_tree / "linux", r.host)
        assert r.verdict is not None and r.verdict.crash_type == LINUX_HOSTS[r.host][1]
        # what `lostbeat analyze` makes of the same paths, named after the folder when the
        # evidence names no host (a sosreport's host is in its top folder's name)
        expected = analyze(r.paths)
        assert expected.host is None or expected.host == r.host
        assert r.document == compact_document(replace(expected, host=r.host))
    esx = [r for r in mixed_local if r.key.startswith(str(mixed_tree / "esx"))]
    assert [r.ok for r in esx] == [True, True, True, False]
    for r in esx[:3]:
        assert r.document == compact_document(analyze(r.paths))
    assert len(mixed_local) == len(linux) + len(esx)


def test_a_host_folder_is_named_after_itself_only_when_its_evidence_names_no_host(
    tmp_path: Path,
) -> None:
    linux = REAL_LINUX / "015-oom-allocating-task-bystanders-centos7" / "messages"
    # an ESX Service Console's messages, whose lines name their host (vsphere5)
    named = REAL_LINUX.parent / "real" / "051-esx40-messages-vmkernel-error-quoted" / "messages"
    for folder, source in (("db7", linux), ("esx-folder", named)):
        (tmp_path / folder).mkdir()
        os.link(source, tmp_path / folder / "messages")
    one, other = discover([tmp_path]).incidents
    assert (one.kind, other.kind) == (IncidentKind.HOST_FOLDER, IncidentKind.HOST_FOLDER)
    assert analyze(one.paths).host is None and analyze_incident(one).host == "db7"
    assert analyze_incident(other).host == analyze(other.paths).host == "vsphere5"
