"""Report forms of older kernels, of PID 1 and nohang, and containers of embedded syslogs, each
on lines written for the test in the form the source prints (never a corpus case's lines): the
kernel's OOM, lockup and panic wordings of 2.6.x, a panic whose reason is the lockup, systemd's
word on a unit the OOM killer took from, nohang's pick and action, kubectl's JSON, OpenWrt's
logread and busybox's facility, journalctl's short-unix."""

from __future__ import annotations

import pytest

from lostbeat.analyzer.parsers._frames import frame
from lostbeat.analyzer.parsers.host_log import looks_like_host_log, parse_host_log
from lostbeat.analyzer.result import CrashType


def incidents(lines: list[str]) -> list[tuple[str, str | None, str | None, int | None]]:
    log = parse_host_log(lines, path="log")
    return [(i.type.value, i.killer, i.victim, i.pid) for i in log.incidents]


# -- the kernel's wordings of 2.6.x -------------------------------------------------------


@pytest.mark.parametrize(
    ("lines", "want"),
    [
        # 2.6.9-2.6.18: capital M, the kill line a sentence
        (["Out of Memory: Killed process 4321 (httpd)."], ("oom_kill", "kernel", "httpd", 4321)),
        # the report opened without the allocating task, then its kill
        (["oom-killer: gfp_mask=0x1d2", "Mem-info:", "Out of memory: Killed process 99 (sh)."],
         ("oom_kill", "kernel", "sh", 99)),
        # lower-case selection "or a child", then the child killed
        (["Out of memory: kill process 77 (perl) score 9120 or a child",
          "Killed process 78 (perl)."], ("oom_kill", "kernel", "perl", 78)),
    ],
)  # fmt: skip
def test_old_oom_wordings_are_one_kill(lines: list[str], want: tuple[object, ...]) -> None:
    assert incidents(lines) == [want]


def test_an_old_selection_keeps_its_score() -> None:
    (i,) = parse_host_log(["Out of memory: kill process 77 (perl) score 9120 or a child"],
                          path="log").incidents  # fmt: skip
    assert (i.victim, i.score) == ("perl", 9120)


@pytest.mark.parametrize(
    ("headline", "kind"),
    [("BUG: soft lockup detected on CPU#2!", CrashType.SOFT_LOCKUP),
     ("NMI Watchdog detected LOCKUP on CPU 3", CrashType.HARD_LOCKUP)],
)  # fmt: skip
def test_an_old_lockup_takes_its_task_from_the_pid_line(headline: str, kind: CrashType) -> None:
    log = parse_host_log(
        [f"[ 912.4] {headline}", "[ 912.4] Pid: 812, comm: rsync Not tainted 2.6.18-8.el5 #1"],
        path="log",
    )
    (i,) = log.incidents
    assert (i.type, i.victim, i.pid) == (kind, "rsync", 812)


# -- panics ------------------------------------------------------------------------------


def test_a_panic_raised_by_a_lockup_names_the_task_on_the_stopped_cpu() -> None:
    lines = [
        "[ 31.2] Kernel panic - not syncing: softlockup: hung tasks",
        "[ 31.2] CPU: 3 PID: 901 Comm: dd Tainted: G             L    5.15.0-91-generic #101",
    ]
    assert incidents(lines) == [("kernel_panic", None, "dd", 901)]


def test_a_hung_task_panic_does_not_take_the_watchdog_for_its_task() -> None:
    lines = [
        "[ 481.0] Kernel panic - not syncing: hung_task: blocked tasks",
        "[ 481.0] CPU: 1 PID: 40 Comm: khungtaskd Not tainted 5.10.0-21-amd64 #1",
    ]
    assert incidents(lines) == [("kernel_panic", None, None, None)]


def test_a_panic_escalates_only_the_hang_just_before_it() -> None:
    lines = [
        "[ 10.0] Out of memory: Killed process 3120 (nginx) total-vm:9000kB, anon-rss:800kB",
        *[f"[ 1{n:02}.0] eth0: link up" for n in range(FAR)],
        "[ 900.0] Kernel panic - not syncing: Hard LOCKUP",
        "[ 900.0] CPU: 0 PID: 0 Comm: swapper/0 Not tainted 4.18.0-305.el8.x86_64 #1",
    ]
    assert incidents(lines)[-1] == ("kernel_panic", None, "swapper/0", 0)


FAR = 3
"""Lines between an OOM kill and a hard lockup's panic: any; the kill is no lockup."""


@pytest.mark.parametrize(
    "lines",
    [
        ["---[ end Kernel panic - not syncing: Attempted to kill init! exitcode=0x0000000b ]---"],
        ["Kernel panic - not syncing: Attempted to kill init! exitcode=0x0000000b",
         "---[ end Kernel panic - not syncing: Attempted to kill init! exitcode=0x0000000b ]---"],
    ],
)  # fmt: skip
def test_a_panic_end_marker_is_the_panic_once(lines: list[str]) -> None:
    log = parse_host_log(lines, path="log")
    assert [(i.type, i.reason) for i in log.incidents] == [
        (CrashType.KERNEL_PANIC, "Attempted to kill init! exitcode=0x0000000b")
    ]


# -- PID 1 on a unit the kernel's OOM killer took from ----------------------------------

UNIT = "Mar 3 10:00:01 web1 systemd[1]: php-fpm.service: A process of this unit has been killed by the OOM killer."  # noqa: E501
RESULT = "Mar 3 10:00:01 web1 systemd[1]: php-fpm.service: Failed with result 'oom-kill'."


@pytest.mark.parametrize(
    "lines",
    [[UNIT], [RESULT], [UNIT, RESULT],
     # a paste that broke the line after "killed by"
     ["Mar 3 10:00:01 web1 systemd[1]: php-fpm.service: A process of this unit has been killed by",
      "the OOM killer.", RESULT]],
)  # fmt: skip
def test_pid1_tells_of_the_kernels_kill_of_a_unit(lines: list[str]) -> None:
    assert incidents(lines) == [("oom_kill", "kernel", "php-fpm.service", None)]
    assert looks_like_host_log("\n".join(lines))


def test_pid1_echoing_a_kernel_report_adds_nothing() -> None:
    kill = "Mar 3 10:00:00 web1 kernel: Out of memory: Killed process 444 (php-fpm) total-vm:90kB"
    assert incidents([kill, UNIT, RESULT]) == [("oom_kill", "kernel", "php-fpm", 444)]


def test_the_result_after_systemd_oomds_kill_is_oomds() -> None:
    oomd = (
        "Mar 3 10:00:00 web1 systemd-oomd[600]: Killed /system.slice/php-fpm.service due to "
        "memory pressure for /system.slice being 81.00% > 80.00% for > 20s with reclaim"
    )
    assert incidents([oomd, RESULT]) == [("oom_kill", "systemd-oomd", "php-fpm.service", None)]


# -- nohang -------------------------------------------------------------------------------

PICK = [
    "Process with highest badness (found in 3 ms):",
    "  PID: 5120, Name: chromium, badness: 801",
]


@pytest.mark.parametrize(
    ("after", "want"),
    [
        (["Implementing a corrective action:", "  Sending SIGTERM to the victim"],
         [("oom_kill", "nohang", "chromium", 5120)]),
        (["victim badness 801 < min_badness 900; nothing to do"], []),
        (["Thresholds is not exceeded now"], []),
        ([], [("oom_kill", "nohang", "chromium", 5120)]),  # the excerpt ends before the action
    ],
)  # fmt: skip
def test_nohang_kills_the_pick_it_acts_on(after: list[str], want: list[object]) -> None:
    assert incidents([*PICK, *after]) == want


def test_nohang_action_whose_victim_the_excerpt_does_not_name() -> None:
    lines = [
        "Jun 02 11:40:03 pc nohang-desktop[812]: Implement a corrective action:",
        "Jun 02 11:40:03 pc nohang-desktop[812]:   Send SIGKILL to the victim; total response time: 9 ms",  # noqa: E501
    ]
    assert looks_like_host_log("\n".join(lines))
    assert incidents(lines) == [("oom_kill", "nohang", None, None)]


# -- kubectl's JSON ---------------------------------------------------------------------


def test_kubectl_json_names_the_pod_its_container_was_oom_killed_in() -> None:
    lines = [
        "{", '    "apiVersion": "v1",', '    "kind": "Pod",', '    "metadata": {',
        '        "name": "batch-7c9d-kq2",', '        "namespace": "jobs"', "    },",
        '    "status": {', '        "containerStatuses": [', "            {",
        '                "name": "worker",', '                "lastState": {',
        '                    "terminated": {', '                        "exitCode": 137,',
        '                        "reason": "OOMKilled"', "                    }",
        "                }", "            }", "        ]", "    }", "}",
    ]  # fmt: skip
    (i,) = parse_host_log(lines, path="pod.json").incidents
    assert (i.killer, i.victim, i.in_cgroup) == ("kubelet", "batch-7c9d-kq2", True)


# -- containers -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "ident", "at", "mono"),
    [
        # OpenWrt's logread: ctime with the year, facility and level, the kernel's stamp
        ("Tue Feb  6 03:14:15 2024 kern.err kernel: [ 8812.100000] MSG", "kernel", 1707189255.0,
         8812.1),
        ("Tue Feb  6 03:14:15 2024 kern.err kernel: MSG", "kernel", 1707189255.0, None),
        ("Tue Feb  6 03:14:15 2024 daemon.notice netifd: MSG", "netifd", 1707189255.0, None),
        # busybox syslogd: the facility and level between host and sender
        ("Feb  6 03:14:15 router kern.warn kernel: MSG", "kernel", None, None),
        # journalctl -o short-unix
        ("1707189255.250000 box kernel: MSG", "kernel", 1707189255.25, None),
        # dmesg -H: the minute, then deltas (neither is the time since boot)
        ("[Feb  6 03:14] MSG", None, None, None),
        ("[  +0.000012] MSG", None, None, None),
    ],
)  # fmt: skip
def test_embedded_and_epoch_containers(line: str, ident: str, at: float | None,
                                       mono: float | None) -> None:  # fmt: skip
    f = frame(line, 1)
    assert f is not None
    assert (f.text, f.ident, f.at, f.mono) == ("MSG", ident, at, mono)


def test_earlyoom_19_kill_line_with_its_oom_score_adj() -> None:
    line = (
        'sending SIGTERM to process 4410 uid 1000 "blender": oom_score 1012, oom_score_adj 200,'
        ' VmRSS 9120 MiB, cmdline "/usr/bin/blender scene.blend"'
    )
    (i,) = parse_host_log([line], path="earlyoom.log").incidents
    assert (i.killer, i.victim, i.pid, i.victim_kb) == ("earlyoom", "blender", 4410, 9120 * 1024)


def test_an_openwrt_log_of_a_kill_is_read() -> None:
    lines = [
        "Tue Feb  6 03:14:15 2024 daemon.info dnsmasq[900]: read /etc/hosts - 4 names",
        "Tue Feb  6 03:14:16 2024 kern.warn kernel: odhcpd invoked oom-killer: gfp_mask=0xcc0",
        "Tue Feb  6 03:14:16 2024 kern.err kernel: Out of memory: Killed process 900 (dnsmasq) "
        "total-vm:2000kB, anon-rss:900kB, file-rss:0kB, shmem-rss:0kB",
    ]
    assert looks_like_host_log("\n".join(lines[1:2]))
    (i,) = parse_host_log(lines, path="logread").incidents
    assert (i.victim, i.trigger, i.at) == ("dnsmasq", "odhcpd", 1707189256.0)


def test_a_wrapped_row_whose_rest_lost_its_number_keeps_its_size() -> None:
    """A paste that wrapped each row before its last two columns: the rest ``0 sshd`` reads as
    a list's numbering before ``sshd``; each row keeps its rss, its oom_score_adj unknown."""
    stamp = "\tJun 09 04:12:55 kernel:"
    lines = [
        f"{stamp} cron invoked oom-killer: gfp_mask=0x100cca(GFP_HIGHUSER_MOVABLE), order=0",
        f"{stamp} [  pid  ]   uid  tgid total_vm      rss pgtables_bytes swapents oom_score_adj name",
        f"{stamp} [   3086]     0  3086     7355     2195          57344        0    ",
        "\t        0 sshd",
        f"{stamp} [   4410]   999  4410   901120   800000        7200000        0    ",
        "\t      300 elasticsearch",
        f"{stamp} Out of memory: Killed process 4410 (elasticsearch) total-vm:3604480kB",
    ]
    (i,) = parse_host_log(lines, path="journal").incidents
    rows = {t.name: (t.rss_kb, t.oom_score_adj) for t in i.tasks}
    assert rows == {"sshd": (2195 * 4, None), "elasticsearch": (800000 * 4, None)}


def test_a_frame_cut_inside_its_module_is_named_by_the_loaded_modules() -> None:
    stamp = "Oct 02 03:04:05 db7 kernel:"
    lines = [
        f"{stamp} NMI watchdog: Watchdog detected hard LOCKUP on cpu 5",
        f"{stamp} Modules linked in: nvme_core qla2xxx(O) scsi_transport_fc xfs libcrc32c",
        f"{stamp} CPU: 5 PID: 0 Comm: swapper/5 Tainted: G O 5.4.0-150-generic #167-Ubuntu",
        f"{stamp} Call Trace:",
        f"{stamp}  <IRQ>",
        f"{stamp}  qla2x00_process_response_queue+0x8a/0x2c0 [qla2x>",
        f"{stamp}  _raw_spin_lock_irqsave+0x3a/0x40",
    ]
    (i,) = parse_host_log(lines, path="journal").incidents
    assert (i.type, i.victim, i.modules) == (CrashType.HARD_LOCKUP, "swapper/5", ("qla2xxx",))


def test_systemd_oomds_kill_named_by_pid1_whose_line_the_pager_cut_after_the_count() -> None:
    lines = [
        "Feb 11 09:00:01 ws systemd-oomd[611]: Killed /user.slice/user-1000.slice/user@1000.se>",
        "Feb 11 09:00:01 ws systemd[1410]: app-code-4411.scope: systemd-oomd killed 12 pr>",
    ]
    assert incidents(lines) == [("oom_kill", "systemd-oomd", "app-code-4411.scope", None)]


@pytest.mark.parametrize(
    ("lines", "want"),
    [
        # a mail's wrap inside the kill line, after the uid's word or before the pid
        (["Jan 9 02:00:01 db2 kernel: Killed process 8812, UID",
          "27, (postgres) total-vm:9212kB, anon-rss:3000kB, file-rss:12kB"],
         ("oom_kill", "postgres", 8812, 3012)),
        (["Jan 9 02:00:01 db2 kernel: Out of memory: Kill process",
          "(postgres) score 912 or sacrifice child"], ("oom_kill", "postgres", None, None)),
        # a soft lockup's headline wrapped before its task
        (["[ 77.1] watchdog: BUG: soft lockup - CPU#2 stuck for 22s!", "[rsync:3301]"],
         ("soft_lockup", "rsync", 3301, None)),
    ],
)  # fmt: skip
def test_a_headline_wrapped_before_its_task_is_named_by_the_next_line(
    lines: list[str], want: tuple[object, ...]
) -> None:
    (i,) = parse_host_log(lines, path="log").incidents
    assert (i.type.value, i.victim, i.pid, i.victim_kb) == want


def test_a_kill_line_wrapped_before_its_name_with_nothing_after_keeps_its_pid() -> None:
    lines = ["[ 5.0] Out of memory: Killed process 4321", "[ 5.1] eth0: link up"]
    assert incidents(lines) == [("oom_kill", "kernel", None, 4321)]


def test_systemd_oomds_kill_line_broken_before_due_to_is_its_kill() -> None:
    lines = [
        "Jul 05 17:33:19 systemd-oomd[1599]: Killed /user.slice/user-1000.slice/app.slice/x.scope",
        "  due to memory pressure for /user.slice/user-1000.slice being 60.00% > 50.00%",
    ]
    assert incidents(lines) == [("oom_kill", "systemd-oomd", "x.scope", None)]
    # another program's line of that shape is no kill of systemd-oomd's
    assert incidents(["Jul 05 17:33:19 cleaner[80]: Killed /tmp/cache"]) == []


def test_a_hung_task_headline_wrapped_after_its_seconds() -> None:
    lines = [
        "    Sep 9 10:00:01.120000 nas kernel: INFO: task jbd2/md0-8:512 blocked for more than 245",
        "    seconds.",
    ]
    (i,) = parse_host_log(lines, path="journal").incidents
    assert (i.type, i.victim, i.reason) == (
        CrashType.HUNG_TASK,
        "jbd2/md0-8",
        "blocked for more than 245 seconds",
    )


def test_an_invoked_line_wrapped_after_oom_killer_opens_the_report() -> None:
    lines = [
        "[ 9.0] nginx invoked oom-killer:",
        "gfp_mask=0x6200ca(GFP_HIGHUSER_MOVABLE), nodemask=(null),  order=0, oom_score_adj=0",
        "[ 9.0] [ pid ]   uid  tgid total_vm      rss nr_ptes swapents oom_score_adj name",
        "[ 9.0] [  812]    33   812   900000   700000    1500        0             0 nginx",
        "[ 9.0] Out of memory: Kill process 812 (nginx) score 700 or sacrifice child",
    ]
    (i,) = parse_host_log(lines, path="dmesg").incidents
    assert (i.trigger, i.victim, [t.name for t in i.tasks]) == ("nginx", "nginx", ["nginx"])


def test_a_numbered_paste_of_wrapped_rows_drops_the_list_number_of_each_rest() -> None:
    stamp = "Jun 03 19:58:03 srv kernel:"
    lines = [
        f"   1. {stamp} java invoked oom-killer: gfp_mask=0x140cca(GFP_HIGHUSER_MOVABLE), order=0",
        f"   2. {stamp} [  pid  ]   uid  tgid total_vm      rss pgtables_bytes swapents oom_score_adj name",
        f"   3. {stamp} [   4410]   999  4410   901120   800000        7200000        0   ",
        "   4.  -1000 java",
        f"   5. {stamp} Out of memory: Killed process 4410 (java) total-vm:3604480kB",
    ]
    (i,) = parse_host_log(lines, path="journal").incidents
    assert [(t.name, t.rss_kb, t.oom_score_adj) for t in i.tasks] == [("java", 3200000, -1000)]


def test_a_hard_lockup_headline_wrapped_before_its_cpu() -> None:
    lines = [
        ">Aug 6 09:34:57 db kernel: [ 5079.7] NMI watchdog: Watchdog detected hard LOCKUP on",
        ">cpu 1",
        ">Aug 6 09:34:57 db kernel: [ 5079.7] CPU: 1 PID: 0 Comm: swapper/1 Not tainted 5.4.0 #1",
    ]
    (i,) = parse_host_log(lines, path="kern.log").incidents
    assert (i.type, i.victim) == (CrashType.HARD_LOCKUP, "swapper/1")


def test_a_row_of_numbers_under_a_header_the_pager_cut_is_a_row_whose_name_was_cut() -> None:
    stamp = "2024-05-23T23:22:13.547154+01:00 ubuntu kernel:"
    lines = [
        f"{stamp} cc1plus invoked oom-killer: gfp_mask=0x140cca(GFP_HIGHUSER_MOVABLE), order=0",
        f"{stamp} [  pid  ]   uid  tgid total_vm      rss pgtables_bytes swapents oom_sco>",
        f"{stamp} [  10178]   993 10178  1043203   846205        8544256        0             0",
        f"{stamp} Out of memory: Killed process 23490 (cc1plus) total-vm:9000kB, anon-rss:100kB",
    ]
    (i,) = parse_host_log(lines, path="journal").incidents
    assert [(t.name, t.rss_kb) for t in i.tasks if t.pid == 10178] == [("pid 10178", 846205 * 4)]


def test_a_soft_lockup_headline_wrapped_before_its_seconds() -> None:
    lines = [
        "  2021-07-06T19:16:10.203039+09:00 n7 kernel: NMI watchdog: BUG: soft lockup - CPU#6 stuck for",
        "  23s! [kswapd0:155]",
    ]
    (i,) = parse_host_log(lines, path="journal").incidents
    assert (i.type, i.victim, i.pid) == (CrashType.SOFT_LOCKUP, "kswapd0", 155)
