"""The real-Linux corpus scored: every case's files analysed as loose inputs, every key of its
``expect`` compared with the JSON document (tests/corpus/real-linux/README.md).

A case is right when every key is. ``benchmarks/accuracy.py --real tests/corpus/real-linux``
prints the table; ``tests/corpus/test_real_linux_corpus.py`` asserts it case by case.

Usage::

    .venv/bin/python benchmarks/real_linux.py [FOLDER]
"""

from __future__ import annotations

import json
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from answers import agrees, observed  # noqa: E402

from lostbeat.analyzer.engine import analyze  # noqa: E402
from lostbeat.errors import LostbeatError  # noqa: E402
from lostbeat.report.jsonout import to_document  # noqa: E402

CORPUS = Path(__file__).resolve().parent.parent / "tests" / "corpus" / "real-linux"
TARGET = 0.95
"""Share of cases entirely right (issue 17)."""


@dataclass(frozen=True, slots=True)
class CaseScore:
    case: str
    expect: dict[str, Any]
    got: dict[str, Any]
    seconds: float
    misses: dict[str, tuple[Any, Any]] = field(default_factory=dict)

    @property
    def right(self) -> bool:
        return not self.misses


def cases(folder: Path = CORPUS) -> list[Path]:
    return sorted(p for p in folder.iterdir() if (p / "case.json").is_file())


def score_case(case: Path) -> CaseScore:
    """Analyse one case's files as loose inputs and compare every expected key."""
    expect = json.loads((case / "case.json").read_text(encoding="utf-8"))["expect"]
    files = sorted(str(p) for p in case.iterdir() if p.is_file() and p.name != "case.json")
    start = time.perf_counter()
    try:
        doc = to_document(analyze(files))
    except LostbeatError as e:  # no file read as evidence: every key missed, the rest scored
        seconds = time.perf_counter() - start
        return CaseScore(
            case.name, expect, {}, seconds, {k: (v, str(e)) for k, v in expect.items()}
        )
    seconds = time.perf_counter() - start
    got = {key: observed(doc, key) for key in expect}
    misses = {k: (v, got[k]) for k, v in expect.items() if not agrees(k, v, got[k])}
    return CaseScore(case.name, expect, got, seconds, misses)


def score_folder(folder: Path = CORPUS) -> list[CaseScore]:
    return [score_case(case) for case in cases(folder)]


def report(folder: Path = CORPUS) -> float:
    """Print the corpus's scores (cases right, then each key) and the cases missed; the
    share of cases right."""
    scores = score_folder(folder)
    right = sum(s.right for s in scores)
    share = right / max(len(scores), 1)
    per_key: Counter[str] = Counter()
    per_key_right: Counter[str] = Counter()
    for s in scores:
        for key in s.expect:
            per_key[key] += 1
            per_key_right[key] += key not in s.misses
    mark = "meets" if share >= TARGET else "below"
    print(f"real-linux ({folder}): {right}/{len(scores)} cases entirely right = "
          f"{100 * share:.1f} % ({mark} the {100 * TARGET:.0f} % target)")  # fmt: skip
    print(f"{'key':<20} {'right':>9}")
    for key in sorted(per_key):
        print(f"{key:<20} {per_key_right[key]:>4}/{per_key[key]:<4}")
    by_type: Counter[str] = Counter(str(s.expect["crash.type"]) for s in scores)
    by_type_right: Counter[str] = Counter(str(s.expect["crash.type"]) for s in scores if s.right)
    print(f"{'crash.type':<20} {'cases right':>12}")
    for kind in sorted(by_type):
        n, ok = by_type[kind], by_type_right[kind]
        print(f"{kind:<20} {ok:>4}/{n:<4} {100 * ok / n:5.1f} %")
    for s in scores:
        if not s.right:
            wrong = ", ".join(f"{k}: want {w!r}, got {g!r}" for k, (w, g) in s.misses.items())
            print(f"  miss {s.case}: {wrong}")
    slow = max(scores, key=lambda s: s.seconds) if scores else None
    if slow is not None:
        print(f"slowest case {slow.case}: {1000 * slow.seconds:.0f} ms")
    return share


if __name__ == "__main__":
    report(Path(sys.argv[1]) if len(sys.argv) > 1 else CORPUS)
