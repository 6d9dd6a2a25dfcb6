"""The panic forms (parsers/_panic.py): each as a KB or a real case quotes it, whole, cut,
flattened or decorated; a message ends where its grammar ends."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lostbeat.analyzer.parsers import _panic
from lostbeat.analyzer.parsers._panic import (
    MAX_MESSAGE,
    PanicKind,
    PanicReader,
    is_panic_line,
    segments,
    undecorate,
)

K = PanicKind


def read(*lines: str):
    reader = PanicReader(path="p.txt")
    for n, line in enumerate(lines, 1):
        reader.feed(n, line)
    return reader.result()


@pytest.mark.parametrize(
    ("line", "kind", "message"),
    [
        # KB 308590, KB 311729 (legacy 1006802), KB 1016070, KB 2009232
        ("Lost heartbeat", K.LOST_HEARTBEAT, "Lost heartbeat"),
        ("0:00:02:11.319 cpu0:1024)Host: 4781: COS Error: Oops", K.COS_OOPS, "COS Error: Oops"),
        ("    COS Panic: Int3 @ mp_register_ioapic", K.COS_PANIC,
         "COS Panic: Int3 @ mp_register_ioapic"),
        ("COS Panic: Lost heartbeat @esxsc_panic+0x43/0x4f", K.COS_PANIC,
         "COS Panic: Lost heartbeat @esxsc_panic+0x43/0x4f"),
        # KB 2012404, KB 303440, KB 435592, KB 328805
        ("@BlueScreen: #PF Exception(14) in world 1056477182:sh ip 0x41803645e7fc addr 0x417f",
         K.EXCEPTION, "#PF Exception(14) in world 1056477182:sh ip 0x41803645e7fc addr 0x417f"),
        ("#GP Exception(13) in world 4130:helper13-0 @ 0x41803399e303", K.EXCEPTION,
         "#GP Exception(13) in world 4130:helper13-0 @ 0x41803399e303"),
        ("#PF Exception 14 in world 2098002:CAM taskq IP 0x0 addr 0x0", K.EXCEPTION,
         "#PF Exception 14 in world 2098002:CAM taskq IP 0x0 addr 0x0"),
        ("#DF Exception 8 IP 0x42000c34#### SP 0x453a89e4####Syscall_InstructionHandler@vmkern",
         K.EXCEPTION, "#DF Exception 8 IP 0x42000c34#### SP 0x453a89e4####"),
        # KB 324947, KB 385615, KB 2000091, KB 380959, KB 429117
        ("  • PCPU 3 locked up. Failed to ack TLB invalidate.", K.LOCKUP,
         "PCPU 3 locked up. Failed to ack TLB invalidate."),
        ("cpu78:2098897)Panic: 589: Panic from another CPU (cpu 78, world 2098897): ip=0x4200",
         K.NO_HEARTBEAT, "Panic from another CPU (cpu 78, world 2098897)"),
        ("@BlueScreen: PCPU 0: no heartbeat, IPIs received (0/1).", K.NO_HEARTBEAT,
         "PCPU 0: no heartbeat, IPIs received (0/1)"),
        ("@BlueScreen: NMI IPI: Panic requested by another PCPU. PC 0x####, SP 0x####",
         K.NO_HEARTBEAT, "NMI IPI: Panic requested by another PCPU."),
        ("Spin count exceeded - possible deadlock with PCPU #", K.SPIN,
         "Spin count exceeded - possible deadlock with PCPU #"),
        # KB 372284, KB 394465, KB 333947 (legacy 1804), KB 399748
        ("Machine Check Exception on PCPUXX in world 111111:idle51", K.MCE,
         "Machine Check Exception on PCPUXX in world 111111:idle51"),
        ("cpu58:40848027)IDT: 1895: Uncorrectable/unrecoverable machine check error", K.MCE,
         "Uncorrectable/unrecoverable machine check error"),
        ("    LINT1/NMI (motherboard nonmaskable interrupt), undiagnosed. This may be a hardware "
         "problem; please contact your hardware vendor.", K.NMI,
         "LINT1/NMI (motherboard nonmaskable interrupt), undiagnosed."),
        ("cpu0:2098206)NMI: 1031: ApeiHESTNmiHandler requested PSOD", K.NMI,
         "NMI: 1031: ApeiHESTNmiHandler requested PSOD"),
        # KB 311064, KB 1016239, KB 2011474, a vmklinux failure, vsish's crashMe
        ("@BlueScreen: ASSERT bora/vmkernel/main/pframe_int.h:527", K.ASSERT,
         "ASSERT bora/vmkernel/main/pframe_int.h:527"),
        ("NOT_IMPLEMENTED /build/mts/release/bora-84374/bora/vmkernel/main/util.c:83",
         K.NOT_IMPLEMENTED,
         "NOT_IMPLEMENTED /build/mts/release/bora-84374/bora/vmkernel/main/util.c:83"),
        ("BUG: failure at vmkdrivers/src_9/include/linux/if_vlan.h:425/vlan_put_tag()! (inside "
         "vmklinux)", K.FAILURE,
         "BUG: failure at vmkdrivers/src_9/include/linux/if_vlan.h:425/vlan_put_tag()! (inside "
         "vmklinux)"),
        ("\tFailed at vmkdrivers/src_9/vmklinux_9/vmware/linux_scsi.c:2221 -- NOT REACHED",
         K.FAILURE, "Failed at vmkdrivers/src_9/vmklinux_9/vmware/linux_scsi.c:2221 -- NOT REACHED"),
        # a VMkernel module's assertion in the coredump summary's words (KB 391216's form)
        ("3. Panic Message: @BlueScreen: Failed at bora/modules/vmkernel/dom/dom_owner.c:811 -- "
         "VMK_ASSERT(owner != NULL)", K.ASSERT,
         "Failed at bora/modules/vmkernel/dom/dom_owner.c:811 -- VMK_ASSERT(owner != NULL)"),
        ("2015-12-17T20:34:03.603Z cpu3:47209)@BlueScreen: CrashMe", K.FORCED, "CrashMe"),
        ("@BlueScreen: Something new", K.OTHER, "Something new"),
    ],
)  # fmt: skip
def test_message_forms(line, kind, message):
    panic = read(line)
    assert (panic.kind, panic.message) == (kind, message)
    assert panic.message_evidence is not None and panic.message_evidence.line_no == 1


@pytest.mark.parametrize(
    ("header", "build", "version", "product"),
    [
        ("VMware ESX Server [Releasebuild-123630]", 123630, None, "VMware ESX Server"),
        ("[VMware ESX [Releasebuild-164009 X86_64", 164009, None, "VMware ESX"),  # KB 303440
        ("  • cpu34:9213)VMware ESXi 5.0.0 [Releasebuild-702118 x86_64] PCPU 18 locked up.",
         702118, "5.0.0", "VMware ESXi"),  # KB 324947
        ("VMware ESXi 7.X.X [Releasebuild-22348816 x86_64]", 22348816, "7.X.X", "VMware ESXi"),
        ("cpu36:1)^[[45m^[[33;1mVMware ESXi 7.0.1 [build-16850804 x86_64]^[[0m", 16850804,
         "7.0.1", "VMware ESXi"),  # KB 367534: the colour codes as literal text
    ],
)  # fmt: skip
def test_headers(header, build, version, product):
    panic = read(header)
    assert (panic.build, panic.version, panic.product) == (build, version, product)


def test_a_flattened_screen_ends_its_message_and_keeps_its_frames():
    # ugg.li's one-line paste of an ESXi 5.x screen (tests/corpus/real/008)
    line = (
        "@BlueScreen: #PF Exception 14 in world 63406:vmast.63405 IP 0x41801cd9c266 addr 0x0 "
        "PTEs:0x8442d5027;0x383f35027;0x0; Code start: 0x41801cc00000 VMK uptime: 1:08:27:56.829 "
        "0x41229eb9b590:[0x41801cd9c266]E1000PollRxRing@vmkernel#nover+0xdb9 stack: 0x41 "
        "0x41229eb9b750:[0x41801d1e476f]EtherswitchForwardLeafPortsQuick@#+0xd6 stack: 0x31"
    )
    panic = read(line)
    assert panic.message == "#PF Exception 14 in world 63406:vmast.63405 IP 0x41801cd9c266 addr 0x0"
    assert [(f.function, f.module) for f in panic.frames] == [
        ("E1000PollRxRing", "vmkernel"),
        ("EtherswitchForwardLeafPortsQuick", None),
    ]


def test_machine_check_glued_to_the_next_line_ends_at_the_world():
    panic = read(
        "Machine Check Exception on PCPU## in world ######:nsx-appctlSystem has encountered a "
        "Hardware Error - Please contact the hardware vendor"
    )
    assert panic.message == "Machine Check Exception on PCPU## in world ######:nsx-appctl"


def test_frame_forms_and_modules():
    panic = read(
        "0x4100c7ff7d08:[0x41803645e7fc]WorldNewInt+0xa3 stack: 0x4100a30e4bf0",
        "[0x42001ab7c298]PFrame_IsBackedByLPage@vmkernel#nover+0x0",
        "0xnnnnnnnn :[ 0xnnnnnnnn ]Panic_Exception@vmkernel#nover+0x258",
        "0xADDRESS6:[0xADDRESS7]PCIEDPC_EDRHandler@vmkernel#nover+0x2cd stack: 0x0",
        "####:[0x####]lpfc_path_claim_handler@(lpfc)#<None>+0####stack: 0####",
        "\t0x412200cc7d50:[0x4180182458b7]be_function_post_mcc_wrb'@'#+0x126 stack: 0x41",
        "53:22:52:05.326 cpu35:4376)0x417f:[0x41802a0bb36d]hid_free_buffers@esx:nover+0x20",
        "0x412300b07468:[0x4180368cbfb3]netdev_tx@com.vmware.driverAPI#9.2+0x846 stack: 0x4",
        "0x4122:[0x41800f2f0677]UserVmfs_Ioctl'@'<None>#<None>+0xa9 stack: 0x41003eba39e0",
    )
    assert [(f.function, f.module, f.version) for f in panic.frames] == [
        ("WorldNewInt", None, None),
        ("PFrame_IsBackedByLPage", "vmkernel", "nover"),
        ("Panic_Exception", "vmkernel", "nover"),
        ("PCIEDPC_EDRHandler", "vmkernel", "nover"),
        ("lpfc_path_claim_handler", "lpfc", "<None>"),
        ("be_function_post_mcc_wrb", None, None),
        ("hid_free_buffers", "esx", "nover"),
        ("netdev_tx", "com.vmware.driverAPI", "9.2"),
        ("UserVmfs_Ioctl", None, "<None>"),
    ]


def test_a_bare_frames_function_starts_where_its_word_starts():
    # glued after a redacted address or a space: the whole name; glued to the digits of an
    # address: no name can be told apart, so no frame (never a name cut in the middle)
    assert [
        (f.function, f.module) for f in read("SP 0x4####Syscall_Handler@vmkernel#nover").frames
    ] == [("Syscall_Handler", "vmkernel")]
    assert [f.function for f in read("then  BH_Check@vmkernel#nover+0x185").frames] == ["BH_Check"]
    assert read("SP 0x453a89e4Syscall_Handler@vmkernel#nover+0x1").frames == ()
    assert read("addr 0x4180e1000_xmit@(e1000)#1.0+0x4").frames == ()


def test_a_user_worlds_backtrace_is_no_frame():
    assert not read("backtrace[00] libvmacore.so[0x0037ACD3]: Vmacore::System::Stacktrace").shown


def test_gdb_stacks_and_bare_names():
    # KB 392817's gdb stack (uneven spacing, trailing blanks), KB 381540's with arguments
    gdb = read(
        "#0  LockCheckSpinCountInt", "#1  Lock_CheckSpinCount ", "#90 UserSocketInetShutdown"
    )
    assert [f.function for f in gdb.frames] == [
        "LockCheckSpinCountInt",
        "Lock_CheckSpinCount",
        "UserSocketInetShutdown",
    ]
    args = read("#0  DLM_free (msp=..., mem=..., allowTrim=...)", "#1  Heap_Free (heap=...)")
    assert [f.function for f in args.frames] == ["DLM_free", "Heap_Free"]
    # KB 409331 flattens a gdb session into one line
    flat = read(
        "(gdb) where#0 DLM_free (msp=0x****) at …/dlmalloc.c:****#1 0x**** in Heap_Free (h)"
    )
    assert [f.function for f in flat.frames] == ["DLM_free", "Heap_Free"]
    # KB 430676 gives its backtrace as bare names; KB 398530 two names after its message
    bare = read("    PanicvPanicInt", "    Panic_WithBacktrace", "    HeapCheckMemoryPressure")
    assert [f.function for f in bare.frames][-1] == "HeapCheckMemoryPressure"
    after = read("#PF Exception 14 in world #####:bootstrap IP 0x42 addr 0x45", "BootModule_loadAll",
                 "LegacyBootVMKernel")  # fmt: skip
    assert [f.function for f in after.frames] == ["BootModule_loadAll", "LegacyBootVMKernel"]
    assert not read("hello", "world").shown  # words are not a backtrace


def test_a_user_worlds_core_in_gdb_is_no_purple_screen():
    panic = read("Program terminated with signal 11, Segmentation fault.", "#0 0x000b8a6a in ?? ()")
    assert panic.process_core


def test_modules_involved_and_machine_check_details():
    panic = read(
        "In(14) LogEFI[####]: Module(s) involved in panic: [lpfc 900.14.4.390.20-36vmw.901.0.249 "
        "(External)]",
        "MCA: 191: UC Excp G5 B6 Sbb80000000000e0b A0 M10100000 P0/0 I/O error reported by PCI "
        "0000:10:02.0.",
    )
    (involved,) = panic.involved
    assert (involved.module, involved.version, involved.external) == (
        "lpfc",
        "900.14.4.390.20-36vmw.901.0.249",
        True,
    )
    assert (panic.mce_bank, panic.device) == (6, "0000:10:02.0")
    assert [e.line_no for e in panic.hardware] == [2]


def test_the_screens_own_message_wins_over_a_log_lines():
    # KB 435833: the MCA line comes first, the screen's message after it
    panic = read(
        "MCA: 191: UC Excp G5 B6 Sbb8 A0 M1 P0/0 I/O error reported by PCI 0000:10:02.0.",
        "PSOD Message: @BlueScreen: Machine Check Exception on PCPU5 in world 2097171:netCo",
    )
    assert panic.message == "Machine Check Exception on PCPU5 in world 2097171:netCo"


def test_decorations():
    assert undecorate(">\t>\tMar 9 x") == "Mar 9 x"
    assert (
        undecorate("  1. 2017-01-03T17:45:49.659Z cpu7:69126)")
        == "2017-01-03T17:45:49.659Z cpu7:69126)"
    )
    assert undecorate("\x1b[45mVMware ESXi\x1b[0m") == "VMware ESXi"
    assert undecorate("be_probe'@'#+0x15e") == "be_probe@#+0x15e"
    assert undecorate("0x41 stack: 0x0") == "0x41 stack: 0x0"  # a frame address is no list number


def test_segments_leave_an_ordinary_line_whole():
    line = (
        "2024-06-21T21:50:40.346Z cpu56:2097460)0x4539:[0x42002b65ad3b]i40en_Uplink@(i40en)#<None>"
    )
    assert segments(line) == [line]
    assert is_panic_line(line) and not is_panic_line("Nov 13 03:01:35 esx01 sshd[1]: accepted")


@settings(max_examples=300, deadline=None, database=None)
@given(st.lists(st.text(max_size=400), max_size=8))
def test_any_text_reads_without_error_and_messages_stay_short(lines):
    panic = read(*lines)
    assert panic.message is None or len(panic.message) <= MAX_MESSAGE
    assert all(1 <= f.evidence.line_no <= len(lines) for f in panic.frames)


def test_paste_damage_around_a_stack():
    # a gdb stack glued to a sentence and quoted without a space; an editor's bare numbers
    glued = read(
        "PSOD below, typed from the console photo: >#0  usb_process_intr (flags=0x1) at a.c:1",
        ">#1  0x626c7bd7fe0c in FSS_BeginIO (arg=0x9) at bora/vmkernel/main/world.c:2751",
        ">#2  FDS_AsyncIO",
    )
    assert [f.function for f in glued.frames] == ["usb_process_intr", "FSS_BeginIO", "FDS_AsyncIO"]
    assert not any(f.at_module for f in glued.frames)
    numbered = read("13237 #0  CpuSchedTryBusyWait (ctx=0x8)", "13238 #1  CpuSchedDispatch")
    assert [f.function for f in numbered.frames] == ["CpuSchedTryBusyWait", "CpuSchedDispatch"]


def test_a_bare_stack_is_the_vmkernels_when_it_runs_through_its_entry_points():
    names = ("pqi_ProcessIoResponse", "pqi_EventWorker", "ScsiDeviceIODone", "BH_Check")
    assert [f.function for f in read(*names).frames] == list(names)
    assert read("FSS_BeginIO", "HelperQueueFunc").shown
    assert not read("alpha_one", "beta_two", "gamma_three").shown


def test_a_header_with_its_version_redacted_still_gives_the_build():
    panic = read("VMware ESXi #.#.# [Releasebuild-5969303 x86_64]", "PCPU 3 locked up.")
    assert (panic.build, panic.version, panic.kind) == (5969303, "#.#.#", K.LOCKUP)


_CORPUS = Path(__file__).resolve().parents[2] / "corpus"
_REAL_TEXTS = sorted(
    p
    for pattern in ("real/*/*.txt", "real/*/*.log", "kb/*/lines.txt")
    for p in _CORPUS.glob(pattern)
)


@pytest.mark.parametrize("path", _REAL_TEXTS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_the_cheap_line_test_passes_over_no_part_of_a_real_panic(
    path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lines = path.read_text(encoding="utf-8", errors="replace").splitlines()

    def read() -> object:
        reader = PanicReader(path="x")
        for n, line in enumerate(lines, 1):
            reader.feed(n, line)
        return reader.result()

    gated = read()
    monkeypatch.setattr(_panic, "_may_be_panic", lambda text: True)
    assert gated == read()
