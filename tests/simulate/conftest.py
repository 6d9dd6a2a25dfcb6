"""Fixtures of the simulate tests: the host's controllers and a real group, always removed."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from lostbeat.simulate import cgroups
from tests.simulate.helpers import MIB, need_memory_cgroup


@pytest.fixture
def controllers() -> cgroups.Controllers:
    return need_memory_cgroup()


@pytest.fixture
def group(controllers: cgroups.Controllers) -> Iterator[cgroups.Domain]:
    """A 64 MiB group named after this test process, always removed."""
    with cgroups.memory_domain(
        controllers, name=f"{cgroups.PREFIX}test-{os.getpid()}", limit_bytes=64 * MIB
    ) as domain:
        yield domain
