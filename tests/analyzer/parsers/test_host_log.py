"""The Linux log parser: every container of docs/reference/linux-logs.md §1, each report form
of §2-§6, bounds and bad lines. Lines are the reference's own examples (real kernel output)."""

from __future__ import annotations

import json

import pytest

from lostbeat.analyzer.parsers import _kernel_events
from lostbeat.analyzer.parsers._frames import frame
from lostbeat.analyzer.parsers._stream import frames
from lostbeat.analyzer.parsers.host_log import MAX_INCIDENTS, looks_like_host_log, parse_host_log
from lostbeat.analyzer.result import CrashType
from lostbeat.errors import ArtifactMissing

KILL = "Out of memory: Killed process 1811 (stress-ng) total-vm:43240kB, anon-rss:20kB, file-rss:64kB, shmem-rss:0kB, UID:1000 pgtables:104kB oom_score_adj:1000"  # noqa: E501


def parse(lines: list[str]):  # type: ignore[no-untyped-def]
    return parse_host_log(lines, path="log")


@pytest.mark.parametrize(
    ("line", "ident", "mono", "clock"),
    [
        (f"[44178.537350] {KILL}", None, 44178.53735, None),
        (f"[  240.] {KILL}", None, 240.0, None),
        (f"[Tue Aug  1 18:49:30 2023] {KILL}", None, None, "Tue Aug  1 18:49:30 2023"),
        (f"Nov 03 08:06:47.252691 localhost kernel: {KILL}", "kernel", None, "Nov 03 08:06:47.252691"),
        (f"апр 28 01:23:30 PC kernel: {KILL}", "kernel", None, "апр 28 01:23:30"),
        (f"Aug 11 16:28:11 kernel: {KILL}", "kernel", None, "Aug 11 16:28:11"),
        (f"May 15 23:13:51 host kernel: [  778.978329] {KILL}", "kernel", 778.978329, "May 15 23:13:51"),
        (f"2026-05-28T12:24:00.184235+00:00 vm-1 kernel: {KILL}", "kernel", None, "2026-05-28T12:24:00.184235+00:00"),
        (f"2024-05-01T12:00:00+0000 vm-1 kernel: {KILL}", "kernel", None, "2024-05-01T12:00:00+0000"),
        (f"kernel: {KILL}", "kernel", None, None),
        (f" kernel:[405108.698255] {KILL}", "kernel", 405108.698255, None),
        (f"nas3 login: [86185.341902] {KILL}", None, 86185.341902, None),
        (f"/ # [90216.140000] {KILL}", None, 90216.14, None),
        (f"  11746 [46223316.652645] {KILL}", None, 46223316.652645, None),
        (f"<0>[1401585.395801] {KILL}", None, 1401585.395801, None),
        (f"> Feb 4 16:15:15 kernel: {KILL}", "kernel", None, "Feb 4 16:15:15"),
        (f"{KILL}                                      ", None, None, None),
    ],
)  # fmt: skip
def test_every_container_is_taken_off(line: str, ident: str | None, mono: float | None,
                                      clock: str | None) -> None:  # fmt: skip
    f = frame(line, 1)
    assert f is not None
    assert (f.text, f.ident, f.mono, f.clock) == (KILL, ident, mono, clock)


def test_short_monotonic_is_not_taken_for_dmesg() -> None:
    f = frame("[   77.740597] systemd-oomd[659]: Killed /system.slice/x.service due to memory")
    assert f is not None and (f.ident, f.pid, f.mono) == ("systemd-oomd", 659, 77.740597)


def test_journal_json_and_export_entries() -> None:
    entry = {"__REALTIME_TIMESTAMP": "1595970156387995", "_TRANSPORT": "kernel", "MESSAGE": KILL}
    f = frame(json.dumps(entry), 3)
    assert f is not None and (f.ident, f.at, f.text) == ("kernel", 1595970156.387995, KILL)
    export = [
        "__CURSOR=s=1;i=2",
        "__REALTIME_TIMESTAMP=1595970156387995",
        "_BOOT_ID=3957642b91db46aeb6ea566e41d1e893",
        "_TRANSPORT=kernel",
        f"MESSAGE={KILL}",
        "",
        "__CURSOR=s=1;i=3",
        "__REALTIME_TIMESTAMP=1595970157000000",
        "SYSLOG_IDENTIFIER=earlyoom",
        "MESSAGE",
        "\x0c\x00\x00\x00\x00\x00\x00\x00low memory!",
        "",
    ]
    got = [(f.line_no, f.ident, f.text) for f in frames(export)]
    assert got == [(1, "kernel", KILL), (7, "earlyoom", "low memory!")]


def test_a_json_message_in_bytes_is_decoded() -> None:
    entry = {"_TRANSPORT": "kernel", "MESSAGE": list(b"hung \xff task")}
    f = frame(json.dumps(entry))
    assert f is not None and f.text == "hung \ufffd task"


def test_oom_report_with_task_table_ranks_the_consumers() -> None:
    log = parse(
        [
            "[833776.964796] swapoff invoked oom-killer: gfp_mask=0x140cca(GFP_HIGHUSER_MOVABLE|__GFP_COMP), order=0, oom_score_adj=0",  # noqa: E501
            "[833776.966747] Tasks state (memory values in pages):",
            "[833776.967416] [  pid  ]   uid  tgid total_vm      rss pgtables_bytes swapents oom_score_adj name",  # noqa: E501
            "[833776.968583] [   1514]     0  1514     1213      743    45056        5         -1000 udevd",  # noqa: E501
            "[833776.969685] [   1575]     0  1575     4605     2156    61440       17             0 network-initd",  # noqa: E501
            "[833776.969685] [   1576]     0  1576     4605     9000    61440        0             0 CPU 0/KVM",  # noqa: E501
            "[833776.969685] [   1577]     0  1577     4605  garbage",
            "[833776.990000] oom-kill:constraint=CONSTRAINT_NONE,nodemask=(null),cpuset=/,mems_allowed=0,global_oom,task_memcg=/,task=swapoff,pid=1600,uid=0",  # noqa: E501
            "[833776.990001] Out of memory: Killed process 1600 (swapoff) total-vm:4kB, anon-rss:4kB, file-rss:0kB, shmem-rss:0kB, UID:0 pgtables:4kB oom_score_adj:0",  # noqa: E501
        ]
    )
    (ev,) = log.incidents
    assert (ev.type, ev.victim, ev.pid, ev.trigger, ev.victim_kb) == (
        CrashType.OOM_KILL, "swapoff", 1600, "swapoff", 4,
    )  # fmt: skip
    assert [(t.name, t.rss_kb, t.swap_kb, t.oom_score_adj) for t in ev.tasks] == [
        ("CPU 0/KVM", 36000, 0, 0),
        ("network-initd", 8624, 68, 0),
        ("udevd", 2972, 20, -1000),
        ("swapoff", 4, None, 0),  # not in the rows kept: its size from the kill line
    ]
    assert len(log.problems) == 1 and log.problems[0].line_no == 7


def test_memcg_forms_across_generations() -> None:
    log = parse(
        [
            # 3.10: the memcg stack and "Task in ... killed as a result of limit of"
            "kernel: java invoked oom-killer: gfp_mask=0xd0, order=0, oom_score_adj=0",
            "kernel:  [<ffffffff8116ee9e>] mem_cgroup_oom_synchronize+0x55e/0x580",
            "kernel: Task in /docker/8efb killed as a result of limit of /docker/8efb",
            "kernel: Memory cgroup out of memory: Kill process 9949 (java) score 1001 or sacrifice child",  # noqa: E501
            "kernel: Killed process 9949 (java) total-vm:4825788kB, anon-rss:1048012kB, file-rss:0kB",  # noqa: E501
            # 5.x: the constraint line names the memcg
            "kernel: oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),cpuset=/,mems_allowed=0,oom_memcg=/kubepods/pod1,task_memcg=/kubepods/pod1/c1,task=dp_service,pid=7,uid=0",  # noqa: E501
            "kernel: Memory cgroup out of memory: Killed process 7 (dp_service) total-vm:1kB, anon-rss:1048576kB, file-rss:0kB, shmem-rss:0kB",  # noqa: E501
        ]
    )
    # kills at a memory cgroup's limit: OOM kills whose constraint is the group
    assert [(i.type, i.in_cgroup, i.victim, i.memcg, i.victim_kb) for i in log.incidents] == [
        (CrashType.OOM_KILL, True, "java", None, 1048012),
        (CrashType.OOM_KILL, True, "dp_service", "/kubepods/pod1", 1048576),
    ]


def test_two_line_kill_with_a_thread_and_the_uid_forms() -> None:
    log = parse(
        [
            "May  8 14:05:27 doris-03 kernel: Memory cgroup out of memory: Kill process 24984 (palo_be) score 968 or sacrifice child",  # noqa: E501
            "May  8 14:05:27 doris-03 kernel: Killed process 18177 (palo_be), UID 0, total-vm:70347780kB, anon-rss:45563572kB, file-rss:0kB, shmem-rss:0kB",  # noqa: E501
            "Aug 11 16:28:11 kernel: Out of memory: Kill process 3080 (forward) score 559 or sacrifice child",  # noqa: E501
            "Aug 11 16:28:11 kernel: Killed process 3080, UID 0, (forward) total-vm:1429064kB, anon-rss:1130444kB, file-rss:136kB",  # noqa: E501
            "May 15 23:13:51 h kernel: [  778.978329] Out of memory: Killed process 16432 ((journald)) total-vm:168032kB, anon-rss:4040kB, file-rss:3084kB, shmem-rss:0kB",  # noqa: E501
        ]
    )
    assert [(i.victim, i.pid) for i in log.incidents] == [
        ("palo_be", 18177), ("forward", 3080), ("(journald)", 16432),
    ]  # fmt: skip


def test_hangs_lockups_stalls_and_panics() -> None:
    log = parse(
        [
            "[ 3073.899638] INFO: task FwgThread OpFor:15341 blocked for more than 120 seconds.",
            "[ 3073.946483]  __schedule+0x2a6/0x700",
            "[ 3073.946483]  jbd2_log_wait_commit+0xac/0x120 [jbd2]",
            "[   36.537323] watchdog: BUG: soft lockup - CPU#3 stuck for 27s! [kworker/u3:3:2073]",
            "[   36.560762] Kernel panic - not syncing: softlockup: hung tasks",
            "NMI watchdog: Watchdog detected hard LOCKUP on cpu 1",
            "[  230.096699] rcu: INFO: rcu_preempt detected stalls on CPUs/tasks:",
            "[  230.096699] INFO: rcu_sched self-detected stall on CPU",
            "[   89.892668] rcu: INFO: rcu_sched self-detected stall on CPU",
        ]
    )
    got = [(i.type.value, i.victim, i.pid, i.modules) for i in log.incidents]
    assert got == [
        ("hung_task", "FwgThread OpFor", 15341, ("jbd2",)),
        ("soft_lockup", "kworker/u3:3", 2073, ()),
        ("kernel_panic", "kworker/u3:3", 2073, ()),  # the lockup it escalates
        ("hard_lockup", None, None, ()),
        ("rcu_stall", None, None, ()),  # the same stall seen from two CPUs is one
        ("rcu_stall", None, None, ()),
    ]


def test_a_hung_task_paste_that_starts_after_its_info_line() -> None:
    log = parse(
        [
            "[Tue Aug  1 18:49:30 2023]       Tainted: G           OE    --------- -  - 4.18.0-477.15.1.el8_8.x86_64 #1",  # noqa: E501
            '[Tue Aug  1 18:49:30 2023] "echo 0 > /proc/sys/kernel/hung_task_timeout_secs" disables this message.',  # noqa: E501
            "[Tue Aug  1 18:49:30 2023] task:kworker/3:1     state:D stack:    0 pid:  147 ppid:     2 flags:0x80004000",  # noqa: E501
        ]
    )
    (ev,) = log.incidents
    assert (ev.type, ev.victim, ev.pid, ev.at) == (
        CrashType.HUNG_TASK,
        "kworker/3:1",
        147,
        1690915770.0,
    )
    assert log.release == "4.18.0-477.15.1.el8_8.x86_64"


def test_userspace_killers_and_kubernetes() -> None:
    log = parse(
        [
            'Feb 16 13:58:29 h earlyoom[1233]: sending SIGTERM to process 29410 uid 1000 "cluster": badness 1264, VmRSS 23964 MiB',  # noqa: E501
            'Feb 16 13:58:30 h earlyoom[1233]: sending SIGTERM to process 29410 uid 1000 "cluster": badness 1264, VmRSS 23964 MiB',  # noqa: E501
            "Sep 10 14:59:49 image systemd-oomd[34]: Killed /a.slice/testbloat.service due to memory pressure for /a.slice being 51.07% > 50.00% for > 20s with reclaim activity",  # noqa: E501
            "process with highest badness:",
            "  PID: 903309, name: mysqld, badness: 849",
            "  Warning  SystemOOM  17m  kubelet, node1  System OOM encountered, victim process: java, pid: 4242",  # noqa: E501
        ]
    )
    got = [(i.killer, i.victim, i.pid, i.victim_kb) for i in log.incidents]
    assert got == [
        ("earlyoom", "cluster", 29410, 23964 * 1024),  # signalled twice: one incident
        ("systemd-oomd", "testbloat.service", None, None),
        ("nohang", "mysqld", 903309, None),
        ("kubelet", "java", 4242, None),
    ]


def test_traps_are_not_incidents() -> None:
    log = parse(
        [
            "[  230.1] rcu: Unless rcu_preempt kthread gets sufficient CPU time, OOM is now expected behavior.",  # noqa: E501
            "Apr 18 03:58:27 h kernel: Reserved memory: created CMA memory pool at 0x0d800000, size 512 MiB",  # noqa: E501
            "Mar 29 01:08:46 fedora systemd[2122]: x.scope: Deactivated successfully.",
        ]
    )
    assert log.incidents == ()


def test_empty_log_is_missing_and_unparsable_lines_are_kept_going_past() -> None:
    with pytest.raises(ArtifactMissing):
        parse(["", "   "])
    log = parse(["\x00\xff garbage", "[ 1.0] INFO: task a:1 blocked for more than 5 seconds."])
    assert [i.victim for i in log.incidents] == ["a"]


def test_incidents_kept_are_bounded_by_count() -> None:
    n = MAX_INCIDENTS + 50
    log = parse(
        [f"[ {i}.0] INFO: task t{i}:{i} blocked for more than 120 seconds." for i in range(n)]
    )
    assert len(log.incidents) == MAX_INCIDENTS and log.incidents_more == 50
    assert log.incidents[-1].victim == f"t{n - 1}"


def test_task_table_rows_kept_are_bounded_by_count(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_kernel_events, "MAX_TASKS", 3)
    rows = [f"[ 1.0] [ {p}]  0 {p} 10 {p} 1 0 0 t{p}" for p in range(1, 8)]
    (ev,) = parse(
        ["[ 1.0] x invoked oom-killer: gfp_mask=0x0, order=0, oom_score_adj=0", *rows]
    ).incidents
    assert [t.name for t in ev.tasks] == ["t7", "t6", "t5"] and ev.tasks_more == 4


@pytest.mark.parametrize(
    "text",
    [
        'Jun 12 06:39:16: sending SIGTERM to process 696 uid 1001 "ipfs": badness 757',
        "2023-08-10 16:53:26,463: TOP printed in 1ms; process with highest badness:",
        "demo-k8s-buggy-745cf66f44-m9wss   0/1     OOMKilled   1 (96s ago)   4m47s",
        '{ "__CURSOR" : "s=1", "MESSAGE" : "x" }',
        "[ 13.957383] mem invoked oom-killer: gfp_mask=0x14200ca",
    ],
)
def test_sniffer_knows_linux_logs(text: str) -> None:
    assert looks_like_host_log(text)


def test_sniffer_refuses_other_files() -> None:
    assert not looks_like_host_log("USER PID %CPU %MEM VSZ RSS TTY STAT START TIME COMMAND\n")
    assert not looks_like_host_log("Mar 16 12:51:47 esx01 vmkernel: 42:14:03:58.308 cpu1)x\n")


@pytest.mark.parametrize(
    ("line", "ident", "at", "mono"),
    [
        # dmesg --time-format iso: no host, so "INFO" is no sender
        ("2024-01-01T12:00:00,123456+00:00 INFO: task a:1 blocked for more than 120 seconds.",
         None, 1704110400.123456, None),
        # journalctl -o short-full (the zone's name read as UTC)
        ("Fri 2024-05-03 12:34:56 CEST host kernel: INFO: task a:1 blocked for more than 120 seconds.",
         "kernel", 1714739696.0, None),
        # dmesg -x, and CONFIG_PRINTK_CALLER's caller after the stamp
        ("kern  :err   : [   12.345678] INFO: task a:1 blocked for more than 120 seconds.",
         None, None, 12.345678),
        ("[   12.345678][ T1234] INFO: task a:1 blocked for more than 120 seconds.",
         None, None, 12.345678),
    ],
)  # fmt: skip
def test_more_dmesg_and_journal_layouts(
    line: str, ident: str | None, at: float | None, mono: float | None
) -> None:
    f = frame(line)
    assert f is not None
    assert (f.ident, f.at, f.mono) == (ident, at, mono)
    assert f.text == "INFO: task a:1 blocked for more than 120 seconds."


def test_kubernetes_events_and_docker_inspect() -> None:
    log = parse(
        [
            "  Warning  OOMKilling  12m  kernel-monitor, node1  Memory cgroup out of memory: "
            "Kill process 13483 (java) score 1995 or sacrifice child",
            "[",
            "    {",
            '        "Name": "/web",',
            '            "OOMKilled": true,',
        ]
    )
    got = [(i.type.value, i.killer, i.victim, i.pid) for i in log.incidents]
    assert got == [("oom_kill", "kubelet", "java", 13483), ("oom_kill", "kubelet", "web", None)]


def test_allocation_failures_are_kept_as_memory_pressure() -> None:
    log = parse(
        [
            "[  100.0] kworker/1:1: page allocation failure: order:0, mode:0x1080020(GFP_ATOMIC)",
            "[  200.0] INFO: task systemd:1 blocked for more than 120 seconds.",
        ]
    )
    assert log.pressure == ((1, None, 100.0),)


@pytest.mark.parametrize(
    "line",
    [
        "    [Thu Feb 13 17:49:44 2025] INFO: task a:1 blocked for more than 120 seconds.",
        "  54. [Thu Feb 13 17:49:44 2025] INFO: task a:1 blocked for more than 120 seconds.",
        ">\t21112 Feb 13 17:49:44 h kernel: INFO: task a:1 blocked for more than 120 seconds.",
        "\t36159 INFO: task a:1 blocked for more than 120 seconds.",
        "29590 2026-05-28T17:40:50.909085+05:30 h kernel: INFO: task a:1 blocked for more than"
        " 120 seconds.",
    ],
)
def test_pastes_indented_quoted_or_numbered(line: str) -> None:
    f = frame(line)
    assert f is not None and f.text == "INFO: task a:1 blocked for more than 120 seconds."
    assert looks_like_host_log(line)


def test_a_row_cut_by_the_pager_in_its_name_is_kept_and_named_by_the_kill() -> None:
    (ev,) = parse(
        [
            "[1.0] [  pid  ]   uid  tgid total_vm      rss pgtables_bytes swapents oom_score_adj name",  # noqa: E501
            "[1.0] [   1120]     0  1120   119176    44207   974848        0             0 kubelet",
            "[1.0] [  31935]  1000 31935  2074672   935748  9748480        0             0 cc1p>",
            "[1.0] Out of memory: Killed process 31935 (cc1plus) total-vm:8298688kB, "
            "anon-rss:3742993kB, file-rss:0kB, shmem-rss:0kB, UID:1000 pgtables:9520kB "
            "oom_score_adj:0",
        ]
    ).incidents
    assert [(t.name, t.rss_kb) for t in ev.tasks] == [
        ("cc1plus", 935748 * 4),
        ("kubelet", 44207 * 4),
    ]


def test_a_task_table_wrapped_by_the_paste_is_joined_back() -> None:
    """The header and each row broken at the paste's width, CRLF line ends: rows joined."""
    text = (
        "Nov 08 03:09:53 kernel: cron invoked oom-killer: gfp_mask=0x100cca, order=0\r\n"
        "Nov 08 03:09:53 kernel: Tasks state (memory values in pages):\r\n"
        "Nov 08 03:09:53 kernel: [  pid  ]   uid  tgid total_vm      rss rss_anon rss_file"
        " rss_shmem\r\n"
        "pgtables_bytes swapents oom_score_adj name\r\n"
        "Nov 08 03:09:53 kernel: [   2782]     0  2782   100301    36873    33185     3688    0\r\n"
        " 819200        0             0 kubelet\r\n"
        "Nov 08 03:09:53 kernel: [  19932]   994 19932   749111   744488   670039    74449    0\r\n"
        "6135808        0         -1000 beam.smp\r\n"
        "Nov 08 03:09:53 kernel: Out of memory: Killed process 2782 (kubelet) total-vm:401204kB,"
        "\r\nanon-rss:132740kB, file-rss:14752kB, shmem-rss:0kB, UID:0 pgtables:800kB\r\n"
    )
    log = parse_host_log(text.splitlines(), path="journal.txt")
    (ev,) = log.incidents
    assert [(t.name, t.pid, t.rss_kb, t.oom_score_adj) for t in ev.tasks] == [
        ("beam.smp", 19932, 744488 * 4, -1000), ("kubelet", 2782, 36873 * 4, 0),
    ]  # fmt: skip
    assert log.problems == ()


def test_systemd_oomds_kill_cut_by_the_pager_is_named_by_the_units_line() -> None:
    text = [
        "Sep 29 19:49:50 db systemd-oomd[1122]: Killed /user.slice/user-1001.slice/user@1001.serv"
        "ice/app.slice/vte-spawn->",
        "Sep 29 19:49:51 db systemd[2305]: vte-spawn-db32.scope: systemd-oomd killed 32 proce>",
    ]
    (ev,) = parse_host_log(text, path="journal.txt").incidents
    assert (ev.killer, ev.victim, ev.line_no) == ("systemd-oomd", "vte-spawn-db32.scope", 1)


def test_a_boot_log_without_an_incident_is_a_linux_log() -> None:
    banner = "> Linux version 3.16.0-11-amd64 (builder@buildhost) #1 SMP\n> Memory: 8192000K\n"
    assert looks_like_host_log("> Started Session 2 of User root.\n" + banner)
    assert parse_host_log(banner.splitlines(), path="console.log").incidents == ()


def test_an_iso_stamp_with_a_month_that_is_none_has_no_time() -> None:
    """Found by fuzzing: timegm refuses month 13; the line is read, its time unknown."""
    f = frame("2026-13-01T00:00:00+00:00 h kernel: INFO: task a:1 blocked for more than 2 seconds.")
    assert f is not None and (f.at, f.ident) == (None, "kernel")


def test_a_large_file_without_stamps_frames_only_report_words() -> None:
    """A program's own log (no kernel stamp at its start) says "memory" and "task" on every
    line: those lines are passed over, a kill line in it is still framed, and a small
    stampless paste keeps every word."""
    chatter = [f"worker {i}: task queue memory pool refreshed" for i in range(4000)]
    text = "\n".join([*chatter, "Out of memory: Killed process 4242 (leaker)", *chatter]) + "\n"
    assert len(text) > 65536
    found = [f.text for f in frames(text)]
    assert found == ["Out of memory: Killed process 4242 (leaker)"]
    paste = "\n".join(chatter[:3]) + "\n"
    assert len(list(frames(paste))) == 3


def test_a_log_whose_lines_hold_no_incident_is_read_and_has_none() -> None:
    # a Service Console's syslog of an ordinary day: read whole, not "missing or empty"
    lines = [
        "Nov 13 03:01:35 esx01 logger: (1258099291) hb: vmk loaded, 11795301.25, 11795288.970",
        "Nov 13 03:05:01 esx01 crond[4711]: (root) CMD (/usr/sbin/vmkstats)",
    ]
    log = parse(lines)
    assert (log.incidents, log.release) == ((), None)
    with pytest.raises(ArtifactMissing):  # only a log with no text at all is missing
        parse(["", " \t", ""])
