"""Kernel reports that journalctl's pager cut or a paste wrapped: what is still read from them.

The lines are real (tests/corpus/real-linux, docs/reference/linux-logs.md §2), cut or wrapped
as the pager (``>`` at the terminal's edge, ``…``) or a paste does it."""

from __future__ import annotations

from pathlib import Path

import pytest

from lostbeat.analyzer.artifacts import sniff_kind
from lostbeat.analyzer.engine import analyze
from lostbeat.analyzer.parsers._kernel_events import Task, cut_row
from lostbeat.analyzer.parsers.host_log import parse_host_log
from lostbeat.analyzer.parsers.psod import looks_like_psod
from lostbeat.analyzer.result import CrashType

# 023 (4.19-6.7) and systemd#6966 (3.x), whole
HEADER_419 = "[  pid  ]   uid  tgid total_vm      rss pgtables_bytes swapents oom_score_adj name"
ROW_419 = "[   1575]     0  1575     4605     2156    61440       17             0 network-initd"
HEADER_3 = "[ pid ]   uid  tgid total_vm      rss nr_ptes swapents oom_score_adj name"
ROW_3 = "[ 7747]     0  7748  3226957  2875051    5692        0             0 python"
# 020 (6.8+)
ROW_68 = "[1055041]     0 1055041  1280029  1262242  1262089      153         0 10272768        0           200 nix-env"  # noqa: E501
KILL_68 = "Out of memory: Killed process 1055041 (nix-env) total-vm:5120116kB, anon-rss:5048356kB, file-rss:612kB, shmem-rss:0kB, UID:0 pgtables:10032kB oom_score_adj:200"  # noqa: E501
HEADER_68 = "[  pid  ]   uid  tgid total_vm      rss rss_anon rss_file rss_shmem pgtables_bytes swapents oom_score_adj name"  # noqa: E501


def _rest(row: str) -> str:
    return row.partition("]")[2].strip()


@pytest.mark.parametrize(
    ("header", "cut", "rss_kb", "swap_kb"),
    [
        # the name cut off, the mark after the spaces: every number whole
        (HEADER_419, ROW_419[:68] + "…", 2156 * 4, 17 * 4),
        # the pager's edge inside the name, and inside the swap column
        (HEADER_419, ROW_419[:75] + ">", 2156 * 4, 17 * 4),
        (HEADER_419, ROW_419[:55] + ">", 2156 * 4, None),
        # a 3.x row, and a header the pager cut too (its last words gone)
        (HEADER_3[:66] + "…", ROW_3[:60] + ">", 2875051 * 4, 0),
        # the table's header lost: the columns every generation starts with
        (None, ROW_68[:60] + ">", 1262242 * 4, None),
    ],
)  # fmt: skip
def test_a_row_cut_after_its_rss_is_read_by_its_whole_numbers(
    header: str | None, cut: str, rss_kb: int, swap_kb: int | None
) -> None:
    words = _rest(header).split() if header else None
    task = cut_row(words, int(cut[1:].partition("]")[0]), _rest(cut))
    assert isinstance(task, Task)
    assert (task.name, task.rss_kb, task.swap_kb) == ("", rss_kb, swap_kb)


def test_a_row_cut_inside_its_rss_is_a_problem() -> None:
    cut = ROW_419[: ROW_419.index(" 2156") + 3] + ">"  # "[   1575]     0  1575     4605     21>"
    assert cut_row(_rest(HEADER_419).split(), 1575, _rest(cut)) == (
        "task-table row cut before its rss"
    )


def _report(rows: list[str], kill: str) -> list[str]:
    """A 6.8 report as journalctl's pager showed it (kinga, 020)."""
    head = "Aug 20 13:44:01 kinga kernel: "
    lines = [
        "nix-env invoked oom-killer: gfp_mask=0x140dca(GFP_HIGHUSER_MOVABLE|__GFP_COMP|__GFP_ZERO), order=0, oom_score_adj=200",  # noqa: E501
        "CPU: 3 PID: 1055041 Comm: nix-env Not tainted 6.9.12 #1-NixOS SMP PREEMPT_DYNAMIC Sat Jul 27 08:48:08 UTC 2024",  # noqa: E501
        "Tasks state (memory values in pages):",
        HEADER_68,
        *rows,
        kill,
    ]
    return [head + line for line in lines]


def test_the_largest_row_cut_by_the_pager_is_kept_and_named_by_its_kill() -> None:
    rows = [
        ROW_68[:90] + ">",
        "[1055128]  1000 1055128   628194     4225     3950      185        90   618496        0           100 Isolated Servic",  # noqa: E501
        "[1055244]  1000 1055244     6269     3479     3281      198         0    90112        0 …",
    ]
    log = parse_host_log(_report(rows, KILL_68), path="journal.txt")
    (ev,) = log.incidents
    assert [(t.name, t.pid, t.rss_kb) for t in ev.tasks] == [
        ("nix-env", 1055041, 1262242 * 4),
        ("Isolated Servic", 1055128, 4225 * 4),
        ("pid 1055244", 1055244, 3479 * 4),
    ]
    assert log.problems == ()


def test_a_cut_row_is_named_by_the_reports_cpu_line_when_its_kill_lost_the_pid() -> None:
    rows = [ROW_68[:90] + ">"]
    (ev,) = parse_host_log(_report(rows, "oom_reaper: reaped process"), path="j").incidents
    assert [(t.name, t.rss_kb) for t in ev.tasks] == [("nix-env", 1262242 * 4)]


def test_a_cut_row_is_named_by_an_earlier_reports_row_of_its_pid() -> None:
    """The second report cut the row the first showed whole (the process grew longer)."""
    first = _report([ROW_68, ROW_419], KILL_68)
    second = _report([ROW_68, ROW_419[:60] + "…"], KILL_68)
    _, ev = parse_host_log(first + second, path="journal.txt").incidents
    assert [(t.name, t.pid) for t in ev.tasks] == [("nix-env", 1055041), ("network-initd", 1575)]


def test_a_wrapped_row_whose_rest_never_came_is_kept_by_its_whole_numbers() -> None:
    """The paste broke the row after its swap column and the rest was not copied: the kill
    line comes next."""
    rows = [ROW_68[:83].rstrip()]  # "... 1262089      153         0 10272768"
    (ev,) = parse_host_log(_report(rows, KILL_68), path="journal.txt").incidents
    assert [(t.name, t.rss_kb) for t in ev.tasks] == [("nix-env", 1262242 * 4)]


def test_a_numbered_paste_of_a_wrapped_table_drops_the_rest_lines_number() -> None:
    """``cat -n`` of a paste that wrapped the header and the rows: the rest lines carry a
    number of their own, which is not a column."""
    head = "Aug 20 13:44:01 kinga kernel: "
    lines = [
        f"    41 {head}nix-env invoked oom-killer: gfp_mask=0x140dca, order=0, oom_score_adj=200",
        f"    42 {head}{HEADER_68[:64]}",
        f"    43 {HEADER_68[64:].strip()}",
        f"    44 {head}{ROW_68[:77]}",
        f"    45 {ROW_68[77:]}",
        f"    46 {head}{KILL_68}",
    ]
    log = parse_host_log(lines, path="journal.txt")
    (ev,) = log.incidents
    assert [(t.name, t.rss_kb, t.oom_score_adj) for t in ev.tasks] == [
        ("nix-env", 1262242 * 4, 200)
    ]
    assert log.problems == ()


# 001: a 4.x two-line kill; show_mem's totals in 065's form
SELECT_4 = "Out of memory: Kill process 27541 (bash) score 572 or sacrifice child"
KILLED_4 = "Killed process 27541 (bash) total-vm:8118236kB, anon-rss:8098448kB, file-rss:3264kB, shmem-rss:0kB"  # noqa: E501
SHOW_MEM = ["Total swap = 0kB", "3670016 pages RAM", "0 pages HighMem/MovableOnly",
            "130000 pages reserved"]  # fmt: skip


def _kill_4(kill: str) -> list[str]:
    head = "апр 28 01:23:30 PC kernel: "
    lines = ["bash invoked oom-killer: gfp_mask=0x14280ca, order=0, oom_score_adj=0",
             "CPU: 1 PID: 27541 Comm: bash Not tainted 4.15.0-20-generic #21-Ubuntu",
             *SHOW_MEM, SELECT_4, kill]  # fmt: skip
    return [head + line for line in lines]


def test_the_selection_lines_score_sizes_a_victim_whose_kill_line_was_cut() -> None:
    (ev,) = parse_host_log(_kill_4(KILLED_4[:60] + "…"), path="journal.txt").incidents
    assert (ev.victim, ev.victim_kb, ev.score) == ("bash", None, 572)
    assert ev.shown_kb == (3670016 - 130000) * 4
    estimate = ev.scored_kb()
    assert estimate is not None
    assert abs(estimate - (8098448 + 3264)) / (8098448 + 3264) < 0.01  # the kill line's own


def test_a_score_needs_the_memory_it_is_a_share_of() -> None:
    (ev,) = parse_host_log(_kill_4(KILLED_4[:60] + "…")[4:], path="j").incidents  # no totals
    assert (ev.score, ev.shown_kb, ev.scored_kb()) == (572, None, None)
    assert ev.scored_kb(1_000_000) == 572_000


def test_a_victim_sized_by_its_score_alone_is_ranked_by_it(tmp_path: Path) -> None:
    log = tmp_path / "journal.txt"
    log.write_text("\n".join(_kill_4(KILLED_4[:60] + "…")) + "\n")
    result = analyze([log])
    assert result.crash.victim == "bash"
    assert result.crash.victim_was_grower is True
    assert result.root_cause.process == "bash"
    assert result.root_cause.held_kb is not None
    assert abs(result.root_cause.held_kb - 8101712) < 0.01 * 8101712


# 035, wrapped by a paste at 64 columns
HUNG_WRAPPED = """[63122.077068] INFO: task jbd2/dm-2-8:22274 blocked for more than
120 seconds.
[63122.077752]       Tainted: P           OE   4.5.0-0.bpo.2-amd64 #1
[63122.078433] "echo 0 > /proc/sys/kernel/hung_task_timeout_secs"
disables this message.
[63122.079128] jbd2/dm-2-8     D ffff88062fd95e00     0 22274      2
0x00000080
[63122.082014] Call Trace:
[63122.083450]  [<ffffffff815b6451>] ? schedule+0x31/0x80
"""


def test_a_hung_task_headline_wrapped_before_its_seconds_is_read() -> None:
    (ev,) = parse_host_log(HUNG_WRAPPED.splitlines(), path="dmesg.txt").incidents
    assert (ev.type, ev.victim, ev.pid) == (CrashType.HUNG_TASK, "jbd2/dm-2-8", 22274)
    assert ev.reason == "blocked for more than its timeout"


# 035's Tainted line (a 4.5 Debian backport), as a paste wraps a longer release string
LINUX_WRAPPED = [
    "[63122.077068] INFO: task jbd2/dm-2-8:22274 blocked for more than 120 seconds.",
    "[63122.077752]       Tainted: P           OE   4.5.0-0.bpo.2-amd64",
    "#1 SMP Debian 4.5.5-1~bpo8+1 (2016-06-14)",
    "[63122.079128] jbd2/dm-2-8     D ffff88062fd95e00     0 22274      2 0x00000080",
    "[63122.077752] CPU: 1 PID: 1 Comm: systemd Tainted: P           OE   4.5.0-0.bpo.2-amd64",
    "#1 SMP PREEMPT_DYNAMIC Debian 4.5.5-1~bpo8+1 (2016-06-14)",
    "[63122.077752] Linux version 4.5.0-0.bpo.2-amd64 (debian-kernel@lists.debian.org)",
    "#1 Tue Jun 14 11:22:05 UTC 2016",
]


def test_a_wrapped_linux_version_is_no_gdb_frame_of_a_purple_screen() -> None:
    text = "\n".join(LINUX_WRAPPED) + "\n"
    assert not looks_like_psod(text)
    assert sniff_kind(text) == "host_log"


# 021, the kill line wrapped by a paste after its pid, then a second kill of the same form
KILL_WRAPPED = [
    "[44178.537749] oom-kill:constraint=CONSTRAINT_NONE,nodemask=(null),cpuset=/,mems_allowed=0,global_oom,task_memcg=/user.slice/user-1000.slice/session-1.scope,task=stress-ng,pid=1811,uid=1000",  # noqa: E501
    "[44178.537897] Out of memory: Killed process 1811",
    "(stress-ng) total-vm:43240kB, anon-rss:0kB, file-rss:64kB, shmem-rss:0kB, UID:1000",
    "pgtables:104kB oom_score_adj:1000",
]


def test_a_kill_line_wrapped_after_its_pid_is_a_kill_of_the_task_its_summary_named() -> None:
    lines = KILL_WRAPPED + [line.replace("1811", "1812") for line in KILL_WRAPPED]
    first, second = parse_host_log(lines, path="dmesg.txt").incidents
    assert [(ev.victim, ev.pid) for ev in (first, second)] == [("stress-ng", 1811),
                                                                ("stress-ng", 1812)]  # fmt: skip


def test_a_header_wrapped_by_a_paste_and_cut_by_the_pager_gives_the_columns_it_kept() -> None:
    """The header broken after ``rss_file`` and its rest cut at ``sw>``; the rows wrapped."""
    head = "Aug 20 13:44:01 kinga kernel: "
    lines = [
        head + "nix-env invoked oom-killer: gfp_mask=0x140dca, order=0, oom_score_adj=200",
        head + HEADER_68[: HEADER_68.index(" rss_shmem")],
        "rss_shmem pgtables_bytes sw>",
        head + ROW_68[: ROW_68.index(" 153 ") + 4],
        ROW_68[ROW_68.index(" 153 ") + 4 :].strip(),
        head + KILL_68,
    ]
    log = parse_host_log(lines, path="journal.txt")
    (ev,) = log.incidents
    assert [(t.name, t.rss_kb, t.oom_score_adj) for t in ev.tasks] == [
        ("nix-env", 1262242 * 4, 200)
    ]
    assert log.problems == ()
