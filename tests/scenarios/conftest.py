"""Generated incidents shared by the scenario tests: every ESX 3.x/4.x bundle scenario, two seeds
each (the other families have their own tests: test_forms.py, test_linux.py)."""

from __future__ import annotations

import pytest

from lostbeat.scenarios import GeneratedCase, generate
from lostbeat.scenarios.registry import CLASSIC as SCENARIOS

SEEDS = (1, 2)


@pytest.fixture(scope="session")
def cases(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, int], GeneratedCase]:
    root = tmp_path_factory.mktemp("scenarios")
    return {
        (name, seed): generate(name, root / f"{name}-{seed}", seed=seed)
        for name in SCENARIOS
        for seed in SEEDS
    }


@pytest.fixture(scope="session")
def article(tmp_path_factory: pytest.TempPathFactory) -> GeneratedCase:
    return generate("vmware-leak", tmp_path_factory.mktemp("article"), seed=0)


def case_ids() -> list[tuple[str, int]]:
    return [(name, seed) for name in SCENARIOS for seed in SEEDS]


def case_id(key: tuple[str, int]) -> str:
    return f"{key[0]}-{key[1]}"


@pytest.fixture(scope="session")
def esx_cases(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, int], GeneratedCase]:
    from tests.scenarios.loose import ESX_SCENARIOS, make

    return make(tmp_path_factory.mktemp("esx"), ESX_SCENARIOS)


@pytest.fixture(scope="session")
def linux_cases(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, int], GeneratedCase]:
    from tests.scenarios.loose import LINUX_SCENARIOS, make

    return make(tmp_path_factory.mktemp("linux"), LINUX_SCENARIOS)
