"""The import direction of the layers, as an allow-list checked on the source (AST).

agent -> recording <- analyzer <- fleet; reports read only the analyzer's result types; the
scenario generator never reads the analyzer's logic or tables (its ground truth must be
independent of what it tests); rules judge neutral facts and never import a platform; the
agent, and the lowest layer it stands on, is standard-library only. Each package and top-level
module of ``lostbeat/`` names what it may import (besides itself and ``lostbeat``'s version);
everything else is forbidden, in every form of import that :mod:`tests.layers` follows.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

from tests.layers import (
    imports_of,
    module_name,
    platform_references,
    source_files,
    unit_of,
    units,
    violations,
)

ROOT = Path(__file__).resolve().parents[1] / "lostbeat"

# The lowest layer: the exception tree, the /proc reader and parsers, the terminal sanitiser.
BASE = ("lostbeat.errors", "lostbeat.procfs", "lostbeat.safetext")
RESULT_TYPES = ("lostbeat.analyzer.findings", "lostbeat.analyzer.result")

ALLOWED: dict[str, tuple[str, ...]] = {
    "lostbeat": (),
    "lostbeat.__main__": ("lostbeat.cli",),
    "lostbeat.cli": ("lostbeat.commands", "lostbeat.errors", "lostbeat.safetext"),
    "lostbeat.errors": (),
    "lostbeat.safetext": (),
    "lostbeat.procfs": ("lostbeat.errors",),
    # the kernel's report headlines, one table for the agent's matcher and the analyzer's scanner
    "lostbeat.kernel_forms": (),
    "lostbeat.heartbeat": ("lostbeat.agent", *BASE),
    "lostbeat.agent": ("lostbeat.heartbeat", "lostbeat.kernel_forms", "lostbeat.recording", *BASE),
    "lostbeat.recording": ("lostbeat.errors",),
    # the agent's kernel log reader, pressure trend and cgroup finder, shared with the monitor
    "lostbeat.recorder": ("lostbeat.agent", "lostbeat.recording", *BASE),
    "lostbeat.analyzer": ("lostbeat.kernel_forms", "lostbeat.recording", *BASE),
    # and the one formatter of figures, so a report writes each number as the findings do
    "lostbeat.report": (*RESULT_TYPES, "lostbeat.analyzer.units", *BASE),
    "lostbeat.fleet": ("lostbeat.analyzer", "lostbeat.recording", "lostbeat.report", *BASE),
    # the generator may share the result's enums, never the analyzer's logic or tables
    "lostbeat.scenarios": (*RESULT_TYPES, *BASE),
    "lostbeat.simulate": ("lostbeat.agent", "lostbeat.analyzer", "lostbeat.recording", *BASE),
    "lostbeat.commands": (
        "lostbeat.agent",
        "lostbeat.analyzer.early",
        "lostbeat.analyzer.engine",
        "lostbeat.analyzer.this_host",  # analyze --this-host: the sources it opens
        *RESULT_TYPES,
        "lostbeat.fleet",
        "lostbeat.recorder",
        "lostbeat.recording",
        "lostbeat.report",
        "lostbeat.scenarios",
        "lostbeat.simulate",
        *BASE,
    ),
}

# Parts of a unit held to less than the unit: a rule judges neutral facts that a platform
# profile made, and never reads a platform's profile.
FORBIDDEN = {"lostbeat.analyzer.rules": ("lostbeat.analyzer.platforms",)}

# A parser reads one platform's artifact; a rule reads the neutral facts built from it.
RULES_NEUTRAL = {
    "lostbeat.analyzer.rules": ("lostbeat.analyzer.platforms", "lostbeat.analyzer.parsers")
}
PLATFORM_WORDS = frozenset({"linux", "esx", "esxi", "platform", "platforms"})
PLATFORM_ATTRIBUTES = frozenset({"captures", "capture", "recording", "recordings", "fine"})

# The protected monitor runs on the standard library only: the agent, and the layers below
# it. (The recording it may write inflates old shards with isal, imported only there.)
STDLIB_ONLY = ("lostbeat", "lostbeat.agent", "lostbeat.heartbeat", "lostbeat.kernel_forms", *BASE)


def test_every_unit_has_an_allow_list() -> None:
    assert units(ROOT) == set(ALLOWED)


@pytest.mark.parametrize("unit", sorted(ALLOWED))
def test_units_import_only_what_they_may(unit: str) -> None:
    found = [str(v) for v in violations(ROOT, ALLOWED) if v.unit == unit]
    assert found == []


def test_rules_import_no_platform_profile() -> None:
    assert [str(v) for v in violations(ROOT, ALLOWED, FORBIDDEN) if v.narrowed] == []


def _rule_files(root: Path) -> list[Path]:
    return source_files(root / "analyzer" / "rules")


def _platform_leaks(root: Path) -> list[str]:
    imports = [str(v) for v in violations(root, ALLOWED, RULES_NEUTRAL) if v.narrowed]
    names = [
        ref
        for path in _rule_files(root)
        for ref in platform_references(path, words=PLATFORM_WORDS, attributes=PLATFORM_ATTRIBUTES)
    ]
    return imports + names


def test_rules_neither_read_a_parser_nor_test_the_platform() -> None:
    assert _rule_files(ROOT), "the rules package is missing"
    assert _platform_leaks(ROOT) == []


def _external(root: Path, unit_names: tuple[str, ...]) -> list[str]:
    allowed = set(sys.stdlib_module_names) | {root.name}
    return [
        f"{path.relative_to(root.parent)}:{imp.line} imports {imp.target}"
        for path in source_files(root)
        if unit_of(module_name(path, root)) in unit_names
        for imp in imports_of(path, root)
        if imp.target.split(".")[0] not in allowed
    ]


def test_agent_and_what_it_may_import_are_standard_library_only() -> None:
    assert (ROOT / "agent").is_dir(), "the agent package is missing"
    assert _external(ROOT, STDLIB_ONLY) == []


# -- the checker itself, on a copy of the tree with forbidden imports planted ------------

PLANTED: list[tuple[str, str, str]] = [
    # (file, line to add, module the checker must report)
    ("report/html.py", "import lostbeat.fleet.runner", "lostbeat.fleet.runner"),
    ("report/terminal.py", "from lostbeat import fleet", "lostbeat.fleet"),
    ("report/jsonout.py", "from lostbeat.analyzer import engine", "lostbeat.analyzer.engine"),
    ("report/plots.py", "from lostbeat.analyzer.facts import HostFacts", "lostbeat.analyzer.facts"),
    ("heartbeat.py", "from . import fleet", "lostbeat.fleet"),
    ("agent/screen.py", "from ..analyzer import engine", "lostbeat.analyzer.engine"),
    ("recording/store.py", "from .. import fleet", "lostbeat.fleet"),
    ("recorder/sampler.py", "from ..report.terminal import render", "lostbeat.report.terminal"),
    (
        "analyzer/rules/memory.py",
        "from ..platforms import linux",
        "lostbeat.analyzer.platforms.linux",
    ),
    (
        "analyzer/rules/crash.py",
        "import lostbeat.analyzer.platforms",
        "lostbeat.analyzer.platforms",
    ),
    ("agent/hbd.py", "importlib.import_module('lostbeat.fleet')", "lostbeat.fleet"),
    ("recording/codec.py", "__import__('lostbeat.analyzer.engine')", "lostbeat.analyzer.engine"),
    (
        "scenarios/truth.py",
        "import_module('.engine', package='lostbeat.analyzer')",
        "lostbeat.analyzer.engine",
    ),
    ("errors.py", "importlib.import_module(f'lostbeat.report.{name}')", "lostbeat.report.*"),
    ("recorder/summary.py", "__import__(f'lostbeat.{name}')", "lostbeat.*"),
    (
        "scenarios/bundle.py",
        "if TYPE_CHECKING:\n    from lostbeat.analyzer.parsers.psod import PsodScreen",
        "lostbeat.analyzer.parsers.psod",
    ),
    (
        "fleet/rollup.py",
        "def later() -> None:\n    from lostbeat.agent import monitor",
        "lostbeat.agent.monitor",
    ),
]


def _plant(root: Path, relative: str, line: str) -> None:
    path = root / relative
    path.write_text(path.read_text(encoding="utf-8") + "\n" + line + "\n", encoding="utf-8")


def _copy(tmp_path: Path) -> Path:
    copy = tmp_path / ROOT.name
    shutil.copytree(ROOT, copy, ignore=shutil.ignore_patterns("__pycache__"))
    (copy / "analyzer" / "platforms").mkdir(exist_ok=True)
    (copy / "analyzer" / "platforms" / "__init__.py").touch()
    return copy


def test_the_checker_reports_every_planted_import(tmp_path: Path) -> None:
    copy = _copy(tmp_path)
    before = {(v.path, v.target) for v in violations(copy, ALLOWED, FORBIDDEN)}
    for relative, line, _ in PLANTED:
        _plant(copy, relative, line)
    (copy / "newpkg").mkdir()
    (copy / "newpkg" / "__init__.py").write_text("import os\n")
    after = {(v.path, v.target) for v in violations(copy, ALLOWED, FORBIDDEN)}
    expected = {(f"lostbeat/{rel}", target) for rel, _, target in PLANTED}
    expected.add(("lostbeat/newpkg/__init__.py", "-"))
    assert after - before == expected


def test_the_checker_reports_planted_platform_tests_and_libraries(tmp_path: Path) -> None:
    copy = _copy(tmp_path)
    leaks_before = set(_platform_leaks(copy))
    external_before = set(_external(copy, STDLIB_ONLY))
    (copy / "analyzer" / "rules" / "neutral.py").write_text(
        "from __future__ import annotations\n\n\n"
        "def judge(facts: object, kind: str) -> bool:\n"
        "    return kind == 'x'\n"
    )
    assert set(_platform_leaks(copy)) == leaks_before
    _plant(copy, "analyzer/rules/neutral.py", "def _linux_steps() -> None: ...")
    _plant(copy, "analyzer/rules/neutral.py", "def f(facts): return facts.captures")
    _plant(copy, "analyzer/rules/neutral.py", "def g(kind): return kind == 'esx'")
    _plant(copy, "analyzer/rules/neutral.py", "from lostbeat.analyzer.parsers.psod import Psod")
    _plant(copy, "agent/screen.py", "import rich.console")
    _plant(copy, "procfs/__init__.py" if (copy / "procfs").is_dir() else "errors.py", "import yaml")
    leaks = set(_platform_leaks(copy)) - leaks_before
    assert {leak.split(" ")[-1] for leak in leaks if leak.startswith("neutral.py")} == {
        "_linux_steps",
        "captures",
        "esx",
    }
    assert any("lostbeat.analyzer.parsers.psod" in leak for leak in leaks)
    external = set(_external(copy, STDLIB_ONLY)) - external_before
    assert {e.split(" imports ")[1] for e in external} == {"rich.console", "yaml"}
