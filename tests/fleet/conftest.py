"""Fixtures shared by the fleet tests."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from lostbeat.fleet.discover import discover
from lostbeat.fleet.model import BundleResult
from lostbeat.fleet.runner import run_local
from lostbeat.scenarios.fleet import GeneratedFleet, generate_fleet
from tests.fleet.helpers import make_fleet, make_linux_hosts

COUNT = 60


@pytest.fixture(scope="session")
def fleet_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Three generated incidents (one case folder each) and a .tgz of random bytes."""
    return make_fleet(tmp_path_factory.mktemp("fleet"))


@pytest.fixture(scope="session")
def many(fleet_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """60 case folders, hard links to the three generated incidents: 60 incidents."""
    root = tmp_path_factory.mktemp("many")
    sources = [p for p in sorted(fleet_dir.iterdir()) if p.name != "broken"]
    for i in range(COUNT):
        case = root / f"case{i:03d}"
        case.mkdir()
        for f in sources[i % len(sources)].iterdir():
            os.link(f, case / f.name)
    return root


@pytest.fixture(scope="session")
def mixed_tree(fleet_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``esx/``: the generated incidents and the broken archive (hard links); ``linux/``: a
    folder per Linux host of real texts (``helpers.LINUX_HOSTS``)."""
    root = tmp_path_factory.mktemp("mixed")
    for case in sorted(fleet_dir.iterdir()):
        (root / "esx" / case.name).mkdir(parents=True)
        for f in case.iterdir():
            os.link(f, root / "esx" / case.name / f.name)
    make_linux_hosts(root)
    return root


@pytest.fixture(scope="session")
def mixed_local(mixed_tree: Path) -> list[BundleResult]:
    """The mixed tree through the local pool (2 workers)."""
    return run_local(discover([mixed_tree]).incidents, workers=2)


def analysed_fleet(
    kind: str, seed: int, factory: pytest.TempPathFactory
) -> tuple[GeneratedFleet, list[BundleResult]]:
    """A generated fleet of 36 hosts and its analysis (local pool, 2 workers)."""
    fleet = generate_fleet(kind, factory.mktemp(f"{kind}-fleet"), seed=seed, hosts=36)
    return fleet, run_local(discover([fleet.cases]).incidents, workers=2)


@pytest.fixture(scope="session")
def build_fleet(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[GeneratedFleet, list[BundleResult]]:
    """A culprit leaking from one build on."""
    return analysed_fleet("build", 5, tmp_path_factory)


@pytest.fixture(scope="session")
def agent_fleet(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[GeneratedFleet, list[BundleResult]]:
    """An agent leaking with one version only."""
    return analysed_fleet("agent", 3, tmp_path_factory)
