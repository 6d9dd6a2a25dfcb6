"""Kills told by what relays or cuts the kernel's report, on lines written for the test in the
form the source prints (never a corpus case's lines): cgroup v1's memory cgroup header without
its kill line or without its ``Task in``, node-problem-detector's events (a reason of its
configuration's, the kill line in a JSON or YAML message field), and the victim's memory
cgroup each report form names (which group's process was killed)."""

from __future__ import annotations

import pytest

from lostbeat.analyzer.parsers.host_log import looks_like_host_log, parse_host_log


def _log(lines: list[str]) -> list[tuple[str, str | None, str | None, int | None, bool]]:
    log = parse_host_log(lines, path="log")
    return [(i.type.value, i.killer, i.victim, i.pid, i.in_cgroup) for i in log.incidents]


@pytest.mark.parametrize(
    "lines",
    [
        # the header's first line copied from its path on, the "Task in " left behind
        ["/lxc/web1 killed as a result of limit of /lxc/web1",
         "memory: usage 524288kB, limit 524288kB, failcnt 77",
         "memory+swap: usage 524288kB, limit 1048576kB, failcnt 0"],
        # the header whole, a syslog's, cut before the task table's rows
        ["Mar  2 10:00:01 db2 kernel: Task in /machine/vm7 killed as a result of limit of /machine",
         "Mar  2 10:00:01 db2 kernel: memory: usage 2097152kB, limit 2097152kB, failcnt 12",
         "Mar  2 10:00:01 db2 kernel: [ pid ]   uid  tgid total_vm      rss nr_ptes swapents "
         "oom_score_adj name"],
    ],
)  # fmt: skip
def test_a_memory_cgroup_header_without_its_kill_is_a_kill_at_the_limit(
    lines: list[str],
) -> None:
    assert looks_like_host_log("\n".join(lines))
    assert _log(lines) == [("oom_kill", "kernel", None, None, True)]
    (kill,) = parse_host_log(lines, path="log").incidents
    assert kill.task_memcg == lines[0].split("killed as")[0].split()[-1]


def test_the_victims_memory_cgroup_is_kept_from_the_summary_line() -> None:
    lines = [
        "[ 90.1] worker invoked oom-killer: gfp_mask=0xcc0(GFP_KERNEL), order=0, oom_score_adj=0",
        "[ 90.2] oom-kill:constraint=CONSTRAINT_NONE,nodemask=(null),cpuset=/,mems_allowed=0,"
        "global_oom,task_memcg=/system.slice/batch.service,task=worker,pid=812,uid=33",
        "[ 90.3] Out of memory: Killed process 812 (worker) total-vm:900000kB, "
        "anon-rss:800000kB, file-rss:0kB, shmem-rss:0kB, UID:33 pgtables:1800kB oom_score_adj:0",
    ]
    (kill,) = parse_host_log(lines, path="log").incidents
    assert (kill.victim, kill.pid, kill.in_cgroup) == ("worker", 812, False)
    assert (kill.task_memcg, kill.memcg) == ("/system.slice/batch.service", None)


@pytest.mark.parametrize(
    "lines",
    [
        # describe node's Events, the reason as a cluster's configuration names it
        ["Events:",
         "  Type     Reason              Age  From                    Message",
         "  ----     ------              ---  ----                    -------",
         "  Warning  ContainerOOMKilling  5m   kernel-monitor, n-3  Memory cgroup out of memory: "
         "Killed process 4410 (node) total-vm:1200000kB, anon-rss:500000kB, file-rss:0kB"],
        # kubectl get events -o json: keys sorted, the message before the reason
        ['    {', '      "message": "Memory cgroup out of memory: Killed process 4410 (node) '
         'total-vm:1200000kB, anon-rss:500000kB, file-rss:0kB",',
         '      "reason": "OOMKilling",', '      "type": "Warning"', "    }"],
        # -o yaml
        ["- message: 'Memory cgroup out of memory: Kill process 4410 (node) score 1990 or "
         "sacrifice child'", "  reason: OOMKilling"],
    ],
)  # fmt: skip
def test_an_event_quoting_the_kernels_kill_is_kubernetes_report_of_it(lines: list[str]) -> None:
    assert looks_like_host_log("\n".join(lines))
    assert _log(lines) == [("oom_kill", "kubelet", "node", 4410, True)]


def test_an_event_message_that_is_no_kill_is_nothing() -> None:
    lines = ['      "message": "Memory cgroup usage is high",', '      "reason": "OOMKilling",']
    assert looks_like_host_log("\n".join(lines))  # by its reason's word
    assert [i.type for i in parse_host_log(lines, path="log").incidents] == []


def test_a_vms_log_relaying_the_guests_console_is_read_past_its_own_prefix() -> None:
    vmx = "2024-01-09T03:12:{:02d}.310Z In(05) vcpu-2 - Guest: "
    lines = [
        vmx.format(44) + "<3>[ 8120.552] Memory cgroup out of memory: Kill process 731 (db) "
        "score 1712 or sacrifice child",
        vmx.format(44) + "<3>[ 8120.559] Killed process 731 (db) total-vm:9000000kB, "
        "anon-rss:700000kB, file-rss:2000kB, shmem-rss:0kB",
        vmx.format(45) + "<4>[ 8990.100] db invoked oom-killer: gfp_mask=0x6000c0(GFP_KERNEL), "
        "nodemask=(null), order=0, oom_score_adj=500",
    ]
    assert looks_like_host_log("\n".join(lines))
    incidents = parse_host_log(lines, path="vmware.log").incidents
    assert (incidents[0].victim, incidents[0].pid, incidents[0].in_cgroup) == ("db", 731, True)
    assert {i.victim for i in incidents} == {"db"}  # the next report's head names its task
    assert [i.mono for i in incidents] == [8120.552, 8990.1]  # the stamps read, the level off
