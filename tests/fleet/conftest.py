"""Fixtures shared by the fleet tests."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from lostbeat.fleet.discover import discover
from lostbeat.fleet.model import BundleResult
from lostbeat.fleet.runner import run_local
from lostbeat.scenarios.fleet import GeneratedFleet, generate_fleet
from tests.fleet.helpers import make_fleet

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
def build_fleet(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[GeneratedFleet, list[BundleResult]]:
    fleet = generate_fleet("build", tmp_path_factory.mktemp("build-fleet"), seed=5, hosts=36)
    return fleet, run_local(discover([fleet.cases]).incidents, workers=2)


@pytest.fixture(scope="session")
def agent_fleet(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[GeneratedFleet, list[BundleResult]]:
    fleet = generate_fleet("agent", tmp_path_factory.mktemp("agent-fleet"), seed=3, hosts=36)
    return fleet, run_local(discover([fleet.cases]).incidents, workers=2)
