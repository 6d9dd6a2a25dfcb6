from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lostbeat.analyzer.parsers.meminfo import looks_like_meminfo, parse_meminfo
from lostbeat.errors import ArtifactMissing, ParseError

DATA = Path(__file__).parent / "data"


def test_kb308590_example_in_bytes():
    with open(DATA / "kb308590-meminfo.txt", encoding="utf-8") as f:
        info = parse_meminfo(f, path="proc/meminfo")
    assert info.total == 799732 * 1024
    assert info.low_total == 799732 * 1024
    assert info.high_total == 0
    assert info.swap_total == 554168 * 1024
    assert info.free is None and info.swap_free is None
    assert [(e.path, e.line_no, e.text) for e in info.evidence] == [
        ("proc/meminfo", 1, "MemTotal:799732 kB"),
        ("proc/meminfo", 4, "SwapTotal:554168 kB"),
    ]


def test_kb_swap_comparison_holds():
    # KB 308590: 567468032 bytes of swap used is 100 % of SwapTotal 554168 kB (541 MB).
    info = parse_meminfo(["SwapTotal:554168 kB"], path="proc/meminfo")
    assert info.swap_total is not None
    assert round(567468032 / info.swap_total, 2) == 1.0


def test_linux_2_4_byte_table_and_kb_lines():
    info = parse_meminfo(
        [
            "        total:    used:    free:  shared: buffers:  cached:",
            "Mem:  261709824 253075456  8634368        0 22745088 156884480",
            "Swap: 542826496  1695744 541130752",
            "MemTotal:       255576 kB",
            "MemFree:          8432 kB",
            "MemShared:           0 kB",
            "HugePages_Total:     0",
        ],
        path="proc/meminfo",
    )
    assert info.total == 255576 * 1024  # the kB line wins over the table
    assert info.free == 8432 * 1024
    assert info.swap_total == 542826496  # only the table has swap: bytes as written
    assert info.swap_free == 541130752
    assert [e.line_no for e in info.evidence] == [3, 4]


def test_missing_fields_are_none_not_zero():
    info = parse_meminfo(["MemTotal: 1024 kB", "Buffers: 10 kB"], path="proc/meminfo")
    assert info.total == 1048576
    assert (info.swap_total, info.swap_free, info.low_total, info.high_total) == (None,) * 4


@pytest.mark.parametrize("lines", [[], ["", " \n"]])
def test_empty_is_missing(lines):
    with pytest.raises(ArtifactMissing) as err:
        parse_meminfo(lines, path="proc/meminfo")
    assert err.value.artifact == "meminfo"


@pytest.mark.parametrize(
    ("lines", "line_no", "expected"),
    [
        (["MemTotal: 1 kB", "", "SwapTotal: lots kB"], 3, "expected 'Key: value kB'"),
        (["MemTotal: 5 MB"], 1, "expected 'Key: value kB'"),
        (["SwapTotal: 5"], 1, "expected 'SwapTotal: <n> kB'"),
        (["USER PID %CPU", "root 1 0.0"], 1, "expected 'Key: value kB'"),
        (["Buffers: 5 kB"], 1, "expected 'Key: value kB'"),
    ],
)
def test_malformed(lines, line_no, expected):
    with pytest.raises(ParseError) as err:
        parse_meminfo(lines, path="proc/meminfo")
    assert err.value.line_no == line_no
    assert str(err.value).startswith(f"proc/meminfo:{line_no}: {expected}")


def test_sniffer():
    assert looks_like_meminfo((DATA / "kb308590-meminfo.txt").read_text())
    assert not looks_like_meminfo((DATA / "kb308590-vmksummary.txt").read_text())


@settings(max_examples=200, deadline=None, database=None)
@given(
    st.lists(
        st.lists(
            st.one_of(
                st.sampled_from(["MemTotal:", "SwapTotal:", " kB", "Mem:", " 123", "9" * 40]),
                st.text(max_size=8),
            ),
            max_size=4,
        ).map("".join)
    )
)
def test_arbitrary_text_raises_only_parse_errors(lines):
    try:
        info = parse_meminfo(lines, path="x")
    except (ParseError, ArtifactMissing):
        return
    assert info.total is None or info.total >= 0
