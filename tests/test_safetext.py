"""Text from a host never reaches the terminal as control: real hostile processes recorded by
``lostbeat record`` and shown by ``lostbeat top``, hostile file names in errors and in
``lostbeat fleet``'s notes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import unicodedata
from pathlib import Path

from lostbeat.safetext import clean

LOSTBEAT = [sys.executable, "-m", "lostbeat"]
ENV = {**os.environ, "COLUMNS": "400"}

# C1 CSI, a C0 escape sequence, RLO, LRI, NEL (C1), BEL, a zero-width joiner, a
# line separator and a lone surrogate would all act on a terminal, or hide what follows.
HOSTILE = "\x9b31m\x1b[2J\u202eevil\u2066\x85\x07\u200d\u2028"
SHOWN = "\\x9b31m\\x1b[2J\\u202eevil\\u2066\\x85\\x07\\u200d\\u2028"


def _lostbeat(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*LOSTBEAT, *args], capture_output=True, text=True, timeout=120, env=ENV, cwd=cwd
    )


def _controls(text: str) -> list[str]:
    """Characters of ``text`` that a terminal would act on (newlines apart)."""
    return sorted(
        {
            f"U+{ord(c):04X}"
            for c in text
            if c != "\n" and unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp", "Cs")
        }
    )


def test_clean_escapes_every_control_and_format_character() -> None:
    controls = [chr(c) for c in (*range(0x20), 0x7F, *range(0x80, 0xA0))]
    bidi = [chr(c) for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A), 0x200E, 0x200F)]
    for ch in controls + bidi + ["\u061c", "\ufeff", "\u200b", "\udc9b", "\ue000"]:
        shown = clean(f"a{ch}b")
        assert _controls(shown) == [] and shown != f"a{ch}b", repr(ch)
        assert shown.startswith("a\\") or ch == "\t", repr(ch)
    assert clean(HOSTILE) == SHOWN
    assert clean("ps -ef | grep 日本語 — ok") == "ps -ef | grep 日本語 — ok"


def _wait_for(process: subprocess.Popen[bytes], rec: Path, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for shard in (rec / "raw").glob("*.jsonl") if (rec / "raw").is_dir() else ():
            if shard.read_bytes().count(f'"pid":{process.pid},'.encode()):
                return
        time.sleep(0.05)
    raise AssertionError(f"pid {process.pid} not recorded in {rec} after {timeout} s")


def test_top_shows_a_hostile_process_as_text(tmp_path: Path) -> None:
    # A real process whose name (the executable's file name, as the kernel's comm) and
    # command line hold terminal controls, recorded for real.
    exe = tmp_path / "py\u202e\x9bx"
    exe.symlink_to(os.path.realpath(sys.executable))
    rec = tmp_path / "rec"
    with (
        subprocess.Popen(
            [str(exe), "-c", "import time; time.sleep(120)", "hostile" + HOSTILE]
        ) as hostile,
        subprocess.Popen(
            [*LOSTBEAT, "record", "--dir", str(rec), "--interval", "0.1"],
            stderr=subprocess.PIPE,
            env=ENV,
        ) as recorder,
    ):
        try:
            _wait_for(hostile, rec)
            recorder.send_signal(signal.SIGTERM)
            recorder.communicate(timeout=30)
        finally:
            hostile.kill()
            recorder.kill()
    assert recorder.returncode == 0

    shown = _lostbeat("top", "--dir", str(rec), "--sort", "pid")
    assert shown.returncode == 0, shown.stderr
    assert _controls(shown.stdout) == []
    row = next(line for line in shown.stdout.splitlines() if line.split()[:1] == [str(hostile.pid)])
    assert "py\\u202e\\x9bx" in row.split()[1]  # the name column
    assert f"hostile{SHOWN}" in row  # the command line, whole and on one line


def test_an_error_naming_a_hostile_path_is_text(tmp_path: Path) -> None:
    shown = _lostbeat("top", "--dir", str(tmp_path / f"gone{HOSTILE}"))
    assert shown.returncode == 2
    assert _controls(shown.stderr) == []
    assert f"gone{SHOWN}" in shown.stderr and "expected a recording directory" in shown.stderr


def test_fleet_names_a_hostile_loose_file_as_text(tmp_path: Path) -> None:
    cases = tmp_path / "cases"
    cases.mkdir()
    for name in ("a.tgz", "b.tgz"):
        (cases / name).write_bytes(b"not a tar archive\n")
    (cases / f"notes{HOSTILE}.txt").write_text("loose\n")
    shown = _lostbeat("fleet", "--workers", "1", "--db", str(tmp_path / "f.db"), str(cases))
    assert shown.returncode == 0, shown.stderr
    assert _controls(shown.stdout + shown.stderr) == []
    assert f"notes{SHOWN}.txt" in shown.stderr and "belong to no incident" in shown.stderr
