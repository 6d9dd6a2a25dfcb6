"""Across seeds the generator varies what real hosts vary."""

from __future__ import annotations

import random

import pytest

from lostbeat.errors import ParseError
from lostbeat.scenarios import Truth
from lostbeat.scenarios.registry import CLASSIC as SCENARIOS
from lostbeat.scenarios.scenarios import BUILDERS


def test_hosts_vary_across_seeds() -> None:
    specs = [
        BUILDERS[name](random.Random(f"{name}:{seed}"), seed)
        for name in ("vmware-leak", "spike", "third-party-leak", "clean-reboot")
        for seed in range(1, 26)
    ]
    hosts = [s.host for s in specs]
    rams = [h.cos_ram_mb for h in hosts]
    assert min(rams) <= 300 and max(rams) >= 700
    assert len({h.swap_mb for h in hosts}) >= 4
    assert len({h.build.number for h in hosts}) >= 6
    assert {h.build.family for h in hosts} == {"3.5", "4.0", "4.1"}
    assert len({h.tz_min for h in hosts}) >= 6
    assert {h.pad_day for h in hosts} == {True, False}
    assert len({h.name for h in hosts}) >= 10
    assert {h.vendor for h in hosts} >= {None, "HP", "Dell", "EMC"}
    assert len({h.vms for h in hosts}) >= 20
    assert {h.core_file.key for h in hosts} == {"/adv/Misc/CosCorefile", "/adv/Misc/CosCoreFile"}
    assert {s.missing for s in specs} >= {0.0, 0.03}


def test_every_scenario_has_a_builder() -> None:
    assert list(BUILDERS) == list(SCENARIOS)
    assert all(SCENARIOS[name] for name in SCENARIOS)


def test_truth_json_rejects_a_broken_document() -> None:
    with pytest.raises(ParseError, match="x/truth.json: expected a lostbeat truth document"):
        Truth.from_json('{"scenario": "spike"}', path="x/truth.json")
    with pytest.raises(ParseError):
        Truth.from_json("not json", path="truth.json")


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_lines_in_time_order_and_boot_events_in_order_over_many_seeds(name: str) -> None:
    from lostbeat.scenarios.simulate import simulate

    for seed in range(10, 18):
        rng = random.Random(f"{name}:{seed}")
        timeline = simulate(BUILDERS[name](rng, seed), rng)
        epochs = [line.epoch for line in timeline.lines]
        assert epochs == sorted(epochs), (name, seed)
        kinds = [line.kind for line in timeline.lines]
        for i, kind in enumerate(kinds):
            if kind == "vmkernel_error":
                assert kinds[i - 1] == "starting" and kinds[i + 1] == "loaded", (name, seed)


def test_public_api_is_small_and_sorted() -> None:
    import lostbeat.scenarios as api

    assert api.__all__ == sorted(api.__all__)
    assert set(api.__all__) == {"CaseTruth", "GeneratedCase", "SCENARIOS", "Truth", "generate"}
