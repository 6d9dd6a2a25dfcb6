"""The real corpora, pasted: every case right as published is given again as a web page, a
mail, a word processor or a Windows editor hands it on (``benchmarks/pastes.py``), and must
stay right. What a paste only adds (a byte-order mark, no-break spaces, typographic quotes,
HTML entities, CRLF, indentation, blanks) changes no verdict; a mail's wrap at 76 columns,
which cuts records in two, and a quote or line numbers before every line, which no
reader's forms expect everywhere, change few.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parents[2] / "benchmarks"))

import pastes  # noqa: E402
import real  # noqa: E402

# the share of the cases right as published that each transformation must leave right
FLOOR = {name: 1.0 for name in pastes.TRANSFORMS} | {
    "quote": 0.99,
    "numbered": 0.95,
    "wrapped-76": 0.9,
}


@pytest.fixture(scope="module")
def scored() -> tuple[list[Path], dict[str, list[tuple[str, str]]]]:
    return pastes.score(pastes.CORPORA, list(pastes.TRANSFORMS))


@pytest.mark.parametrize("name", list(pastes.TRANSFORMS))
def test_a_paste_leaves_the_verdicts_right(scored, name):
    right, broken = scored
    assert len(right) >= 100  # the corpora are there, and mostly right as published
    share = 1 - len(broken[name]) / len(right)
    wrong = "\n".join(f"{case}: {why[:300]}" for case, why in broken[name])
    assert share >= FLOOR[name], f"{name}: {share:.1%} still right\n{wrong}"


def test_a_wrapped_kernel_log_is_joined_back_into_its_records(tmp_path):
    case = pastes.CORPORA[1] / "047-softlockup-kswapd1-syslog-3.5"
    wrapped = pastes.pasted(case, tmp_path, "wrapped-76")
    text = next(p for p in wrapped.iterdir() if p.name != "case.json").read_text()
    assert max(len(line) for line in text.splitlines()) <= 76 or " " not in text
    got = real.run_case(wrapped)
    assert got.right, list(real.misses([got]))
    status, doc, _ = real.analyze_json(
        sorted(p for p in wrapped.iterdir() if p.name != "case.json")
    )
    assert status == 0 and doc is not None
    # the evidence is the record's first line, whole: the lines it ran on to are joined
    quoted = [e for f in doc["findings"] for e in f.get("evidence", [])]
    assert any(
        "soft lockup" in e.get("text", "") and "stuck for" in e.get("text", "") for e in quoted
    )
