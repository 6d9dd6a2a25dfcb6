"""A member's kept text reads the same whether a parser takes it line by line or in pieces."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lostbeat.analyzer._sink import LINE_MAX, KeptText
from lostbeat.analyzer.parsers.host_log import parse_host_log
from lostbeat.analyzer.parsers.vmkernel_log import parse_vmkernel_log
from lostbeat.errors import LostbeatError


def _kept(data: bytes, cuts: list[int]) -> KeptText:
    """``data`` as the sink keeps it: chunks cut at ``cuts``."""
    edges = [0, *sorted({c % (len(data) + 1) for c in cuts}), len(data)]
    return KeptText(deque(data[a:b] for a, b in zip(edges, edges[1:], strict=False) if b > a))


def _read_all(text: KeptText, size: int) -> str:
    out = []
    while piece := text.read(size):
        out.append(piece)
    return "".join(out)


_BYTES = st.lists(
    st.sampled_from([b"a", b"\n", b"\r", b"\r\n", b"\xc3\xa9", b"\xc3", b"\xff", b"x" * 70]),
    max_size=200,
).map(b"".join)


@settings(max_examples=300, deadline=None, database=None)
@given(_BYTES, st.lists(st.integers(0, 20_000), max_size=6), st.integers(1, 300))
def test_pieces_hold_what_the_lines_hold(data: bytes, cuts: list[int], size: int) -> None:
    by_lines = "".join(_kept(data, cuts))
    assert _read_all(_kept(data, cuts), size) == by_lines
    assert "\r" not in by_lines
    assert by_lines == data.decode("utf-8", "replace").replace("\r\n", "\n").replace("\r", "\n")


def test_a_line_over_the_cap_is_cut_in_pieces_as_in_lines() -> None:
    data = b"head\n" + b"y" * (LINE_MAX + 5000) + b"\ntail\n"
    by_lines = list(_kept(data, [7, 70_000, LINE_MAX + 11]))
    assert [len(line) for line in by_lines] == [5, LINE_MAX + 1, 5]
    assert _read_all(_kept(data, [7, 70_000, LINE_MAX + 11]), 1 << 16) == "".join(by_lines)


_VMK = [
    "0:08:04:55.679 cpu0:1024)VMNIX: ALERT: HB: 365: Lost heartbeat (comm=cimserver",
    "pid=3588 t=30 to=30 clt=1).",
    "0:08:04:55.818 cpu0:1024)Host: 4781: COS Error: Lost heartbeat",
    "2024-06-21T21:50:40.305Z cpu56:2097460)@BlueScreen: #PF Exception 14 in world 1:x IP 0x1",
    "2024-06-21T21:50:40.346Z cpu56:2097460)0x4539:[0x42002b65ad3b]i40en_Uplink@(i40en)#<None>+0x45f",
    "[2012-10-04 08:02:36.167 1F5BDB90 verbose 'Hostd'] datastore heartbeat ok",
    "0:00:00:07.000 cpu0:1024)WARNING: Heap: 1: cswitch at its maximum size",
    "Nov 13 03:01:35 esx01 kernel: Out of memory: Killed process 3588 (cimserver)",
    "[ 12.5] INFO: task khugepaged:47 blocked for more than 120 seconds.",
    "",
    "   ",
    "é plain words",
]
_PARSERS: list[Callable[..., object]] = [parse_vmkernel_log, parse_host_log]


@pytest.mark.parametrize("parse", _PARSERS, ids=["vmkernel_log", "host_log"])
@settings(max_examples=150, deadline=None, database=None)
@given(
    lines=st.lists(st.sampled_from(_VMK), max_size=60),
    cuts=st.lists(st.integers(0, 5000), max_size=5),
    crlf=st.booleans(),
)
def test_a_parser_reads_the_pieces_as_it_reads_the_lines(
    parse: Callable[..., object], lines: list[str], cuts: list[int], crlf: bool
) -> None:
    data = ("\r\n" if crlf else "\n").join(lines).encode()

    def outcome(source: object) -> object:
        try:
            return parse(source, path="var/log/x")
        except LostbeatError as err:
            return str(err)

    # a generator has no read(): the parser takes it line by line
    by_lines = outcome(line for line in _kept(data, cuts))
    assert outcome(_kept(data, cuts)) == by_lines
