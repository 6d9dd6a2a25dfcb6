from __future__ import annotations

import pytest

from lostbeat.analyzer.parsers.coredumps import CoredumpInventory
from lostbeat.analyzer.result import (
    CauseKind,
    Crash,
    CrashType,
    KnownIssueMatch,
    Origin,
    RootCause,
)
from lostbeat.analyzer.rules.actions import plan_actions
from lostbeat.analyzer.rules.coredumps import judge_coredumps

LOST = Crash(CrashType.LOST_HEARTBEAT)


@pytest.mark.parametrize(
    ("conf", "valid"),
    [
        ({"/adv/Misc/CosCorefile": "/vmfs/volumes/4533e089/cos-core-esx1"}, True),
        ({"/adv/Misc/CosCoreFile": "/vmfs/volumes/datastore1/core"}, True),
        ({"/adv/Misc/CosCorefile": ""}, False),
        ({"/adv/Misc/CosCorefile": "/tmp/core"}, False),
        ({"/adv/Misc/HostName": "esx1"}, False),
    ],
)
def test_cos_core_file_validity(make, conf, valid):
    j = judge_coredumps(make.facts(esx_conf=make.conf(conf), crash=LOST))
    assert j.coredumps.cos_core_file_valid is valid
    assert ("coredumps.cos_core_file_invalid" in {f.id for f in j.findings}) is (not valid)


def test_no_esx_conf_means_unknown_validity(make):
    assert judge_coredumps(make.facts(crash=LOST)).coredumps.cos_core_file_valid is None


def test_cores_in_each_location_are_listed(make):
    inv = CoredumpInventory(
        ("root/old_cores/vmkernel-zdump-111309.07.13.1",), ("var/core/cos-core-esx1.123.core.gz",)
    )
    j = judge_coredumps(make.facts(coredumps=inv, crash=LOST))
    assert j.coredumps.vmkernel == inv.vmkernel and j.coredumps.cos == inv.cos
    assert {f.id for f in j.findings} == {"coredumps.vmkernel", "coredumps.cos"}
    missing = judge_coredumps(make.facts(crash=LOST))
    assert {f.id for f in missing.findings} == {
        "coredumps.vmkernel_missing",
        "coredumps.cos_missing",
    }


VALID = {"/adv/Misc/CosCorefile": "/vmfs/volumes/x/core"}
INVALID = {"/adv/Misc/CosCorefile": "/tmp/core"}


def facts(make, crash=LOST, conf=VALID):
    """ESX classic facts whose core-file setting is ``conf``."""
    return make.facts(esx_conf=make.conf(conf), crash=crash)


def kbs(actions):
    return sorted(a.kb for a in actions if a.kb)


@pytest.mark.parametrize(
    ("cause", "crash", "cores", "expected"),
    [
        (RootCause(CauseKind.LEAK, process="VMap", origin=Origin.VMWARE), LOST, VALID, ["653"]),
        (
            RootCause(CauseKind.LEAK, process="cmahealthd", origin=Origin.THIRD_PARTY),
            LOST,
            VALID,
            [],
        ),
        (RootCause(CauseKind.SPIKE), LOST, INVALID, ["1006797", "1032962", "653"]),
        (RootCause(CauseKind.INCONCLUSIVE), LOST, VALID, ["1006797", "653"]),
        (RootCause(CauseKind.CONTENTION), LOST, VALID, ["1003501"]),
        (RootCause(CauseKind.NOT_MEMORY), Crash(CrashType.COS_OOPS), VALID, ["1004250"]),
        (RootCause(CauseKind.NOT_MEMORY), Crash(CrashType.NONE), INVALID, []),
    ],
)
def test_action_plan(make, cause, crash, cores, expected):
    assert kbs(plan_actions(facts(make, crash, cores), cause, ())) == expected


def test_known_issue_comes_first_with_its_workaround(make):
    known = (KnownIssueMatch("1009607", "Pegasus leak", "restart daily"),)
    cause = RootCause(CauseKind.LEAK, process="cimserver", origin=Origin.VMWARE)
    actions = plan_actions(facts(make), cause, known)
    assert actions[0].kb == "1009607" and "restart daily" in actions[0].text
    assert kbs(actions) == ["1009607", "653"]


def test_a_vmware_second_leaker_beside_a_third_party_culprit_calls_for_support(make):
    cause = RootCause(
        CauseKind.LEAK, process="naviagent", origin=Origin.THIRD_PARTY, others=("vmware-hostd",)
    )
    assert kbs(plan_actions(facts(make), cause, (), (Origin.VMWARE,))) == ["653"]
    assert kbs(plan_actions(facts(make), cause, (), (Origin.THIRD_PARTY,))) == []
