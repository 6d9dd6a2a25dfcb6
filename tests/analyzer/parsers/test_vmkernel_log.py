from __future__ import annotations

from collections import deque
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lostbeat.analyzer._sink import KeptText
from lostbeat.analyzer.parsers import vmkernel_log
from lostbeat.analyzer.parsers._scan import BATCH, CHUNK_CHARS
from lostbeat.analyzer.parsers.vmkernel_log import (
    SignalKind,
    looks_like_vmkernel_log,
    parse_vmkernel_log,
)
from lostbeat.errors import ArtifactMissing, ParseError

DATA = Path(__file__).parent / "data"
K = SignalKind


def kinds(log):
    return [s.kind for s in log.signals]


def test_kb308590_screen_log_lines_from_file():
    with open(DATA / "kb308590-psod.txt", encoding="utf-8") as f:
        log = parse_vmkernel_log(f, path="var/log/vmkernel")
    assert kinds(log) == [K.BLUESCREEN, K.HB_ALERT, K.HB_ALERT, K.COS_ERROR, K.COREDUMP]
    first, second = log.signals[1:3]
    assert (first.comm, first.pid, first.t, first.to, first.clt) == ("vmnixhbd", 20, 29, 30, 1)
    assert first.uptime_s == 3679349.347
    assert first.message == "Lost heartbeat"
    assert first.evidence.line_no == 14
    assert first.evidence.text.startswith("    42:14:02:29.347 cpu0:1024)VMNIX: ALERT: HB: 365:")
    assert (second.comm, second.pid, second.t) == ("VMap", 9173, 30)
    cos_error = log.signals[3]
    assert cos_error.message == "Lost heartbeat"
    assert cos_error.uptime_s == 3679409.508
    assert (
        log.signals[4].target == "/volumes/4533e089-1dfcdd21-f1d3-001a140ebdca/cos-core-esxhostname"
    )
    assert log.last_uptime_s == 3679409.517


def test_kb1009607_wrapped_alert_is_joined():
    with open(DATA / "kb1009607-psod.txt", encoding="utf-8") as f:
        log = parse_vmkernel_log(f, path="vmkernel-log.1")
    assert kinds(log) == [K.HB_ALERT, K.COS_ERROR]
    hb = log.signals[0]
    assert (hb.comm, hb.pid, hb.t, hb.to, hb.clt) == ("cimserver", 3588, 30, 30, 1)
    assert hb.evidence.line_no == 1
    assert hb.evidence.text.endswith("(comm=cimserver pid=3588 t=30 to=30 clt=1).")
    assert log.signals[1].evidence.line_no == 3
    assert log.last_uptime_s == 8 * 3600 + 4 * 60 + 55.818


def test_syslog_prefix_and_other_source_line_numbers():
    log = parse_vmkernel_log(
        [
            "Nov 13 03:01:35 esx1 vmkernel: 1:02:03:04.500 cpu2:1024)VMNIX: ALERT: HB: 412: "
            "Lost heartbeat (comm=snmpd pid=77 t=12 to=30 clt=1).\r\n",
            "Nov 13 03:01:36 esx1 vmkernel: 1:02:03:05.000 cpu2:1024)Host: 5012: COS Error: Oops\n",
        ],
        path="var/log/vmkernel",
    )
    assert kinds(log) == [K.HB_ALERT, K.COS_ERROR, K.COS_OOPS]
    assert log.signals[0].uptime_s == 93784.5
    assert log.signals[0].comm == "snmpd" and log.signals[0].t == 12
    assert log.signals[0].evidence.text.endswith("clt=1).")
    assert log.signals[1].message == "Oops"


def test_pcpu_heartbeat_is_not_a_lost_heartbeat():
    log = parse_vmkernel_log(
        [
            "5:01:00:00.000 cpu3:1045)WARNING: Heartbeat: 961: PCPU 3 didn't have a heartbeat "
            "for 8 seconds. *may* be locked up",
        ],
        path="var/log/vmkwarning",
    )
    assert kinds(log) == [K.PCPU_HEARTBEAT]
    assert log.signals[0].cpu == 3
    assert log.signals[0].message.startswith("PCPU 3 didn't have a heartbeat for 8 seconds")


INT3 = "Int3 @ mp_register_ioapic"
NOT_IMPL = "NOT_IMPLEMENTED /build/mts/release/bora-84374/bora/vmkernel/main/util.c:83"
CASES = [
    ("@BlueScreen: #PF Exception(14) in world 4110", [K.BLUESCREEN, K.PF_EXCEPTION], None),
    ("#PF Exception 14 in world 1", [K.PF_EXCEPTION], None),
    ("PCPU 1 locked up. Failed to ack TLB invalidate.", [K.PCPU_LOCKUP], ("cpu", 1)),
    (NOT_IMPL, [K.NOT_IMPLEMENTED], ("message", NOT_IMPL)),
    ("COS Panic: Int3 @ mp_register_ioapic", [K.COS_PANIC], ("message", INT3)),
    ("Host: 4781: COS Error: CosPanic", [K.COS_ERROR, K.COS_PANIC], None),
    ("<4>Oops: 0002", [K.COS_OOPS], ("message", "Oops: 0002")),
    ("Dump: 354: Dumping core to '/vmfs/x/core'", [K.COREDUMP], ("target", "/vmfs/x/core")),
    ("Heartbeat: PCPU 0 is fine, Oopsie-free", [], None),
    ("VMNIX: heartbeat received", [], None),
]  # fmt: skip


@pytest.mark.parametrize(("message", "expected", "field"), CASES)
def test_every_signal_kind(message, expected, field):
    text = f"0:00:02:00.250 cpu1:1024){message}"
    log = parse_vmkernel_log(["0:00:00:00.001 cpu0:0)boot", text], path="var/log/vmkernel")
    assert kinds(log) == expected
    assert all(s.uptime_s == 120.25 for s in log.signals)
    if field is not None:
        assert getattr(log.signals[-1], field[0]) == field[1]
    assert all(s.evidence.line_no == 2 for s in log.signals)


def test_free_form_lines_are_ignored_and_last_uptime_skips_them():
    log = parse_vmkernel_log(
        ["some banner", "0:00:00:01.250 cpu0:1024)Init: 1: ok", "trailing free text", "   "],
        path="var/log/vmkernel",
    )
    assert log.signals == ()
    assert log.last_uptime_s == 1.25


def test_wrapped_alert_across_a_batch_boundary():
    filler = ["0:00:00:01.000 cpu0:1024)Init: 1: ok"] * (BATCH - 1)
    alert = "0:08:04:55.679 cpu0:1024)VMNIX: ALERT: HB: 365: Lost heartbeat (comm=x y"
    log = parse_vmkernel_log([*filler, alert, "pid=5 t=30 to=30 clt=1)."], path="var/log/vmkernel")
    (hb,) = log.signals
    assert (hb.comm, hb.pid, hb.t) == ("x y", 5, 30)
    assert hb.evidence.line_no == BATCH


def _kept(text: bytes, chunk: int) -> KeptText:
    """``text`` as a member's kept text arrives, in chunks of ``chunk`` bytes."""
    return KeptText(deque(text[at : at + chunk] for at in range(0, len(text), chunk)))


def test_the_text_read_in_pieces_reads_as_its_lines_do():
    alert = "0:08:04:55.679 cpu0:1024)VMNIX: ALERT: HB: 365: Lost heartbeat (comm=x y"
    width = len(alert)
    lines = [
        f"0:00:00:{i % 60:02}.000 cpu0:1024)Init: 1: ok {i}".ljust(width) for i in range(90_000)
    ]
    last = CHUNK_CHARS // (width + 1) - 1  # the first piece's last line...
    lines[last : last + 1] = [
        alert,
        " " * width,
        "pid=5 t=30 to=30 clt=1).",
        "Host: 1: COS Error: Lost",
    ]
    lines[-7] = "0:00:00:07.000 cpu0:1024)WARNING: Heap: 1: cswitch at its maximum size\r"
    data = "\n".join(lines).encode() + b"\n"
    assert data.index(b"(comm=x y\n") + 10 <= CHUNK_CHARS < data.index(b"pid=5")  # ...its rest
    by_lines = parse_vmkernel_log(lines, path="var/log/vmkernel")
    by_text = parse_vmkernel_log(_kept(data, 100_003), path="var/log/vmkernel")
    assert by_text == replace(by_lines, lines=by_text.lines)
    assert [(e.line_no, e.text.rstrip()) for e in by_text.lines] == [
        (e.line_no, e.text.rstrip()) for e in by_lines.lines
    ]
    assert [s.kind for s in by_text.signals] == [K.HB_ALERT, K.COS_ERROR]
    assert by_text.signals[0].pid == 5 and by_text.signals[0].evidence.line_no == last + 1
    assert by_text.last_uptime_s == float((len(lines) - 4) % 60)


def test_an_agents_own_heartbeats_are_not_read_as_crash_lines():
    # hostd and vpxa speak of heartbeats all day (HA, vCenter): none is a crash form
    lines = [
        f"[2010-03-16 12:51:{i % 60:02}.123 1F5BDB90 info 'Hostd'] datastore heartbeat ok {i}"
        for i in range(5000)
    ]
    log = parse_vmkernel_log(_kept("\n".join(lines).encode(), 65536), path="var/log/hostd.log")
    assert log.signals == () and log.omitted == ""
    assert len(log.lines) == vmkernel_log.TAIL


def test_unwrapped_pending_alert_is_still_reported():
    log = parse_vmkernel_log(
        ["0:01:00:00.000 cpu0:1024)VMNIX: ALERT: HB: 365: Lost heartbeat (comm=cimserver", "next"],
        path="var/log/vmkernel",
    )
    (hb,) = log.signals
    assert hb.comm == "cimserver" and hb.pid is None and hb.t is None


def test_whole_text_as_one_string():
    text = (DATA / "kb1009607-psod.txt").read_text()
    assert kinds(parse_vmkernel_log(text, path="p")) == [K.HB_ALERT, K.COS_ERROR]


@pytest.mark.parametrize("lines", [[], ["", "   \n"]])
def test_empty_is_missing(lines):
    with pytest.raises(ArtifactMissing) as err:
        parse_vmkernel_log(lines, path="var/log/vmkernel")
    assert err.value.artifact == "vmkernel_log"


def test_not_a_vmkernel_log():
    with pytest.raises(ParseError) as err:
        parse_vmkernel_log(["", "MemTotal: 1 kB", "Lost heartbeat"], path="var/log/vmkernel")
    assert err.value.line_no == 2
    assert str(err.value).startswith("var/log/vmkernel:2: expected vmkernel log lines")
    assert "MemTotal: 1 kB" in str(err.value)


def test_line_prefilter_matches_the_batch_keywords():
    for keyword in vmkernel_log._KEYWORDS:
        text = f"quiet\nx {keyword} y\n"
        assert vmkernel_log._CRASH.line_starts(text) == [6], keyword
    assert not vmkernel_log._CRASH.line_starts("0:00:00:01.000 cpu0:1024)Init: 1: ok\n")


def test_sniffer():
    assert looks_like_vmkernel_log((DATA / "kb1009607-psod.txt").read_text())
    assert not looks_like_vmkernel_log((DATA / "kb308590-vmksummary.txt").read_text())


_FRAGMENTS = st.sampled_from(
    [
        "42:14:02:29.347 cpu0:1024)",
        "VMNIX: ALERT: HB: 365: Lost heartbeat (comm=",
        "pid=",
        " t=99999999999999999999999",
        " to=30 clt=1).",
        "Host: 4781: COS Error: ",
        "@BlueScreen: ",
        "Oops",
        "COS Panic",
        "Heartbeat: 961: PCPU 3 didn't have a heartbeat",
        "PCPU 1 locked up",
        "#PF Exception(",
        "NOT_IMPLEMENTED ",
        "Dump: 354: Dumping core to '",
        "9" * 40,
    ]
)


@settings(max_examples=200, deadline=None, database=None)
@given(st.lists(st.lists(st.one_of(_FRAGMENTS, st.text(max_size=10)), max_size=5).map("".join)))
def test_arbitrary_text_raises_only_parse_errors(lines):
    try:
        log = parse_vmkernel_log(lines, path="x")
    except (ParseError, ArtifactMissing):
        return
    assert all(1 <= s.evidence.line_no <= len(lines) for s in log.signals)


def test_a_panic_logged_in_vmkernel_log_is_read_with_its_backtrace():
    # KB 370976's vmkernel.log block (ESXi 7)
    log = parse_vmkernel_log(
        [
            "2024-06-21T21:50:40.305Z cpu56:2097460)@BlueScreen: #PF Exception 14 in world "
            "2097460:HELPER_UPLIN IP 0x42002b65ad3b addr 0x8",
            "PTEs:0xc005426027;0xc004f12007;0x0;",
            "2024-06-21T21:50:40.320Z cpu56:2097460)Code start: 0x42002a800000 VMK uptime: "
            "455:21:42:08.477",
            "2024-06-21T21:50:40.346Z cpu56:2097460)0x453949a1be20:[0x42002b65ad3b]"
            "i40en_UplinkPrivStatsGet@(i40en)#<None>+0x45f stack: 0x4307b3a7e050",
            "2024-06-21T21:50:40.373Z cpu56:2097460)0x453949a1be80:[0x42002aa8da15]"
            "UplinkDeviceGetStatsAsyncCB@vmkernel#nover+0x2fe stack: 0x420000000001",
        ],
        path="var/run/log/vmkernel.log",
    )
    assert log.panic is not None and log.esxi is True
    assert log.panic.message.startswith("#PF Exception 14 in world 2097460:HELPER_UPLIN")
    assert [f.module for f in log.panic.frames] == ["i40en", "vmkernel"]


def test_agent_dumps_hangs_full_ramdisks_and_stops_asked_for():
    log = parse_vmkernel_log(
        [
            # ESXi 4.1 messages (esxi-bundles.md B2), KB 433552, KB 442474, KB 2040707, B3
            "Oct 4 08:02:38 vmkernel: 40:12:01:41.386 cpu10:7448)UserDump: 1485: Dumping cartel "
            "5551 (from world 7448) to file /var/core/vix-async-pipe-zdump.000 ...",
            "2026-02-20T13:34:30.434Z In(182) vmkernel: cpu23:)UserDump: 3157: iofltd-emcsplit: "
            "Dumping cartel ##### (from world 139941674) to file /var/core/iofilterd-zdump.001 ...",
            "2026-02-20T13:35:00.000Z cpu1:1)ALERT: hostd detected to be non-responsive",
            "2013-08-12T13:48:25.650Z [6FE81B90 info 'ha-eventmgr'] Event 8573 : The file table "
            "of the ramdisk 'root' is full.",
            "2022-04-26T02:48:45.930Z info hostd[2100820] [Originator@6876 sub=Vimsvc.ha-eventmgr] "
            "Event 2393 : Host is shutting down.",
        ],
        path="var/run/log/hostd.log",
    )
    found = [(s.kind, s.comm or s.target) for s in log.signals]
    assert found == [
        (K.AGENT_DUMP, "vix-async-pipe"),
        (K.AGENT_DUMP, "iofltd-emcsplit"),
        (K.AGENT_HUNG, "hostd"),
        (K.RAMDISK_FULL, "root"),
        (K.USER_STOP, None),
    ]
    assert log.panic is None


def test_warnings_alerts_and_the_last_lines_are_kept_for_signatures():
    filler = [f"0:00:00:{i % 60:02}.000 cpu0:1024)Init: 1: ok {i}" for i in range(3 * 2048)]
    filler[10] = "0:00:00:10.000 cpu0:1024)WARNING: Heap: Heap cswitch already at its maximum size"
    log = parse_vmkernel_log(filler, path="var/log/vmkernel")
    kept = [e.line_no for e in log.lines]
    assert kept[0] == 11 and kept[-1] == len(filler)
    assert len(kept) == 1 + vmkernel_log.TAIL


def test_other_esx_logs_and_quoted_messages_are_logs():
    for text in (
        "[2012-10-04 08:02:36.167 1F5BDB90 verbose 'NetConfigProvider'] FetchFn: List of pnics\n",
        "2013-08-12T13:55:30Z shell[3389987]: [root]: services.sh restart\n",
        "    WARNING: Heartbeat: 961: PCPU <ID> didn't have a heartbeat for xx seconds.\n",
        "    Mirror.cswitch: VSwitchRspanDstSessionDestinationFind: Failed to alloc memory\n",
        "    <3>[uptime] sd n:n:n:n: still retrying nnnnnnnnn1 after 360s\n",
    ):
        assert vmkernel_log.looks_like_esx_log(text), text
        assert not looks_like_vmkernel_log(text), text
        parse_vmkernel_log(text, path="x")  # read, not refused
    assert not vmkernel_log.looks_like_esx_log("hello world\nMemTotal: 1 kB\n")


def test_hostd_lines_of_esx_35_and_40_are_an_esx_log():
    # hostd's own form on ESX 3.5/4.0: the component quoted before the thread and the level
    lines = [
        "[2009-11-13 07:15:29.000 'Libs' 3076581934 warning] SSL Handshake on client conn",
        "[2009-11-13 07:15:31.412 'App' 3076444304 info] Current working directory: /var/log",
    ]
    assert vmkernel_log.looks_like_esx_log("\n".join(lines))
    log = vmkernel_log.parse_vmkernel_log(lines, path="var/log/vmware/hostd.log")
    assert log.panic is None
