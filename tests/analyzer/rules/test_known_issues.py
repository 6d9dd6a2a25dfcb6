from __future__ import annotations

import pytest

from lostbeat.analyzer.findings import Evidence
from lostbeat.analyzer.parsers.version import VersionInfo
from lostbeat.analyzer.result import CauseKind, Crash, CrashType, RootCause
from lostbeat.analyzer.rules.known_issues import KNOWN_ISSUES, match_known_issues

LEAK = RootCause(CauseKind.LEAK, process="cimserver", token="cimserve")


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
    crash = Crash(CrashType.LOST_HEARTBEAT, build=build)
    matches, findings = match_known_issues(make.facts(), crash, LEAK)
    assert [m.kb for m in matches] == (["1009607"] if applies else [])
    if not applies:
        assert findings[0].id == "known_issues.not_applicable.1009607"


def test_version_file_disambiguates_a_patch_build(make):
    crash = Crash(CrashType.LOST_HEARTBEAT, build=180000)
    v40 = VersionInfo("VMware ESX", "4.0.0", None, 180000, Evidence("tmp/vmware.1.txt", 1, ""))
    assert match_known_issues(make.facts(versions=(v40,)), crash, LEAK)[0] == ()
    v35 = VersionInfo("VMware ESX Server", "3.5.0", None, 180000, Evidence("x", 1, ""))
    assert [m.kb for m in match_known_issues(make.facts(versions=(v35,)), crash, LEAK)[0]] == [
        "1009607"
    ]


def test_no_match_when_cimserver_is_not_to_blame_or_not_a_lost_heartbeat(make):
    crash = Crash(CrashType.LOST_HEARTBEAT, build=123630)
    other = RootCause(CauseKind.LEAK, process="vmware-hostd", token="vmware-h")
    assert match_known_issues(make.facts(), crash, other)[0] == ()
    oops = Crash(CrashType.COS_OOPS, build=123630)
    assert match_known_issues(make.facts(), oops, LEAK)[0] == ()
    second = RootCause(CauseKind.LEAK, process="vmware-hostd", others=("cimserver",))
    assert len(match_known_issues(make.facts(), crash, second)[0]) == 1


def test_every_row_is_complete():
    for issue in KNOWN_ISSUES:
        assert issue.kb.isdigit() and issue.title and issue.workaround and issue.source
        assert issue.min_update <= issue.max_update
