from __future__ import annotations

import pytest

from lostbeat.analyzer.findings import Evidence
from lostbeat.analyzer.parsers.psod import PsodScreen
from lostbeat.analyzer.parsers.version import VersionInfo
from lostbeat.analyzer.platforms.esx_classic import KNOWN_ISSUES
from lostbeat.analyzer.result import CauseKind, RootCause
from lostbeat.analyzer.rules.known_issues import match_known_issues

LEAK = RootCause(CauseKind.LEAK, process="cimserver", token="cimserve")


def lost(make, build, message="Lost heartbeat", **kw):
    """Facts of a screen showing ``message`` on ``build``."""
    return make.facts(screens=(PsodScreen(build, message, None, (), (), ()),), **kw)


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
    matches, findings = match_known_issues(lost(make, build), LEAK)
    assert [m.kb for m in matches] == (["1009607"] if applies else [])
    if not applies:
        assert findings[0].id == "known_issues.not_applicable.1009607"


def test_version_file_disambiguates_a_patch_build(make):
    v40 = VersionInfo("VMware ESX", "4.0.0", None, 180000, Evidence("tmp/vmware.1.txt", 1, ""))
    assert match_known_issues(lost(make, 180000, versions=(v40,)), LEAK)[0] == ()
    v35 = VersionInfo("VMware ESX Server", "3.5.0", None, 180000, Evidence("x", 1, ""))
    assert [m.kb for m in match_known_issues(lost(make, 180000, versions=(v35,)), LEAK)[0]] == [
        "1009607"
    ]


def test_no_match_when_cimserver_is_not_to_blame_or_not_a_lost_heartbeat(make):
    other = RootCause(CauseKind.LEAK, process="vmware-hostd", token="vmware-h")
    assert match_known_issues(lost(make, 123630), other)[0] == ()
    assert match_known_issues(lost(make, 123630, "Oops"), LEAK)[0] == ()
    second = RootCause(CauseKind.LEAK, process="vmware-hostd", others=("cimserver",))
    assert len(match_known_issues(lost(make, 123630), second)[0]) == 1


def test_every_row_is_complete():
    for issue in KNOWN_ISSUES:
        assert issue.kb.isdigit() and issue.title and issue.workaround and issue.source
        assert issue.min_update <= issue.max_update
