"""The grower of repeated OOM kills when journalctl's pager cut the longest lines: the largest
tasks' rows, and the last kill line's sizes, are what is lost."""

from __future__ import annotations

from pathlib import Path

from lostbeat.analyzer.engine import analyze

HEAD = "2024-09-14T{t}-07:00 web01 kernel: "
HEADER = "[  pid  ]   uid  tgid total_vm      rss pgtables_bytes swapents oom_score_adj name"
SMALL = (
    "[    426]     0   426     5443     1989          40960        0             0 sshd",
    "[   1303]     0  1303    53245    16595         434176        0             0 containerd",
)


def _report(t: str, pid: int, rss: int, kill: str) -> list[str]:
    rows = [
        "ruby invoked oom-killer: gfp_mask=0x100cca(GFP_HIGHUSER_MOVABLE), order=0, oom_score_adj=0",
        f"CPU: 1 PID: {pid} Comm: ruby Not tainted 5.10.0-28-amd64 #1 SMP Debian 5.10.216-1",
        "Tasks state (memory values in pages):",
        HEADER,
        *SMALL,
        # the ruby row, as the pager cut it: its name is gone
        f"[  {pid}]  1000 {pid}   554652   {rss}        4542464   466616  …",
        kill,
    ]
    return [HEAD.format(t=t) + row for row in rows]


def _first() -> list[str]:
    """The first kill, whole: its line gives ruby's size."""
    return _report(
        "20:02:23.905021",
        17563,
        744488,
        "Out of memory: Killed process 17563 (ruby) total-vm:2218608kB, anon-rss:2888613kB, "
        "file-rss:89338kB, shmem-rss:0kB, UID:1000 pgtables:4436kB oom_score_adj:0",
    )


def test_a_victim_killed_again_is_the_grower_when_the_pager_cut_its_sizes(
    tmp_path: Path,
) -> None:
    first = _first()
    second = _report(
        "21:53:16.936819",
        21201,
        964689,
        "Out of memory: Killed process 21201 (ruby) total-vm:2218608kB, an…",
    )
    log = tmp_path / "journal.txt"
    log.write_text("\n".join(first + second) + "\n")
    result = analyze([log])
    assert result.crash.victim == "ruby"
    assert result.crash.victim_was_grower is True
    assert result.root_cause.process == "ruby"


def test_a_victim_smaller_than_a_row_the_table_kept_stays_a_bystander(tmp_path: Path) -> None:
    big = "[   9000]     0  9000  3000000  1750000       14000000        0             0 java"
    first = _first()
    second = _report(
        "21:53:16.936819", 21201, 964689, "Out of memory: Killed process 21201 (ruby) total-vm:22…"
    )
    second.insert(-2, HEAD.format(t="21:53:16.936820") + big)
    log = tmp_path / "journal.txt"
    log.write_text("\n".join(first + second) + "\n")
    result = analyze([log])
    assert result.crash.victim_was_grower is False
    assert result.root_cause.process == "java"
