"""Known issues as data: every row is complete, found by its KB's own quoted lines (and by no
other KB's), gated on the releases the article names, and its verdict used where the history
cannot judge."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from lostbeat.analyzer.engine import analyze
from lostbeat.analyzer.findings import Evidence, Severity
from lostbeat.analyzer.issues import Signs
from lostbeat.analyzer.parsers.psod import PsodScreen, parse_psod
from lostbeat.analyzer.parsers.version import VersionInfo
from lostbeat.analyzer.platforms._esx_issues import ESX_ISSUES, load_issues
from lostbeat.analyzer.platforms.esx_classic import KNOWN_ISSUES
from lostbeat.analyzer.result import CauseKind, CrashClass, CrashType, RootCause
from lostbeat.analyzer.rules.known_issues import match_known_issues

LEAK = RootCause(CauseKind.LEAK, process="cimserver", token="cimserve")
KB = Path(__file__).parents[2] / "corpus" / "kb"
ARTICLES = sorted(p.name for p in KB.iterdir() if (p / "kb.json").is_file())
ROWS = {issue.kb: issue for issue in ESX_ISSUES}


def lost(make, build, message="Lost heartbeat", **kw):
    """Facts of a screen showing ``message`` on ``build``."""
    return make.facts(screens=(PsodScreen(build, message, None, (), (), ()),), **kw)


def _signs(lines: list[str]) -> Signs:
    return Signs(tuple(Evidence("lines.txt", n, text) for n, text in enumerate(lines, 1)))


@pytest.mark.parametrize(
    ("build", "applies"),
    [
        (64607, False),
        (82663, False),
        (110268, True),
        (123630, True),
        (153875, True),
        (207095, True),
        (164009, False),
        (208167, False),
    ],
)
def test_pegasus_leak_is_gated_on_35_update_2_to_5(make, build, applies):
    matches, findings, _ = match_known_issues(lost(make, build), LEAK)
    assert [m.kb for m in matches] == (["1009607"] if applies else [])
    if not applies:
        assert findings[0].id == "known_issues.not_applicable.1009607"


def test_version_file_disambiguates_a_patch_build(make):
    v40 = VersionInfo("VMware ESX", "4.0.0", None, 180000, Evidence("tmp/vmware.1.txt", 1, ""))
    assert match_known_issues(lost(make, 180000, versions=(v40,)), LEAK)[0] == ()
    v35 = VersionInfo("VMware ESX Server", "3.5.0", None, 180000, Evidence("x", 1, ""))
    matched = match_known_issues(lost(make, 180000, versions=(v35,)), LEAK)[0]
    assert [m.kb for m in matched] == ["1009607"]


def test_no_match_when_cimserver_is_not_to_blame_or_not_a_lost_heartbeat(make):
    other = RootCause(CauseKind.LEAK, process="vmware-hostd", token="vmware-h")
    assert match_known_issues(lost(make, 123630), other)[0] == ()
    assert match_known_issues(lost(make, 123630, "Oops"), LEAK)[0] == ()
    second = RootCause(CauseKind.LEAK, process="vmware-hostd", others=("cimserver",))
    assert len(match_known_issues(lost(make, 123630), second)[0]) == 1


def test_every_row_is_complete_and_its_own():
    assert KNOWN_ISSUES is ESX_ISSUES and len(ESX_ISSUES) >= 25
    assert len(ROWS) == len(ESX_ISSUES), "one row a KB"
    for issue in ESX_ISSUES:
        assert issue.kb.isdigit() and issue.title and issue.workaround and issue.source
        assert issue.signatures or issue.process, issue.kb
        for affects in issue.affects:
            if affects.last_update is not None:
                assert affects.first_update <= affects.last_update, issue.kb
            if affects.first_build and affects.fixed_build:
                assert affects.first_build < affects.fixed_build, issue.kb


@pytest.mark.parametrize("kb", ARTICLES)
def test_each_articles_own_lines_find_it_and_no_other(kb):
    """tests/corpus/kb/<KB>/lines.txt is what the article quotes: its row, and only its row,
    is found in them (release and crash aside)."""
    signs = _signs((KB / kb / "lines.txt").read_text(encoding="utf-8").splitlines())
    assert kb in ROWS, f"no row for KB {kb}"
    assert [i.kb for i in ESX_ISSUES if i.found_in(signs)] == [kb]


@pytest.mark.parametrize("kb", ARTICLES)
def test_each_row_follows_its_articles_versions_and_class(kb):
    doc = json.loads((KB / kb / "kb.json").read_text(encoding="utf-8"))
    issue = ROWS[kb]
    fixed = [a.fixed_build for a in issue.affects if a.fixed_build]
    assert set(fixed) <= set(doc["fixed_builds"]) | {800380, 1065491, 4192238, 10884925, 914586}
    assert set(doc["fixed_builds"]) <= set(fixed), "every fixed build the article names"
    if issue.class_ is not None and doc["class"] != "memory_exhaustion":
        # the corpus's vocabulary: a VMkernel heap running out is the VMkernel's fault
        assert issue.class_.value in (doc["class"], "unknown"), (issue.class_, doc["class"])


# Articles whose quoted lines are an ESX artifact on their own (a screen, a log, a backtrace):
# given to `lostbeat analyze` as a loose file, they must come out with their KB. The others
# quote prose, a client's error or bare messages with no log form (their rows are found by the
# lines above all the same).
PROSE = {"1007887", "2017008", "2040707", "313454", "374362", "380959", "316522", "432839"}
AS_INPUT = sorted(set(ARTICLES) - PROSE - {"442474"})


@pytest.mark.parametrize("kb", AS_INPUT)
def test_each_articles_lines_analysed_as_a_file_report_it(kb):
    result = analyze([KB / kb / "lines.txt"])
    assert all(r.status.value == "read" for r in result.inputs), result.inputs
    assert kb in [m.kb for m in result.known_issues], (result.crash, result.known_issues)
    if result.crash.type is CrashType.NONE:
        assert all(f.severity is not Severity.CRITICAL for f in result.findings)


def test_an_excluded_release_is_said_not_to_apply(make):
    # KB 318512 is fixed in ESXi 7.0 Update 3l (21424296): its lines on that build
    screen = parse_psod((KB / "318512" / "lines.txt").read_text().splitlines(), path="bt.txt")
    screen = replace(screen, build=21424296)
    v = VersionInfo("VMware ESXi", "7.0.3", 3, 21424296, Evidence("commands/vmware_-vl.txt", 1, ""))
    facts = make.facts(screens=(screen,), versions=(v,))
    matches, findings, _ = match_known_issues(facts, RootCause(CauseKind.NOT_MEMORY))
    assert matches == ()
    assert [f.id for f in findings] == ["known_issues.not_applicable.318512"]


def test_the_articles_cause_stands_in_where_the_history_cannot_judge(make):
    # KB 1009607's own excerpt: the alert names cimserver, no hourly history to judge by
    lines = (KB / "1009607" / "lines.txt").read_text().splitlines()
    screen = PsodScreen(None, "Lost heartbeat", None, (), (), (), lines=_signs(lines).lines)
    facts = make.facts(screens=(screen,))
    assert facts.crash.class_ is CrashClass.MEMORY_EXHAUSTION
    _, _, cause = match_known_issues(facts, RootCause(CauseKind.INCONCLUSIVE))
    assert (cause.kind, cause.process) == (CauseKind.LEAK, "cimserver")
    assert "KB 1009607" in cause.explanation
    # a history that blames another process keeps its verdict, and the row is not claimed
    other = RootCause(CauseKind.LEAK, process="vmware-hostd")
    matches, _, cause = match_known_issues(facts, other)
    assert matches == () and cause is other


def test_without_a_crash_a_match_is_a_warning(make):
    lines = (KB / "317245" / "lines.txt").read_text().splitlines()
    screen = PsodScreen(None, None, None, (), (), (), lines=_signs(lines).lines)
    facts = make.facts(screens=(screen,))
    facts = replace(facts, crash=replace(facts.crash, type=CrashType.NONE))
    matches, findings, _ = match_known_issues(facts, RootCause(CauseKind.NOT_MEMORY))
    assert [m.kb for m in matches] == ["317245"] and matches[0].aliases == ("1019238",)
    assert [f.severity for f in findings] == [Severity.WARNING]


def test_a_row_with_an_unknown_key_is_refused():
    with pytest.raises(ValueError, match="unknown key"):
        load_issues('[[issue]]\nkb = "1"\ntitle = "t"\nsource = "s"\nworkaround = "w"\nwho = 1\n')
    with pytest.raises(KeyError):
        load_issues('[[issue]]\nkb = "1"\n')


def test_a_pasted_frames_quoted_at_still_shows_the_signature():
    lines = ["0x4539:[0x4200]VmMemCowHintUpdatePost'@'vmkernel#nover+0x44 stack: 0x3d"]
    found = ROWS["318512"].found_in(_signs(lines))
    assert [e.line_no for e in found] == [1] and found[0].text == lines[0]


def test_a_signature_ends_where_a_flattened_paste_glues_the_next_record():
    glued = ["VMware ESX 4.0.0 [Releasebuild-208167 X86_64]NOT_IMPLEMENTED /build/mts/release/"
             "bora-208167/bora/vmkernel/main/util.c:83frame=0xf0707d9fadd8 ip=0xc5df8d707ff"]  # fmt: skip
    assert ROWS["1016239"].found_in(_signs(glued))
    assert not ROWS["1016239"].found_in(_signs(["NOT_IMPLEMENTED bora/vmkernel/main/util.c:831"]))


@pytest.mark.parametrize(
    ("kb", "function"),
    [("323991", "PktList_SplitByUplinkPort"), ("2151749", "UplinkTreePackQueueFilters"),
     ("318512", "VmMemCowHintUpdatePost"), ("428541", "VmMemPf_PreallocRange")],
)  # fmt: skip
def test_an_articles_own_function_shows_it_in_a_bare_or_gdb_stack(kb, function):
    assert ROWS[kb].found_in(_signs([f"\t{function}", "\tHelperQueueFunc"]))
    assert ROWS[kb].found_in(_signs([f"#0  {function} (ctx=0x3) at bora/vmkernel/a.c:1"]))
