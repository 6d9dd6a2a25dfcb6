"""The kernel log reader on the real ``/dev/kmsg``, the matcher on the kernel's own line forms,
the previous boot's sources, and the pressure watch on the real pressure files.

Lines are written to ``/dev/kmsg`` as any root process may (they are marked as this test's
and never imitate an OOM kill or a hang: other programs on the machine read the same log).
"""

from __future__ import annotations

import json
import os
import time
import uuid
from pathlib import Path

import pytest

from lostbeat.agent.early import PressureWatch, Trend, parse_trigger
from lostbeat.agent.kevents import Kind, Matcher, match
from lostbeat.agent.kmsg import KMSG, KmsgReader, parse_journal, parse_record, previous_boot
from lostbeat.errors import AgentError, InputError


def _writable_kmsg() -> None:
    if not os.access(KMSG, os.R_OK | os.W_OK):
        print(
            f"SKIP: {KMSG} is not readable and writable here (needs root, and a host that has it)"
        )
        pytest.skip(f"{KMSG} is not readable and writable here")


def _say(text: str) -> None:
    """One record, as a program logs to the kernel (each open has its own rate limit)."""
    fd = os.open(KMSG, os.O_WRONLY)
    try:
        os.write(fd, f"<5>{text}\n".encode())
    finally:
        os.close(fd)


def test_the_reader_gets_new_records_one_by_one_and_resumes_after_a_sequence() -> None:
    _writable_kmsg()
    token = uuid.uuid4().hex[:8]
    boot = time.time() - time.clock_gettime(time.CLOCK_BOOTTIME)
    reader = KmsgReader(boot_time=boot, from_end=True)
    assert not [r for r in reader.read()[0] if token in r.text]  # from the end: nothing old
    for n in range(3):
        _say(f"lostbeat-test {token} line {n}")
    records, counts = reader.read()
    mine = [r for r in records if token in r.text]
    assert [r.text for r in mine] == [f"lostbeat-test {token} line {n}" for n in range(3)]
    assert all(r.priority == 1 * 8 + 5 for r in mine)  # facility user, level notice
    assert [r.seq for r in mine] == sorted(r.seq for r in mine if r.seq is not None)
    assert all(abs(r.epoch - time.time()) < 30 for r in mine)
    assert counts.unparsed == 0
    # a new reader told the last sequence kept starts right after it
    again = KmsgReader(boot_time=boot, after_seq=mine[1].seq)
    assert [r.text for r in again.read()[0] if token in r.text] == [mine[2].text]
    reader.close()
    again.close()


def test_an_unreadable_log_is_one_clear_error_and_a_bad_record_is_counted(tmp_path: Path) -> None:
    with pytest.raises(AgentError, match="cannot read the kernel log"):
        KmsgReader(boot_time=0.0, path=tmp_path / "no-kmsg")
    junk = tmp_path / "junk"
    junk.write_bytes(b"this is no kernel record\n")
    records, counts = KmsgReader(boot_time=0.0, path=junk).read()
    assert records == [] and counts.unparsed == 1
    with pytest.raises(ValueError, match="PRIORITY,SEQ,USEC,FLAGS"):
        parse_record(b"6,1,2;no flags", boot_time=0.0)


# verbatim: linux-mechanisms.md, "The kernel log" (VERIFIED on these hosts)
CONTEXT = (
    "oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),cpuset=/,mems_allowed=0,"
    "oom_memcg=/lostbeat-x,task_memcg=/lostbeat-x,task=python3,pid=4300,uid=0"
)
KILLED = (
    "Memory cgroup out of memory: Killed process 4300 (python3) total-vm:115112kB, "
    "anon-rss:97920kB, file-rss:6872kB, shmem-rss:0kB, UID:0 pgtables:264kB oom_score_adj:0"
)


@pytest.mark.parametrize(
    ("line", "kind", "pid", "comm"),
    [
        (KILLED, Kind.OOM_KILL, 4300, "python3"),
        (
            "Out of memory: Killed process 812 (java) total-vm:9kB, anon-rss:5kB, file-rss:1kB,"
            " shmem-rss:0kB, UID:1000 pgtables:1kB oom_score_adj:0",
            Kind.OOM_KILL, 812, "java",
        ),
        ("INFO: task jbd2/sda1-8:215 blocked for more than 120 seconds.", Kind.HUNG_TASK, 215,
         "jbd2/sda1-8"),
        ("watchdog: BUG: soft lockup - CPU#3 stuck for 22s! [kworker/3:1:99]", Kind.SOFT_LOCKUP,
         99, "kworker/3:1"),
        ("watchdog: CPU3: Watchdog detected hard LOCKUP on cpu 3", Kind.HARD_LOCKUP, None, None),
        ("rcu: INFO: rcu_preempt detected stalls on CPUs/tasks:", Kind.RCU_STALL, None, None),
        ("rcu: INFO: rcu_sched self-detected stall on CPU", Kind.RCU_STALL, None, None),
        ("Kernel panic - not syncing: Out of memory and no killable processes...", Kind.PANIC,
         None, None),
    ],
)  # fmt: skip
def test_the_matcher_knows_the_kernels_forms(
    line: str, kind: Kind, pid: int | None, comm: str | None
) -> None:
    event = match(line)
    assert event is not None
    assert (event.kind, event.pid, event.comm) == (kind, pid, comm)


def test_an_oom_kill_gets_the_constraint_and_cgroup_of_its_summary_line() -> None:
    matcher = Matcher()
    assert matcher.feed(CONTEXT) is None
    assert matcher.feed("Tasks state (memory values in pages):") is None
    event = matcher.feed(KILLED)
    assert event is not None
    assert (event.constraint, event.memcg, event.rss_kb) == (
        "CONSTRAINT_MEMCG", "/lostbeat-x", 97920 + 6872
    )  # fmt: skip
    assert event.memcg_oom and not event.hang
    assert match("usb 1-1: new high-speed USB device number 2") is None
    assert match("Killed process without its number") is None


def test_the_previous_boot_comes_from_pstore_and_the_journal(tmp_path: Path) -> None:
    pstore = tmp_path / "pstore"
    pstore.mkdir()
    (pstore / "dmesg-efi-172").write_text(
        "Panic#1 Part1\n<4>[  812.5] Out of memory: Killed process 7 (x)\n"
        "<0>[  812.9] Kernel panic - not syncing: System is deadlocked on memory\n"
    )
    records, notes, bad = previous_boot(journalctl=None, pstore=pstore)
    assert [(r.priority, r.text) for r in records] == [
        (4, "Out of memory: Killed process 7 (x)"),
        (0, "Kernel panic - not syncing: System is deadlocked on memory"),
    ]
    assert notes == ["journalctl: not installed"] and bad == 0
    # journalctl -o json: MESSAGE as a string, or as a list of bytes when not UTF-8
    lines = [
        json.dumps({"MESSAGE": "ok", "PRIORITY": "6", "__REALTIME_TIMESTAMP": "1714000000500000"}),
        json.dumps({"MESSAGE": list(b"bad \xff"), "PRIORITY": "3", "SYSLOG_FACILITY": "0",
                    "__REALTIME_TIMESTAMP": "1714000001000000"}),
        "not json",
    ]  # fmt: skip
    found, bad = parse_journal(lines)
    assert [(r.epoch, r.priority, r.text) for r in found] == [
        (1714000000.5, 6, "ok"), (1714000001.0, 3, "bad \ufffd")
    ]  # fmt: skip
    assert bad == 1


def test_a_host_without_a_kept_journal_says_so_and_gives_nothing(tmp_path: Path) -> None:
    import shutil

    journalctl = shutil.which("journalctl")
    if journalctl is None:
        print("SKIP: journalctl is not installed here")
        pytest.skip("journalctl is not installed here")
    records, notes, _ = previous_boot(journalctl=journalctl, pstore=tmp_path / "none")
    # this host keeps no journal of an earlier boot: one note per source, nothing invented
    assert records == [] or all(r.seq is None for r in records)
    assert any("pstore" in n for n in notes)
    if not records:
        assert any(n.startswith("journalctl -k -b -1:") for n in notes)


def test_pressure_uses_the_kernels_trigger_where_it_may_and_reads_totals_elsewhere() -> None:
    path = Path("/proc/pressure/memory")
    if not path.exists():
        print("SKIP: this kernel has no pressure stall information")
        pytest.skip("this kernel has no pressure stall information")
    two = PressureWatch(path, parse_trigger("some 500000 2000000"))
    one = PressureWatch(path, parse_trigger("some 150000 1000000"))
    try:
        assert two.mode == "trigger", two.why_read
        # a 1 s window needs CAP_SYS_RESOURCE (psi.rst); without it, the totals are read
        assert one.mode in ("trigger", "read")
        if one.mode == "read":
            assert one.why_read is not None and "multiple of 2 s" in one.why_read
        now = time.monotonic()
        assert two.check(now) is None and one.check(now) is None  # an idle host
    finally:
        two.close()
        one.close()
    with pytest.raises(InputError, match="window"):
        parse_trigger("some 150000 100000")
    with pytest.raises(InputError, match="some|full"):
        parse_trigger("most 1 2")


def test_the_trend_gives_the_time_left_and_none_before_it_knows() -> None:
    trend = Trend(window_s=10.0)
    for t in range(4):
        trend.add(float(t), used=100.0 * t, capacity=1000.0)
    assert trend.time_to_exhaustion() is None  # fewer than 5 points
    trend.add(4.0, used=400.0, capacity=1000.0)
    assert trend.time_to_exhaustion() == pytest.approx(6.0)
    for t in range(5, 20):
        trend.add(float(t), used=400.0, capacity=1000.0)  # it stopped growing
    assert trend.time_to_exhaustion() == float("inf")


def test_the_monitor_without_a_kernel_log_says_so_once_and_watches_the_rest(
    tmp_path: Path,
) -> None:
    import io

    from lostbeat.agent.alerts import AlertLog
    from lostbeat.agent.sentinel import Sentinel, SentinelConfig
    from lostbeat.procfs import Procfs

    out = io.StringIO()
    log = AlertLog(uptime=lambda: 1.0, cpu=lambda: 0, pid=7, stream=out)
    config = SentinelConfig(kmsg=tmp_path / "no-kmsg", tte_s=5.0, trend_every_s=0.0)
    sentinel = Sentinel(config, Procfs(), None, log)
    try:
        for n in range(8):
            assert sentinel.check(float(n)) == []  # an idle host: no alarm, no error
    finally:
        sentinel.close()
    lines = out.getvalue().splitlines()
    unavailable = [line for line in lines if "kernel log unavailable" in line]
    assert unavailable == [
        f"0:00:00:01.000 cpu0:7)Monitor: kernel log unavailable: {tmp_path}/no-kmsg: cannot read"
        " the kernel log (No such file or directory); watching the rest"
    ]
    assert any("early warning: time to exhaustion under 5 s" in line for line in lines)
    assert sentinel.tte is None or sentinel.tte > 5.0
