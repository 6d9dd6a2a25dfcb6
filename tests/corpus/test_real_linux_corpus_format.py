"""The real-Linux corpus is well formed and covers what the Linux analysis must recognise.

Each folder under ``tests/corpus/real-linux/`` is one incident that people posted publicly: one
or more log files copied verbatim from the source, and a ``case.json`` naming the source, the
sentence in it that states what happened, and the verdict that follows (``expect``). This test
checks the format of every case and that the set as a whole covers every crash type, killer,
log form and kernel generation the analysis has to handle, plus enough bystander cases. It does
not run the analyzer: scoring against ``expect`` belongs to the analyzer's own tests.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

CORPUS = Path(__file__).resolve().parent / "real-linux"
README = CORPUS / "README.md"

CASE_KEYS = {
    "source",
    "title",
    "publisher",
    "found_with",
    "kernel",
    "distro",
    "form",
    "states",
    "expect",
    "notes",
}
CRASH_TYPES = {
    "oom_kill",
    "cgroup_oom",
    "hung_task",
    "soft_lockup",
    "hard_lockup",
    "rcu_stall",
    "kernel_panic",
    "none",
}
KILLERS = {"kernel", "earlyoom", "systemd-oomd", "nohang", "kubelet"}
CLASSES = {"memory_exhaustion", "hardware", "driver", "kernel", "none"}
EXPECT_KEYS = {
    "crash.type",
    "crash.killer",
    "crash.victim",
    "crash.class",
    "crash.constraint",
    "victim_was_grower",
    "root_cause.process",
    "incidents",
}
# The log forms issue 17 names. "json or export" is one requirement: journal-json covers it.
REQUIRED_FORMS = {
    "dmesg",
    "dmesg-T",
    "journal-short",
    "journal-short-iso",
    "journal-short-precise",
    "journal-json",
    "syslog-messages",
    "syslog-kernlog",
    "serial-console",
    "cut-lines",
    "interleaved",
}
# Further forms a case may declare (see the README's vocabulary).
FORMS = REQUIRED_FORMS | {
    "dmesg-raw",
    "journal-export",
    "journal-short-monotonic",
    "console-broadcast",
    "bare",
    "wrapped",
    "line-numbers",
    "mail-quoted",
    "earlyoom-stdout",
    "nohang-stdout",
    "nohang-logfile",
    "kubectl",
}
KERNEL_SERIES = ("2.6", "3.", "4.", "5.", "6.")
MIN_CASES = 45
MIN_BYSTANDERS = 3

_MONTH_TIME = r"\S+ [ \d]?\d \d\d:\d\d:\d\d"


def _has_line(pattern: str) -> Callable[[list[str]], bool]:
    regex = re.compile(pattern)
    return lambda lines: any(regex.search(line) for line in lines)


def _has_journal_json(lines: list[str]) -> bool:
    for line in lines:
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict) and {"MESSAGE", "__REALTIME_TIMESTAMP"} <= record.keys():
            return True
    return False


# What a declared form must show in at least one line of the case's log files (a paste may be
# indented or quoted, and a host-less syslog or journal keeps the rest of its layout).
_LEAD = r"^[\s>]*"
EVIDENCE: dict[str, Callable[[list[str]], bool]] = {
    "dmesg": _has_line(r"^(\s*\d+ +)?\s*\[\s*\d+\.\d*\] "),
    "dmesg-raw": _has_line(r"^<\d>\[\s*\d+\.\d+\] "),
    "dmesg-T": _has_line(_LEAD + r"\[\w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d \d{4}\] "),
    "journal-short": _has_line(_LEAD + rf"{_MONTH_TIME} (\S+ )?[^\s:]+: "),
    "journal-short-iso": _has_line(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?[+-]\d\d:?\d\d \S+ "),
    "journal-short-precise": _has_line(_LEAD + rf"{_MONTH_TIME}\.\d{{6}} \S+ "),
    "journal-short-monotonic": _has_line(_LEAD + r"\[\s*\d+\.\d{6}\] [\w.@-]+\[\d+\]: "),
    "journal-json": _has_journal_json,
    "syslog-messages": _has_line(_LEAD + rf"{_MONTH_TIME} (\S+ )?kernel: "),
    "syslog-kernlog": _has_line(_LEAD + rf"{_MONTH_TIME} (\S+ )?kernel: ?\[\s*\d+\.\d+\] "),
    "cut-lines": _has_line(r"…|>$|>[A-Z][a-z]{2} [ \d]\d "),
}


def _case_dirs() -> list[Path]:
    return sorted(p for p in CORPUS.iterdir() if p.is_dir())


def _load(case: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((case / "case.json").read_text(encoding="utf-8"))
    return data


def _log_files(case: Path) -> list[Path]:
    return sorted(p for p in case.iterdir() if p.is_file() and p.name != "case.json")


def _log_lines(case: Path) -> list[str]:
    lines: list[str] = []
    for path in _log_files(case):
        lines.extend(path.read_text(encoding="utf-8").splitlines())
    return lines


CASES = _case_dirs()


def test_corpus_has_enough_cases() -> None:
    assert len(CASES) >= MIN_CASES, f"{len(CASES)} cases, want at least {MIN_CASES}"


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_case_folder_is_well_formed(case: Path) -> None:
    assert re.fullmatch(r"\d{3}-[a-z0-9][a-z0-9.-]*", case.name), case.name
    data = _load(case)
    assert set(data) == CASE_KEYS, f"{case.name}: keys {sorted(set(data) ^ CASE_KEYS)}"
    assert re.match(r"https?://\S+$", data["source"]), data["source"]
    for key in ("title", "publisher", "found_with", "kernel", "distro", "states", "notes"):
        assert isinstance(data[key], str) and data[key].strip(), f"{case.name}: empty {key}"
    assert data["found_with"].split(",")[0] in {"search", "read_file", "find_string"}
    forms = data["form"]
    assert isinstance(forms, list) and forms and set(forms) <= FORMS, f"{case.name}: {forms}"
    logs = _log_files(case)
    assert logs, f"{case.name}: no log file"
    for path in logs:
        text = path.read_text(encoding="utf-8")
        assert text.strip(), f"{path}: empty"
        assert "```" not in text, f"{path}: markdown fence copied with the log"


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_expect_uses_only_known_keys_and_values(case: Path) -> None:
    expect = _load(case)["expect"]
    assert isinstance(expect, dict) and set(expect) <= EXPECT_KEYS, f"{case.name}: {expect}"
    assert expect.get("crash.type") in CRASH_TYPES, f"{case.name}: crash.type"
    if "crash.killer" in expect:
        assert expect["crash.killer"] in KILLERS, f"{case.name}: crash.killer"
    if "crash.class" in expect:
        assert expect["crash.class"] in CLASSES, f"{case.name}: crash.class"
    for key in ("crash.victim", "root_cause.process"):
        if key in expect:
            assert isinstance(expect[key], str) and expect[key].strip(), f"{case.name}: {key}"
    if "victim_was_grower" in expect:
        assert isinstance(expect["victim_was_grower"], bool), case.name
        assert "crash.victim" in expect, f"{case.name}: grower claim without a victim"
    if "incidents" in expect:
        count = expect["incidents"]
        assert isinstance(count, int) and not isinstance(count, bool) and count >= 2, case.name
    if expect["crash.type"] in {"oom_kill", "cgroup_oom"}:
        assert "crash.killer" in expect, f"{case.name}: an OOM kill names its killer"
    if expect["crash.type"] == "none":
        assert set(expect) <= {"crash.type", "crash.class"}, case.name


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_declared_forms_show_in_the_logs(case: Path) -> None:
    lines = _log_lines(case)
    for form in _load(case)["form"]:
        check = EVIDENCE.get(form)
        if check is not None:
            assert check(lines), f"{case.name}: no line shows form {form!r}"


def _all(field: Callable[[dict[str, Any]], Any]) -> list[Any]:
    return [field(_load(case)) for case in CASES]


def test_corpus_covers_every_crash_type_and_killer() -> None:
    types = set(_all(lambda d: d["expect"]["crash.type"]))
    killers = set(_all(lambda d: d["expect"].get("crash.killer")))
    assert types >= CRASH_TYPES, f"missing types {sorted(CRASH_TYPES - types)}"
    assert killers - {None} >= KILLERS, f"missing killers {sorted(KILLERS - killers)}"


def test_corpus_covers_every_log_form() -> None:
    forms = {form for case_forms in _all(lambda d: d["form"]) for form in case_forms}
    assert forms >= REQUIRED_FORMS, f"missing forms {sorted(REQUIRED_FORMS - forms)}"


def test_corpus_spans_kernel_2_6_to_6_x() -> None:
    kernels = _all(lambda d: d["kernel"])
    for series in KERNEL_SERIES:
        assert any(k.startswith(series) for k in kernels), f"no {series} kernel"


def test_corpus_has_bystander_cases() -> None:
    bystanders = [
        case.name
        for case in CASES
        if _load(case)["expect"].get("victim_was_grower") is False
        and _load(case)["expect"]["crash.type"] != "none"
    ]
    assert len(bystanders) >= MIN_BYSTANDERS, bystanders


def test_corpus_covers_the_look_alikes() -> None:
    """Memory and non-memory look-alikes of issue 17, each with a settled class."""
    cases = [_load(case)["expect"] for case in CASES]

    def count(kind: str, memory: bool) -> int:
        return sum(
            1
            for e in cases
            if e["crash.type"] == kind
            and "crash.class" in e
            and (e["crash.class"] == "memory_exhaustion") is memory
        )

    assert count("soft_lockup", memory=True) >= 1, "soft lockup in reclaim (memory)"
    assert count("hung_task", memory=True) >= 1, "hung task under reclaim (memory)"
    assert count("hung_task", memory=False) >= 1, "hung task on storage/network (not memory)"
    assert count("kernel_panic", memory=True) >= 1, "panic after no killable processes"


def test_readme_lists_every_case() -> None:
    text = README.read_text(encoding="utf-8")
    listed = set(re.findall(r"^\| (\d{3}-[a-z0-9.-]+) \|", text, flags=re.MULTILINE))
    assert listed == {case.name for case in CASES}
