"""Forms of ESX texts first met in cases 089-102 of the real corpus, each on a synthetic variant
(other builds, banks, devices, drivers and words than the cases'): ESX's one-line machine-check
register dump, a device's IOMMU fault naming its driver, a sentence that names a panic to say
it is absent, and a management controller's event log that records a processor's fatal fault
with no purple screen, its record ids left as a KB's placeholders."""

from __future__ import annotations

from pathlib import Path

import pytest

from lostbeat.analyzer.engine import analyze
from lostbeat.analyzer.parsers._panic_forms import PanicKind, message
from lostbeat.analyzer.parsers.ipmi_sel import looks_like_ipmi_sel, parse_ipmi_sel
from lostbeat.analyzer.result import AnalysisResult, CrashClass, CrashType


def run(tmp_path: Path, files: dict[str, str]) -> AnalysisResult:
    paths = []
    for name, text in files.items():
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        paths.append(path)
    return analyze(paths)


def kinds(result: AnalysisResult) -> list[str]:
    return [i.kind for i in result.inputs if i.status.value == "read"]


# MCi_STATUS's top digits: VAL=8, UC=2 of the first; PCC=2 of the second.
@pytest.mark.parametrize(
    ("status", "fatal"),
    [
        ("0xbe00000000800400", True),  # VAL UC EN MISCV ADDRV PCC
        ("0xb200000000070005", True),  # VAL UC EN, PCC
        ("0xbc00000000800400", False),  # uncorrected but the context survived (no PCC)
        ("0x8c00004000010090", False),  # corrected
        ("0x7e00000000800400", False),  # not valid
    ],
)
def test_a_machine_check_register_line_is_a_panic_when_uncorrected_with_context_lost(status, fatal):
    line = f"MC: PCPU41 B:7 S:{status} M:0x1f00000086 A:0x7fee2c0 3"
    found = message(line)
    assert (found is not None and found[0] is PanicKind.MCE) is fatal


def test_a_lone_machine_check_register_line_is_a_hardware_crash_with_its_bank(tmp_path):
    result = run(
        tmp_path,
        {
            "mce.txt": "From the console of host 12:\n  MC:PCPU6 B:4 S:0xfa00000000000813 M:0x0 A:0x2\n"
        },
    )
    assert kinds(result) == ["psod"]
    assert result.crash.type is CrashType.VMKERNEL
    assert result.crash.class_ is CrashClass.HARDWARE
    assert result.crash.mce_bank == 4


def test_a_corrected_machine_check_register_line_is_no_panic():
    assert message("MC: PCPU2 B:9 S:0x9c00004000010091 M:0x200 A:0x1234 0") is None


IOMMU = (
    "The host showed this before it stopped:\n"
    "@BlueScreen: IOMMU Fault detected for 0000:5e:00.1 (vmhba4/{driver}) Reason: 0x5 "
    "(Write access to a read-only page.)\n"
)


@pytest.mark.parametrize(
    ("driver", "vendor"),
    [("lpfc", "Emulex"), ("qlnativefc", "QLogic (Marvell)"), ("acmehba", None)],
)
def test_an_iommu_fault_is_the_driver_of_the_device_it_names(tmp_path, driver, vendor):
    result = run(tmp_path, {"screen.txt": IOMMU.format(driver=driver)})
    assert kinds(result) == ["psod"]
    assert result.crash.type is CrashType.VMKERNEL
    assert result.crash.message.startswith("IOMMU Fault detected for 0000:5e:00.1")
    assert result.crash.class_ is CrashClass.DRIVER
    assert result.crash.suspect_module == driver
    assert result.crash.suspect_vendor == vendor


def test_an_iommu_fault_without_an_owner_names_no_suspect(tmp_path):
    result = run(tmp_path, {"screen.txt": "IOMMU Fault detected for 0000:3b:00.0 Reason: 0x6\n"})
    assert result.crash.type is CrashType.VMKERNEL
    assert result.crash.suspect_module is None
    assert result.crash.class_ is CrashClass.UNKNOWN


@pytest.mark.parametrize(
    "sentence",
    [
        "The log holds no Machine Check Exception lines before the reset.",
        "We found no PCPU 12 locked up message on the console.",
        "It rebooted without a Machine Check Exception on PCPU3 being shown.",
        "Support confirmed there was not any #PF Exception 14 in world 2097:vmx IP 0x1 addr 0x0",
    ],
)
def test_a_sentence_that_says_a_panic_is_absent_names_no_panic(sentence):
    assert message(sentence) is None


def test_the_panic_itself_is_still_read():
    assert message("@BlueScreen: PCPU 12 locked up. Failed to ack TLB invalidate.")[0] is (
        PanicKind.LOCKUP
    )
    assert message("Machine Check Exception on PCPU3 in world 2097:vmx")[0] is PanicKind.MCE


HANG = (
    "  • In vmkernel.log there is no Machine Check Exception, no panic and no warning before\n"
    "    the host stopped answering.\n"
    "\n"
    "    2024-05-02T03:10:11.812Z cpu0:2097152)ApeiHEST: 984: GESB lists: 2 NMI, 0 MCE, 0 CMC\n"
)


def test_a_note_that_names_a_machine_check_only_to_deny_it_is_no_crash(tmp_path):
    result = run(tmp_path, {"notes.txt": HANG})
    assert "psod" not in kinds(result)
    assert result.crash.type is CrashType.NONE


SEL = (
    "Record:{rid}:\n"
    "   Record Id: {rid}\n"
    "   When: 2025-11-02T07:41:09\n"
    "   Event Type: 7 (Fatal/NonRecoverable)\n"
    "   SEL Type: 2 (System Event)\n"
    "   Message: {message}\n"
    "   Sensor Number: 92\n"
)


@pytest.mark.parametrize("rid", ["X", "##", "118"])
def test_a_sel_listing_with_placeholder_record_ids_is_read(rid):
    text = SEL.format(rid=rid, message="Assert + Processor CATERR")
    assert looks_like_ipmi_sel(text)
    sel = parse_ipmi_sel(text.splitlines(), path="sel.txt")
    assert [r.record for r in sel.records] == [118 if rid == "118" else None]
    assert sel.records[0].processor_fatal


@pytest.mark.parametrize(
    ("record", "fatal"),
    [
        ("Assert + Processor CATERR", True),
        ("Assert + Processor 2 IERR", True),
        ("Assert + Processor Transition to Nonrecoverable", True),
        ("Deassert + Processor IERR", False),
        ("Assert + Processor Predictive Failure Asserted", False),
        ("Assert + Memory Uncorrectable ECC", False),
    ],
)
def test_only_an_asserted_fatal_processor_fault_stops_the_host_below_esxi(record, fatal):
    sel = parse_ipmi_sel(SEL.format(rid=7, message=record).splitlines(), path="sel.txt")
    assert sel.records[0].processor_fatal is fatal


def test_a_processor_fault_in_the_sel_with_no_screen_is_no_purple_screen(tmp_path):
    result = run(tmp_path, {"sel.txt": SEL.format(rid=21, message="Assert + Processor CATERR")})
    assert kinds(result) == ["ipmi_sel"]
    assert result.crash.type is CrashType.NONE
    assert result.crash.class_ is CrashClass.NONE
    assert "Processor CATERR" in (result.crash.message or "")


def test_a_sel_without_a_fatal_processor_fault_still_leaves_the_outcome_open(tmp_path):
    sel = SEL.format(rid=21, message="Assert + Processor Predictive Failure Asserted")
    result = run(tmp_path, {"sel.txt": sel})
    assert result.crash.type is CrashType.UNKNOWN


def test_a_purple_screen_beside_a_processor_fault_in_the_sel_is_still_the_crash(tmp_path):
    screen = (
        "VMware ESXi 8.0.2 [Releasebuild-22380479 x86_64]\n"
        "Machine Check Exception on PCPU4 in world 2098124:vmx\n"
        "System has encountered a Hardware Error - Please contact the hardware vendor\n"
    )
    result = run(
        tmp_path,
        {"screen.txt": screen, "sel.txt": SEL.format(rid=3, message="Assert + Processor IERR")},
    )
    assert result.crash.type is CrashType.VMKERNEL
    assert result.crash.class_ is CrashClass.HARDWARE


def test_a_double_spaced_sel_listing_is_still_one():
    text = SEL.format(rid="X", message="Assert + Processor IERR").replace("\n", "\n\n")
    assert looks_like_ipmi_sel(text)


@pytest.mark.parametrize("mark", ["> ", ">\t", " 14. "])
def test_a_quoted_or_numbered_sel_listing_is_read_as_one(tmp_path, mark):
    text = "".join(
        mark + line + "\n"
        for line in SEL.format(rid=4, message="Assert + Processor IERR").splitlines()
    )
    result = run(tmp_path, {"sel.txt": text})
    assert kinds(result) == ["ipmi_sel"]
    assert result.crash.type is CrashType.NONE


LOGGED_PANIC = (
    "2024-01-09T02:13:44.101Z cpu12:2100017)Backtrace for current CPU #12, worldID=2100017, fp=0x0\n"
    "2024-01-09T02:13:44.101Z cpu12:2100017)0x4539:[0x4200a1]{top}@vmkernel#nover+0x1f5 stack: 0x1\n"
    "2024-01-09T02:13:44.102Z cpu12:2100017)0x4539:[0x4200a2]Int6_UD2Assert@vmkernel#nover+0x41 stack: 0x3\n"
    "2024-01-09T02:13:44.102Z cpu12:2100017)0x4539:[0x4200a3]LSOMFlushWork@(lsom)#0.0.0.1+0x57 stack: 0x4\n"
)


@pytest.mark.parametrize("top", ["Panic_OnAssertAt", "PanicvPanicInt", "vmk_PanicWithModuleID"])
def test_a_logged_backtrace_through_the_panic_functions_is_a_panic(tmp_path, top):
    result = run(tmp_path, {"vmkernel.log": LOGGED_PANIC.format(top=top)})
    assert kinds(result) == ["vmkernel_log"]
    assert result.crash.type is CrashType.VMKERNEL


def test_a_warning_s_logged_backtrace_is_still_no_panic(tmp_path):
    text = LOGGED_PANIC.format(top="vmk_LogBacktraceMessage").replace(
        "Int6_UD2Assert", "Net_Watchdog"
    )
    result = run(tmp_path, {"vmkernel.log": text})
    assert result.crash.type is CrashType.NONE
