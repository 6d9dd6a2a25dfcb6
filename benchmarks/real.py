"""Accuracy on a corpus of real incidents: ``score_real(folder)``, used by ``accuracy.py --real``
and by ``tests/corpus/test_real_corpus.py``.

A corpus folder holds one folder a case (``tests/corpus/real/README.md``): the artifact files a
support engineer was given, copied verbatim, and a ``case.json`` whose ``expect`` says what the
analysis must find (``crash.type``, ``crash.class``, ``crash.suspect_module``, ``crash.build``,
``crash.release``, ``crash.reboot``, ``known_issues``, ``root_cause.kind``,
``root_cause.process``). Each case's files go to ``lostbeat analyze --json`` as loose inputs,
as a user would give them, and every key of ``expect`` is compared with the document:

- ``crash.release`` is compared with ``Update N`` and ``UN`` taken as the same words, and
  ``GA`` as no words (``ESXi 8.0 GA`` is ``ESXi 8.0``);
- ``known_issues``: every KB the source names must be reported, and every reported issue must
  be one of them (an issue's legacy numbers, ``aliases``, count as its own);
- any other key: the document's value, exactly.

A case is right when every key is; inputs the analysis skipped or found broken are listed.
"""

from __future__ import annotations

import contextlib
import io
import json
from collections.abc import Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = [
    "KEYS",
    "Check",
    "RealCase",
    "analyze_json",
    "expected",
    "markdown_real",
    "misses",
    "print_real",
    "run_case",
    "score_real",
]

KEYS = (
    "crash.type",
    "crash.class",
    "crash.suspect_module",
    "crash.build",
    "crash.release",
    "crash.reboot",
    "known_issues",
    "root_cause.kind",
    "root_cause.process",
)


@dataclass(frozen=True, slots=True)
class Check:
    key: str
    want: Any
    got: Any
    ok: bool


@dataclass(frozen=True, slots=True)
class RealCase:
    name: str
    expected_class: str
    checks: tuple[Check, ...]
    unread: tuple[str, ...] = ()
    """Inputs the analysis skipped or found broken: ``path: status (reason)``."""
    error: str | None = None

    @property
    def right(self) -> bool:
        return self.error is None and all(c.ok for c in self.checks)


def _release(name: object) -> str:
    text = str(name or "").lower().replace("update ", "u")
    return " ".join(w for w in text.split() if w != "ga")


def _issues_ok(want: Sequence[str], reported: Sequence[dict[str, Any]]) -> bool:
    names = [{str(r.get("kb")), *(str(a) for a in r.get("aliases") or ())} for r in reported]
    covered = all(any(kb in n for n in names) for kb in want)
    return covered and all(n & set(want) for n in names)


def _got(doc: dict[str, Any], key: str) -> Any:
    if key == "known_issues":
        return doc.get("known_issues") or []
    section, _, field = key.partition(".")
    return (doc.get(section) or {}).get(field)


def _check(key: str, want: Any, doc: dict[str, Any]) -> Check:
    got = _got(doc, key)
    if key == "known_issues":
        shown = sorted(str(r.get("kb")) for r in got)
        return Check(key, want, shown, _issues_ok(want, got))
    if key == "crash.release":
        return Check(key, want, got, _release(want) == _release(got))
    return Check(key, want, got, want == got)


def analyze_json(paths: Sequence[Path]) -> tuple[int, dict[str, Any] | None, str]:
    """``lostbeat analyze --json PATH...`` in this process: (exit status, document, stderr)."""
    from lostbeat.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = main(["analyze", "--json", *(str(p) for p in paths)])
    text = out.getvalue()
    return status, (json.loads(text) if status == 0 and text.strip() else None), err.getvalue()


def expected(folder: Path) -> dict[str, Any]:
    """A case's ``expect``."""
    data = json.loads((folder / "case.json").read_text(encoding="utf-8"))
    found: dict[str, Any] = data["expect"]
    return found


def run_case(folder: Path) -> RealCase:
    """Analyse one case's files and compare the document with its ``expect``."""
    expect = expected(folder)
    files = sorted(p for p in folder.iterdir() if p.is_file() and p.name != "case.json")
    wanted_class = str(expect.get("crash.class", "unknown"))
    try:
        status, doc, err = analyze_json(files)
    except Exception as exc:  # an analyzer crash is a wrong answer, not a stop
        return RealCase(folder.name, wanted_class, (), error=f"{type(exc).__name__}: {exc}")
    if doc is None:
        return RealCase(folder.name, wanted_class, (), error=f"exit {status}: {err.strip()}")
    checks = tuple(_check(key, expect[key], doc) for key in KEYS if key in expect)
    unread = tuple(
        f"{Path(r['path']).name}: {r['status']} ({r.get('reason', '')})"
        for r in doc.get("inputs") or ()
        if r.get("status") != "read"
    )
    return RealCase(folder.name, wanted_class, checks, unread)


def score_real(corpus: Path, *, jobs: int = 1) -> list[RealCase]:
    """Every case of a corpus folder, analysed and compared, in folder order."""
    folders = sorted(p for p in corpus.iterdir() if (p / "case.json").is_file())
    if jobs > 1:
        with ProcessPoolExecutor(max_workers=jobs) as pool:
            return list(pool.map(run_case, folders))
    return [run_case(f) for f in folders]


def _share(cases: Iterable[RealCase]) -> tuple[int, int]:
    group = list(cases)
    return sum(c.right for c in group), len(group)


def _rows(cases: list[RealCase]) -> list[tuple[str, int, int]]:
    """(label, right, total): overall, per expected class, per expected key."""
    rows = [("all cases entirely right", *_share(cases))]
    for cls in sorted({c.expected_class for c in cases}):
        rows.append((f"class {cls}", *_share(c for c in cases if c.expected_class == cls)))
    for key in KEYS:
        checks = [ch for c in cases for ch in c.checks if ch.key == key]
        if checks:
            rows.append((f"key {key}", sum(ch.ok for ch in checks), len(checks)))
    return rows


def _pct(right: int, total: int) -> str:
    return f"{100 * right / total:.1f}%" if total else "—"


def misses(cases: Iterable[RealCase]) -> list[str]:
    """One line per case not entirely right, and per case with an input left unread."""
    out = []
    for c in cases:
        if c.error:
            out.append(f"{c.name}: {c.error}")
            continue
        wrong = [f"{ch.key} want {ch.want!r} got {ch.got!r}" for ch in c.checks if not ch.ok]
        if wrong:
            out.append(f"{c.name}: " + "; ".join(wrong))
        out.extend(f"{c.name}: not read: {u}" for u in c.unread)
    return out


def print_real(cases: list[RealCase], *, generated: float | None = None) -> dict[str, object]:
    """Print the real corpus's table (and the generated corpus's figure beside it)."""
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"real corpus ({len(cases)} cases)", title_justify="left")
    for column in ("", "right", "cases", "accuracy"):
        table.add_column(column, justify="left" if not column else "right")
    figures: dict[str, object] = {}
    for label, right, total in _rows(cases):
        table.add_row(label, str(right), str(total), _pct(right, total))
        figures[label] = right / total if total else None
    if generated is not None:
        table.add_row("generated corpus, worst round", "", "", f"{100 * generated:.1f}%")
        figures["generated"] = generated
    console = Console(width=110)
    console.print(table)
    for line in misses(cases):
        console.print(f"  miss {line}", highlight=False, soft_wrap=True)
    return figures


def markdown_real(cases: list[RealCase], *, generated: float | None = None) -> str:
    """The real corpus's table as Markdown, for docs/benchmarks.md."""
    out = ["| | right | cases | accuracy |", "| --- | ---: | ---: | ---: |"]
    for label, right, total in _rows(cases):
        out.append(f"| {label} | {right} | {total} | {_pct(right, total)} |")
    if generated is not None:
        out.append(f"| generated corpus, worst round | | | {100 * generated:.1f}% |")
    return "\n".join(out) + "\n"
