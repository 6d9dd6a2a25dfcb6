"""A binary systemd journal given as a file: read through journalctl, or one line saying how
to export it. The journal is written by systemd-journal-remote from an export stream, the
format journald itself documents (systemd's JOURNAL_EXPORT_FORMATS)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from lostbeat.analyzer.engine import analyze
from lostbeat.analyzer.result import CrashType, InputStatus
from lostbeat.errors import InputError

REMOTE = Path("/lib/systemd/systemd-journal-remote")
EXPORT = (
    "__CURSOR=s=1;i=1\n__REALTIME_TIMESTAMP=1700000000000000\n__MONOTONIC_TIMESTAMP=1000000\n"
    "_BOOT_ID=3957642b91db46aeb6ea566e41d1e893\n_TRANSPORT=kernel\nPRIORITY=3\n"
    "MESSAGE=Out of memory: Killed process 42 (leaky) total-vm:1kB, anon-rss:900000kB, "
    "file-rss:0kB, shmem-rss:0kB\n\n"
)


@pytest.fixture
def journal(tmp_path: Path) -> Path:
    if not REMOTE.exists() or shutil.which("journalctl") is None:
        pytest.skip("systemd-journal-remote and journalctl are needed to write and read one")
    (tmp_path / "in.export").write_text(EXPORT)
    out = tmp_path / "system.journal"
    subprocess.run([REMOTE, "-o", out, tmp_path / "in.export"], check=True, capture_output=True)
    return out


def test_a_binary_journal_is_read_through_journalctl(journal: Path) -> None:
    result = analyze([journal])
    assert (result.crash.type, result.crash.victim, result.crash.crashed_at) == (
        CrashType.OOM_KILL, "leaky", 1700000000.0,
    )  # fmt: skip
    assert [(r.kind, r.status) for r in result.inputs] == [("host_log", InputStatus.READ)]


def test_without_journalctl_one_line_says_how_to_export_it(
    journal: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    other = journal.with_name("more.journal")
    other.write_bytes(journal.read_bytes())
    monkeypatch.setenv("PATH", str(journal.parent))  # no journalctl there
    with pytest.raises(InputError) as caught:  # nothing else to read: the exit-2 line
        analyze([other])
    message = str(caught.value)
    assert f"journalctl --file {other} -o export" in message
    assert "\n" not in message
