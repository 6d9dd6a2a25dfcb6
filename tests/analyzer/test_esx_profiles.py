"""The ESX profiles end to end, on loose files as a user gives them: which profile reads them,
the crash's class and suspect, what is no crash at all, and a plan that fits the platform and
the class. Every text is a form a KB or a real case quotes (tests/corpus/)."""

from __future__ import annotations

from pathlib import Path

import pytest

from lostbeat.analyzer.engine import analyze
from lostbeat.analyzer.findings import Severity
from lostbeat.analyzer.result import AnalysisResult, CauseKind, CrashClass, CrashType


def run(tmp_path: Path, **files: str) -> AnalysisResult:
    paths = []
    for name, text in files.items():
        path = tmp_path / name.replace("_", ".", 1)
        path.write_text(text, encoding="utf-8")
        paths.append(path)
    return analyze(paths)


ESXI_MCE = (
    "VMware ESXi 7.0.3 [Releasebuild-22348816 x86_64]\n"
    "Machine Check Exception on PCPU58 in world 2097171:idle51\n"
    "System has encountered a Hardware Error - Please contact the hardware vendor\n"
    "MCA: 208: UC Excp G4 B6 Sbb00002000000e0b AB M180008 P8/8 I/O error reported by PCI "
    "0000:00:03.0.\n"
)
I40EN = (
    "2024-06-21T21:50:40.305Z cpu56:2097460)@BlueScreen: #PF Exception 14 in world "
    "2097460:HELPER_UPLIN IP 0x42002b65ad3b addr 0x8\n"
    "2024-06-21T21:50:40.346Z cpu56:2097460)0x453949a1be20:[0x42002b65ad3b]i40en_RxRingPoll@"
    "(i40en)#<None>+0x45f stack: 0x4307b3a7e050\n"
    "2024-06-21T21:50:40.373Z cpu56:2097460)0x453949a1be80:[0x42002aa8da15]HelperQueueFunc@"
    "vmkernel#nover+0x2fe stack: 0x420000000001\n"
)
VIBS = (
    "Name     Version                          Vendor  Acceptance Level  Install Date\n"
    "-------  -------------------------------  ------  ----------------  ------------\n"
    "i40en    1.9.5-1OEM.700.1.0.15525992      INT     VMwareCertified   2021-01-04\n"
)


def words(result: AnalysisResult) -> str:
    return " ".join(a.text for a in result.actions)


def test_esxi_is_told_from_esx_classic_by_content(tmp_path):
    assert run(tmp_path, screen_txt=ESXI_MCE).platform.name == "esxi"
    assert run(tmp_path, vmkernel_log=I40EN).platform.name == "esxi"  # ISO stamps, @(i40en)
    classic = "VMware ESX Server [Releasebuild-123630]\nOops\n@BlueScreen: Oops\n"
    assert run(tmp_path, screen_txt=classic).platform.name == "esx_classic"
    # ESXi 4.1 has no Service Console: its version file says so (elatov.github.io, KB 2017008)
    esxi41 = run(tmp_path, vmware_txt="VMware ESXi 4.1.0 build-702113\n")
    assert esxi41.platform.name == "esxi"


def test_a_machine_check_goes_to_the_server_vendor_with_its_bank(tmp_path):
    result = run(tmp_path, screen_txt=ESXI_MCE)
    crash = result.crash
    assert (crash.type, crash.class_) == (CrashType.VMKERNEL, CrashClass.HARDWARE)
    assert (crash.mce_bank, crash.device, crash.build) == (6, "0000:00:03.0", 22348816)
    assert crash.release == "ESXi 7.0 Update 3o"
    assert result.root_cause.kind is CauseKind.NOT_MEMORY
    plan = words(result)
    assert "server vendor" in plan and "bank 6" in plan and "0000:00:03.0" in plan
    assert "Service Console" not in plan


def test_a_driver_goes_to_its_update_with_the_installed_version(tmp_path):
    result = run(tmp_path, vmkernel_log=I40EN, vibs_txt=VIBS)
    crash = result.crash
    assert (crash.class_, crash.suspect_module, crash.suspect_vendor) == (
        CrashClass.DRIVER,
        "i40en",
        "Intel",
    )
    assert crash.suspect_version == "1.9.5-1OEM.700.1.0.15525992"  # from the VIB list
    plan = words(result)
    assert "i40en" in plan and "1.9.5-1OEM.700.1.0.15525992" in plan and "VIB" in plan


@pytest.mark.parametrize(
    ("text", "cls", "suspect"),
    [
        # an assertion in the VMkernel's source (KB 311064)
        ("@BlueScreen: ASSERT bora/vmkernel/main/pframe_int.h:527\n", CrashClass.VMKERNEL, None),
        # a lockup: the screen does not say why (KB 324947)
        ("PCPU 3 locked up. Failed to ack TLB invalidate.\n", CrashClass.UNKNOWN, None),
        # the heartbeat NMI caught a CPU in the iLO's interrupt handler (KB 429117's form)
        (
            "@BlueScreen: NMI IPI: Panic requested by another PCPU. PC 0x1, SP 0x2\n"
            "0x45:[0x42]hpilo_isr@(hpilo)#<None>+0x98\n"
            "0x46:[0x43]IntrCookieBH@vmkernel#nover+0x170\n",
            CrashClass.HARDWARE,
            "hpilo",
        ),
        # a PCIe containment handler raised the panic (KB 394393's form)
        (
            "0x1:[0x2]PanicvPanicInt@vmkernel#nover+0x202 stack: 0x3\n"
            "0x4:[0x5]PCIEDPC_EDRHandler@vmkernel#nover+0x2cd stack: 0x0\n",
            CrashClass.HARDWARE,
            None,
        ),
        # a failure in the driver tree, no backtrace (a vmklinux NOT REACHED)
        (
            "Failed at vmkdrivers/src_9/vmklinux_9/vmware/linux_scsi.c:2221 -- NOT REACHED\n",
            CrashClass.DRIVER,
            None,
        ),
        # a vmklinux driver's frames name no module: its functions' prefix does (be_ is be2net)
        (
            "0x4122:[0x4180]Util_Udelay@vmkernel#nover+0x2f stack: 0x4\n"
            "0x4122:[0x41801d247c34]be_mcc_notify_wait@#+0x3f stack: 0x0\n",
            CrashClass.DRIVER,
            "be2net",
        ),
        # VMware's own TCP/IP stack is the suspect, but no driver: the screen does not say
        (
            "#PF Exception 14 in world 2098398:tq:tcpip4 IP 0x420021b84d25 addr 0x134\n"
            "Module(s) involved in panic: [tcpip4 Built on: Jun 11 2024]\n",
            CrashClass.UNKNOWN,
            "tcpip4",
        ),
    ],
)
def test_the_class_of_a_purple_screen(tmp_path, text, cls, suspect):
    result = run(tmp_path, screen_txt=text)
    assert result.crash.type is CrashType.VMKERNEL
    assert (result.crash.class_, result.crash.suspect_module) == (cls, suspect)
    assert result.root_cause.kind is CauseKind.NOT_MEMORY


@pytest.mark.parametrize(
    "message",
    [
        "Failed at bora/modules/vmkernel/plog/plog_elevator.c:1207 -- VMK_ASSERT(count > 0)",
        "Failed at bora/modules/vmkernel/clom/clom_repair.c:93 -- NOT REACHED",
    ],
)
def test_a_vmkernel_modules_own_check_is_the_vmkernels_fault(tmp_path, message):
    text = (
        "Panic Details: Crash at 2031-02-03T04:05:06.789Z on CPU 12 running world 2100441. "
        "VMK Uptime:3:04:05:06.789\n"
        f"Panic Message: @BlueScreen: {message}\n"
        "0x45:[0x42]PanicvPanicInt@vmkernel#nover+0x20c stack: 0x1\n"
    )
    result = run(tmp_path, backtrace_txt=text)
    assert (result.crash.type, result.crash.class_) == (CrashType.VMKERNEL, CrashClass.VMKERNEL)


@pytest.mark.parametrize(
    ("line", "crash"),
    [
        # the detector's silence reached its timeout: the CPU is declared locked up
        (
            "2031-05-06T07:08:09.123Z cpu3:2097152)WARNING: Heartbeat: 785: PCPU 17 didn't have "
            "a heartbeat for 21 seconds, timeout is 14, 3 IPIs sent; *may* be locked up.",
            CrashType.UNKNOWN,
        ),
        # 7.0+'s function:line form, still under its timeout: only late, the host goes on
        (
            "2031-05-06T07:08:09.123Z cpu3:2097152)ALERT: Heartbeat: HandleLockup:911: PCPU 17 "
            "didn't have a heartbeat for 6 seconds, timeout is 14, 1 IPIs sent; *may* be locked up.",
            CrashType.NONE,
        ),
    ],
)
def test_a_pcpu_heartbeat_warning_past_its_timeout_leaves_the_outcome_open(tmp_path, line, crash):
    result = run(tmp_path, vmkernel_log=line + "\n")
    assert result.crash.type is crash
    assert result.crash.class_ is (
        CrashClass.UNKNOWN if crash is CrashType.UNKNOWN else CrashClass.NONE
    )


def test_a_vmkernel_heap_at_its_maximum_is_the_vmkernels_fault(tmp_path):
    result = run(
        tmp_path,
        backtrace_txt="PanicvPanicInt\nPanic_WithBacktrace\nHeap_AlignWithTimeoutAndRA\n",
        vmkwarning_log="WARNING: Heap: 3534: Heap netGPHeap already at its maximum size. Cannot "
        "expand.\n",
    )
    assert (result.crash.type, result.crash.class_) == (CrashType.VMKERNEL, CrashClass.VMKERNEL)


def test_a_management_agent_crash_is_no_crash(tmp_path):
    result = run(
        tmp_path,
        messages="Oct 4 08:02:38 vmkernel: 40:12:01:41.386 cpu10:7448)UserDump: 1485: Dumping "
        "cartel 5551 (from world 7448) to file /var/core/hostd-worker-zdump.000 ...\n",
    )
    crash = result.crash
    assert (crash.type, crash.class_, crash.agent) == (CrashType.NONE, CrashClass.NONE, "hostd")
    assert crash.message == "no purple screen here: hostd crashed (a core dump of hostd-worker)"
    assert all(f.severity is not Severity.CRITICAL for f in result.findings)
    assert "restart the management agents" in words(result)


def test_a_full_ramdisk_is_no_crash_and_names_the_agent(tmp_path):
    hostd = (
        "2013-08-12T13:48:25.650Z [6FE81B90 info 'ha-eventmgr'] Event 8573 : The file table of "
        "the ramdisk 'root' is full.  As a result, the file /var/run/vmware/tickets/vmtck could "
        "not be created by the application 'hostd-worker'.\n"
    )
    result = run(tmp_path, hostd_log=hostd, vmware_txt="VMware ESXi 5.1.0 build-799733\n")
    assert (result.crash.type, result.crash.agent) == (CrashType.NONE, "hostd")
    assert "ramdisk" in (result.crash.message or "")
    assert [k.kb for k in result.known_issues] == ["2040707"]  # ESXi 5.1 before Update 1
    assert all(f.severity is not Severity.CRITICAL for f in result.findings)
    later = run(tmp_path, hostd_log=hostd, vmware_txt="VMware ESXi 5.1.0 build-1065491\n")
    assert later.known_issues == ()  # fixed in 5.1 Update 1


@pytest.mark.parametrize(
    "summary",
    [
        # ESXi 7/8 (KB 317245) and ESX 4.0 (KB 1019238)
        "2025-09-18T04:25:00.360Z bootstop[137121]: Host is rebooting\n"
        "2025-09-18T04:27:00.360Z Host has booted\n",
        "Mar 9 10:24:42 localhost vmkhalt: (1268148282) Rebooting system...\n"
        "Mar 9 10:26:13 localhost vmkhalt: (1268148374) Starting system...\n",
    ],
)
def test_a_reboot_someone_asked_for_is_the_users(tmp_path, summary):
    result = run(tmp_path, vmksummary_log=summary)
    crash = result.crash
    assert (crash.type, crash.class_, crash.reboot) == (CrashType.NONE, CrashClass.NONE, "user")
    assert all(f.severity is not Severity.CRITICAL for f in result.findings)


def test_a_restart_without_a_stop_is_not_the_users(tmp_path):
    result = run(
        tmp_path,
        vmksummary_log="2025-09-18T01:00:00.360Z heartbeat[1]: up 2d1h0m0s, 3 VMs; [] []\n"
        "2025-09-18T02:45:00.360Z Host has booted\n",
    )
    assert (result.crash.type, result.crash.reboot) == (CrashType.UNKNOWN, None)


def test_a_logged_power_loss_is_no_crash(tmp_path):
    hostd = (
        "2025-09-18T02:45:06.810Z In(166) Hostd[2100]: [Originator@6876 sub=Vimsvc.ha-eventmgr] "
        "Event 38 : Host had been powered off. The power off was not the result of a kernel "
        "error, deliberate reboot, or shut down.\n"
    )
    result = run(tmp_path, hostd_log=hostd)
    assert result.crash.type is CrashType.NONE and result.crash.reboot is None
    assert "lost power" in (result.crash.message or "")
    assert [k.kb for k in result.known_issues] == ["317245"]


def test_a_gdb_session_on_a_user_worlds_core_shows_no_purple_screen(tmp_path):
    gdb = (
        "(gdb) core-file vmware-core\n"
        "Program terminated with signal 11, Segmentation fault.\n"
        "#0 0x000b8a6a in ?? ()\n#1 0x000b8a6a in ?? ()\n"
    )
    result = run(tmp_path, gdb_txt=gdb)
    assert all(r.status.value == "read" for r in result.inputs)
    assert result.crash.type is CrashType.UNKNOWN


def test_esxi_plans_never_speak_of_the_service_console(tmp_path):
    for text in (ESXI_MCE, I40EN, "2024-01-01T00:00:00Z cpu1:2097152)@BlueScreen: CrashMe\n"):
        result = run(tmp_path, vmkernel_log=text)
        assert result.platform.name == "esxi"
        plan = words(result) + " ".join(f.title + f.detail for f in result.findings)
        for word in ("Service Console", "COS core", "CosCorefile", "vmksummary"):
            assert word not in plan, (word, plan)


@pytest.mark.parametrize(
    ("log", "agent", "said"),
    [
        # vobd's alert for an agent that stopped answering, and a ramdisk with no agent named
        (
            "2024-02-01T10:00:00.000Z cpu3:2097601)ALERT: vpxa detected to be non-responsive\n",
            "vpxa",
            "no purple screen here: vpxa stopped answering",
        ),
        (
            "2019-05-01T10:00:00.000Z cpu1:2097152)WARNING: VisorFSRam: 203: Cannot extend "
            "visorfs file /var/log/hostd.log because its ramdisk (var) is full.\n",
            None,
            "no purple screen here: the ramdisk 'var' is full",
        ),
    ],
)
def test_an_agent_that_stops_answering_or_a_full_ramdisk_is_no_crash(tmp_path, log, agent, said):
    result = run(tmp_path, vmkernel_log=log)
    crash = result.crash
    assert (crash.type, crash.class_, crash.agent, crash.message) == (
        CrashType.NONE,
        CrashClass.NONE,
        agent,
        said,
    )
    assert all(f.severity is not Severity.CRITICAL for f in result.findings)


def test_a_heartbeat_another_component_lost_is_no_purple_screen(tmp_path):
    # HA's and VMFS's heartbeats are not the Service Console's (KB 1009607 is the HB: alert)
    log = (
        "2020-01-01T00:00:00.000Z fdm[2099]: Lost heartbeat from slave host-12\n"
        "2020-01-01T00:00:01.000Z cpu1:2097152)WARNING: HBX: 4983: 'ds1': HB at offset 3 - "
        "Waiting for timed out HB\n"
    )
    result = run(tmp_path, vmkernel_log=log)
    assert result.crash.type is CrashType.NONE
    assert all(f.severity is not Severity.CRITICAL for f in result.findings)


def test_an_agent_backtrace_names_the_build_it_ran(tmp_path):
    # hostd's own backtrace header says "VMware ESX" on ESXi too: its version tells the line
    result = run(
        tmp_path,
        hostd_log="2020-10-26T21:16:20.507Z [AE5389D8 panic 'Default'] Panic: Memory exceeds "
        "hard limit. Panic\n"
        "--> [backtrace begin] product: VMware ESX, version: 6.7.0, build: build-13006603, "
        "tag: hostd, cpu: x86, os: esx, buildType: release\n"
        "--> backtrace[00] libvmacore.so[0x0becf1fd]\n",
        vmkernel_log="2020-10-26T21:16:21.000Z cpu5:418621)User: 3160: hostd-worker: "
        "wantCoreDump:hostd-worker signal:6 exitCode:0 coredump:enabled\n",
    )
    crash = result.crash
    assert (crash.type, crash.agent, crash.build) == (CrashType.NONE, "hostd", 13006603)
    assert crash.release == "ESXi 6.7 Update 2" and result.platform.name == "esxi"


def test_a_zdump_in_an_esxi_bundle_is_read_for_the_panic_its_log_ends_with(tmp_path):
    import io
    import tarfile

    log = (
        "2020-10-26T16:00:01.001Z cpu3:2097460)@BlueScreen: ASSERT "
        "bora/vmkernel/main/heap.c:1187\n"
        "2020-10-26T16:00:01.010Z cpu3:2097460)Code start: 0x418000000000 VMK uptime: "
        "3:01:02:03.004\n"
    )
    members = {
        "esx-h-2020-10-28--11.57-1/var/core/vmkernel-zdump.1": b"\x00\x01VMKDUMP\xff\xfe\n"
        + log.encode()
        + b"Coredump to disk complete\x00\xff",
        "esx-h-2020-10-28--11.57-1/commands/vmware_-vl.txt": b"VMware ESXi 7.0.0 build-16324942\n",
    }
    bundle = tmp_path / "esx-h-2020-10-28--11.57-1.tgz"
    with tarfile.open(bundle, "w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    result = analyze([bundle])
    crash = result.crash
    assert (crash.type, crash.class_) == (CrashType.VMKERNEL, CrashClass.VMKERNEL)
    assert crash.message == "ASSERT bora/vmkernel/main/heap.c:1187"
    assert result.coredumps.vmkernel == ("var/core/vmkernel-zdump.1",)


def test_a_lost_heartbeat_after_a_leak_is_a_memory_exhaustion():
    from lostbeat.analyzer.result import Crash, RootCause
    from lostbeat.analyzer.rules.root_cause import settled_class

    lost = Crash(CrashType.LOST_HEARTBEAT)
    for kind in (CauseKind.LEAK, CauseKind.SPIKE, CauseKind.CONTENTION):
        assert settled_class(lost, RootCause(kind)).class_ is CrashClass.MEMORY_EXHAUSTION
    assert settled_class(lost, RootCause(CauseKind.INCONCLUSIVE)).class_ is CrashClass.UNKNOWN
    # a class the crash's own lines settled stays
    console = Crash(CrashType.COS_PANIC, class_=CrashClass.SERVICE_CONSOLE)
    assert settled_class(console, RootCause(CauseKind.LEAK)) is console
    assert settled_class(Crash(CrashType.NONE), RootCause(CauseKind.LEAK)).class_ is not (
        CrashClass.MEMORY_EXHAUSTION
    )


def test_a_bare_or_gdb_stack_given_loose_is_a_vmkernel_crash_whose_driver_is_not_named(tmp_path):
    # bare names through the VMkernel's entry points, and gdb frames that show no module:
    # a driver's prefix alone does not make it the suspect
    bare = run(tmp_path, bare_txt="mr3_FwFaultHandler\nmr3_IsrHandler\nHelperQueueFunc\n")
    assert (bare.crash.type, bare.crash.class_) == (CrashType.VMKERNEL, CrashClass.UNKNOWN)
    assert bare.crash.suspect_module is None
    gdb = run(tmp_path, gdb_txt="#0  igb_clean_rx_irq\n#1  igb_poll\n#2  CpuSched_StartWorld\n")
    assert (gdb.crash.type, gdb.crash.class_) == (CrashType.VMKERNEL, CrashClass.UNKNOWN)
    # the same driver's frame with its module part blank names it (ESXi 5.0's quoted '@'#)
    blank = run(
        tmp_path,
        blank_txt="0x4122:[0x4180]igb_clean_rx_irq'@'#+0x3f stack: 0x0\n"
        "0x4122:[0x4180]BH_Check@vmkernel#nover+0x185 stack: 0x0\n",
    )
    assert (blank.crash.class_, blank.crash.suspect_module) == (CrashClass.DRIVER, "igb")


def test_a_known_issue_is_found_in_a_message_a_flattened_paste_ran_a_frame_into(tmp_path):
    # KB 1016239's message, a screen's frames pasted into one line with nothing between
    screen = tmp_path / "psod.txt"
    screen.write_text(
        "@BlueScreen: NOT_IMPLEMENTED /build/mts/release/bora-84374/bora/vmkernel/main/"
        "util.c:830x1ffd9e8:[0x91cd5a]Util_Udelay+0x13 stack: 0x0, 0x0, 0x0"
        "0x1ffda28:[0x6c2ba7]MemMap_EarlyInit+0x44 stack: 0x0, 0x0, 0x0\n"
    )
    result = analyze([screen])
    assert result.crash.message is not None and result.crash.message.endswith("util.c:83")
    assert [k.kb for k in result.known_issues] == ["1016239"]


def test_an_agent_that_stopped_answering_read_through_markdown_escapes_is_no_crash(tmp_path):
    result = run(
        tmp_path,
        hostd_log="2031-03-04T05:06:07.890Z warning hostd\\[2100321\\] \\[Originator@6876 "
        'sub=IoTracker\\] In thread 2100400, stat(\\"/vmfs/volumes/abc/vm1/vm1.vmx\\") took '
        "over 900 sec.\n\n",
        vmkwarning_log="2031-03-04T05:10:00.123Z cpu12:2151001)ALERT: hostd detected to be "
        "non-responsive\n\n",
    )
    assert [i.status for i in result.inputs] == ["read", "read"]
    assert (result.crash.type, result.crash.agent) == (CrashType.NONE, "hostd")


@pytest.mark.parametrize(
    ("name", "text", "crash"),
    [
        # a gdb session on the VMkernel's own core, its frame numbers followed by a mail's
        # no-break spaces: a purple screen
        (
            "gdb_txt",
            "(gdb) bt full\n#0\u00a0 0xfffffffffc41a2b3 in ?? ()\nNo symbol table info.\n"
            "#1\u00a0 0x0000000000000000 in ?? ()\n(gdb) p prdas[3]->inPanic\n$1 = 1 '\\001'\n",
            CrashType.VMKERNEL,
        ),
        # a log line copied from a page, its words held apart by no-break spaces
        (
            "vmkernel_log",
            "2031-08-09T10:11:12.131Z cpu4:2097201)WARNING: Heartbeat: 702: PCPU\u00a019 didn't "
            "have a heartbeat for 30\u00a0seconds, timeout is 14, 4 IPIs sent; *may* be locked up.\n",
            CrashType.UNKNOWN,
        ),
        # a PCPU heartbeat warning a wrap cut before its timeout, joined back
        (
            "vmkwarning_log",
            "WARNING: Heartbeat: 540: PCPU 6 didn't have a heartbeat for 19 seconds,\n"
            "timeout is 12, 2 IPIs sent; *may* be locked up.\n",
            CrashType.UNKNOWN,
        ),
        # vmklinux's warning and the backtrace the VMkernel only logged beside it: no crash
        (
            "vmkernel_log",
            "WARNING: at vmkdrivers/src_92/vmklinux_92/vmware/linux_net.c:4102/"
            "netdev_watchdog() (inside vmklinux)\n"
            "cpu5:66001)Backtrace for current CPU #5, worldID=66001, fp=0x430512aa77c0\n"
            "cpu5:66001)0x4391aa1be50:[0x41802aa03f71]vmk_LogBacktraceMessage@vmkernel#nover+0x29\n"
            "cpu5:66001)0x4391aa1be70:[0x41802ab838ad]watchdog_work_cb@com.vmware.driverAPI#9.2+"
            "0x27d\n",
            CrashType.NONE,
        ),
    ],
)
def test_the_crash_type_of_pasted_and_logged_forms(tmp_path, name, text, crash):
    assert run(tmp_path, **{name: text}).crash.type is crash


def test_an_esxi8_summary_with_the_syslog_severity_tells_a_restart_without_a_stop(tmp_path):
    hb = (
        "In(14) heartbeat[2101000]: up 0d{h}h0m1s, 2 VMs; [[2099000 hostd 80000kB] "
        "[2103000 vmx 6500000kB]] [], [0]"
    )
    lines = [f"2030-05-0{d}T{h:02d}:00:00.100Z " + hb.format(h=h) for d, h in ((1, 1), (1, 2))]
    lines += [
        "2030-05-01T03:41:48.565Z No(13) bootstop[2099991]: Host has booted",
        "2030-05-01T03:41:49.001Z No(13) bootstop[2099992]: No disk, file or network coredump "
        "enabled",
    ]
    result = run(tmp_path, vmksummary_log="\n".join(lines) + "\n")
    assert [i.kind for i in result.inputs] == ["vmksummary_log"]
    assert result.crash.type is CrashType.UNKNOWN  # a restart no stop explains


def test_a_known_issue_is_found_in_a_stack_of_function_names_alone(tmp_path):
    result = run(
        tmp_path,
        backtrace_txt="WorldNewInt\nWorld_NewUserWorld\nUserCartel_NewChildWorld\n"
        "User_LinuxSyscallHandler\nHelperQueueFunc\n",
    )
    assert [i.kb for i in result.known_issues] == ["2012404"]
    assert result.crash.class_ is CrashClass.VMKERNEL


def test_a_known_issue_is_found_in_frames_whose_at_a_paste_escaped(tmp_path):
    # a note exported to Markdown writes "\@" in every frame
    result = run(
        tmp_path,
        backtrace_txt="0xADDR1:\\[0xADDR2\\]PanicvPanicInt\\@vmkernel#nover+0x202\n"
        "0xADDR3:\\[0xADDR4\\]PCIEDPC_EDRHandler\\@vmkernel#nover+0x2cd\n"
        "0xADDR5:\\[0xADDR6\\]HelperQueueFunc\\@vmkernel#nover+0x19d\n",
    )
    assert [i.kb for i in result.known_issues] == ["394393"]
    assert result.crash.class_ is CrashClass.HARDWARE
