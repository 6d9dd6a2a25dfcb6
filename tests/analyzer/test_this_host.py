"""``lostbeat analyze --this-host``: the host's kernel log through journalctl or dmesg, its
/proc/meminfo, sysstat's files and lostbeat's own, read where they lie.

The commands are real executables written into the test's folder (a journalctl that holds
the real openSUSE journal of the real-Linux corpus's case 022, and no previous boot), found
through the ``which`` a host would use; the files are real files.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from lostbeat.analyzer.engine import analyze
from lostbeat.analyzer.result import InputStatus
from lostbeat.analyzer.this_host import CommandSource, HostPaths, this_host

ROOT = Path(__file__).parents[2]
CASE = ROOT / "tests/corpus/real-linux/022-oom-opensuse-short-precise"
JOURNAL = (CASE / "journal.txt").read_text()
SAR = (
    "Linux 5.14.21-default (localhost) \t11/03/2023 \t_x86_64_\t(4 CPU)\n\n"
    "07:50:01 AM kbmemfree   kbavail kbmemused  %memused kbbuffers  kbcached\n"
    "07:50:01 AM   1520968   1878592   2383812     58.50      4228   182228\n"
    "08:00:01 AM    120968    178592   3783812     92.80      4228    82228\n"
)


def _tool(folder: Path, name: str, script: str) -> str:
    """An executable ``name`` in ``folder`` running the Python ``script`` (sys.argv as the
    command's)."""
    path = folder / name
    path.write_text(f"#!{sys.executable}\nimport sys\n{script}\n")
    path.chmod(0o755)
    return str(path)


def _journalctl(folder: Path, text: str) -> str:
    journal = folder / "journal.txt"
    journal.write_text(text)
    return _tool(
        folder,
        "journalctl",
        "args = sys.argv[1:]\n"
        "if '-1' in args:\n"
        "    sys.stderr.write('Data from the specified boot (-1) is not available: "
        "No such boot ID in journal\\n')\n"
        "    sys.exit(1)\n"
        f"text = open({str(journal)!r}).read()\n"
        "sys.stdout.write(text.splitlines(True)[0] if '-n' in args else text)\n",
    )


def _host(tmp_path: Path) -> HostPaths:
    proc = tmp_path / "proc"
    proc.mkdir()
    (proc / "meminfo").write_text("MemTotal:        4013252 kB\nSwapTotal:       2097148 kB\n")
    sa = tmp_path / "sa"
    sa.mkdir()
    (sa / "sar03").write_text(SAR)
    (sa / "sa03").write_bytes(b"\x96\xd5binary")  # the binary file beside: the text is read
    return HostPaths(proc=proc, sar_dirs=(sa,), recording=tmp_path / "none")


def test_the_journal_s_boots_meminfo_and_sar_are_read_where_they_lie(tmp_path):
    bin_ = tmp_path / "bin"
    bin_.mkdir()
    tools = {"journalctl": _journalctl(bin_, JOURNAL)}
    sources = this_host(_host(tmp_path), which=tools.get)
    assert [s.label for s in sources] == [
        "journalctl -k -b -1",
        "journalctl -k -b 0",
        str(tmp_path / "proc/meminfo"),
        str(tmp_path / "sa/sar03"),
    ]
    result = analyze([], sources=sources)
    want = json.loads((CASE / "case.json").read_text())["expect"]
    assert result.crash.type.value == want["crash.type"]
    status = {r.path: (r.status, r.reason) for r in result.inputs}
    previous = status["journalctl -k -b -1"]
    assert previous[0] is InputStatus.SKIPPED and "No such boot ID" in previous[1]
    assert status["journalctl -k -b 0"][0] is InputStatus.READ
    assert {k: v[0] for k, v in status.items() if "journalctl" not in k} == {
        str(tmp_path / "proc/meminfo"): InputStatus.READ,
        str(tmp_path / "sa/sar03"): InputStatus.READ,
    }


def test_without_a_journal_of_this_boot_the_ring_buffer_is_read(tmp_path):
    bin_ = tmp_path / "bin"
    bin_.mkdir()
    dmesg_text = "".join(
        f"[ 4242.{i:06d}] {line.split(' kernel: ', 1)[1]}"
        for i, line in enumerate(JOURNAL.splitlines(True))
        if " kernel: " in line
    )
    tools = {
        "journalctl": _journalctl(bin_, ""),  # journald keeps nothing here
        "dmesg": _tool(bin_, "dmesg", f"sys.stdout.write({dmesg_text!r})"),
    }
    sources = this_host(_host(tmp_path), which=tools.get)
    assert sources[0].label == "dmesg"
    assert analyze([], sources=sources[:1]).crash.type.value == "oom_kill"


def test_a_command_that_fails_is_listed_with_its_reason_and_the_rest_is_read(tmp_path):
    failing = CommandSource(
        "dmesg",
        "host_log",
        [_tool(tmp_path, "dmesg", "sys.stderr.write('dmesg: read kernel buffer failed: "
         "Operation not permitted\\n'); sys.exit(1)")],
    )  # fmt: skip
    meminfo = tmp_path / "meminfo"
    meminfo.write_text("MemTotal:        4013252 kB\n")
    result = analyze([meminfo], sources=[failing])
    record = next(r for r in result.inputs if r.path == "dmesg")
    assert record.status is InputStatus.SKIPPED
    assert record.reason == "dmesg gave no host_log: dmesg: read kernel buffer failed: " + (
        "Operation not permitted"
    )


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "lostbeat", "analyze", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )


def test_nothing_to_analyse_is_one_line_and_exit_2():
    run = _cli()
    assert run.returncode == 2 and run.stdout == ""
    assert run.stderr == "lostbeat analyze: nothing to analyse: give a PATH, or --this-host\n"


def test_at_chooses_the_incident_when_no_terminal_shows_progress():
    console = ROOT / "tests/corpus/real-linux/049-softlockup-panic-arch-6.5/console.txt"
    last = json.loads(_cli("--json", str(console)).stdout)["crash"]["type"]
    first = json.loads(_cli("--json", "--at", "36.54", str(console)).stdout)["crash"]["type"]
    assert (last, first) == ("kernel_panic", "soft_lockup")


def test_this_host_from_the_command_line_reads_the_real_host():
    """On this machine as it is: its kernel log (journal or dmesg) and /proc/meminfo are read;
    whatever the verdict, the command ends with one."""
    run = _cli("--this-host", "--json")
    assert run.returncode == 0, run.stderr
    read = {r["path"]: r["status"] for r in json.loads(run.stdout)["inputs"]}
    assert read["/proc/meminfo"] == "read", read
    assert "read" in (read.get("dmesg"), read.get("journalctl -k -b 0")), read
