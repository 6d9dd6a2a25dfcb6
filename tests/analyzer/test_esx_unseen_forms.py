"""Forms of ESX texts first met in cases 078-088 of the real corpus, each on a synthetic variant
(other builds, worlds, modules and words than the cases'): a coredump summary's version line,
frames without addresses one a line, a panic a module asked for, the VMkernel refusing its
processors, a driver's own world faulting, the logs of vobd, of a KB quoting hostd with its
time in brackets and of ESXi 8's severity-tagged vmware.log, and a driver's known issue that
needs the driver in sight."""

from __future__ import annotations

from pathlib import Path

import pytest

from lostbeat.analyzer.engine import analyze
from lostbeat.analyzer.parsers.psod import looks_like_psod
from lostbeat.analyzer.result import AnalysisResult, CrashClass, CrashType


def run(tmp_path: Path, name: str, text: str) -> AnalysisResult:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return analyze([path])


def kinds(result: AnalysisResult) -> list[str]:
    return [i.kind for i in result.inputs if i.status.value == "read"]


SUMMARY = (
    "Crash summary as support sent it\n"
    "Version Details: VMware ESXi 7.0.3 build-19193900\n"
    "Panic Details: Crash at 2023-03-02T11:04:51.201Z on CPU 12 running world 2099876 - "
    "vmx-vcpu-0. VMK Uptime:3:01:02:03.004\n"
    "Panic Message: @BlueScreen: Checksum mismatch in a metadata block\n"
    "Backtrace:\n"
    "0x4539:[0x4200a1]PanicvPanicInt@vmkernel#nover+0x1f5 stack: 0x1, 0x2\n"
    "0x4539:[0x4200a2]vmk_PanicWithModuleID@vmkernel#nover+0x41 stack: 0x3\n"
    "0x4539:[0x4200a3]HelperQueueFunc@vmkernel#nover+0x157 stack: 0x4\n"
)


def test_a_coredump_summary_with_its_version_line_is_a_screen_with_a_build(tmp_path):
    result = run(tmp_path, "summary.txt", SUMMARY)
    assert kinds(result) == ["psod"]
    assert result.crash.type is CrashType.VMKERNEL
    assert result.crash.build == 19193900
    # a module asked for the panic and no driver is in sight: VMware's own code gave up
    assert result.crash.class_ is CrashClass.VMKERNEL


def test_a_version_line_alone_is_still_no_screen():
    assert not looks_like_psod("VMware ESXi 7.0.3 build-19193900\nVMware ESXi 7.0 Update 3c\n")


BARE = (
    "The stack looked like this:\n"
    "PanicvPanicInt@vmkernel#nover+0x1f\n"
    "vmk_PanicWithModuleID@vmkernel#nover+0x41\n"
    "{function}@({module})#<None>+0x22\n"
    "CpuSched_StartWorld@vmkernel#nover+0x77\n"
)


def test_frames_without_addresses_one_a_line_are_a_backtrace(tmp_path):
    text = BARE.format(function="VFC_CacheFlush", module="vflash")
    result = run(tmp_path, "stack.txt", text)
    assert kinds(result) == ["psod"]
    assert result.crash.type is CrashType.VMKERNEL
    assert result.crash.suspect_module == "vflash"
    assert result.crash.class_ is CrashClass.VMKERNEL


def test_a_driver_asking_for_the_panic_is_the_drivers_fault(tmp_path):
    text = BARE.format(function="nmlx5_CmdTimeout", module="nmlx5_core")
    result = run(tmp_path, "stack.txt", text)
    assert (result.crash.class_, result.crash.suspect_module) == (CrashClass.DRIVER, "nmlx5_core")


def test_one_frame_or_frames_of_no_vmkernel_are_no_backtrace():
    assert not looks_like_psod("Ask support@example.com#1 about it\nprose, no frame\n")
    assert not looks_like_psod("Save@editor#2+0x1\nLoad@editor#2+0x2\n")


def test_the_vmkernel_refusing_its_processors_is_the_hardwares_crash(tmp_path):
    text = (
        "The host stops at boot with:\n"
        'Fatal CPU mismatch on feature "Intel processor platform type identifier"; cpu3 value '
        "= 0x10041a5c, but cpu0 value = 0x1004195c\n"
    )
    result = run(tmp_path, "boot.txt", text)
    assert result.crash.type is CrashType.VMKERNEL
    assert result.crash.class_ is CrashClass.HARDWARE


def test_a_drivers_own_world_names_the_suspect_when_no_frame_does(tmp_path):
    text = "@BlueScreen: #PF Exception 14 in world 2101234:bnxtnet_tx_worker IP 0x4200 addr 0x8\n"
    result = run(tmp_path, "screen.txt", text)
    assert (result.crash.class_, result.crash.suspect_module) == (CrashClass.DRIVER, "bnxtnet")
    quiet = run(tmp_path, "other.txt", text.replace("bnxtnet_tx_worker", "vmnic2-pollWorld"))
    assert quiet.crash.class_ is CrashClass.UNKNOWN and quiet.crash.suspect_module is None


QUIET_LOGS = {
    # vobd: "<time>: [<component>] <uptime>us: [vob...]"
    "vobd.log": (
        "2021-07-01T10:00:00.123Z: [netCorrelator] 1234567890us: [vob.net.vmnic.linkstate.down] "
        "vmnic1 linkstate down\n"
        "2021-07-01T10:00:04.001Z: [netCorrelator] 1234571768us: [vob.net.vmnic.linkstate.up] "
        "vmnic1 linkstate up\n"
    ),
    # hostd as a KB quotes it, its time in brackets (once redacted)
    "hostd.log": (
        "[2022-03-04T05:06:07.890Z] warning hostd[2099876] [Originator@6876 sub=IoTracker] "
        'In thread 2101, fopen("/vmfs/volumes/ds1/vm1/vm1.vmx") took over 31 sec.\n'
        "[YYYY-MM-DDTHH:MM:SS] info hostd[2099876] [Originator@6876 sub=Libs] Cannot open file\n"
    ),
    # ESXi 8's severity tags on a virtual machine's log and fdm's: the VM's own PANIC is none
    # of the host's
    "vmware.log": (
        "2024-02-01T10:00:00.000Z In(05) vmx - Powering on the virtual machine\n"
        "2024-02-01T10:00:09.000Z Er(02) vcpu-0 - PANIC: Unexpected signal 11 in the VMX\n"
        "2024-02-01T10:00:09.100Z Db(167) Fdm[2101000]: New event: "
        "EventEx=com.vmware.vc.ha.VmRestartedByHAEvent\n"
    ),
}


@pytest.mark.parametrize("name", sorted(QUIET_LOGS))
def test_other_esx_logs_are_read_and_show_no_host_crash(tmp_path, name):
    result = run(tmp_path, name, QUIET_LOGS[name])
    assert kinds(result) == ["esx_log"]
    assert (result.crash.type, result.crash.class_) == (CrashType.NONE, CrashClass.NONE)


def test_a_drivers_known_issue_needs_the_driver_in_sight(tmp_path):
    # KB 370976 blames the inbox i40en driver: its function's name alone, in a stack of
    # names, is no frame of the driver
    names = "i40en_UplinkPrivStatsGet\nUplinkDeviceGetStatsAsyncCB\nHelperQueueFunc\n"
    assert [i.kb for i in run(tmp_path, "names.txt", names).known_issues] == []
    framed = (
        "0x4539:[0x4200b1]i40en_UplinkPrivStatsGet@(i40en)#<None>+0x2a stack: 0x1\n"
        "0x4539:[0x4200b2]HelperQueueFunc@vmkernel#nover+0x1d2 stack: 0x2\n"
    )
    result = run(tmp_path, "framed.txt", framed)
    assert [i.kb for i in result.known_issues] == ["370976"]
    assert result.crash.class_ is CrashClass.DRIVER
