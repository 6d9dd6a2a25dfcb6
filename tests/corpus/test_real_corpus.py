"""The real ESX corpus, scored: every case's files go to ``lostbeat analyze --json`` as loose
inputs, as a support engineer would give them, and every key of the case's ``expect`` is
compared with the document (``benchmarks/real.py`` says how). Cases are what real people
published (tests/corpus/real/README.md); more of the same kinds are kept apart and scored at
every review, so the target is a share of cases, not each case: at least 95 % entirely right.

An input the analysis skips must not be an ESX artifact, and none of the corpus's is; a case
without a crash must come out with no critical finding.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parents[2] / "benchmarks"))

import real  # noqa: E402

REAL = Path(__file__).parent / "real"
TARGET = 0.95
NAMES = sorted(p.name for p in REAL.iterdir() if (p / "case.json").is_file())


@pytest.fixture(scope="module")
def scored() -> dict[str, real.RealCase]:
    return {case.name: case for case in real.score_real(REAL)}


def test_at_least_95_percent_of_the_cases_are_entirely_right(scored):
    right = sum(case.right for case in scored.values())
    share = right / len(scored)
    misses = "\n".join(real.misses(scored.values()))
    assert share >= TARGET, f"{right}/{len(scored)} = {share:.1%} entirely right:\n{misses}"


@pytest.mark.parametrize("name", NAMES)
def test_every_input_is_read(scored, name):
    case = scored[name]
    assert case.error is None, case.error
    assert case.unread == (), case.unread


NO_CRASH = [n for n in NAMES if real.expected(REAL / n)["crash.type"] == "none"]


@pytest.mark.parametrize("name", NO_CRASH)
def test_no_crash_has_no_critical_finding(name):
    files = sorted(p for p in (REAL / name).iterdir() if p.is_file() and p.name != "case.json")
    status, doc, _ = real.analyze_json(files)
    assert status == 0 and doc is not None
    critical = [f["id"] for f in doc["findings"] if f["severity"] == "critical"]
    assert critical == [], critical
