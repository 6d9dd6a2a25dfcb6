from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lostbeat.analyzer.parsers.psod import looks_like_psod, parse_psod
from lostbeat.analyzer.parsers.vmkernel_log import SignalKind, looks_like_vmkernel_log
from lostbeat.errors import ArtifactMissing, ParseError

DATA = Path(__file__).parent / "data"
K = SignalKind


def parse_file(name: str):
    with open(DATA / name, encoding="utf-8") as f:
        return parse_psod(f, path=name)


def test_kb308590_screen_verbatim():
    screen = parse_file("kb308590-psod.txt")
    assert screen.build == 123630
    assert screen.message == "Lost heartbeat"
    assert screen.vmk_uptime_s == 3679438.308
    assert len(screen.cpus) == 16
    assert screen.cpus[0] == "0:1024/console"
    assert "12:1237/Worker#0:" in screen.cpus
    assert screen.cpus[-1] == "15:1170/mks:VMGHI"
    assert screen.panicked_cpu == 0
    assert [(e.line_no, e.text.strip()) for e in screen.evidence] == [
        (1, "VMware ESX Server [Releasebuild-123630]"),
        (2, "Lost heartbeat"),
    ]
    assert [s.kind for s in screen.signals] == [
        K.BLUESCREEN,
        K.HB_ALERT,
        K.HB_ALERT,
        K.COS_ERROR,
        K.COREDUMP,
    ]
    bluescreen, first_hb = screen.signals[:2]
    assert bluescreen.message == "Lost heartbeat" and bluescreen.uptime_s is None
    assert (first_hb.comm, first_hb.pid, first_hb.t, first_hb.to) == ("vmnixhbd", 20, 29, 30)
    assert first_hb.evidence.line_no == 14


def test_kb308590_cos_core_screen():
    screen = parse_file("kb308590-psod-cos-core.txt")
    assert screen.build == 123630
    assert screen.message == "Dumping console os core. This may take up to an hour."
    assert screen.signals == () and screen.cpus == ()


def test_kb1009607_excerpt_without_header():
    screen = parse_file("kb1009607-psod.txt")
    # no header, no screen message line: the message is the one its log lines say
    assert screen.build is None and screen.message == "Lost heartbeat"
    assert [s.kind for s in screen.signals] == [K.HB_ALERT, K.COS_ERROR]
    assert screen.signals[0].comm == "cimserver"
    assert screen.signals[0].pid == 3588


def test_cos_oops_screen():
    screen = parse_psod(
        [
            "VMware ESX Server [Releasebuild-64607]",
            "Oops",
            "frame=0x1f4fa34 ip=0xc014b306 cr2=0x0 cr3=0x34401000 cr4=0x6f0",
            "*0:1024/console 1:1025/idle1",
            "@BlueScreen: Oops",
            "0:00:10:12.345 cpu0:1024)Host: 4781: COS Error: Oops",
        ],
        path="psod.txt",
    )
    assert (screen.build, screen.message, screen.panicked_cpu) == (64607, "Oops", 0)
    assert [s.kind for s in screen.signals] == [
        K.COS_OOPS,
        K.BLUESCREEN,
        K.COS_OOPS,
        K.COS_ERROR,
        K.COS_OOPS,
    ]


LOCKUP = "PCPU 1 locked up. Failed to ack TLB invalidate."
NOT_IMPL = "NOT_IMPLEMENTED /build/mts/release/bora-84374/bora/vmkernel/main/util.c:83"
PF = "#PF Exception(14) in world 4110:helper1-1 ip 0x41800c4b7c3e"


@pytest.mark.parametrize(
    ("lines", "build", "message", "kind"),
    [
        (["VMware ESX Server [Releasebuild-123630]", LOCKUP], 123630, LOCKUP, K.PCPU_LOCKUP),
        (
            ["  VMware ESX 4.0.0 [Releasebuild-208167]", "  COS Panic: Int3 @ mp_register_ioapic"],
            208167,
            "COS Panic: Int3 @ mp_register_ioapic",
            K.COS_PANIC,
        ),
        (["VMware ESX Server [Releasebuild-84374]", NOT_IMPL], 84374, NOT_IMPL, K.NOT_IMPLEMENTED),
        (["ip=0x41800c4b7c3e", f"@BlueScreen: {PF}"], None, PF, K.PF_EXCEPTION),
    ],
)
def test_look_alike_screens(lines, build, message, kind):
    screen = parse_psod(lines, path="psod.txt")
    assert (screen.build, screen.message) == (build, message)
    assert kind in [s.kind for s in screen.signals]
    assert K.HB_ALERT not in [s.kind for s in screen.signals]


def test_message_falls_back_to_bluescreen_when_line_two_is_registers():
    screen = parse_psod(
        ["VMware ESX Server [Releasebuild-1]", "frame=0x1 ip=0x2", "@BlueScreen: Lost heartbeat"],
        path="psod.txt",
    )
    assert screen.message == "Lost heartbeat"
    assert [e.line_no for e in screen.evidence] == [1, 3]


@pytest.mark.parametrize("lines", [[], ["\n", "    \n"]])
def test_empty_is_missing(lines):
    with pytest.raises(ArtifactMissing) as err:
        parse_psod(lines, path="psod.txt")
    assert err.value.artifact == "psod"


def test_not_a_screen():
    with pytest.raises(ParseError) as err:
        parse_psod(
            ["", "", "MemTotal: 5 kB", "heartbeat lost, says the operator"], path="notes.txt"
        )
    assert err.value.line_no == 3
    assert str(err.value).startswith("notes.txt:3: expected a purple screen")


def test_sniffer_and_precedence_over_vmkernel_log():
    text = (DATA / "kb308590-psod.txt").read_text()
    assert looks_like_psod(text) and looks_like_vmkernel_log(text)
    assert looks_like_psod("@BlueScreen: Oops")
    assert not looks_like_psod((DATA / "kb308590-vmksummary.txt").read_text())


_FRAGMENTS = st.sampled_from(
    [
        "VMware ESX Server [Releasebuild-",
        "]",
        "@BlueScreen: ",
        "VMK uptime: 42:14:03:58.308",
        "*0:1024/console ",
        "1:1367/vmware-vm",
        "42:14:02:29.347 cpu0:1024)VMNIX: ALERT: HB: 365: Lost heartbeat (comm=x",
        "pid=3 t=1 to=30 clt=1).",
        "frame=0x1",
        "Starting coredump to disk",
        "9" * 40,
    ]
)


@settings(max_examples=200, deadline=None, database=None)
@given(st.lists(st.lists(st.one_of(_FRAGMENTS, st.text(max_size=10)), max_size=5).map("".join)))
def test_arbitrary_text_raises_only_parse_errors(lines):
    try:
        screen = parse_psod(lines, path="x")
    except (ParseError, ArtifactMissing):
        return
    assert all(e.path == "x" for e in screen.evidence)


def test_a_screen_and_a_gdb_stack_through_markdown_escapes():
    # a note exported to Markdown: escaped punctuation, a backslash ending each line (a hard
    # line break), "[\\]]" where a bracket was, placeholder digits
    lines = [
        "  - the backtrace:\\",
        "    \\@BlueScreen: #PF Exception 14 in world 77:vmast IP 0xnnnnnnnn addr 0x18\\",
        "    0xnnnnnnnn:\\[0xnnnnnnnn[\\]]Vmxnet3DevTx\\@vmkernel#nover+ 0x1c\\",
        "    0xnnnnnnnn:\\[0xnnnnnnnn[\\]]NetWorldletPerVMCB\\@vmkernel#nover+0xae\\",
    ]
    screen = parse_psod(lines, path="note.md")
    assert screen.message == "#PF Exception 14 in world 77:vmast IP 0xnnnnnnnn addr 0x18"
    # a gdb session on the VMkernel's core, its frame numbers escaped the same way
    gdb = ["(gdb) bt", "\\#0  0xfffffffffc8a1234 in ?? ()", "\\#1  0x0000000000000000 in ?? ()"]
    assert looks_like_psod("\n".join(gdb))


def test_a_spin_count_whose_tail_the_screen_lost_and_a_flattened_log_time():
    line = (
        ") - possible deadlock11Z cpu9:2210)@BlueScreen: Spin count exceeded (\x13q-7 "
        "2019-04-02T03:04:05.611Z cpu9:2210)Code start: 0x418012000000 VMK uptime: 3:01:02:03.400"
    )
    screen = parse_psod([line], path="mail.txt")
    assert screen.message == "Spin count exceeded"
    assert screen.panic is not None and screen.panic.kind.value == "spin"


def test_a_wrapped_failure_line_keeps_its_source_path_and_check():
    # a mail's wrap put "Failed at" on one line and the path, its line and "--" on the next
    lines = [
        "Panic Message: @BlueScreen: Failed at",
        "bora/modules/vmkernel/dom/dom_owner_comp.c:412 --",
        "VMK_ASSERT(comp->state == DOM_COMP_ACTIVE)",
    ]
    screen = parse_psod(lines, path="mail.txt")
    assert screen.panic is not None and screen.panic.kind.value == "failure"
    assert screen.message == "bora/modules/vmkernel/dom/dom_owner_comp.c:412 --"


def test_a_backtrace_a_warning_logged_is_no_screen():
    # vmklinux's warning and the backtrace the VMkernel logs beside it, without log prefixes
    lines = [
        "WARNING: at vmkdrivers/src_92/vmklinux_92/vmware/linux_net.c:4102/netdev_watchdog()",
        "Backtrace for current CPU #5, worldID=66001, fp=0x430512aa77c0",
        "0x4391aa1be50:[0x41802aa03f71]vmk_LogBacktraceMessage@vmkernel#nover+0x29 stack: 0x1",
        "0x4391aa1be70:[0x41802ab838ad]watchdog_work_cb@com.vmware.driverAPI#9.2+0x27d stack: 0x2",
    ]
    assert not looks_like_psod("\n".join(lines))
    assert looks_like_psod("\n".join(["@BlueScreen: #PF Exception 14 in world 1:x IP 0x1", *lines]))


def test_a_check_word_a_wrap_left_alone_is_read_with_its_path():
    lines = ["    NOT_IMPLEMENTED", "/build/mts/release/bora-77777/bora/vmkernel/main/alloc.c:912"]
    assert looks_like_psod("\n".join(lines))
    screen = parse_psod(lines, path="mail.txt")
    assert screen.panic is not None and screen.panic.kind.value == "not_implemented"
    assert screen.message == (
        "NOT_IMPLEMENTED /build/mts/release/bora-77777/bora/vmkernel/main/alloc.c:912"
    )
