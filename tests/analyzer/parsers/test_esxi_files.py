"""ESXi 5-8's own files: vmksummary.log (KB 2004566, KB 317245), the IPMI SEL (KB 394465), the
VIB list, user worlds' dumps in var/core, and `vmware -vl` (esxi-bundles.md)."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lostbeat.analyzer.parsers.coredumps import parse_coredumps
from lostbeat.analyzer.parsers.ipmi_sel import looks_like_ipmi_sel, parse_ipmi_sel
from lostbeat.analyzer.parsers.version import looks_like_version, parse_version
from lostbeat.analyzer.parsers.vibs import looks_like_vibs, parse_vibs
from lostbeat.analyzer.parsers.vmksummary import LineKind
from lostbeat.analyzer.parsers.vmksummary_log import (
    looks_like_vmksummary_log,
    parse_vmksummary_log,
)
from lostbeat.errors import ArtifactMissing, ParseError

# KB 317245's ESXi 7/8 examples and KB 2004566's ESXi 5 heartbeat
ESXI8 = [
    "2025-09-18T01:00:00.360Z heartbeat[14118500]: up 22d1h40m22s, 10 VMs; [[2109036 vmx "
    "16752988kB] [2115283 vmx 16775168kB] [2112238 vmx 44607488kB]] []",
    "2025-09-18T02:15:00.360Z bootstop[137121]: Host is halting",
    "2025-09-18T02:45:00.360Z Host has booted",
    "2017-09-15T09:48:53Z mark: storage-path-claim-completed",
]


def test_vmksummary_log_lines():
    summary = parse_vmksummary_log(ESXI8, path="var/run/log/vmksummary.log")
    kinds = [ln.kind for ln in summary.lines]
    assert kinds == [LineKind.HEARTBEAT, LineKind.HALTING, LineKind.STARTING, LineKind.OTHER]
    hb = summary.lines[0]
    assert (hb.vms, hb.vmk_uptime_s) == (10, ((22 * 24 + 1) * 60 + 40) * 60 + 22.0)
    assert [(c.token, c.kb) for c in hb.top][2] == ("vmx", 44607488)
    assert summary.lines[1].epoch == 1758161700 and summary.lines[1].evidence.line_no == 2


def test_vmksummary_log_with_the_syslog_severity_and_a_missing_dump_target():
    # 8.x: "In(14) heartbeat[pid]:", "No(13) bootstop[pid]:"; a boot without a dump target
    # says so on a bootstop line, which is no crash's core-file line
    lines = [
        "2030-01-02T03:00:00.111Z In(14) heartbeat[2104000]: up 3d4h5m6s, 7 VMs; [[2098600 "
        "hostd 90000kB] [2104100 vmx 4000000kB]] [], [numSMI 0]",
        "2030-01-02T03:30:00.222Z No(13) bootstop[2099000]: Host has booted",
        "2030-01-02T03:30:00.333Z No(13) bootstop[2099001]: No disk, file or network coredump "
        "enabled",
    ]
    assert looks_like_vmksummary_log("\n".join(lines))
    assert looks_like_vmksummary_log("\n".join(f"{i:3d}. {ln}" for i, ln in enumerate(lines, 1)))
    summary = parse_vmksummary_log(lines, path="var/run/log/vmksummary.log")
    assert [ln.kind for ln in summary.lines] == [
        LineKind.HEARTBEAT,
        LineKind.STARTING,
        LineKind.OTHER,
    ]
    assert summary.lines[0].vms == 7 and summary.lines[0].top[1].kb == 4000000


def test_vmksummary_log_redacted_times_have_no_epoch():
    (line,) = parse_vmksummary_log(
        ["YYYY-MM-DDTHH:MM:SS.SSSZ bootstop: Host has booted"], path="x"
    ).lines
    assert (line.kind, line.epoch) == (LineKind.STARTING, None)


@pytest.mark.parametrize("lines", [[], ["", "  "]])
def test_vmksummary_log_empty_is_missing(lines):
    with pytest.raises(ArtifactMissing):
        parse_vmksummary_log(lines, path="x")


def test_vmksummary_log_malformed():
    with pytest.raises(ParseError) as err:
        parse_vmksummary_log(["hello", "2011-08-30T04:00:01Z heartbeat: down"], path="v.log")
    assert err.value.line_no == 2
    with pytest.raises(ParseError) as err:
        parse_vmksummary_log(["hello"], path="v.log")
    assert err.value.line_no == 1


def test_vmksummary_log_sniffer():
    assert looks_like_vmksummary_log("\n".join(ESXI8))
    assert not looks_like_vmksummary_log("Nov 13 03:01:35 esx logger: (1) hb: vmk loaded")


SEL = [
    "Record:18318:",
    " When: 2025-03-14T10:54:53",
    " Event Type: 4 (Minor)",
    " SEL Type: 2 (System Event)",
    " Message: Assert + Processor Predictive Failure Asserted",
    " Sensor Number: 80",
    "Record:18321:",
    " When: 2025-03-14T10:54:53",
    " Message: Deassert + Processor Predictive Failure Asserted",
]


def test_ipmi_sel():
    sel = parse_ipmi_sel(SEL, path="commands/localcli_hardware-ipmi-sel-list.txt")
    assert [(r.record, r.severity, r.asserted) for r in sel.records] == [
        (18318, "Minor", True),
        (18321, None, False),
    ]
    assert looks_like_ipmi_sel("\n".join(SEL)) and not looks_like_ipmi_sel("Record: x\n")


def test_ipmi_sel_with_record_ids_and_fields_at_the_margin():
    lines = [
        "Record Id: 4021",
        "When: 2031-07-02T08:14:09",
        "Event Type: 7 (Critical)",
        "SEL Type: 2 (System Event)",
        "Message: Assert + Memory Uncorrectable ECC",
        "",
        "Record Id: 4022",
        "When: 2031-07-02T08:14:10",
        "Message: Deassert + Memory Uncorrectable ECC",
    ]
    assert looks_like_ipmi_sel("\n".join(lines))
    sel = parse_ipmi_sel(lines, path="ipmi-sel.txt")
    assert [
        (r.record, r.when, r.severity, r.asserted, r.evidence.line_no) for r in sel.records
    ] == [
        (4021, "2031-07-02T08:14:09", "Critical", True, 5),
        (4022, "2031-07-02T08:14:10", None, False, 9),
    ]


def test_ipmi_sel_empty_and_malformed():
    with pytest.raises(ArtifactMissing):
        parse_ipmi_sel([], path="x")
    with pytest.raises(ParseError) as err:
        parse_ipmi_sel(["", "Record:1:", " When: now"], path="x")
    assert err.value.line_no == 2


VIB_GET = [
    "VMware_bootbank_i40en_1.8.1.9-2vmw.670.3.73.14320388",
    "   Name: i40en",
    "   Version: 1.8.1.9-2vmw.670.3.73.14320388",
    "   Vendor: VMware",
    "   Acceptance Level: VMwareCertified",
    "EMU_bootbank_lpfc_12.8.298.1-1OEM.700.1.0.15843807",
    "   Name: lpfc",
    "   Version: 12.8.298.1-1OEM.700.1.0.15843807",
    "   Vendor: EMU",
]


def test_vib_blocks_and_table():
    vibs = parse_vibs(VIB_GET, path="commands/localcli_software-vib-get.txt")
    assert [(v.name, v.vendor) for v in vibs.vibs] == [("i40en", "VMware"), ("lpfc", "EMU")]
    assert vibs.by_name("lpfc") is not None and vibs.by_name("lpfc").evidence.line_no == 7
    assert looks_like_vibs("\n".join(VIB_GET))


def test_vibs_empty_and_malformed():
    with pytest.raises(ArtifactMissing):
        parse_vibs(["  "], path="x")
    with pytest.raises(ParseError) as err:
        parse_vibs(["just words"], path="x")
    assert err.value.line_no == 1


def test_user_world_dumps_in_var_core():
    inventory = parse_coredumps(
        [
            "var/core/vmkernel-zdump.1",
            "var/core/hostd-worker-zdump.000",
            "var/core/iofilterd-zdump.001",
            "var/core/core-vix-async-pipe-pid-1349332345.gz",
            "var/log/hostd-worker-zdump.000",
        ]
    )
    assert inventory.vmkernel == ("var/core/vmkernel-zdump.1",)
    assert inventory.userworld == (
        "var/core/core-vix-async-pipe-pid-1349332345.gz",
        "var/core/hostd-worker-zdump.000",
        "var/core/iofilterd-zdump.001",
    )


def test_vmware_vl_and_a_screens_header():
    v = parse_version(["    VMware ESXi 5.1.0 build-799733", "    VMware ESXi 5.1.0 GA"], path="x")
    assert (v.product, v.version, v.update, v.build) == ("VMware ESXi", "5.1.0", 0, 799733)
    # KB 372284: a machine-check screen's header is no version file
    assert not looks_like_version("VMware ESXi 7.X.X [Releasebuild-22348816 x86_64]\n")
    assert looks_like_version("\tVMware ESXi 5.0.0 GA\n")


@settings(max_examples=200, deadline=None, database=None)
@given(st.lists(st.text(max_size=120), max_size=10))
def test_arbitrary_text_raises_only_parse_errors(lines):
    for parse in (parse_vmksummary_log, parse_ipmi_sel, parse_vibs):
        with contextlib.suppress(ParseError, ArtifactMissing):
            parse(lines, path="x")
