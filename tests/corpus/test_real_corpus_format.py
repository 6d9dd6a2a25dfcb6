"""The real-world ESX corpus is well formed, and still covers what it was built to cover.

Each folder under ``tests/corpus/real/`` is one case: artifact files copied verbatim from a
public source, and a ``case.json`` that says where they come from, what the source itself
states, and what the analysis is expected to find (README.md in that folder describes the
format). This test checks the form of every case and the coverage of the whole set, so
that a broken case or the loss of the only case of a version, form or class is caught.
It does not run the analyzer; scoring the corpus is the accuracy benchmark's job.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

REAL = Path(__file__).parent / "real"
CASE_NAME = re.compile(r"^\d{3}-[a-z0-9][a-z0-9-]*$")

REQUIRED_KEYS = (
    "source",
    "title",
    "publisher",
    "found_with",
    "product",
    "forms",
    "states",
    "expect",
    "notes",
)

CRASH_TYPES = frozenset({"lost_heartbeat", "cos_oops", "cos_panic", "vmkernel", "none", "unknown"})
CRASH_CLASSES = frozenset(
    {"memory_exhaustion", "hardware", "driver", "vmkernel", "service_console", "none", "unknown"}
)
ROOT_CAUSE_KINDS = frozenset({"leak", "spike", "contention", "not_memory"})
EXPECT_KEYS = frozenset(
    {
        "crash.type",
        "crash.class",
        "crash.suspect_module",
        "crash.build",
        "crash.release",
        "known_issues",
        "root_cause.kind",
        "root_cause.process",
        "crash.reboot",
    }
)

# The class a crash type may carry, beside "unknown".
CLASSES_BY_TYPE = {
    "lost_heartbeat": {"memory_exhaustion", "service_console"},
    "cos_oops": {"memory_exhaustion", "service_console"},
    "cos_panic": {"memory_exhaustion", "service_console"},
    "vmkernel": {"hardware", "driver", "vmkernel"},
    "none": {"none"},
    "unknown": set(),
}

# The artifact forms and situations the corpus must keep at least one case of.
FORMS = frozenset(
    {
        "full_screen",
        "screen_cut_top",
        "screen_cut_bottom",
        "one_line_paste",
        "message_line_excerpt",
        "pf_without_bluescreen",
        "bare_backtrace",
        "gdb_stack",
        "panic_from_another_cpu",
        "pcpu_no_heartbeat",
        "mce",
        "nmi_management_controller",
        "lost_heartbeat",
        "lost_heartbeat_not_memory",
        "cos_oops_panic",
        "vmkernel_log_no_crash",
        "vmkernel_log_crash",
        "agent_crash",
        "ramdisk_full",
        "nic_watchdog",
        "vmksummary_user_reboot",
        "vmksummary_heartbeat",
        "driver_psod",
        "zdump_log",
    }
)

# Major versions named in a case's "product" ("ESX 3.5 ...", "ESXi 7.0 U3 ...").
# ESXi 6.7 is not here: no public artifact of 6.7 with a stated cause was found in the
# stored material this corpus was built from. Add a case, then add "6.7".
REQUIRED_VERSIONS = frozenset(
    {"3.0", "3.5", "4.0", "4.1", "5.0", "5.1", "5.5", "6.0", "6.5", "7.0", "8.0"}
)
VERSION = re.compile(r"\bESXi? (\d+\.\d+)")

REQUIRED_CLASSES = CRASH_CLASSES - {"unknown"}
REQUIRED_TYPES = CRASH_TYPES - {"unknown"}
MIN_CASES = 45


def _case_dirs() -> list[Path]:
    return sorted(p for p in REAL.iterdir() if p.is_dir())


def _load(case_dir: Path) -> dict[str, Any]:
    data = json.loads((case_dir / "case.json").read_text(encoding="utf-8"))
    assert isinstance(data, dict), f"{case_dir.name}/case.json: expected a JSON object"
    return data


def _all_cases() -> Iterator[tuple[str, dict[str, Any]]]:
    for case_dir in _case_dirs():
        yield case_dir.name, _load(case_dir)


CASE_DIRS = _case_dirs()


@pytest.mark.parametrize("case_dir", CASE_DIRS, ids=[p.name for p in CASE_DIRS])
def test_case_is_well_formed(case_dir: Path) -> None:
    name = case_dir.name
    assert CASE_NAME.match(name), f"{name}: folder name must be NNN-short-slug"
    assert (case_dir / "case.json").is_file(), f"{name}: no case.json"
    data = _load(case_dir)

    missing = [key for key in REQUIRED_KEYS if key not in data]
    assert not missing, f"{name}/case.json: missing {missing}"
    extra = sorted(set(data) - set(REQUIRED_KEYS))
    assert not extra, f"{name}/case.json: unknown keys {extra}"
    for key in ("source", "title", "publisher", "found_with", "product", "states", "notes"):
        assert isinstance(data[key], str) and data[key].strip(), f"{name}: empty {key!r}"
    assert re.match(r"^https?://\S+$", data["source"]), f"{name}: source is not a URL"

    forms = data["forms"]
    assert isinstance(forms, list) and forms, f"{name}: forms must be a non-empty list"
    unknown_forms = sorted(set(forms) - FORMS)
    assert not unknown_forms, f"{name}: unknown forms {unknown_forms}"

    artifacts = [p for p in case_dir.iterdir() if p.is_file() and p.name != "case.json"]
    assert artifacts, f"{name}: no artifact file"
    for artifact in artifacts:
        assert artifact.stat().st_size > 0, f"{name}/{artifact.name}: empty artifact"


@pytest.mark.parametrize("case_dir", CASE_DIRS, ids=[p.name for p in CASE_DIRS])
def test_expectations_use_the_allowed_keys_and_values(case_dir: Path) -> None:
    name = case_dir.name
    expect = _load(case_dir)["expect"]
    assert isinstance(expect, dict), f"{name}: expect must be an object"
    unknown = sorted(set(expect) - EXPECT_KEYS)
    assert not unknown, f"{name}: unknown expect keys {unknown}"

    crash_type = expect.get("crash.type")
    crash_class = expect.get("crash.class")
    assert crash_type in CRASH_TYPES, f"{name}: crash.type {crash_type!r}"
    assert crash_class in CRASH_CLASSES, f"{name}: crash.class {crash_class!r}"
    if crash_class != "unknown":
        allowed = CLASSES_BY_TYPE[crash_type]
        assert crash_class in allowed, f"{name}: class {crash_class!r} with type {crash_type!r}"

    if "crash.build" in expect:
        build = expect["crash.build"]
        assert isinstance(build, int) and not isinstance(build, bool) and build > 0, name
    for key in ("crash.suspect_module", "crash.release", "root_cause.process"):
        if key in expect:
            assert isinstance(expect[key], str) and expect[key].strip(), f"{name}: {key}"
    if "known_issues" in expect:
        issues = expect["known_issues"]
        assert isinstance(issues, list) and issues, f"{name}: known_issues must be a list"
        assert all(isinstance(kb, str) and kb.isdigit() for kb in issues), f"{name}: {issues}"
    if "root_cause.kind" in expect:
        assert expect["root_cause.kind"] in ROOT_CAUSE_KINDS, f"{name}: root_cause.kind"
    if "crash.reboot" in expect:
        assert expect["crash.reboot"] == "user", f"{name}: crash.reboot"
        assert crash_type == "none", f"{name}: a user reboot is not a crash"


def test_the_corpus_is_large_enough() -> None:
    assert len(CASE_DIRS) >= MIN_CASES


def test_every_version_is_covered() -> None:
    seen = {version for _, data in _all_cases() for version in VERSION.findall(data["product"])}
    missing = sorted(REQUIRED_VERSIONS - seen)
    assert not missing, f"no case of version(s) {missing}"


def test_every_crash_type_and_class_is_covered() -> None:
    cases = list(_all_cases())
    types = {data["expect"]["crash.type"] for _, data in cases}
    classes = {data["expect"]["crash.class"] for _, data in cases}
    assert not REQUIRED_TYPES - types, f"no case of crash.type {sorted(REQUIRED_TYPES - types)}"
    missing = sorted(REQUIRED_CLASSES - classes)
    assert not missing, f"no case of crash.class {missing}"


def test_every_form_is_covered() -> None:
    seen = {form for _, data in _all_cases() for form in data["forms"]}
    missing = sorted(FORMS - seen)
    assert not missing, f"no case of form(s) {missing}"


def test_driver_cases_name_several_modules() -> None:
    modules = {
        data["expect"]["crash.suspect_module"]
        for _, data in _all_cases()
        if data["expect"]["crash.class"] == "driver" and "crash.suspect_module" in data["expect"]
    }
    assert len(modules) >= 3, f"driver cases name too few modules: {sorted(modules)}"


def test_readme_lists_every_case() -> None:
    readme = (REAL / "README.md").read_text(encoding="utf-8")
    absent = [p.name for p in CASE_DIRS if f"`{p.name}`" not in readme]
    assert not absent, f"README.md does not list {absent}"
    names = {p.name for p in CASE_DIRS}
    stale = sorted(set(re.findall(r"^\| `(\d{3}-[^`]+)`", readme, re.MULTILINE)) - names)
    assert not stale, f"README.md lists cases that are gone: {stale}"
