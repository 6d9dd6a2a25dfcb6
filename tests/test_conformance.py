"""Every parser and every rule is registered, documented, and reads known artifacts."""

from __future__ import annotations

import importlib
import inspect
from pathlib import Path

from lostbeat.analyzer.artifacts import ARTIFACTS
from lostbeat.analyzer.parsers import PARSERS
from lostbeat.analyzer.platforms import PROFILES
from lostbeat.analyzer.rules import RULES

PKG = Path(__file__).resolve().parents[1] / "lostbeat" / "analyzer"


def public_modules(folder: str) -> list[str]:
    return sorted(p.stem for p in (PKG / folder).glob("*.py") if not p.stem.startswith("_"))


def test_every_parser_module_is_registered_and_documented() -> None:
    registered = {p.parse.__module__.rsplit(".", 1)[-1] for p in PARSERS}
    assert set(public_modules("parsers")) <= registered
    for parser in PARSERS:
        assert parser.artifact in ARTIFACTS, parser.artifact
        assert parser.doc.strip(), parser.artifact
        module = importlib.import_module(parser.parse.__module__)
        doc = inspect.getdoc(module) or ""
        assert "Sample" in doc or ">>>" in doc, f"{module.__name__} lacks sample data"


def test_every_artifact_is_read_by_a_parser_and_owned_by_a_profile() -> None:
    assert set(ARTIFACTS) == {p.artifact for p in PARSERS}
    owned = {name for profile in PROFILES for name in profile.artifacts}
    assert owned == set(ARTIFACTS)


def test_every_platform_module_holds_a_registered_profile() -> None:
    names = [p.name for p in PROFILES]
    assert len(names) == len(set(names))
    assert {type(p).__module__.rsplit(".", 1)[-1] for p in PROFILES} == set(
        public_modules("platforms")
    )
    for profile in PROFILES:
        assert inspect.getdoc(type(profile)), profile.name


def test_every_rule_module_holds_a_registered_rule() -> None:
    ids = [r.id for r in RULES]
    assert len(ids) == len(set(ids))
    assert {r.module.rsplit(".", 1)[-1] for r in RULES} == set(public_modules("rules"))
    for rule in RULES:
        assert rule.doc, rule.id
