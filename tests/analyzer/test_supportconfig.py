"""SUSE's supportconfig (``scc_<host>_<date>.txz``): its files are entries, each a
``#==[ ... ]==#`` header, a ``# <file or command>`` label and the text, as
openSUSE/supportutils writes them. A real openSUSE journal of an OOM kill (the real-Linux
corpus's case 022) is put where supportconfig puts /var/log/messages, beside a memory.txt;
the archive and the unpacked folder are analysed as a support engineer gets them."""

from __future__ import annotations

import json
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from lostbeat.analyzer.parsers.meminfo import parse_meminfo
from lostbeat.errors import ArtifactMissing

CASE = Path(__file__).parents[1] / "corpus/real-linux/022-oom-opensuse-short-precise"
TOP = "scc_susehost_231103_0810"
COMMAND = "#==[ Command ]======================================#"
CONF = "#==[ Configuration File ]===========================#"
LOG = "#==[ Log File ]=====================================#"
MEMINFO = "MemTotal:        4013252 kB\nMemFree:          112640 kB\nSwapTotal:       2097148 kB\nSwapFree:              0 kB\n"  # noqa: E501


def _memory_txt(with_meminfo: bool = True) -> str:
    parts = [
        f"{COMMAND}\n# /usr/bin/vmstat 1 4\nprocs -----------memory----------\n r  b   swpd\n",
        f"{COMMAND}\n# /usr/bin/free -k\n               total        used        free\n"
        "Mem:         4013252     3900000      112640\n",
    ]
    if with_meminfo:
        parts.append(f"{CONF}\n# /proc/meminfo\n{MEMINFO}\n")
    parts.append(f"{CONF}\n# /proc/vmstat\nnr_free_pages 28160\n")
    return "\n".join(parts)


def _scc(root: Path, *, journal_entry: bool = True) -> Path:
    folder = root / TOP
    folder.mkdir()
    journal = next(p for p in CASE.iterdir() if p.name != "case.json").read_text()
    # with /var/log/messages, supportconfig logs the file; without, the journal's last lines
    label = (
        f"{COMMAND}\n# /usr/bin/journalctl --no-pager --output=short-iso --lines 500000"
        if journal_entry
        else f"{LOG}\n# /var/log/messages - Last 2500 Lines"
    )
    (folder / "messages.txt").write_text(
        f"{COMMAND}\n# /bin/rpm -qf /var/log/messages\n\n{label}\n{journal}\n"
    )
    (folder / "memory.txt").write_text(_memory_txt())
    (folder / "basic-environment.txt").write_text(f"{COMMAND}\n# /bin/uname -a\nLinux susehost\n")
    return folder


def _analyze(path: Path) -> tuple[int, dict[str, object]]:
    run = subprocess.run(
        [sys.executable, "-m", "lostbeat", "analyze", "--json", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.stderr == "" or run.returncode == 0, run.stderr
    return run.returncode, json.loads(run.stdout)


@pytest.mark.parametrize("packed", [False, True])
def test_a_supportconfig_is_read_as_a_linux_host_s_evidence(tmp_path, packed):
    folder = _scc(tmp_path, journal_entry=not packed)
    given = folder
    if packed:
        given = tmp_path / f"{TOP}.txz"
        with tarfile.open(given, "w:xz") as tar:
            tar.add(folder, arcname=TOP)
    status, doc = _analyze(given)
    assert status == 0
    crash = doc["crash"]
    assert isinstance(crash, dict)
    want = json.loads((CASE / "case.json").read_text())["expect"]
    assert crash["type"] == want["crash.type"] and crash["killer"] == want["crash.killer"]
    read = {
        (r["path"].rsplit("/", 1)[-1], r["kind"]) for r in doc["inputs"] if r["status"] == "read"
    }
    assert {("messages.txt", "host_log"), ("memory.txt", "meminfo")} <= read


def test_memory_txt_gives_its_meminfo_entry_and_numbers_its_lines_as_the_file_does():
    lines = _memory_txt().splitlines(True)
    info = parse_meminfo(lines, path="memory.txt")
    assert info.total == 4013252 * 1024 and info.swap_free == 0
    first = next(i for i, line in enumerate(lines, 1) if line.startswith("MemTotal:"))
    assert [e.line_no for e in info.evidence] == [first, first + 2]


def test_a_memory_txt_without_meminfo_is_missing_not_broken():
    with pytest.raises(ArtifactMissing):
        parse_meminfo(_memory_txt(with_meminfo=False).splitlines(True), path="memory.txt")
