"""Fixtures shared by the fleet tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.fleet.helpers import make_fleet


@pytest.fixture(scope="session")
def fleet_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Three generated incidents (one case folder each) and a .tgz of random bytes."""
    return make_fleet(tmp_path_factory.mktemp("fleet"))
