"""Scoring an analysis against an answer key in the real corpora's vocabulary (``expect``).

The keys are those of ``tests/corpus/real*/README.md`` (``crash.type``, ``crash.class``,
``crash.suspect_module``, ``crash.build``, ``crash.release``, ``known_issues``,
``crash.reboot``, ``crash.killer``, ``crash.victim``, ``victim_was_grower``,
``root_cause.kind``, ``root_cause.process``, ``incidents``). :func:`observed` reads a key from
the analysis's JSON document; :func:`agrees` compares one key (a release in either spelling,
``ESXi 7.0 Update 1`` or ``ESXi 7.0 U1``; known issues as a set, ``[]`` meaning none may be
claimed); :func:`table` tallies incidents per scenario and key.

    >>> agrees("crash.release", "ESXi 7.0 U1", "ESXi 7.0 Update 1")
    True
    >>> agrees("known_issues", [], ["1009607"])
    False
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

KEYS = (
    "crash.type", "crash.class", "crash.suspect_module", "crash.build", "crash.release",
    "known_issues", "crash.reboot", "crash.killer", "crash.victim", "victim_was_grower",
    "root_cause.kind", "root_cause.process", "incidents",
)  # fmt: skip
COLUMNS = (
    ("type", ("crash.type",)), ("class", ("crash.class",)), ("module", ("crash.suspect_module",)),
    ("build/release", ("crash.build", "crash.release")), ("known issues", ("known_issues",)),
    ("reboot", ("crash.reboot",)), ("killer", ("crash.killer",)), ("victim", ("crash.victim",)),
    ("grower", ("victim_was_grower",)), ("root cause", ("root_cause.kind", "root_cause.process")),
    ("incidents", ("incidents",)),
)  # fmt: skip
"""The answer table's columns and the keys each pools."""


def observed(doc: Mapping[str, Any], key: str) -> Any:
    """The analysis document's answer for ``key``; None where it gives none."""
    crash = doc.get("crash") or {}
    if key == "known_issues":
        return sorted(str(k.get("kb")) for k in doc.get("known_issues") or ())
    if key == "incidents":
        count = len(doc.get("incidents") or ()) + int(doc.get("incidents_more") or 0)
        return max(count, 1 if crash.get("type") not in (None, "none") else 0)
    if key == "victim_was_grower":
        return crash.get("victim_was_grower")
    head, _, leaf = key.partition(".")
    part = doc.get(head) or {}
    return part.get(leaf) if isinstance(part, Mapping) else None


def _release(text: str) -> str:
    text = text.lower().replace("update ", "u")
    text = re.sub(r"(\d+\.\d+)\.0\b", r"\1", text)
    return text.removesuffix(" ga").strip()


def agrees(key: str, want: Any, got: Any) -> bool:
    """Whether the answer ``got`` for ``key`` is the expected ``want``."""
    if key == "known_issues":
        return {str(k) for k in want} == {str(k) for k in got or ()}
    if key == "crash.release":
        return isinstance(got, str) and _release(want) == _release(got)
    return bool(want == got)


def misses(expect: Mapping[str, Any], answer: Mapping[str, Any]) -> dict[str, tuple[Any, Any]]:
    """Key -> (wanted, got) for every key of ``expect`` the answer gets wrong."""
    return {k: (v, answer.get(k)) for k, v in expect.items() if not agrees(k, v, answer.get(k))}


def table(
    rows: Iterable[tuple[str, Mapping[str, Any], Mapping[str, Any]]],
) -> dict[str, dict[str, tuple[int, int]]]:
    """Scenario (and ``overall``) -> column (and ``all``) -> (right, scored), over rows of
    (scenario, expect, answer)."""
    out: dict[str, dict[str, tuple[int, int]]] = {}
    for scenario, expect, answer in rows:
        wrong = misses(expect, answer)
        for group in (scenario, "overall"):
            cells = out.setdefault(group, {})
            hit, n = cells.get("all", (0, 0))
            cells["all"] = (hit + (not wrong), n + 1)
            for column, keys in COLUMNS:
                scored = [k for k in keys if k in expect]
                if scored:
                    hit, n = cells.get(column, (0, 0))
                    cells[column] = (hit + all(k not in wrong for k in scored), n + 1)
    if "overall" in out:
        out["overall"] = out.pop("overall")  # last
    return out


def cell(pair: tuple[int, int] | None) -> str:
    if not pair or not pair[1]:
        return "—"
    return f"{100 * pair[0] / pair[1]:.0f}%"


def markdown(tallies: Mapping[str, Mapping[str, tuple[int, int]]]) -> str:
    """The answer table as Markdown (— where a scenario sets no such key)."""
    head = ["scenario", "n", "all right", *(c for c, _ in COLUMNS)]
    out = ["| " + " | ".join(head) + " |", "| --- |" + " ---: |" * (len(head) - 1)]
    for name, cells in tallies.items():
        n = cells["all"][1]
        row = [name, str(n), cell(cells["all"]), *(cell(cells.get(c)) for c, _ in COLUMNS)]
        out.append("| " + " | ".join(row) + " |")
    return "\n".join(out) + "\n"
