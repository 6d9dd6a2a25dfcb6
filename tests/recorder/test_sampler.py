"""Reading /proc: a fake one for the odd cases, the real one for a real process."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from lostbeat.errors import AgentError
from lostbeat.procfs import Procfs
from lostbeat.recorder.sampler import Sampler


def test_fake_proc_values_and_odd_entries(fake_proc) -> None:
    fake_proc.add(1, "init", 4096)
    fake_proc.add(2, "kthreadd", 0, kthread=True)
    fake_proc.add(77, "my (odd) name", 8192, cmdline="/opt/x --a b", swap_kb=12)
    (fake_proc.root / "88").mkdir()  # a process that ended between listing and reading
    (fake_proc.root / "self").mkdir()
    snap = Sampler(Procfs(fake_proc.root), clock=lambda: 5.0).sample()
    by_pid = {i.key.pid: (i, s) for i, s in snap.procs}
    assert sorted(by_pid) == [1, 77]  # no kernel thread, no half-gone process
    identity, sample = by_pid[77]
    assert identity.key.name == "my (odd) name" and identity.key.cmdline == "/opt/x --a b"
    assert identity.key.start == round(
        fake_proc_boot(fake_proc) + 500 / os.sysconf("SC_CLK_TCK"), 2
    )
    assert (sample.rss_kb, sample.vsz_kb, sample.threads, sample.cpu_ticks, sample.state) == (
        8192,
        8192 * 3,
        1,
        10,
        "S",
    )
    assert sample.swap_kb == 0  # the host has no swap configured: 0 is known, not read
    assert snap.system.mem_total == (8 << 20) * 1024 and snap.system.swap_used == 0
    assert snap.ts == 5.0


def fake_proc_boot(fake_proc) -> float:
    return float((fake_proc.root / "stat").read_text().split("btime ")[1].split()[0])


def test_swap_is_read_only_where_swap_is_configured(fake_proc) -> None:
    fake_proc.memory(total_kb=1 << 20, available_kb=1 << 19, swap_kb=1 << 20, swap_free_kb=1 << 19)
    fake_proc.add(5, "swapped", 400, swap_kb=300)
    fake_proc.add(6, "oldkernel", 400, swap_kb=None)  # no VmSwap line: unknown, not 0
    snap = Sampler(Procfs(fake_proc.root)).sample()
    swaps = {i.key.name: s.swap_kb for i, s in snap.procs}
    assert swaps == {"swapped": 300, "oldkernel": None}
    assert snap.system.swap_used == (1 << 19) * 1024
    forced_off = Sampler(Procfs(fake_proc.root), read_swap=False).sample()
    assert {s.swap_kb for _, s in forced_off.procs} == {None}


def test_identity_is_read_once_and_a_reused_pid_is_a_new_process(fake_proc) -> None:
    fake_proc.add(9, "worker", 100, cmdline="worker --first")
    sampler = Sampler(Procfs(fake_proc.root))
    first = sampler.sample().procs[0][0]
    (fake_proc.root / "9" / "cmdline").write_bytes(b"worker\0--changed\0")
    assert sampler.sample().procs[0][0] is first  # the command line is read once per process
    fake_proc.set(9, "worker", 100, start_ticks=9000)  # pid 9 ended and was reused
    reused = sampler.sample().procs[0][0]
    assert reused.key.cmdline == "worker --changed" and reused.key.start > first.key.start


def test_not_a_procfs(tmp_path: Path) -> None:
    with pytest.raises(AgentError, match="btime"):
        Sampler(Procfs(tmp_path))


def test_the_real_proc_sees_a_real_process_and_its_memory(tmp_path: Path) -> None:
    code = (
        "b = bytearray(48 << 20); b[::4096] = b'x' * (len(b) // 4096); import sys; "
        "print('ready', flush=True); sys.stdin.read()"
    )
    with subprocess.Popen(
        [sys.executable, "-c", code, "marker-arg"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    ) as child:
        try:
            assert child.stdout is not None and child.stdout.readline() == "ready\n"
            before = time.time()
            snap = Sampler().sample()
            rows = {i.key.pid: (i, s) for i, s in snap.procs}
            identity, sample = rows[child.pid]
            assert identity.key.cmdline.endswith("marker-arg")
            assert identity.key.name.startswith("python")
            assert sample.rss_kb is not None and sample.rss_kb >= 48 << 10
            assert identity.key.start <= before + 1
            assert os.getpid() in rows
            assert snap.system.mem_total and snap.system.mem_available
        finally:
            child.kill()


def test_a_row_is_new_when_its_stat_changed_and_the_same_otherwise(fake_proc) -> None:
    """Pages going out to swap leave the resident count ``stat`` shows: the swap is read
    again with the ``stat`` that changed, and kept while the ``stat`` stays the same."""
    fake_proc.memory(total_kb=1 << 20, available_kb=1 << 19, swap_kb=1 << 20, swap_free_kb=1 << 19)
    fake_proc.add(5, "still", 400, swap_kb=0)
    fake_proc.add(6, "grows", 400, swap_kb=0)
    fake_proc.add(7, "swaps", 400, swap_kb=0)
    sampler = Sampler(Procfs(fake_proc.root))
    first = {i.key.name: row for row in sampler.sample().procs for i in row[:1]}
    fake_proc.set(6, "grows", 800)
    fake_proc.set(7, "swaps", 336, swap_kb=64)
    second = {i.key.name: row for row in sampler.sample().procs for i in row[:1]}
    assert second["still"] is first["still"]  # the stat did not change: the same row
    assert second["grows"][1].rss_kb == 800 and first["grows"][1].rss_kb == 400
    assert second["swaps"][1].swap_kb == 64 and second["swaps"][1].rss_kb == 336
    assert all(second[n][0] is first[n][0] for n in first)  # identities read once
