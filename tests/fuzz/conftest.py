"""The fuzz suite's seed corpus, its hypothesis settings, and the count it prints at the end.

Run it alone with ``.venv/bin/pytest -W error tests/fuzz``; ``LOSTBEAT_FUZZ_SCALE=10`` makes
every count ten times larger for a longer local run. The last lines of the terminal summary
read ``fuzz: N inputs, M parsers, F failures`` (tests/conftest.py prints them, summed over the
xdist workers).
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from tests.fuzz.corpus import Corpus, build
from tests.fuzz.harness import SCALE

FUZZ = settings(
    derandomize=True,  # the same examples on every run: CI is reproducible
    database=None,  # and nothing is remembered between runs
    deadline=timedelta(seconds=2),  # a hang bound per example, far above the usual milliseconds
    max_examples=max(1, int(400 * SCALE)),
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    print_blob=True,
)
"""The one settings profile of the hypothesis tests in tests/fuzz (each applies it with
``@FUZZ``; it is also registered, as ``lostbeat-fuzz``, for ``--hypothesis-profile``)."""
settings.register_profile("lostbeat-fuzz", FUZZ)


@pytest.fixture(scope="session")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Corpus:
    return build(tmp_path_factory.mktemp("fuzz-corpus"))


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.fuzz)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "fuzz: a test of the fuzz suite (tests/fuzz)")
