from __future__ import annotations

import copy
import dataclasses
import json
import math
from typing import Any

import jsonschema
import pytest

from lostbeat.analyzer.result import (
    SCHEMA,
    AnalysisResult,
    CauseKind,
    Coredumps,
    Crash,
    CrashType,
    KnownIssueMatch,
    Memory,
    RootCause,
)
from lostbeat.errors import ParseError
from lostbeat.report import jsonout

VALIDATOR = jsonschema.Draft202012Validator(
    json.loads(jsonout.SCHEMA_FILE.read_text()),
    format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER,
)


def test_schema_file_is_a_valid_draft_2020_12_schema() -> None:
    schema = json.loads(jsonout.SCHEMA_FILE.read_text())
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["properties"]["schema"]["const"] == SCHEMA == jsonout.SCHEMA


def test_every_case_validates_against_the_schema(any_result: AnalysisResult) -> None:
    doc = json.loads(jsonout.dumps(any_result))
    errors = sorted(VALIDATOR.iter_errors(doc), key=lambda e: list(e.path))
    assert not errors, [f"{list(e.path)}: {e.message}" for e in errors]


def test_round_trip_is_exact(any_result: AnalysisResult) -> None:
    assert jsonout.from_document(jsonout.to_document(any_result)) == any_result
    assert jsonout.loads(jsonout.dumps(any_result)) == any_result


def test_contract_field_names(leak: AnalysisResult) -> None:
    """The names issue 2 fixes, spelled exactly."""
    doc = jsonout.to_document(leak)
    assert doc["schema"] == "lostbeat.analysis/2"
    assert doc["crash"]["type"] == "lost_heartbeat"
    assert doc["crash"]["build"] == 153875
    assert doc["crash"]["release"] == "ESX Server 3.5 Update 4"
    assert doc["crash"]["crashed_at"] == 1258106400.0
    assert doc["crash"]["crashed_at_iso"] == "2009-11-13T10:00:00Z"
    rc = doc["root_cause"]
    assert (rc["kind"], rc["process"], rc["token"], rc["origin"]) == (
        "leak",
        "VMap",
        "VMap",
        "vmware",
    )
    assert rc["confidence"] == 0.9
    assert doc["memory"]["swap_used_percent"] == 100.0
    assert doc["memory"]["top_process_ram_percent"] == 73.3
    dumps = doc["coredumps"]
    assert dumps["vmkernel"] == ["root/old_cores/vmkernel-zdump-111309.07.13.1"]
    assert dumps["cos"] == ["root/old_cores/cos-core-esxhostname.123.core.gz"]
    assert dumps["cos_core_file"].endswith("/cos-core-esxhostname")
    assert dumps["cos_core_file_valid"] is True
    assert isinstance(doc["known_issues"], list)
    assert [a["kb"] for a in doc["actions"]] == [None, None, "1006797"]
    assert all(isinstance(a["text"], str) and a["text"] for a in doc["actions"])
    finding = doc["findings"][1]
    assert finding["id"] == "leak.monotonic" and finding["severity"] == "critical"
    assert finding["evidence"][1] == {
        "path": "var/log/vmksummary",
        "line_no": 8072,
        "text": leak.findings[1].evidence[1].text,
    }
    statuses = {i["path"]: (i["status"], i["reason"]) for i in doc["inputs"]}
    assert statuses["var/log/vmksummary.3.gz"] == ("broken", "truncated gzip stream")
    assert statuses["var/log/messages"] == ("skipped", "not used by any rule")
    consumers = doc["history"]["consumers"]
    assert consumers[0]["name"] == "VMap" and consumers[0]["points"][-1] == [1258102905.0, 586196]


def test_known_issue_kb_field() -> None:
    result = dataclasses.replace(
        _minimal(), known_issues=(KnownIssueMatch("1009607", "cimserver", "x"),)
    )
    doc = jsonout.to_document(result)
    assert doc["known_issues"][0]["kb"] == "1009607"
    assert jsonout.from_document(doc) == result


def test_unknown_values_are_null_not_zero(empty: AnalysisResult) -> None:
    doc = jsonout.to_document(empty)
    assert doc["memory"]["swap_used_percent"] is None
    assert doc["memory"]["top_process_ram_percent"] is None
    assert doc["crash"]["build"] is None and doc["crash"]["crashed_at_iso"] is None
    assert doc["coredumps"]["cos_core_file_valid"] is None
    assert doc["root_cause"]["process"] is None


def test_dumps_is_sorted_stable_and_ends_with_newline(leak: AnalysisResult) -> None:
    text = jsonout.dumps(leak)
    assert text == jsonout.dumps(jsonout.loads(text))
    assert text.endswith("}\n") and text.startswith('{\n  "actions": [')
    keys = list(json.loads(text))
    assert keys == sorted(keys)


def test_non_finite_numbers_are_written_as_null(leak: AnalysisResult) -> None:
    memory = dataclasses.replace(leak.memory, swap_used_percent=math.nan)
    text = jsonout.dumps(dataclasses.replace(leak, memory=memory))
    doc = json.loads(text)  # strict JSON: no NaN token
    assert doc["memory"]["swap_used_percent"] is None
    assert "NaN" not in text
    assert not list(VALIDATOR.iter_errors(doc))


def _minimal() -> AnalysisResult:
    return AnalysisResult(
        host="h",
        crash=Crash(CrashType.NONE),
        root_cause=RootCause(CauseKind.INCONCLUSIVE),
        memory=Memory(),
        coredumps=Coredumps(),
    )


def _bad(doc: dict[str, Any], *keys: str, value: object) -> dict[str, Any]:
    bad = copy.deepcopy(doc)
    node = bad
    for key in keys[:-1]:
        node = node[key]
    node[keys[-1]] = value
    return bad


@pytest.mark.parametrize(
    ("keys", "value", "message"),
    [
        (("crash", "build"), "153875", "expected an integer at crash.build"),
        (("crash", "type"), "purple", "expected one of 'lost_heartbeat'"),
        (("root_cause", "confidence"), None, "expected a number at root_cause.confidence"),
        (("findings",), {}, "expected an array at findings"),
        (("coredumps", "cos_core_file_valid"), "yes", "expected true or false"),
    ],
)
def test_from_document_names_the_bad_key(
    leak: AnalysisResult, keys: tuple[str, ...], value: object, message: str
) -> None:
    bad = _bad(jsonout.to_document(leak), *keys, value=value)
    with pytest.raises(ParseError) as info:
        jsonout.from_document(bad, path="store/esx01.json")
    assert str(info.value).startswith("store/esx01.json: " + message)
    assert "\n" not in str(info.value)
    assert list(VALIDATOR.iter_errors(bad)), "the schema must reject it too"


def test_from_document_rejects_another_schema(leak: AnalysisResult) -> None:
    doc = dict(jsonout.to_document(leak), schema="lostbeat.analysis/3")
    with pytest.raises(ParseError, match=r"^x\.json: expected a lostbeat\.analysis/2 document"):
        jsonout.from_document(doc, path="x.json")
    with pytest.raises(ParseError, match="expected a lostbeat.analysis/2 document"):
        jsonout.from_document([], path="x.json")  # type: ignore[arg-type]


def test_from_document_names_a_missing_key(leak: AnalysisResult) -> None:
    doc = jsonout.to_document(leak)
    del doc["findings"][0]["severity"]
    with pytest.raises(ParseError, match=r"expected the key 'severity' in findings\[0\]$"):
        jsonout.from_document(doc, path="x.json")


def test_from_document_ignores_unknown_and_derived_keys(leak: AnalysisResult) -> None:
    doc = jsonout.to_document(leak)
    doc["added_later"] = {"x": 1}
    doc["crash"]["crashed_at_iso"] = "ignored: derived from crashed_at"
    assert jsonout.from_document(doc) == leak


def test_loads_reports_the_line_of_a_syntax_error() -> None:
    with pytest.raises(ParseError) as info:
        jsonout.loads('{\n  "schema": "lostbeat.analysis/2",\n  oops\n}', path="doc.json")
    assert info.value.line_no == 3
    assert str(info.value).startswith("doc.json:3: expected JSON")
