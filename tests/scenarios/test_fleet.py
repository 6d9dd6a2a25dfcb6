"""Generated fleets: the truth agrees with the hosts' incidents and with their bundles."""

from __future__ import annotations

import tarfile
from pathlib import Path

import pytest

from lostbeat.errors import InputError
from lostbeat.scenarios import Truth
from lostbeat.scenarios.catalog import BUILDS
from lostbeat.scenarios.fleet import FleetTruth, generate_fleet


def _member(bundle: Path, part: str) -> str:
    with tarfile.open(bundle) as tar:
        member = next(m for m in tar.getmembers() if part in m.name)
        data = tar.extractfile(member)
        assert data is not None
        return data.read().decode()


def _host_truth(root: Path, host: str) -> Truth:
    return Truth.from_json((root / "truth" / f"{host}.json").read_text())


def test_a_build_fleet_leaks_from_its_introducing_build_on(tmp_path: Path) -> None:
    fleet = generate_fleet("build", tmp_path, seed=7, hosts=12)
    truth = fleet.truth
    assert FleetTruth.from_json(fleet.truth_path.read_text()) == truth
    assert truth.introducing_build is not None and truth.line is not None
    intro = BUILDS[truth.introducing_build]
    assert truth.introducing_release == intro.release and intro.family == truth.line
    assert sorted(p.name for p in fleet.cases.iterdir()) == sorted(h.host for h in truth.hosts)
    assert len({h.host for h in truth.hosts}) == 12
    for h in truth.hosts:
        case = _host_truth(tmp_path, h.host)
        assert (case.host, case.build) == (h.host, h.build)
        same_line = BUILDS[h.build].family == truth.line
        if h.leaks:
            assert same_line and h.build >= truth.introducing_build
            assert case.culprit == truth.culprit and case.root_cause_kind.value == "leak"
        else:
            assert truth.culprit not in case.culprits
        bundle = next((fleet.cases / h.host).glob("*.tgz"))
        assert f"build-{h.build}" in _member(bundle, "/tmp/vmware.")
    on_intro = [h for h in truth.hosts if h.build == truth.introducing_build]
    assert len(on_intro) >= 2 and any(h.leaks for h in on_intro)
    before = [h for h in truth.hosts if BUILDS[h.build].family == truth.line]
    assert sum(h.build < truth.introducing_build for h in before) >= 4


def test_an_agent_fleet_leaks_with_one_version(tmp_path: Path) -> None:
    fleet = generate_fleet("agent", tmp_path, seed=4, hosts=10)
    truth = fleet.truth
    assert truth.kind == "agent" and truth.introducing_build is None
    assert truth.package is not None and truth.version is not None
    for h in truth.hosts:
        bundle = next((fleet.cases / h.host).glob("*.tgz"))
        listed = [ln for ln in _member(bundle, "/tmp/rpm.").split() if ln.startswith(truth.package)]
        assert listed == [f"{truth.package}-{h.version}"]
        case = _host_truth(tmp_path, h.host)
        if h.leaks:
            assert h.version == truth.version and case.culprit == truth.culprit
        else:
            assert truth.culprit not in case.culprits
    assert any(h.leaks for h in truth.hosts)
    assert any(h.version != truth.version for h in truth.hosts)


def test_the_same_seed_writes_the_same_fleet(tmp_path: Path) -> None:
    one = generate_fleet("agent", tmp_path / "a", seed=2, hosts=8)
    two = generate_fleet("agent", tmp_path / "b", seed=2, hosts=8)
    assert one.truth == two.truth
    files = sorted(p.relative_to(one.cases) for p in one.cases.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(two.cases) for p in two.cases.rglob("*") if p.is_file())
    assert all((one.cases / f).read_bytes() == (two.cases / f).read_bytes() for f in files)


@pytest.mark.parametrize(
    ("kind", "hosts", "message"),
    [("os", 10, "unknown fleet kind"), ("build", 5, "a fleet needs at least 8 hosts")],
)
def test_bad_requests_are_one_clear_error(
    tmp_path: Path, kind: str, hosts: int, message: str
) -> None:
    with pytest.raises(InputError, match=message):
        generate_fleet(kind, tmp_path, seed=1, hosts=hosts)
    assert list(tmp_path.iterdir()) == []
