"""One ``/proc`` reader and one ``meminfo`` parser for the agent, the recorder and the analyzer,
on this host's real procfs."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from lostbeat.agent.screen import _memory_lines
from lostbeat.analyzer.parsers.meminfo import parse_meminfo as parse_bundle_meminfo
from lostbeat.procfs import Procfs, meminfo_line, parse_meminfo
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
