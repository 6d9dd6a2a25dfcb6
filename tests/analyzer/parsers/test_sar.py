"""sysstat's text report: the memory and swap sections, restarts, midnight, bad rows."""

from __future__ import annotations

from pathlib import Path

import pytest

from lostbeat.analyzer.engine import analyze
from lostbeat.analyzer.parsers.sar import looks_like_sar, parse_sar
from lostbeat.errors import ArtifactMissing, ParseError

# sysstat 12 `sar -A` in the C locale (12-hour clock), the -r and -S sections among others
REPORT = """\
Linux 5.14.0-362.8.1.el9_3.x86_64 (web01) \t05/01/2024 \t_x86_64_\t(4 CPU)

11:50:01 PM     CPU      %usr     %nice      %sys   %iowait    %steal      %irq     %soft    %guest    %gnice     %idle
11:59:01 PM     all      2.01      0.00      0.70      0.02      0.00      0.19      0.05      0.00      0.00     97.03

11:50:01 PM kbmemfree   kbavail kbmemused  %memused kbbuffers  kbcached  kbcommit   %commit  kbactive   kbinact   kbdirty
11:50:01 PM   5520968   6878592   1383812     17.50      4228   1482228   3153948     23.44   1096112    852508        48
11:59:01 PM    520968    878592   6383812     80.70      4228   1482228   3153948     23.44   1096112    852508        48
12:08:01 AM     20968     78592   68838l2     87.02      4228   1482228   3153948     23.44   1096112    852508        48
Average:      2020968   2611925   4883812     61.74      4228   1482228   3153948     23.44   1096112    852508        48

11:50:01 PM kbswpfree kbswpused  %swpused  kbswpcad   %swpcad
11:50:01 PM   4194300         0      0.00         0      0.00
11:59:01 PM   2097150   2097150     50.00         0      0.00

12:10:34 AM       LINUX RESTART\t(4 CPU)
"""  # noqa: E501


def test_memory_swap_and_restarts() -> None:
    log = parse_sar(REPORT.splitlines(), path="var/log/sa/sar01")
    assert (log.host, log.release) == ("web01", "5.14.0-362.8.1.el9_3.x86_64")
    assert [(m.at, m.used_kb, m.available_kb) for m in log.memory] == [
        (1714607401.0, 1383812, 6878592),  # 2024-05-01 23:50:01 (read as UTC)
        (1714607941.0, 6383812, 878592),
    ]
    assert [s.used_kb for s in log.swap] == [0, 2097150]
    assert log.restarts == (1714608634.0,)  # past midnight: the next day
    assert [p.line_no for p in log.problems] == [9]


def test_iso_and_24_hour_dates() -> None:
    log = parse_sar(
        [
            "Linux 4.18.0 (db1) \t2024-05-01 \t_x86_64_\t(2 CPU)",
            "00:00:01 kbmemfree kbmemused  %memused kbbuffers  kbcached",
            "13:10:01    100000    900000     90.00      1000      2000",
        ],
        path="sar01",
    )
    assert [(m.at, m.total_kb) for m in log.memory] == [(1714569001.0, 1000000)]


def test_empty_and_not_a_report() -> None:
    with pytest.raises(ArtifactMissing):
        parse_sar(["", " "], path="sar01")
    with pytest.raises(ParseError):
        parse_sar(["hello"], path="sar01")
    assert looks_like_sar(REPORT) and not looks_like_sar("Linux version 6.1.0 (gcc)")


def test_sar_gives_a_host_log_its_memory_and_swap(tmp_path: Path) -> None:
    (tmp_path / "sar01").write_text(REPORT)
    (tmp_path / "messages").write_text(
        "2024-05-02T00:09:00+00:00 web01 kernel: Out of memory: Killed process 7 (java) "
        "total-vm:1kB, anon-rss:6000000kB, file-rss:0kB, shmem-rss:0kB\n"
    )
    result = analyze([tmp_path / "sar01", tmp_path / "messages"])
    assert result.crash.victim == "java"
    assert result.memory.mem_total_bytes == (520968 + 6383812) * 1024
    assert result.history.swap == ((1714607401.0, 0), (1714607941.0, 2097150 * 1024))
    assert result.crash.victim_was_grower is True  # 6 GB of a 6.9 GB host


def test_a_memory_crash_sar_did_not_see_coming_is_a_spike(tmp_path: Path) -> None:
    rows = [f"{h:02d}:00:01 PM   6000000   6400000   1000000     14.0      4228   1482228"
            for h in range(1, 10)]  # fmt: skip
    (tmp_path / "sar01").write_text(
        "Linux 6.1.0 (web01) \t05/01/2024 \t_x86_64_\t(4 CPU)\n"
        "12:00:01 PM kbmemfree   kbavail kbmemused  %memused kbbuffers  kbcached\n"
        + "\n".join(rows)
        + "\n"
    )
    (tmp_path / "console.txt").write_text(
        "Kernel panic - not syncing: Out of memory and no killable processes...\n"
    )
    result = analyze([tmp_path / "sar01", tmp_path / "console.txt"])
    assert result.crash.class_.value == "memory_exhaustion"
    assert result.root_cause.kind.value == "spike"


def _sar_rising(tmp_path: Path, used: list[int]) -> Path:
    total = 8_000_000
    rows = [f"{h:02d}:00:01 PM {total - u:>9} {total - u + 90000:>9} {u:>9}     50.0      4228"
            f"   1482228" for h, u in enumerate(used, 1)]  # fmt: skip
    path = tmp_path / "sar01"
    path.write_text(
        "Linux 6.1.0 (web01) \t05/01/2024 \t_x86_64_\t(4 CPU)\n"
        "12:00:01 PM kbmemfree   kbavail kbmemused  %memused kbbuffers  kbcached\n"
        + "\n".join(rows)
        + "\n"
    )
    return path


OOM_TABLE = """\
[99.000001] cron invoked oom-killer: gfp_mask=0x201da, order=0, oom_score_adj=0
[99.000002] [ pid ]   uid  tgid total_vm      rss nr_ptes swapents oom_score_adj name
[99.000003] [  700]     0   700  3000000  1750000    3500        0             0 java
[99.000004] [  701]     0   701    20000     9000      40        0             0 cron
[99.000005] [  702]     0   702    30000    12000      50        0             0 sshd
[99.000006] Out of memory: Kill process 700 (java) score 880 or sacrifice child
[99.000007] Killed process 700 (java) total-vm:12000000kB, anon-rss:7000000kB, file-rss:0kB
"""


def test_a_named_grower_on_a_host_sar_shows_rising_steadily_is_a_leak(tmp_path: Path) -> None:
    sar = _sar_rising(tmp_path, [2_000_000 + h * 600_000 for h in range(10)])
    (tmp_path / "dmesg.txt").write_text(OOM_TABLE)
    cause = analyze([sar, tmp_path / "dmesg.txt"]).root_cause
    assert cause is not None and (cause.kind.value, cause.process) == ("leak", "java")
    assert "the host's memory rose steadily by 5273 MB before it" in cause.explanation
    assert "over 10 sar samples" in cause.explanation


def test_a_named_grower_on_a_host_whose_memory_only_wavered_is_no_leak(tmp_path: Path) -> None:
    wavering = [
        2_000_000,
        6_000_000,
        2_500_000,
        5_500_000,
        2_200_000,
        6_100_000,
        2_400_000,
        5_900_000,
    ]
    sar = _sar_rising(tmp_path, wavering)
    (tmp_path / "dmesg.txt").write_text(OOM_TABLE)
    cause = analyze([sar, tmp_path / "dmesg.txt"]).root_cause
    assert cause is not None and (cause.kind.value, cause.process) == ("spike", "java")
    assert "sar" not in cause.explanation
