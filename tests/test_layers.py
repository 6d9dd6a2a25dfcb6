"""The import direction of the layers, checked on the source (AST), and the agent's
standard-library-only rule: agent -> recording <- analyzer <- fleet; reports read only the
analyzer's result types; the scenario generator never reads the analyzer (its ground truth must
be independent of what it tests).
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "lostbeat"

FORBIDDEN = {
    "agent": (
        "lostbeat.analyzer",
        "lostbeat.report",
        "lostbeat.fleet",
        "lostbeat.scenarios",
        "lostbeat.recorder",
    ),
    "recording": (
        "lostbeat.agent",
        "lostbeat.analyzer",
        "lostbeat.report",
        "lostbeat.fleet",
        "lostbeat.recorder",
    ),
    "analyzer": (
        "lostbeat.agent",
        "lostbeat.report",
        "lostbeat.fleet",
        "lostbeat.scenarios",
        "lostbeat.recorder",
    ),
    "report": (
        "lostbeat.agent",
        "lostbeat.fleet",
        "lostbeat.recording",
        "lostbeat.recorder",
        "lostbeat.analyzer.engine",
        "lostbeat.analyzer.parsers",
        "lostbeat.analyzer.rules",
        "lostbeat.analyzer.sources",
    ),
    # the generator may share the result's enums, never the analyzer's logic or tables
    "scenarios": (
        "lostbeat.analyzer.engine",
        "lostbeat.analyzer.parsers",
        "lostbeat.analyzer.rules",
        "lostbeat.analyzer.facts",
        "lostbeat.analyzer.catalog",
        "lostbeat.analyzer.builds",
        "lostbeat.analyzer.trend",
        "lostbeat.analyzer.sources",
        "lostbeat.report",
        "lostbeat.fleet",
        "lostbeat.agent",
    ),
}


def imports_of(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def modules(package: str) -> list[Path]:
    base = ROOT / package
    return sorted(base.rglob("*.py")) if base.is_dir() else []


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_layers_import_only_downward(package: str) -> None:
    bad = [
        f"{path.relative_to(ROOT.parent)} imports {name}"
        for path in modules(package)
        for name in imports_of(path)
        if any(name == f or name.startswith(f + ".") for f in FORBIDDEN[package])
    ]
    assert bad == []


def test_agent_and_heartbeat_library_are_standard_library_only() -> None:
    paths = modules("agent") + [ROOT / "heartbeat.py"]
    paths = [p for p in paths if p.exists()]
    assert paths, "the agent package is missing"
    allowed = set(sys.stdlib_module_names) | {"lostbeat"}
    bad = [
        f"{path.relative_to(ROOT.parent)} imports {name}"
        for path in paths
        for name in imports_of(path)
        if name.split(".")[0] not in allowed
        or (
            name.startswith("lostbeat.")
            and not name.startswith(
                ("lostbeat.agent", "lostbeat.errors", "lostbeat.heartbeat", "lostbeat.recording")
            )
        )
    ]
    assert bad == []
