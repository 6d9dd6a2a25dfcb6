"""Every ESX-form and Linux scenario generates, is deterministic, writes what its truth names,
covers the real corpora's forms, and writes new text, never a corpus case's."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from lostbeat.errors import ParseError
from lostbeat.scenarios import SCENARIOS, CaseTruth, GeneratedCase, generate
from lostbeat.scenarios.expect import KEYS, Expect
from tests.scenarios.loose import (
    ESX_SCENARIOS,
    LINUX_SCENARIOS,
    SEEDS,
    files_of,
    text_of,
    truth_doc,
)

CORPORA = Path(__file__).resolve().parents[1] / "corpus"
NEW = [*ESX_SCENARIOS, *LINUX_SCENARIOS]

# the forms vocabularies of tests/corpus/real/README.md and tests/corpus/real-linux/README.md
ESX_FORMS = {
    "full_screen", "screen_cut_top", "screen_cut_bottom", "one_line_paste",
    "message_line_excerpt", "pf_without_bluescreen", "bare_backtrace", "gdb_stack",
    "panic_from_another_cpu", "pcpu_no_heartbeat", "mce", "nmi_management_controller",
    "lost_heartbeat", "lost_heartbeat_not_memory", "cos_oops_panic", "vmkernel_log_no_crash",
    "vmkernel_log_crash", "agent_crash", "ramdisk_full", "nic_watchdog",
    "vmksummary_user_reboot", "vmksummary_heartbeat", "driver_psod", "zdump_log",
}  # fmt: skip
LINUX_FORMS = {
    "dmesg", "dmesg-T", "journal-short", "journal-short-iso", "journal-short-precise",
    "journal-json", "journal-export", "syslog-messages", "syslog-kernlog", "serial-console",
    "cut-lines", "interleaved", "wrapped", "earlyoom-stdout", "nohang-stdout", "nohang-logfile",
    "kubectl",
}  # fmt: skip


def _all(cases: dict[tuple[str, int], GeneratedCase], name: str) -> list[GeneratedCase]:
    return [cases[name, seed] for seed in SEEDS]


@pytest.fixture(scope="module")
def every(
    esx_cases: dict[tuple[str, int], GeneratedCase],
    linux_cases: dict[tuple[str, int], GeneratedCase],
) -> dict[tuple[str, int], GeneratedCase]:
    return {**esx_cases, **linux_cases}


def test_every_new_scenario_is_listed() -> None:
    assert set(NEW) <= set(SCENARIOS)
    assert len(set(NEW)) == len(NEW) and all(SCENARIOS[n] for n in NEW)


@pytest.mark.parametrize("name", NEW)
def test_truth_names_what_was_written(
    every: dict[tuple[str, int], GeneratedCase], name: str
) -> None:
    for case in _all(every, name):
        truth = CaseTruth.from_json(case.truth_path.read_text())
        assert truth == case.truth and truth.scenario == name
        written = [case.bundle.name, *(e.name for e in case.extras)]
        assert list(truth.inputs) == written
        assert all((case.truth_path.parent / n).is_file() for n in written)
        assert set(truth_doc(case)["expect"]) <= set(KEYS.values())
        assert truth.platform in ("esx_classic", "esxi", "linux")
        assert truth.forms


def test_truth_json_rejects_a_broken_document() -> None:
    with pytest.raises(ParseError, match="x/truth.json: expected a lostbeat truth document"):
        CaseTruth.from_json('{"scenario": "psod-screen"}', path="x/truth.json")
    bad = CaseTruth("s", 1, "linux", ("dmesg",), ("a",), Expect.from_doc({"crash.type": "none"}))
    with pytest.raises(ParseError):
        CaseTruth.from_json(bad.to_json().replace('"crash.type"', '"crash.kind"'))


@pytest.mark.parametrize("name", NEW)
def test_same_seed_same_bytes_other_seed_other_bytes(tmp_path: Path, name: str) -> None:
    a = generate(name, tmp_path / "a", seed=11)
    b = generate(name, tmp_path / "b", seed=11)
    c = generate(name, tmp_path / "c", seed=12)
    read = [sorted((p.name, p.read_bytes()) for p in (x.bundle, *x.extras, x.truth_path))
            for x in (a, b, c)]  # fmt: skip
    assert read[0] == read[1]
    assert read[0] != read[2]


def test_the_esx_forms_cover_the_real_corpus_vocabulary(
    esx_cases: dict[tuple[str, int], GeneratedCase],
) -> None:
    seen = {f for case in esx_cases.values() for f in case.truth.forms}  # type: ignore[union-attr]
    assert seen >= ESX_FORMS, ESX_FORMS - seen


def test_the_linux_forms_types_and_killers_cover_the_real_corpus(
    linux_cases: dict[tuple[str, int], GeneratedCase],
) -> None:
    seen = {f for case in linux_cases.values() for f in case.truth.forms}  # type: ignore[union-attr]
    assert seen >= LINUX_FORMS, LINUX_FORMS - seen
    expects = [case.expect for case in linux_cases.values()]
    assert {e.crash_type.value for e in expects} == {
        "oom_kill", "cgroup_oom", "hung_task", "soft_lockup", "hard_lockup", "rcu_stall",
        "kernel_panic", "none",
    }  # fmt: skip
    assert {e.killer for e in expects} - {None} == {
        "kernel", "earlyoom", "systemd-oomd", "nohang", "kubelet"
    }  # fmt: skip
    assert {e.victim_was_grower for e in expects} == {None, True, False}


_VERSION = re.compile(r"^VMware ESXi? [\d.]+ build-\d+$")


def _variable_lines() -> set[str]:
    """Lines of the real corpora that carry a case's own values (six digits or more; a bare
    ``vmware -v`` line is a release's, not a case's), as a paste shows them without its
    decoration: a generator that wrote one had copied it."""
    out = set()
    for path in CORPORA.glob("real*/*/*"):
        if path.name == "case.json":
            continue
        for line in path.read_text(errors="replace").splitlines():
            line = re.sub(r"^[\s>•\d.]*", "", line).strip()
            if len(re.findall(r"\d", line)) >= 6 and len(line) >= 30 and not _VERSION.match(line):
                out.add(line)
    return out


def test_no_generated_line_is_a_corpus_line(every: dict[tuple[str, int], GeneratedCase]) -> None:
    corpus = _variable_lines()
    assert len(corpus) > 500
    copied = []
    for (name, seed), case in every.items():
        for line in text_of(case).splitlines():
            line = re.sub(r"^[\s>•\d.]*", "", line).strip()
            if line in corpus:
                copied.append((name, seed, line))
    assert copied == []


@pytest.mark.parametrize("name", NEW)
def test_every_file_is_text_or_a_real_archive(
    every: dict[tuple[str, int], GeneratedCase], name: str
) -> None:
    for case in _all(every, name):
        for member, data in files_of(case).items():
            if re.search(r"zdump|core|/sa\d\d$", member):
                continue  # binary dumps, cores and sar data
            data.decode()  # every log is UTF-8 text
            assert data.endswith(b"\n") or not data, member
