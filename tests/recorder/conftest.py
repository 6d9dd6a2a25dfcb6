"""A fake ``/proc`` in a temporary folder (below's ``new_with_custom_procfs``) and a clock
that the recorder's own wait moves forward, so hours of recording take a moment."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from lostbeat.agent import cgroup as cg
from tests.recorder.own_kernel import new_v1_group

PAGE_KB = os.sysconf("SC_PAGE_SIZE") // 1024
HZ = os.sysconf("SC_CLK_TCK")
BOOT = 1_714_500_000  # 2024-04-30 18:00 UTC


class FakeProc:
    """Writes the files the recorder reads, in the kernel's formats (proc(5))."""

    def __init__(self, root: Path, *, boot: int = BOOT, boot_id: str = "b-1") -> None:
        self.root = root
        (root / "sys/kernel/random").mkdir(parents=True)
        (root / "stat").write_text(f"cpu  1 2 3 4\nbtime {boot}\nprocesses 9\n")
        (root / "sys/kernel/random/boot_id").write_text(boot_id + "\n")
        (root / "sys/kernel/osrelease").write_text("6.1.55-amd64\n")
        (root / "uptime").write_text("3600.25 7000.00\n")
        self.memory(total_kb=8 << 20, available_kb=6 << 20)

    def memory(
        self, *, total_kb: int, available_kb: int, swap_kb: int = 0, swap_free_kb: int = 0
    ) -> None:
        (self.root / "meminfo").write_text(
            f"MemTotal:       {total_kb} kB\nMemFree:        {available_kb // 2} kB\n"
            f"MemAvailable:   {available_kb} kB\nSwapTotal:      {swap_kb} kB\n"
            f"SwapFree:       {swap_free_kb} kB\n"
        )

    def add(
        self,
        pid: int,
        name: str,
        rss_kb: int,
        *,
        start_ticks: int = 500,
        cmdline: str | None = None,
        swap_kb: int | None = 0,
        kthread: bool = False,
        state: str = "S",
        cgroup: str = "0::/user.slice\n",
    ) -> None:
        folder = self.root / str(pid)
        folder.mkdir(exist_ok=True)
        (folder / "cmdline").write_bytes(
            b"" if kthread else ((cmdline or name).replace(" ", "\0") + "\0").encode()
        )
        (folder / "cgroup").write_text(cgroup)
        self.set(
            pid,
            name,
            rss_kb,
            start_ticks=start_ticks,
            swap_kb=swap_kb,
            kthread=kthread,
            state=state,
        )

    def set(
        self,
        pid: int,
        name: str,
        rss_kb: int,
        *,
        start_ticks: int = 500,
        swap_kb: int | None = 0,
        kthread: bool = False,
        state: str = "S",
    ) -> None:
        flags = 0x00200040 if kthread else 0x00400100
        pages = rss_kb // PAGE_KB
        (self.root / str(pid) / "stat").write_text(
            f"{pid} ({name}) {state} 1 {pid} {pid} 0 -1 {flags} 10 0 0 0 7 3 0 0 20 0 1 0 "
            f"{start_ticks} {rss_kb * 3 * 1024} {pages} 18446744073709551615 1 1 0 0 0 0 0\n"
        )
        swap = "" if swap_kb is None else f"VmSwap:\t{swap_kb:8d} kB\n"
        (self.root / str(pid) / "status").write_text(
            f"Name:\t{name}\nUmask:\t0022\nState:\t{state} (sleeping)\nVmRSS:\t{rss_kb:8d} kB\n"
            f"{swap}Threads:\t1\n"
        )

    def remove(self, pid: int) -> None:
        for child in (self.root / str(pid)).iterdir():
            child.unlink()
        (self.root / str(pid)).rmdir()


class FakeClocks:
    """Wall and monotonic clocks that only move when the recorder waits."""

    def __init__(self, wall: float) -> None:
        self.mono = 1000.0
        self.offset = wall - self.mono
        self.on_wait: Callable[[float], None] | None = None

    def wall(self) -> float:
        return self.offset + self.mono

    def monotonic(self) -> float:
        return self.mono

    def wait(self, seconds: float) -> bool:
        self.mono += seconds
        if self.on_wait is not None:
            self.on_wait(self.wall())
        return False


@pytest.fixture
def fake_proc(tmp_path: Path) -> FakeProc:
    return FakeProc(tmp_path / "proc")


@pytest.fixture
def clocks_at() -> Callable[[float], FakeClocks]:
    return FakeClocks


@contextlib.contextmanager
def _v1_group(prefix: str) -> Iterator[cg.MemoryCgroup]:
    """A new cgroup v1 memory group under the tests' own; its processes killed and the group
    removed at the end. Skips, saying why, on a host without a v1 memory controller."""
    with new_v1_group(prefix) as group:
        if group is None:
            print(
                "SKIP: this scenario sets its limit through cgroup v1, as root (the VM suite has v2)"
            )
            pytest.skip("this scenario sets its limit through cgroup v1, as root")
        yield group


@pytest.fixture(scope="session")
def v1_memory_group() -> Callable[[str], contextlib.AbstractContextManager[cg.MemoryCgroup]]:
    """``with v1_memory_group("prefix") as group:`` a memory group for one scenario."""
    return _v1_group
