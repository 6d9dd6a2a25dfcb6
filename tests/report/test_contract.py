"""The documents that describe the reports agree with the code: docs, schema, public names."""

from __future__ import annotations

import dataclasses
import importlib
import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from lostbeat.analyzer.result import AnalysisResult
from lostbeat.report import jsonout
from lostbeat.report.example import example_result

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "json-schema.md"

# Issue 2's output contract, spelled exactly.
CONTRACT = [
    "schema",
    "crash.type",
    "crash.build",
    "crash.release",
    "root_cause.kind",
    "root_cause.process",
    "root_cause.token",
    "root_cause.origin",
    "root_cause.confidence",
    "memory.swap_used_percent",
    "memory.top_process_ram_percent",
    "coredumps.vmkernel",
    "coredumps.cos",
    "coredumps.cos_core_file",
    "coredumps.cos_core_file_valid",
    "known_issues[].kb",
    "actions[].kb",
    "actions[].text",
    "findings[].evidence",
    "inputs[].path",
    "inputs[].status",
    "inputs[].reason",
]


def _schema() -> dict[str, Any]:
    schema = json.loads(jsonout.SCHEMA_FILE.read_text())
    assert isinstance(schema, dict)
    return schema


def _resolve(schema: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        node = schema["$defs"][node["$ref"].rsplit("/", 1)[1]]
    return node


@pytest.mark.parametrize("field", CONTRACT)
def test_contract_fields_are_required_by_the_schema_and_documented(field: str) -> None:
    schema = _schema()
    node = schema
    for part in field.split("."):
        name = part.removesuffix("[]")
        assert name in node["required"], field
        node = _resolve(schema, node["properties"][name])
        if part.endswith("[]"):
            node = _resolve(schema, node["items"])
    doc = DOC.read_text()
    leaf = field.rsplit(".", 1)[-1].removesuffix("[]")
    assert re.search(rf"`[^`]*\b{leaf}\b[^`]*`", doc), field


def test_documented_example_is_what_the_code_writes() -> None:
    blocks = re.findall(r"```json\n(.*?)```", DOC.read_text(), re.S)
    assert len(blocks) == 1
    documented = json.loads(blocks[0])
    result = example_result()
    history = result.history
    trimmed = dataclasses.replace(
        history,
        consumers=tuple(dataclasses.replace(c, points=c.points[-2:]) for c in history.consumers),
        swap=history.swap[-2:],
    )
    expected = jsonout.to_document(dataclasses.replace(result, history=trimmed))
    assert documented == json.loads(json.dumps(expected))
    jsonschema.Draft202012Validator(_schema()).validate(documented)
    assert isinstance(jsonout.from_document(documented), AnalysisResult)


def test_docs_point_at_files_that_exist() -> None:
    text = DOC.read_text()
    for target in re.findall(r"\]\(([^)#]+)\)", text):
        assert (DOC.parent / target).exists(), target
    assert (ROOT / "scripts" / "screenshot_report.py").exists()


@pytest.mark.parametrize(
    "module",
    [
        "lostbeat.report.terminal",
        "lostbeat.report.jsonout",
        "lostbeat.report.html",
        "lostbeat.report.plots",
        "lostbeat.report.example",
        "lostbeat.report._format",
    ],
)
def test_all_lists_exactly_the_public_names(module: str) -> None:
    mod = importlib.import_module(module)
    defined = {
        name
        for name, value in vars(mod).items()
        if not name.startswith("_") and callable(value) and value.__module__ == module
    }
    declared = set(mod.__all__)
    assert declared >= defined, defined - declared
    assert all(hasattr(mod, name) for name in declared)
    assert list(mod.__all__) == sorted(mod.__all__)
