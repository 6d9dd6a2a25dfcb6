"""A Linux host's own evidence through the whole analysis: the incident judged, its class (the
look-alikes), the grower, ``--at``, a recording's kernel records, and a sosreport as .tar.xz."""

from __future__ import annotations

import gzip
import io
import lzma
import tarfile
from dataclasses import replace
from pathlib import Path

import pytest

from lostbeat.analyzer.engine import analyze, facts_of
from lostbeat.analyzer.parsers.recordings import Coverage, KernelRecord, ProcessHistory, Recording
from lostbeat.analyzer.platforms import Parsed
from lostbeat.analyzer.result import CauseKind, CrashClass, CrashType
from lostbeat.analyzer.sources import TarSource
from lostbeat.recording.schema import ProcessKey, Tier
from lostbeat.report.jsonout import to_document

HEADER = "[ pid ]   uid  tgid total_vm      rss nr_ptes swapents oom_score_adj name"


def _oom(t: float, victim: str, rows: list[tuple[int, str, int]]) -> list[str]:
    """A 3.x OOM report at ``t`` s since boot: trigger, table (pid, name, rss pages), kill."""
    lines = [f"[{t:.6f}] {victim} invoked oom-killer: gfp_mask=0xd0, order=0, oom_score_adj=0"]
    lines.append(f"[{t:.6f}] {HEADER}")
    for pid, name, rss in rows:
        lines.append(
            f"[{t:.6f}] [{pid:>5}]     0 {pid:>5}  {rss * 2:>7}  {rss:>7}     100        0             0 {name}"
        )  # noqa: E501
    pid = next(p for p, n, _ in rows if n == victim)
    lines.append(
        f"[{t:.6f}] Out of memory: Kill process {pid} ({victim}) score 1 or sacrifice child"
    )  # noqa: E501
    lines.append(
        f"[{t:.6f}] Killed process {pid} ({victim}) total-vm:8kB, anon-rss:4kB, file-rss:0kB"
    )  # noqa: E501
    return lines


def _analyze(tmp_path: Path, lines: list[str], name: str = "dmesg.txt", **kw: object):  # type: ignore[no-untyped-def]
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return analyze([path], **kw)  # type: ignore[arg-type]


def test_the_grower_across_successive_reports_and_a_bystander_victim(tmp_path: Path) -> None:
    lines = _oom(100.0, "sshd", [(10, "java", 100_000), (11, "sshd", 900), (12, "cron", 500)])
    lines += _oom(200.0, "cron", [(10, "java", 400_000), (12, "cron", 500), (13, "big", 300_000)])
    result = _analyze(tmp_path, lines)
    crash, cause = result.crash, result.root_cause
    assert (crash.type, crash.victim, crash.class_) == (
        CrashType.OOM_KILL, "cron", CrashClass.MEMORY_EXHAUSTION,
    )  # fmt: skip
    assert crash.victim_was_grower is False
    assert [(c.name, c.kb) for c in crash.top_consumers] == [
        ("java", 1_600_000), ("big", 1_200_000), ("cron", 2000),
    ]  # fmt: skip
    # java grew by 300 000 pages between the reports; "big" is larger than java was, but new
    assert (cause.kind, cause.process, cause.pid) == (CauseKind.LEAK, "java", 10)
    assert [(i.victim, i.chosen, i.when) for i in result.incidents] == [
        ("sshd", False, "[100.000000]"), ("cron", True, "[200.000000]"),
    ]  # fmt: skip
    first = _analyze(tmp_path, lines, at="101")
    assert (first.crash.victim, first.root_cause.process) == ("sshd", "java")
    assert first.crash.victim_was_grower is False


def test_at_matches_a_syslog_stamp_and_an_iso_time(tmp_path: Path) -> None:
    lines = [
        "Apr 20 09:12:58 h kernel: Out of memory: Killed process 1 (a) total-vm:1kB, anon-rss:1kB, file-rss:0kB, shmem-rss:0kB",  # noqa: E501
        "Apr 20 09:26:40 h kernel: Out of memory: Killed process 2 (b) total-vm:1kB, anon-rss:1kB, file-rss:0kB, shmem-rss:0kB",  # noqa: E501
    ]
    assert _analyze(tmp_path, lines, at="Apr 20 09:12").crash.victim == "a"
    assert _analyze(tmp_path, lines).crash.victim == "b"
    iso = [ln.replace("Apr 20", "2024-04-20T").replace("T ", "T") for ln in lines]
    result = _analyze(tmp_path, iso, at="2024-04-20 09:13")
    assert result.crash.victim == "a" and result.crash.crashed_at == 1713604378.0  # UTC


@pytest.mark.parametrize(
    ("lines", "want"),
    [
        # hung task in direct reclaim (043): memory
        (["[9.0] INFO: task kthreadd:2 blocked for more than 120 seconds.",
          "[9.0]  try_to_free_pages+0x2bc/0x4c0", "[9.0]  __alloc_pages_slowpath+0x478/0xbc8"],
         CrashClass.MEMORY_EXHAUSTION),
        # a hang while the OOM killer is busy: memory
        (["[5.0] Out of memory: Killed process 7 (x) total-vm:1kB, anon-rss:9kB, file-rss:0kB",
          "[9.0] INFO: task systemd:1 blocked for more than 120 seconds.",
          "[9.0]  mutex_lock+0x23/0x33"], CrashClass.MEMORY_EXHAUSTION),
        # an NFS wait on a 32-bit ARM stack (040): not memory
        (["[9.0] INFO: task objcopy:24916 blocked for more than 120 seconds.",
          "[9.0] [<80a88018>] (io_schedule) from [<80230be4>] (wait_on_page_bit+0x110/0x15c)"],
         CrashClass.DRIVER),
        # a kernel thread asleep with nothing but the scheduler on its stack (046)
        (["[240.] INFO: task kinteractiveup:64 blocked for more than 120 seconds.",
          "[240.] [<8066c218>] __schedule+0x2b8/0x7fc", "[240.] [<800735f0>] kthread+0x6c/0x90"],
         CrashClass.KERNEL),
        # a soft lockup in kswapd (047): memory; in a user task: the kernel
        (["BUG: soft lockup - CPU#13 stuck for 22s! [kswapd1:149]"], CrashClass.MEMORY_EXHAUSTION),
        (["watchdog: BUG: soft lockup - CPU#0 stuck for 23s! [frigate:12]"], CrashClass.KERNEL),
        # an RCU stall with a module's work on the CPU (062): a driver
        (["[27.2] rcu: INFO: rcu_preempt detected expedited stalls on CPUs/tasks: { 0-... }",
          "[27.2] Workqueue: events_unbound p_check_integrity [p_lkrg]"], CrashClass.DRIVER),
        # a panic after no killable processes (066): memory
        ([HEADER, "Kernel panic - not syncing: Out of memory and no killable processes"],
         CrashClass.MEMORY_EXHAUSTION),
    ],
)  # fmt: skip
def test_look_alikes_are_told_apart(tmp_path: Path, lines: list[str], want: CrashClass) -> None:
    assert _analyze(tmp_path, lines).crash.class_ is want


def test_a_killer_and_the_kernel_killing_one_process_are_one_incident(tmp_path: Path) -> None:
    (tmp_path / "earlyoom.log").write_text(
        "mem avail:  1524 of 13855 MiB (10 %), swap free:    0 of    0 MiB ( 0 %)\n"
        'killing process 27541 "bash" with signal 15: badness 550, VmRSS 7609 MiB\n'
    )
    (tmp_path / "journal.txt").write_text(
        "апр 28 01:23:30 PC kernel: Killed process 27541 (bash) total-vm:8118236kB, "
        "anon-rss:8098448kB, file-rss:3264kB, shmem-rss:0kB\n"
    )
    result = analyze([tmp_path / "earlyoom.log", tmp_path / "journal.txt"])
    assert (result.crash.killer, result.crash.victim, result.crash.victim_was_grower) == (
        "kernel", "bash", True,
    )  # fmt: skip
    assert result.incidents == () and result.root_cause.process == "bash"
    assert result.root_cause.held_percent == 57.1  # of earlyoom's 13855 MiB


def test_a_recordings_kernel_records_name_the_crash() -> None:
    texts = [
        "stress invoked oom-killer: gfp_mask=0xcc0(GFP_KERNEL), order=0, oom_score_adj=0",
        "Memory cgroup out of memory: Killed process 4242 (stress) total-vm:200000kB, "
        "anon-rss:98000kB, file-rss:0kB, shmem-rss:0kB, UID:0 pgtables:300kB oom_score_adj:0",
    ]
    records = tuple(KernelRecord(1700000000.0 + i, 3, i, t) for i, t in enumerate(texts))
    rec = Recording("rec", "host1", 1.0, (), (), (), (), (), kernel=records)
    _, facts = facts_of(Parsed(recordings=[rec]))
    assert (facts.crash.type, facts.crash.victim, facts.crash.crashed_at) == (
        CrashType.OOM_KILL, "stress", 1700000000.0,  # the report began
    )  # fmt: skip
    assert facts.crash.constraint == "memcg"
    assert facts.crash.victim_pid == 4242


def test_a_recordings_kernel_incidents_are_those_it_saw() -> None:
    """The boot's log before the first sample, and a kill of a process the recorder never saw
    (another PID namespace's: /dev/kmsg is the host's), are not the recording's crash."""
    t0 = 1700000000.0
    kill = (
        "Out of memory: Killed process {pid} ({name}) total-vm:9000kB, anon-rss:8000kB, "
        "file-rss:0kB, shmem-rss:0kB, UID:0 pgtables:40kB oom_score_adj:0"
    )
    records = (
        KernelRecord(t0 - 600, 3, 1, kill.format(pid=111, name="old")),  # before the start
        KernelRecord(t0 + 5, 3, 2, kill.format(pid=222, name="elsewhere")),  # never recorded
    )
    ours = ProcessHistory(ProcessKey("app", "app --serve", 333, t0 - 50), None, None, ())
    rec = Recording(
        "rec", "host1", 1.0, (), (ours,), (), (Coverage(Tier.RAW, t0, t0 + 60, 1.0, "raw"),), (),
        kernel=records,
    )  # fmt: skip
    assert facts_of(Parsed(recordings=[rec]))[1].crash.type is CrashType.NONE
    mine = KernelRecord(t0 + 9, 3, 3, kill.format(pid=333, name="app"))
    rec = replace(rec, kernel=(*records, mine))
    crash = facts_of(Parsed(recordings=[rec]))[1].crash
    assert (crash.type, crash.victim, crash.victim_pid) == (CrashType.OOM_KILL, "app", 333)


def _sosreport(
    path: Path, files: dict[str, bytes], *, top: str = "sosreport-web01-2024-05-01-abcdefg",
    gz: bool = False,
) -> Path:  # fmt: skip
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(f"{top}/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    path.write_bytes(gzip.compress(raw.getvalue()) if gz else lzma.compress(raw.getvalue()))
    return path


def test_a_sosreport_tar_xz_is_read_as_a_stream(tmp_path: Path) -> None:
    kill = b"May 15 23:13:51 web01 kernel: Out of memory: Killed process 16295 (python3) total-vm:11964kB, anon-rss:4304kB, file-rss:1660kB, shmem-rss:0kB\n"  # noqa: E501
    archive = _sosreport(
        tmp_path / "sosreport-web01-2024-05-01-abcdefg.tar.xz",
        {
            "var/log/messages": kill,
            "sos_commands/logs/journalctl_--no-pager": kill,  # the same kill, counted once
            "proc/meminfo": b"MemTotal:        2000000 kB\nSwapTotal:             0 kB\n",
            "etc/hostname": b"web01\n",
        },
    )
    doc = to_document(analyze([archive]))
    assert (doc["host"], doc["platform"]["name"], doc["crash"]["victim"]) == (
        "web01", "linux", "python3",
    )  # fmt: skip
    assert doc["incidents"] == []
    read = {(i["path"], i["kind"]) for i in doc["inputs"] if i["status"] == "read"}
    assert ("var/log/messages", "host_log") in read and ("proc/meminfo", "meminfo") in read


def test_a_truncated_xz_keeps_what_was_read(tmp_path: Path) -> None:
    files = {f"var/log/messages.{i}": b"x" * 200_000 for i in range(1, 4)}
    files = {"var/log/messages": b"[ 1.0] INFO: task a:1 blocked for more than 5 s.\n", **files}
    whole = _sosreport(tmp_path / "s.tar.xz", files).read_bytes()
    cut = tmp_path / "cut.tar.xz"
    cut.write_bytes(whole[: len(whole) // 2])
    collected = TarSource(cut).collect()
    assert [m.path for m in collected.members][:1] == ["var/log/messages"]
    assert any("xz" in r.reason and r.status.value == "broken" for r in collected.records)


def test_a_hang_after_allocation_failures_is_memory(tmp_path: Path) -> None:
    lines = [
        "[  100.0] kworker/1:1: page allocation failure: order:0, mode:0x1080020(GFP_ATOMIC)",
        "[  200.0] INFO: task systemd:1 blocked for more than 120 seconds.",
        "[  200.0]  mutex_lock+0x23/0x33",
        "[  200.0]  vdev_queue_io+0x85/0x180 [zfs]",
    ]
    assert _analyze(tmp_path, lines).crash.class_ is CrashClass.MEMORY_EXHAUSTION
    later = [lines[0].replace("100.0", "1.0"), *lines[1:]]  # an hour and more before: not
    assert _analyze(
        tmp_path, [ln.replace("[  200.0]", "[ 9000.0]") for ln in later]
    ).crash.class_ is (CrashClass.DRIVER)


@pytest.mark.parametrize(("adj", "want"), [(0, True), (-100, True), (1000, None)])
def test_the_kernels_own_choice_by_size_unless_oom_score_adj_raised_it(
    tmp_path: Path, adj: int, want: bool | None
) -> None:
    line = (
        "[ 10.0] Out of memory: Killed process 7 (java) total-vm:9kB, anon-rss:600000kB, "
        f"file-rss:0kB, shmem-rss:0kB, UID:1000 pgtables:104kB oom_score_adj:{adj}"
    )
    result = _analyze(tmp_path, [line])
    assert result.crash.victim_was_grower is want
    assert result.root_cause.process == ("java" if want else None)


def test_a_memory_cgroups_oom_is_judged_against_the_groups_limit(tmp_path: Path) -> None:
    """On a 16 GB host, a 100 MB group's kill: the victim held most of the group, not 1 %."""
    lines = [
        "[500.1] worker invoked oom-killer: gfp_mask=0xcc0(GFP_KERNEL), order=0, oom_score_adj=0",
        "[500.1] memory: usage 102400kB, limit 102400kB, failcnt 311",
        "[500.1] memory+swap: usage 102400kB, limit 9007199254740988kB, failcnt 0",
        "[500.1] oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),cpuset=/,mems_allowed=0,"
        "oom_memcg=/app.slice/worker.service,task_memcg=/app.slice/worker.service,task=worker,"
        "pid=900,uid=0",
        "[500.1] Memory cgroup out of memory: Killed process 900 (worker) total-vm:300000kB, "
        "anon-rss:97000kB, file-rss:1000kB, shmem-rss:0kB, UID:0 pgtables:400kB oom_score_adj:0",
    ]
    (tmp_path / "dmesg.txt").write_text("\n".join(lines) + "\n")
    (tmp_path / "meminfo").write_text("MemTotal:       16384000 kB\nSwapTotal:      0 kB\n")
    result = analyze([tmp_path / "dmesg.txt", tmp_path / "meminfo"])
    assert result.memory.mem_total_bytes == 102400 * 1024  # the domain that ran out: the group
    crash = result.crash
    assert (crash.type, crash.victim, crash.victim_was_grower) == (
        CrashType.OOM_KILL, "worker", True,
    )  # fmt: skip
    assert (crash.constraint, crash.cgroup) == ("memcg", "/app.slice/worker.service")
    assert crash.message is not None and "/app.slice/worker.service" in crash.message
    assert result.root_cause.process == "worker"
    assert result.root_cause.held_percent == 95.7  # 98000 of the group's 102400 kB


ROTATED = {
    "var/log/messages": b"May 16 00:00:01 web01 systemd[1]: Started Session 2 of user root.\n",
    "var/log/messages-20240516.gz": gzip.compress(
        b"May 15 23:13:51 web01 kernel: Out of memory: Killed process 16295 (python3) "
        b"total-vm:11964kB, anon-rss:4304kB, file-rss:1660kB, shmem-rss:0kB\n"
    ),
    "sos_commands/kernel/dmesg": b"[    0.000000] Linux version 5.14.0-362.el9.x86_64 (gcc) #1\n",
    "etc/hostname": b"web01\n",
    "proc/meminfo": b"MemTotal:        2000000 kB\nSwapTotal:             0 kB\n",
}


@pytest.mark.parametrize("form", ["folder", "tar.gz", "tar.xz"])
def test_a_sosreports_rotated_gzipped_syslog_in_each_form(tmp_path: Path, form: str) -> None:
    top = "sosreport-web01-2024-05-16-abcdefg"
    if form == "folder":
        source = tmp_path / top
        for name, data in ROTATED.items():
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            (source / name).write_bytes(data)
    else:
        source = _sosreport(tmp_path / f"{top}.{form}", ROTATED, top=top, gz=form == "tar.gz")
    doc = to_document(analyze([source]))
    assert (doc["crash"]["type"], doc["crash"]["victim"], doc["host"]) == (
        "oom_kill", "python3", "web01",
    )  # fmt: skip
    read = {i["path"] for i in doc["inputs"] if i["status"] == "read"}
    assert "var/log/messages-20240516.gz" in read
