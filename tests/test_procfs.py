"""One ``/proc`` reader and one ``meminfo`` parser for the agent, the recorder and the analyzer,
on this host's real procfs."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from lostbeat.agent.screen import _memory_lines
from lostbeat.analyzer.parsers.meminfo import parse_meminfo as parse_bundle_meminfo
from lostbeat.procfs import Procfs, ProcStat, meminfo_line, parse_meminfo
from lostbeat.recorder.sampler import Sampler, system_sample


def test_the_three_readers_of_meminfo_agree_on_the_real_file() -> None:
    text = Path("/proc/meminfo").read_text()
    live = parse_meminfo(text)
    assert live["MemTotal"] > 0 and "SwapTotal" in live
    bundle = parse_bundle_meminfo(text.splitlines(), path="proc/meminfo")
    recorded = system_sample(live)
    screen = _memory_lines(text)
    assert bundle.total == recorded.mem_total == live["MemTotal"]
    assert bundle.swap_total == recorded.swap_total == live["SwapTotal"]
    assert (
        bundle.swap_free is not None and recorded.swap_used == live["SwapTotal"] - bundle.swap_free
    )
    assert screen[0].startswith(f"Memory: total={live['MemTotal'] // 1024} kB ")
    assert screen[1].startswith(f"Swap: total={live['SwapTotal'] // 1024} kB ")
    # every line of the kernel's file is of the one grammar
    assert all(meminfo_line(line) is not None for line in text.splitlines())


def test_one_reader_serves_the_agent_and_the_recorder() -> None:
    code = "import sys, time; print('ready', flush=True); time.sleep(60)"
    with subprocess.Popen(
        [sys.executable, "-c", code, "procfs-probe", "two words"], stdout=subprocess.PIPE
    ) as child:
        try:
            assert child.stdout is not None and child.stdout.readline() == b"ready\n"
            procfs = Procfs()
            stat = procfs.stat(child.pid)
            scanned = {raw.pid: raw for raw in procfs.scan(read_swap=True)}
            assert scanned[child.pid].stat.starttime == stat.starttime
            assert scanned[child.pid].stat.comm == stat.comm
            assert scanned[child.pid].swap_kb == procfs.status(child.pid).swap_kb
            assert procfs.cmdline(child.pid).endswith("procfs-probe two words")
            assert procfs.uid(child.pid) == os.getuid()
            assert procfs.is_alive(child.pid, stat.starttime)
            snap = Sampler(procfs).sample()
            mine = [ident for ident, _ in snap.procs if ident.key.pid == child.pid]
            assert mine and mine[0].key.cmdline.endswith("procfs-probe two words")
        finally:
            child.kill()
            child.wait()
    assert not procfs.is_alive(child.pid, stat.starttime)


def _fds() -> set[str]:
    return set(os.listdir("/proc/self/fd"))


def _fds_into(pid: int) -> set[str]:
    """Our open files in ``/proc/PID/`` (by their link: other processes come and go meanwhile,
    so a count of all held files says nothing of this one's)."""
    found = set()
    for fd in _fds():
        try:
            if os.readlink(f"/proc/self/fd/{fd}").startswith(f"/proc/{pid}/"):
                found.add(fd)
        except OSError:  # closed since the listing
            pass
    return found


def _settled(stat: ProcStat | None) -> ProcStat | None:
    """``stat`` without what the scheduler changes from one read to the next of a process that
    is still settling: its state and the CPU it last ran on."""
    return None if stat is None else stat._replace(state="", processor=-1)


def test_scan_holds_the_files_it_reads_and_sees_every_change() -> None:
    """Held ``stat`` files give what a fresh read gives, a change shows at the next scan,
    and a process that ended is dropped with its files."""
    code = (
        "import sys, time\n"
        "print('ready', flush=True)\n"
        "sys.stdin.readline()\n"
        "block = bytearray(64 << 20)\n"  # 64 MiB touched: RSS grows
        "print('grown', flush=True)\n"
        "time.sleep(60)\n"
    )
    before = _fds()
    procfs = Procfs()
    with subprocess.Popen(
        [sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE
    ) as child:
        try:
            assert child.stdout is not None and child.stdin is not None
            assert child.stdout.readline() == b"ready\n"
            first = {raw.pid: raw for raw in procfs.scan(read_swap=True)}[child.pid]
            held = _fds() - before
            assert held, "the real /proc's stat and status files are held open"
            assert _fds_into(child.pid) and _fds_into(child.pid) <= held  # the child's own
            # the same as a fresh read (but the state, which the child may change between
            # the two: printing "ready", then waiting for its input)
            assert _settled(first.stat) == _settled(procfs.stat(child.pid))
            child.stdin.write(b"go\n")
            child.stdin.flush()
            assert child.stdout.readline() == b"grown\n"
            second = {raw.pid: raw for raw in procfs.scan(read_swap=True)}[child.pid]
            assert second.stat.rss_kb >= first.stat.rss_kb + 60 * 1024
            assert _settled(second.stat) == _settled(procfs.stat(child.pid))
        finally:
            child.kill()
            child.wait()
    third = procfs.scan(read_swap=True)
    assert child.pid not in {raw.pid for raw in third}
    assert not _fds_into(child.pid), "the ended process's files are closed"
    procfs.close()
    assert _fds() <= before
    assert procfs.scan(read_swap=False), "a closed reader opens its files again"
    procfs.close()


def test_a_folder_that_is_not_procfs_is_read_afresh_each_time(tmp_path: Path) -> None:
    """Test folders replace their files: nothing is held there."""
    (tmp_path / "7").mkdir()
    line = "7 (x) S 1 7 7 0 -1 0 0 0 0 0 5 5 0 0 20 0 1 0 250 8192000 {} 0"
    (tmp_path / "7" / "stat").write_text(line.format(100))
    procfs = Procfs(tmp_path)
    before = _fds()
    assert procfs.scan(read_swap=False)[0].stat.rss == 100
    assert _fds() == before
    replacement = tmp_path / "7" / "stat.new"
    replacement.write_text(line.format(200))
    replacement.replace(tmp_path / "7" / "stat")
    assert procfs.scan(read_swap=False)[0].stat.rss == 200


def test_held_files_stay_within_a_quarter_of_the_open_file_limit() -> None:
    code = (
        "import os, resource\n"
        "from lostbeat.procfs import Procfs\n"
        "resource.setrlimit(resource.RLIMIT_NOFILE, (64, resource.getrlimit(resource.RLIMIT_NOFILE)[1]))\n"
        "before = len(os.listdir('/proc/self/fd'))\n"
        "procs = Procfs()\n"
        "found = len(procs.scan(read_swap=True))\n"
        "print(found, len(os.listdir('/proc/self/fd')) - before)\n"
    )
    sleepers = [subprocess.Popen(["sleep", "60"]) for _ in range(20)]
    try:
        out = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True
        )
    finally:
        for sleeper in sleepers:
            sleeper.kill()
            sleeper.wait()
    found, held = map(int, out.stdout.split())
    assert found > 20  # more processes than the budget of 64 // 4 files holds
    assert 0 < held <= 16


def test_a_process_whose_stat_did_not_change_keeps_the_swap_read_before(tmp_path: Path) -> None:
    """``status`` is read again only for a process whose ``stat`` changed: swapping out or in
    moves the resident count ``stat`` shows."""
    (tmp_path / "7").mkdir()
    line = "7 (x) S 1 7 7 0 -1 0 0 0 0 0 5 5 0 0 20 0 1 0 250 8192000 {} 0"
    status = "Name:\tx\nVmRSS:\t400 kB\nVmSwap:\t{} kB\n"

    def write(name: str, text: str) -> None:
        new = tmp_path / "7" / f"{name}.new"
        new.write_text(text)
        new.replace(tmp_path / "7" / name)

    write("stat", line.format(100))
    write("status", status.format(64))
    procfs = Procfs(tmp_path)
    assert procfs.scan(read_swap=True)[0].swap_kb == 64
    write("status", status.format(128))  # stat the same: not read again
    assert procfs.scan(read_swap=True)[0].swap_kb == 64
    assert procfs.scan(read_swap=False)[0].swap_kb is None
    write("stat", line.format(90))  # pages went out: stat changed, status read
    assert procfs.scan(read_swap=True)[0].swap_kb == 128
