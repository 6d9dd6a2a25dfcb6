from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lostbeat.analyzer.parsers.processes import (
    looks_like_ps,
    looks_like_pstree,
    parse_ps,
    parse_pstree,
)
from lostbeat.errors import ArtifactMissing, ParseError

PS = """\
Warning: bad syntax, perhaps a bogus '-'? See http://procps.sf.net/faq.html
USER       PID %CPU %MEM   VSZ  RSS TTY      STAT START   TIME COMMAND
root         1  0.0  0.1  1968  548 ?        S    Nov12   0:04 init [3]
root         5  0.0  0.0     0    0 ?        SW   Nov12   0:00 [kswapd]
root      1234  0.5 10.1 82812 40960 ?       Sl   Nov12   5:01 /usr/lib/vmware/bin/vmware-hostd -u
root      3588  2.0 38.4 586196 300000 ?     S    Nov12  10:01 /opt/aam/bin/VMap --cfg /etc/x y
root      4321  0.0  1.0 20000  9000 ?       S    Nov12   0:01 /usr/bin/python /opt/x/agent.py
"""

PSTREE_ASCII = """\
init,1
  |-crond,2225
  |-vmware-hostd,1234 -u
  |   |-{vmware-hostd},1235
  |   `-{vmware-hostd},1236
  |-sshd,2210
  |   `-sshd,30120
  |       `-bash,30122
  `-(kswapd),5
"""

PSTREE_UNICODE = """\
init,1
  ├─cimserver,3588
  │   └─{cimserver},3590
  └─python,4321 /opt/x/agent.py --daemon
"""


def test_ps_from_file(tmp_path):
    file = tmp_path / "ps.4711.txt"
    file.write_text(PS, encoding="utf-8")
    with open(file, encoding="utf-8") as f:
        table = parse_ps(f, path="tmp/ps.4711.txt")
    got = [(p.pid, p.name, p.user, p.vsz_kb, p.rss_kb) for p in table.processes]
    assert got == [
        (1, "init", "root", 1968, 548),
        (5, "kswapd", "root", 0, 0),
        (1234, "vmware-hostd", "root", 82812, 40960),
        (3588, "VMap", "root", 586196, 300000),
        (4321, "python", "root", 20000, 9000),
    ]
    assert table.processes[3].command == "/opt/aam/bin/VMap --cfg /etc/x y"
    assert table.processes[4].command == "/usr/bin/python /opt/x/agent.py"
    assert table.processes[2].evidence.line_no == 5
    assert table.problems == ()


def test_ps_bad_row_is_recorded():
    lines = PS.splitlines()
    lines.insert(3, "root       abc  0.0  0.1  1968  548 ?        S    Nov12   0:04 broken")
    lines.insert(4, "truncated row")
    table = parse_ps(lines, path="tmp/ps.1.txt")
    assert len(table.processes) == 5
    assert [p.line_no for p in table.problems] == [4, 5]
    assert str(table.problems[0]).startswith("tmp/ps.1.txt:4: expected a ps row")


def test_ps_without_header():
    with pytest.raises(ParseError) as err:
        parse_ps(["", "root 1 0.0 0.1 1968 548 ? S Nov12 0:04 init"], path="tmp/ps.1.txt")
    assert err.value.line_no == 2
    assert str(err.value).startswith("tmp/ps.1.txt:2: expected a ps -auxwww header")


def test_ps_only_bad_rows_raise_the_first():
    header = PS.splitlines()[1]
    with pytest.raises(ParseError) as err:
        parse_ps([header, "x y"], path="tmp/ps.1.txt")
    assert err.value.line_no == 2


def test_pstree_ascii_skips_threads():
    table = parse_pstree(PSTREE_ASCII.splitlines(keepends=True), path="tmp/pstree.1.txt")
    got = [(p.pid, p.name, p.command) for p in table.processes]
    assert got == [
        (1, "init", "init"),
        (2225, "crond", "crond"),
        (1234, "vmware-hostd", "vmware-hostd -u"),
        (2210, "sshd", "sshd"),
        (30120, "sshd", "sshd"),
        (30122, "bash", "bash"),
        (5, "kswapd", "kswapd"),
    ]
    assert table.processes[2].evidence.line_no == 3
    assert table.processes[2].evidence.text == "  |-vmware-hostd,1234 -u"
    assert all(p.rss_kb is None and p.user is None for p in table.processes)


def test_pstree_unicode():
    table = parse_pstree(PSTREE_UNICODE.splitlines(), path="tmp/pstree.1.txt")
    got = [(p.pid, p.name, p.command) for p in table.processes]
    assert got == [
        (1, "init", "init"),
        (3588, "cimserver", "cimserver"),
        (4321, "python", "python /opt/x/agent.py --daemon"),
    ]


def test_pstree_bad_line_is_recorded():
    table = parse_pstree(["init,1", "  |-no pid here", "  `-sshd,2"], path="tmp/pstree.1.txt")
    assert [p.pid for p in table.processes] == [1, 2]
    assert [p.line_no for p in table.problems] == [2]


def test_pstree_malformed():
    with pytest.raises(ParseError) as err:
        parse_pstree(["", "MemTotal: 1 kB"], path="tmp/pstree.1.txt")
    assert err.value.line_no == 2
    assert str(err.value).startswith("tmp/pstree.1.txt:2: expected a pstree -ap line")


@pytest.mark.parametrize("parse", [parse_ps, parse_pstree])
@pytest.mark.parametrize("lines", [[], ["", "\t\n"]])
def test_empty_is_missing(parse, lines):
    with pytest.raises(ArtifactMissing) as err:
        parse(lines, path="tmp/x.txt")
    assert err.value.artifact in ("ps", "pstree")


def test_sniffers():
    assert looks_like_ps(PS) and not looks_like_pstree(PS)
    assert looks_like_pstree(PSTREE_ASCII) and looks_like_pstree(PSTREE_UNICODE)
    assert not looks_like_ps(PSTREE_ASCII)


_FRAGMENTS = st.sampled_from(
    [
        "USER PID %CPU %MEM VSZ RSS TTY STAT START TIME COMMAND",
        "root 1 0.0 0.1 1968 548 ? S Nov12 0:04 ",
        "  |-",
        "`-",
        "├─",
        "{x},",
        "name,",
        "12",
        "9" * 40,
    ]
)
_LINES = st.lists(st.lists(st.one_of(_FRAGMENTS, st.text(max_size=8)), max_size=4).map("".join))


@settings(max_examples=200, deadline=None, database=None)
@given(_LINES)
def test_ps_arbitrary_text_raises_only_parse_errors(lines):
    try:
        table = parse_ps(lines, path="x")
    except (ParseError, ArtifactMissing):
        return
    assert all(p.pid is not None for p in table.processes)


@settings(max_examples=200, deadline=None, database=None)
@given(_LINES)
def test_pstree_arbitrary_text_raises_only_parse_errors(lines):
    try:
        table = parse_pstree(lines, path="x")
    except (ParseError, ArtifactMissing):
        return
    assert table.processes
