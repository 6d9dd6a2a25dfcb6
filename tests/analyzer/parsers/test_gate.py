"""The word gates before the log readers' regexes pass over no line a regex would match."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from lostbeat.analyzer.parsers import _gate
from lostbeat.analyzer.parsers._gate import Gated
from lostbeat.analyzer.parsers._panic import PanicReader
from lostbeat.analyzer.parsers._panic_forms import _CUT_WORDS, segments
from lostbeat.analyzer.parsers._signals import classify

_CORPUS = Path(__file__).resolve().parents[2] / "corpus"
_REAL_TEXTS = sorted(
    p
    for pattern in ("real/*/*.txt", "real/*/*.log", "kb/*/lines.txt", "real-linux/*/*.txt")
    for p in _CORPUS.glob(pattern)
)


def _read(lines: list[str]) -> tuple[object, ...]:
    reader = PanicReader(path="x")
    signals = []
    cuts = []
    for n, line in enumerate(lines, 1):
        reader.feed(n, line)
        signals.append(classify(n, line, path="x"))
        cuts.append(segments(line))
    return reader.result(), signals, cuts


@pytest.mark.parametrize("path", _REAL_TEXTS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_a_real_text_reads_the_same_with_the_gates_shut_and_open(
    path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    shut = _read(lines)
    monkeypatch.setattr(_gate, "OPEN", True)
    assert shut == _read(lines)


_PIECES = st.sampled_from(
    [
        "cpu3:1234)",
        " cpu0:2097152)",
        "x",
        " ",
        "\t",
        "0x41801",
        "##",
        "#0 ",
        ":[0x4180",
        "PTEs:0x8;",
        " Code start: 0x4",
        "2015-08-17T14:19:25.710Z cpu2:",
        "@BlueScreen: ",
        "Lost heartbeat",
        "HB: 365: ",
        "#PF Exception 14",
        "Oops",
        ": ",
        "(gdb) where",
        "[0x418000]",
        "Fn@vmkernel#nover",
        "System has encountered a Hardware Error",
        "UserDump: 12: hostd: Dumping cartel 5 to file /var/core/hostd-zdump.000",
        "User: 3: hostd: wantCoreDump: hostd",
        "hostd detected to be non-responsive",
        "Event 12 : Host is shutting down",
        "Power button pressed",
        "CosPanic",
        "RAMDISK",
        "esx.problem.visorfs.ramdisk.full",
        "host.poweroff.reason.unavailable",
        "vim.HostSystem.reboot",
        ")Oops",
        "The ramdisk 'root' is full",
        "PCPU 3 locked up",
        "COS Panic: x",
        "[root]: reboot",
        *_CUT_WORDS,
    ]
)


@given(st.lists(_PIECES, min_size=1, max_size=14).map("".join))
@example("VMK uptime: 1:02:03:04.567 end of it 2015-08-17T14:19:25.710Z cpu2:4096)Backtrace")
@example("an alert from the service console: done at last. 2015-08-17T14:19:25.710Z cpu2:4096)x")
@example("a gdb session pasted at the end of a long sentence: #0  CpuSched_Wait (x=1) at a.c:1")
@example("a log line that runs into the next line's prefix without a break cpu12:4711)WARNING")
def test_a_made_up_line_reads_the_same_with_the_gates_shut_and_open(line: str) -> None:
    shut = _read([line * 2, line])
    _gate.OPEN = True
    try:
        assert shut == _read([line * 2, line])
    finally:
        _gate.OPEN = False


def test_a_gate_that_folds_case_finds_its_word_in_any_case() -> None:
    import re

    rx = Gated(re.compile("ramdisk x", re.IGNORECASE), ("ramdisk",), fold=True)
    assert rx.search("The RAMDISK x") is not None
    assert rx.search("no disk here") is None
