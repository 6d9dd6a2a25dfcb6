"""The build table (lostbeat/analyzer/builds.py) against docs/reference/esx-builds.md."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from lostbeat.analyzer import builds
from lostbeat.analyzer.builds import BUILDS, release_of

REFERENCE = Path(__file__).parents[2] / "docs" / "reference" / "esx-builds.md"
# a row of the reference's ESXi tables: | build | name | date | sources | mark |
ROW = re.compile(r"^\| (\d{6,8}) \| (ESXi [^|]+?) \| [^|]* \| ([^|]+) \| (verified[^|]*) \|$")


def _reference_rows() -> list[tuple[int, str]]:
    rows = []
    for line in REFERENCE.read_text(encoding="utf-8").splitlines():
        if m := ROW.match(line):
            rows.append((int(m[1]), m[2]))
    return rows


def test_every_verified_esxi_row_of_the_reference_is_in_the_table():
    rows = _reference_rows()
    assert len(rows) > 60
    missing = [(b, name) for b, name in rows if b not in BUILDS]
    assert missing == []


@pytest.mark.parametrize(
    ("build", "line", "name"),
    [
        (24022510, (8, 0), "ESXi 8.0 Update 3"),
        (24674464, (8, 0), "ESXi 8.0 Update 3e"),
        (21203435, (8, 0), "ESXi 8.0b"),
        (16850804, (7, 0), "ESXi 7.0 Update 1"),
        (22348816, (7, 0), "ESXi 7.0 Update 3o"),
        (14320388, (6, 7), "ESXi 6.7 Update 3"),
        (799733, (5, 1), "ESXi 5.1 GA"),
        (208167, (4, 0), "ESX 4.0 Update 1"),
        (261974, (4, 0), "ESX 4.0 Update 2"),  # above 4.1 GA (260247), not a 4.1 patch
    ],
)
def test_exact_builds(build, line, name):
    release = release_of(build)
    assert release is not None and (release.version, release.name) == (line, name)
    assert release.source and release.verified and not release.patched


def test_a_patch_is_placed_on_the_nearest_lower_release_of_its_line():
    release = release_of(24800000)  # past 8.0 Update 3e: only 8.0's span holds it
    assert release is not None and release.name == "ESXi 8.0 Update 3e (patched)"
    assert release.patched and not release.verified and "24674464" in release.source
    # 6.5, 6.7 and 7.0 patches overlap: the line settles it
    assert release_of(19300000) is None
    assert release_of(19300000, version=(7, 0)).name == "ESXi 7.0 Update 2e (patched)"
    assert release_of(702118, version=(5, 0)).name == "ESXi 5.0 Update 1 (patched)"
    assert release_of(702118) is None  # 4.0, 4.1 and 5.0 all span it: the line must say


def test_the_product_of_a_4x_build_is_the_hosts():
    assert release_of(702113, product="ESXi").name == "ESXi 4.1 Express Patch 2"
    assert release_of(702113).name == "ESX 4.1 Express Patch 2"
    assert release_of(24022510, product="ESX").product == "ESXi"  # 5.x and later: ESXi


def test_es_35_rows_are_marked_unverified():
    assert all(not r.verified for r in BUILDS.values() if r.version == (3, 5))
    assert all(r.source for r in BUILDS.values())
    assert builds.release_of(None) is None
