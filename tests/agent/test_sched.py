"""A process's state and wait channel, read together: once through files whose content changes
between reads as the kernel's does, and for real, in the capture of processes that the kernel
wakes and puts to sleep a thousand times a second."""

from __future__ import annotations

import os
import signal
import sys
import textwrap
import threading
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from lostbeat.agent import cgroup as cg
from lostbeat.agent.consumers import read_sched
from lostbeat.procfs import Procfs, parse_stat

if TYPE_CHECKING:
    from conftest import Agent

PID = 4300


def _stat(state: str) -> bytes:
    return (
        f"{PID} (memhog) {state} 1 {PID} {PID} 0 -1 4194560 10 0 0 0 7 3 0 0 20 0 1 0 500 "
        "100663296 24576 18446744073709551615 1 1 0 0 0 0 0\n"
    ).encode()


def _serve(proc: Path, reads: list[tuple[str, bytes]]) -> threading.Thread:
    """Each read of ``stat`` or ``wchan`` gets the next content: FIFOs, written one open at a
    time, stand for files the kernel makes afresh at every read."""
    folder = proc / str(PID)
    folder.mkdir(parents=True)
    for name in ("stat", "wchan"):
        os.mkfifo(folder / name)

    def serve() -> None:
        for name, data in reads:
            path = folder / name
            with path.open("wb") as fifo:  # waits for the reader's open
                fifo.write(data)
                # a new FIFO in its place before the reader sees the end of this one: its next
                # open is never of this one (it would read two contents as one)
                os.mkfifo(path.with_suffix(".next"))
                os.replace(path.with_suffix(".next"), path)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    return thread


def test_a_task_woken_between_the_reads_is_read_again(tmp_path: Path) -> None:
    proc = tmp_path / "proc"
    thread = _serve(
        proc,
        [
            # woken while its wait channel was read: stat says D, wchan 0, stat again R
            ("stat", _stat("D")), ("wchan", b"0"), ("stat", _stat("R")),
            # asleep again for the whole of the second reading
            ("stat", _stat("D")), ("wchan", b"mem_cgroup_oom_synchronize"), ("stat", _stat("D")),
        ],
    )  # fmt: skip
    read = read_sched(Procfs(proc), PID)
    thread.join(5)
    assert not thread.is_alive()  # all six reads made: the first reading was not kept
    assert (read.state, read.wchan) == ("D", "mem_cgroup_oom_synchronize")
    assert parse_stat(read.stat).state == "D" and read.wchan_file == b"mem_cgroup_oom_synchronize"


def test_a_wait_channel_never_shown_is_given_up_after_three_readings(tmp_path: Path) -> None:
    proc = tmp_path / "proc"
    # a reader the kernel does not show the wait channel to: 0 for a sleeping task, each time
    thread = _serve(proc, [r for _ in range(3) for r in
                           (("stat", _stat("S")), ("wchan", b"0"), ("stat", _stat("S")))])  # fmt: skip
    read = read_sched(Procfs(proc), PID)
    thread.join(5)
    assert not thread.is_alive()
    assert (read.state, read.wchan, read.wchan_file) == ("S", None, b"0")


FLIPPER = textwrap.dedent("""\
    import time
    held = bytearray(b"x") * ((48 + int(__import__("sys").argv[1])) << 20)  # a top consumer
    print("flipping", flush=True)
    while True:  # running for 0.5 ms, asleep for 0.5 ms
        start = time.perf_counter()
        while time.perf_counter() - start < 0.0005:
            pass
        time.sleep(0.0005)
""")


@pytest.mark.timeout(60)
def test_the_capture_shows_each_process_as_one_reading_saw_it(
    agent: Agent, memory_cgroup: cg.MemoryCgroup
) -> None:
    # the cgroup has no limit: it only scopes the top consumers to the test's processes
    where = str(memory_cgroup.fs_path)
    monitor = agent.monitor("--cgroup", where, "--cores", "0", "--top", "5", timeout=2.0)
    hbd = agent.hbd(interval=0.5, cgroup=memory_cgroup, monitor=monitor)
    script = agent.workdir / "flipper.py"
    script.write_text(FLIPPER)
    flippers = [
        agent.spawn([sys.executable, str(script), str(n)], f"flipper{n}", cgroup=memory_cgroup)
        for n in range(4)
    ]
    for f in flippers:
        agent.wait_for(lambda f=f: "flipping" in f.text(), timeout=10, what="a flipper")
    os.kill(hbd.pid, signal.SIGSTOP)
    folder, manifest = agent.manifest(timeout=30)

    screen = (folder / "screen.txt").read_text().splitlines()
    top = {c["pid"]: c for c in manifest["top"]}  # type: ignore[union-attr]
    for f in flippers:
        assert f.pid in top, manifest["top"]
        state = top[f.pid]["state"]
        stat = parse_stat((folder / f"proc/{f.pid}/stat").read_bytes())
        wchan = (folder / f"proc/{f.pid}/wchan").read_text().strip()
        row = next(line for line in screen if line.split()[:1] == [str(f.pid)]).split()
        # the manifest, the screen and the saved files say the same: one reading
        assert stat.state == state and row[2] == state, (state, stat.state, row)
        assert row[-1] == (wchan if wchan not in ("", "0") else "-"), (row, wchan)
