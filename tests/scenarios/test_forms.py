"""What each ESX and ESXi incident writes agrees with its truth: the build only where it is
shown (and named as docs/reference/esx-builds.md names it), the suspect module in a frame, a
class only with its evidence, a known issue with its KB's own words, no crash without a
screen, and ESXi bundles laid out as docs/reference/esxi-bundles.md describes them."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from lostbeat.analyzer.platforms._esx_issues import ESX_ISSUES
from lostbeat.scenarios import GeneratedCase
from tests.scenarios.loose import files_of, text_of

DOCS = Path(__file__).resolve().parents[2] / "docs" / "reference" / "esx-builds.md"
KB = Path(__file__).resolve().parents[1] / "corpus" / "kb"

# the word of each KB that a generated incident must show (each is in the KB's own
# distinctive lines, tests/corpus/kb/<kb>/kb.json, where the KB is in that corpus)
KB_WORD = {
    "2012404": "UserCartel_NewChildWorld", "2151749": "UplinkTreePackQueueFilters",
    "318512": "VmMemCowHintUpdatePost", "323991": "PktList_SplitByUplinkPort",
    "428541": "VmMemPf_PreallocRange", "435592": "Syscall_InstructionHandler",
    "370976": "i40en_UplinkPrivStatsGet", "429117": "ilo_isr", "1016239": "util.c:83",
    "2009232": "Can't find serial#", "372284": "Force retiring MPN",
    "399748": "ApeiHESTNmiHandler requested PSOD", "430676": "already at its maximum size",
}  # fmt: skip
# KBs whose words the analyzer's row takes from another quotation of the article
ROW_WORD = {"2040707": "ramdisk 'root' is full"}


def _norm(release: str) -> str:
    text = release.lower().replace("esxi/esx", "esx").replace("esxi", "esx")
    text = re.sub(r"(\d+\.\d+)\.0\b", r"\1", text.replace("update ", "u"))
    return text.removesuffix(" ga").strip()


def _documented() -> dict[int, str]:
    rows = {}
    for line in DOCS.read_text().splitlines():
        m = re.match(r"^\| (\d{5,9}) \| ([^|]+?) \|", line)
        if m:
            rows[int(m[1])] = re.sub(r"\s*\(.*", "", m[2])
    return rows


def _cases(esx_cases: dict[tuple[str, int], GeneratedCase]) -> list[tuple[str, GeneratedCase]]:
    return [(name, case) for (name, _), case in sorted(esx_cases.items())]


def test_kb_words_are_the_kbs_own() -> None:
    for kb, word in KB_WORD.items():
        path = KB / kb / "kb.json"
        if path.is_file():
            distinctive = json.loads(path.read_text())["distinctive"]
            assert any(word in d for d in distinctive), kb
    rows = {issue.kb: issue for issue in ESX_ISSUES}
    for kb, word in ROW_WORD.items():
        said = [getattr(w, "pattern", w) for group in rows[kb].signatures for w in group]
        assert any(word in w for w in said), kb


def test_build_and_release_only_where_shown(
    esx_cases: dict[tuple[str, int], GeneratedCase],
) -> None:
    documented = _documented()
    checked = 0
    for name, case in _cases(esx_cases):
        detail = dict(case.truth.detail)  # type: ignore[union-attr]
        doc = case.expect.to_doc()
        if "build" not in detail:
            continue
        text = text_of(case)
        shown = f"build-{detail['build']}" in text
        assert shown == ("crash.build" in doc), (name, detail)
        if "crash.release" in doc:
            assert shown and _norm(doc["crash.release"]) == _norm(documented[int(detail["build"])])
            checked += 1
    assert checked > 20


def test_the_suspect_module_is_in_a_frame_and_classes_have_their_evidence(
    esx_cases: dict[tuple[str, int], GeneratedCase],
) -> None:
    classes = set()
    for name, case in _cases(esx_cases):
        doc = case.expect.to_doc()
        text = text_of(case).replace("'@'", "@")
        module = doc.get("crash.suspect_module")
        if module:
            frame = re.search(
                rf"@\(?{re.escape(module)}\)?#|in panic: \[{re.escape(module)} ", text
            )
            assert frame, (name, module)
        cls = doc.get("crash.class")
        classes.add(cls)
        if cls == "driver":
            assert module, name
        if cls == "hardware":
            assert re.search(r"Machine Check|NMI|Hardware Error|ApeiHEST", text), name
    assert {"driver", "hardware", "vmkernel", "unknown", "none", "service_console"} <= classes


def test_a_known_issue_shows_its_kbs_words(
    esx_cases: dict[tuple[str, int], GeneratedCase],
) -> None:
    named = set()
    for name, case in _cases(esx_cases):
        text = text_of(case)
        for kb in case.expect.known_issues or ():
            assert {**KB_WORD, **ROW_WORD}[kb] in text, (name, kb)
            named.add(kb)
    assert len(named) >= 6


CRASHED = re.compile(
    r"@BlueScreen|Exception|Panic|locked up|Spin count|NMI|Machine Check|ASSERT|NOT_IMPLEMENTED"
    r"|Lost heartbeat|Oops|@vmkernel#|\+0x[0-9a-f]+|^\s*#\d+\s|CpuSched|HelperQueue|BH_Check|Worldlet",
    re.M,
)


def test_no_crash_has_no_screen_and_a_user_reboot_says_so(
    esx_cases: dict[tuple[str, int], GeneratedCase],
) -> None:
    reboots = 0
    for name, case in _cases(esx_cases):
        doc = case.expect.to_doc()
        text = text_of(case)
        if doc["crash.type"] == "none":
            assert "@BlueScreen" not in text and "Exception 14" not in text, name
            assert "Lost heartbeat" not in text, name
        else:
            assert CRASHED.search(text), name
        if doc.get("crash.reboot") == "user":
            assert re.search(r"bootstop(\[\d+\])?: Host is (rebooting|halting|powering off)", text)
            reboots += 1
        if doc["crash.type"] == "lost_heartbeat":
            assert "Lost heartbeat" in text, name
    assert reboots >= 8


TOP = re.compile(r"^esx-[\w-]+-\d{4}-\d\d-\d\d--\d\d\.\d\d(-\d+)?$")


@pytest.mark.parametrize("name", ["esxi-bundle-psod", "esxi-bundle-reboot"])
def test_esxi_bundles_are_laid_out_as_vm_support_writes_them(
    esx_cases: dict[tuple[str, int], GeneratedCase], name: str
) -> None:
    import tarfile

    for (scenario, _), case in esx_cases.items():
        if scenario != name:
            continue
        with tarfile.open(case.bundle) as tar:
            tops = {m.name.split("/", 1)[0] for m in tar.getmembers()}
        assert len(tops) == 1 and TOP.match(tops.pop())
        files = files_of(case)
        logs = "var/log/" if "var/log/vmksummary.log" in files else "var/run/log/"
        for path in ("commands/vmware_-vl.txt", "commands/uname_-a.txt", "etc/vmware/esx.conf",
                     f"{logs}vmksummary.log", f"{logs}vmkernel.log", f"{logs}hostd.log",
                     "etc/vmware/vm-support/vm-support.conf", "commands/esxcfg-info_-a.txt"):  # fmt: skip
            assert path in files, (name, path)
        summary = files[f"{logs}vmksummary.log"].decode()
        assert "Host has booted" in summary and "heartbeat" in summary
        crashed = case.expect.crash_type.value == "vmkernel"
        assert ("var/core/vmkernel-zdump.1" in files) == crashed
        if crashed:
            dump = files["var/core/vmkernel-zdump.1"]
            assert b"@BlueScreen: " in dump or b"Panic from another CPU" in dump
            assert "Host is" not in summary  # no clean stop before the reboot
