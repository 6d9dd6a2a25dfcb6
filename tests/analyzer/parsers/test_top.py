from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lostbeat.analyzer.parsers.top import looks_like_top, parse_top
from lostbeat.errors import ArtifactMissing, ParseError

TOP_32 = """\
top - 03:01:34 up 136 days,  2:03,  1 user,  load average: 0.50, 0.40, 0.30
Tasks:  95 total,   1 running,  94 sleeping,   0 stopped,   0 zombie
Cpu(s):  1.0% us,  0.3% sy,  0.0% ni, 98.6% id,  0.0% wa,  0.0% hi,  0.0% si
Mem:    799732k total,   780000k used,    19732k free,     1024k buffers
Swap:   554168k total,   500000k used,    54168k free,    20480k cached

  PID USER      PR  NI  VIRT  RES  SHR S %CPU %MEM    TIME+  COMMAND
 3588 root      16   0  560m 290m 1200 S  2.0 37.1  10:01.00 VMap
    1 root      15   0  1968  548  492 S  0.0  0.1   0:04.00 init

top - 03:01:35 up 136 days,  2:03,  1 user,  load average: 0.50, 0.40, 0.30
Tasks:  95 total,   1 running,  94 sleeping,   0 stopped,   0 zombie
Cpu(s):  1.0% us,  0.3% sy,  0.0% ni, 98.6% id,  0.0% wa,  0.0% hi,  0.0% si
Mem:    799732k total,   790000k used,     9732k free,     1024k buffers
Swap:   554168k total,   554000k used,      168k free,    20480k cached

  PID USER      PR  NI  VIRT  RES  SHR S %CPU %MEM    TIME+  COMMAND
 3588 root      16   0  572m 300m 1200 S  2.0 38.4  10:01.02 VMap
 1234 root      15   0 82812  40m 2000 S  0.5 10.1   5:01.00 vmware-hostd
 4000 root      15   0  1.5g 1.2g 2000 S  0.5 10.1   5:01.00 big one
"""

TOP_20 = """\
 03:01:35  up 136 days,  2:03,  1 user,  load average: 0.50, 0.40, 0.30
95 processes: 94 sleeping, 1 running, 0 zombie, 0 stopped
CPU states:   cpu    user    nice  system    irq  softirq  iowait    idle
           total    0.0%    0.0%    0.0%   0.0%     0.0%    0.0%  100.0%
Mem:   268548k av,  262552k used,    5996k free,       0k shrd,   20452k buff
                    120000k actv,   10000k in_d,    3000k in_c
Swap:  554168k av,  100000k used,  454168k free                  120448k cached

  PID USER     PRI  NI  SIZE  RSS SHARE STAT %CPU %MEM   TIME CPU COMMAND
 3588 root      15   0 83180  40M  1200 S     0.0 15.2   5:01   0 vmware-hostd
    1 root      15   0   512  512   452 S     0.0  0.1   0:04   0 init
"""


def test_procps_32_last_iteration(tmp_path):
    file = tmp_path / "top.4711.txt"
    file.write_text(TOP_32, encoding="utf-8")
    with open(file, encoding="utf-8") as f:
        snap = parse_top(f, path="tmp/top.4711.txt")
    assert (snap.mem_total_kb, snap.mem_used_kb) == (799732, 790000)
    assert (snap.swap_total_kb, snap.swap_used_kb) == (554168, 554000)
    assert snap.evidence.line_no == 11
    assert snap.evidence.text.startswith("top - 03:01:35 up 136 days")
    got = [(p.pid, p.name, p.command, p.vsz_kb, p.rss_kb) for p in snap.processes]
    assert got == [
        (3588, "VMap", "VMap", 572 * 1024, 300 * 1024),
        (1234, "vmware-hostd", "vmware-hostd", 82812, 40 * 1024),
        (4000, "big", "big one", round(1.5 * 1024**2), round(1.2 * 1024**2)),
    ]
    assert snap.processes[0].user == "root"
    assert snap.processes[0].evidence.line_no == 18
    assert snap.problems == ()


def test_procps_20():
    snap = parse_top(TOP_20.splitlines(), path="tmp/top.1.txt")
    assert (snap.mem_total_kb, snap.mem_used_kb) == (268548, 262552)
    assert (snap.swap_total_kb, snap.swap_used_kb) == (554168, 100000)
    assert snap.evidence.line_no == 1
    assert [(p.pid, p.name, p.vsz_kb, p.rss_kb) for p in snap.processes] == [
        (3588, "vmware-hostd", 83180, 40 * 1024),
        (1, "init", 512, 512),
    ]


def test_plain_numbers_and_kib_headers():
    snap = parse_top(
        [
            "top - 10:00:00 up 1 day,  1:00,  0 users,  load average: 0.00, 0.00, 0.00",
            "KiB Mem :  1026800 total,   100000 free,   500000 used,   426800 buff/cache",
            "MiB Swap:   2048.0 total,   2047.0 free,      1.0 used.    400.0 avail Mem",
            "  PID USER      PR  NI    VIRT    RES    SHR S  %CPU %MEM     TIME+ COMMAND",
            "    1 root      20   0  167000  11000   8000 S   0.0  1.1   0:01.00 systemd",
        ],
        path="tmp/top.1.txt",
    )
    assert (snap.mem_total_kb, snap.mem_used_kb) == (1026800, 500000)
    assert (snap.swap_total_kb, snap.swap_used_kb) == (2048 * 1024, 1024)
    assert snap.processes[0].rss_kb == 11000


def test_bad_row_is_recorded():
    lines = TOP_32.splitlines()
    lines.insert(17, " 99x root 16 0 1m 1m 1 S 0 0 0:00 bad")
    snap = parse_top(lines, path="tmp/top.1.txt")
    assert len(snap.processes) == 3
    assert [p.line_no for p in snap.problems] == [18]
    assert str(snap.problems[0]).startswith("tmp/top.1.txt:18: expected a top row")


@pytest.mark.parametrize("lines", [[], ["", " "]])
def test_empty_is_missing(lines):
    with pytest.raises(ArtifactMissing) as err:
        parse_top(lines, path="tmp/top.1.txt")
    assert err.value.artifact == "top"


def test_not_top():
    with pytest.raises(ParseError) as err:
        parse_top(["", "  PID USER COMMAND", "1 root init"], path="tmp/top.1.txt")
    assert err.value.line_no == 2
    assert str(err.value).startswith("tmp/top.1.txt:2: expected a top batch header")


def test_sniffer():
    assert looks_like_top(TOP_32) and looks_like_top(TOP_20)
    assert not looks_like_top("MemTotal: 1 kB\n")


_FRAGMENTS = st.sampled_from(
    [
        "top - 03:01:35 up 1 day, load average: 0.5",
        "Mem: ",
        "Swap: ",
        "1k total, ",
        "2.5m used",
        "  PID USER PR NI VIRT RES SHR S %CPU %MEM TIME+ COMMAND",
        " 1 root 16 0 572m 300m 1200 S 2.0 38.4 10:01.02 ",
        "9" * 40,
    ]
)


@settings(max_examples=200, deadline=None, database=None)
@given(st.lists(st.lists(st.one_of(_FRAGMENTS, st.text(max_size=8)), max_size=4).map("".join)))
def test_arbitrary_text_raises_only_parse_errors(lines):
    try:
        snap = parse_top(lines, path="x")
    except (ParseError, ArtifactMissing):
        return
    assert snap.evidence.path == "x"
