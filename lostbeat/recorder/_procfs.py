"""The only recorder module that reads ``/proc``; its root is injectable, so tests build a
fake ``/proc`` in a temporary folder (below's ``new_with_custom_procfs``).

Reading is done with raw ``os.open``/``os.read`` of ``/proc/PID/stat`` (and ``status`` only
when swap is configured): the cheapest way to see every process, cheaper than ``top -b``
(see docs/benchmarks.md). A process that ends while it is being read is skipped without
noise; kernel threads (``PF_KTHREAD``) have no memory of their own and are skipped too.

Examples:
    >>> stat = parse_stat(b"42 (my (odd) name) S 1 42 42 0 -1 4194560 0 0 0 0 7 3 0 0 20 0 2 0 "
    ...                   b"1234 10485760 256 18446744073709551615", page_kb=4)
    >>> stat.comm, stat.state, stat.ppid, stat.kthread, stat.cpu_ticks, stat.threads
    ('my (odd) name', 'S', 1, False, 10, 2)
    >>> stat.start_ticks, stat.vsz_kb, stat.rss_kb
    (1234, 10240, 1024)
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import NamedTuple

from lostbeat.recording.schema import SystemSample

__all__ = ["ProcFS", "RawProc", "StatLine", "parse_stat"]

_PF_KTHREAD = 0x00200000  # include/linux/sched.h


class StatLine(NamedTuple):
    comm: str
    state: str
    ppid: int
    kthread: bool
    cpu_ticks: int
    threads: int
    start_ticks: int
    vsz_kb: int
    rss_kb: int


class RawProc(NamedTuple):
    """One process as read: ``/proc/PID/stat`` plus ``VmSwap`` when asked for."""

    pid: int
    stat: StatLine
    swap_kb: int | None


def parse_stat(data: bytes, *, page_kb: int) -> StatLine:
    """Fields of ``/proc/PID/stat`` (proc(5)); ``comm`` may hold spaces and parentheses.

    Raises:
        ValueError: not a stat line.
    """
    open_paren, close_paren = data.index(b"("), data.rindex(b")")
    fields = data[close_paren + 2 :].split()
    # proc(5) numbers fields from 1 with pid, comm; ours start at field 3 (state).
    return StatLine(
        comm=data[open_paren + 1 : close_paren].decode("utf-8", "replace"),
        state=fields[0].decode("ascii", "replace"),
        ppid=int(fields[1]),
        kthread=bool(int(fields[6]) & _PF_KTHREAD),
        cpu_ticks=int(fields[11]) + int(fields[12]),
        threads=int(fields[17]),
        start_ticks=int(fields[19]),
        vsz_kb=int(fields[20]) >> 10,
        rss_kb=int(fields[21]) * page_kb,
    )


def _swap_kb(status: bytes) -> int | None:
    at = status.find(b"\nVmSwap:")
    if at < 0:
        return None  # kernels before 2.6.34 do not report it
    end = status.find(b"kB", at)
    return int(status[at + 8 : end])


class ProcFS:
    """Reads a procfs mounted at ``root``."""

    def __init__(self, root: Path = Path("/proc")) -> None:
        self.root = root
        self._root = os.fsencode(root)
        self.page_kb = os.sysconf("SC_PAGE_SIZE") // 1024
        self.clock_ticks = os.sysconf("SC_CLK_TCK")

    def _read(self, relative: str, size: int = 65536) -> bytes | None:
        try:
            fd = os.open(os.path.join(self._root, os.fsencode(relative)), os.O_RDONLY)
        except OSError:
            return None
        try:
            return os.read(fd, size)
        except OSError:  # ESRCH: the process ended between open and read
            return None
        finally:
            os.close(fd)

    def scan(self, *, read_swap: bool) -> list[RawProc]:
        """Every user process now, in pid order of the directory listing."""
        found: list[RawProc] = []
        root, page_kb = self._root, self.page_kb
        for entry in os.listdir(root):
            if not entry.isdigit():
                continue
            base = root + b"/" + entry
            try:
                fd = os.open(base + b"/stat", os.O_RDONLY)
                try:
                    stat = parse_stat(os.read(fd, 4096), page_kb=page_kb)
                finally:
                    os.close(fd)
            except (OSError, ValueError, IndexError):
                continue  # ended while we looked, or not a process directory
            if stat.kthread:
                continue
            swap: int | None = None
            if read_swap:
                try:
                    fd = os.open(base + b"/status", os.O_RDONLY)
                    try:
                        swap = _swap_kb(os.read(fd, 16384))
                    finally:
                        os.close(fd)
                except (OSError, ValueError):
                    continue
            found.append(RawProc(int(entry), stat, swap))
        return found

    def cmdline(self, pid: int) -> str | None:
        data = self._read(f"{pid}/cmdline", 1 << 16)
        if data is None:
            return None
        return data.rstrip(b"\0").replace(b"\0", b" ").decode("utf-8", "replace")

    def uid(self, pid: int) -> int | None:
        try:
            return os.stat(os.path.join(self._root, b"%d" % pid)).st_uid
        except OSError:
            return None

    def cgroup(self, pid: int) -> str | None:
        data = self._read(f"{pid}/cgroup")
        return None if data is None else data.decode("utf-8", "replace")

    def meminfo(self) -> SystemSample:
        """Memory and swap in bytes; a line the kernel does not print gives ``None``."""
        data = self._read("meminfo") or b""
        values: dict[bytes, int] = {}
        for line in data.splitlines():
            name, _, rest = line.partition(b":")
            parts = rest.split()
            if parts and parts[0].isdigit():
                values[name] = int(parts[0]) * (1024 if parts[1:] == [b"kB"] else 1)
        total, free = values.get(b"SwapTotal"), values.get(b"SwapFree")
        return SystemSample(
            mem_total=values.get(b"MemTotal"),
            mem_available=values.get(b"MemAvailable"),
            swap_total=total,
            swap_used=None if total is None or free is None else total - free,
        )

    def boot_time(self) -> float | None:
        """``btime`` of ``/proc/stat``: the epoch of the boot."""
        for line in (self._read("stat") or b"").splitlines():
            if line.startswith(b"btime "):
                return float(line.split()[1])
        return None

    def boot_id(self) -> str | None:
        data = self._read("sys/kernel/random/boot_id")
        return data.decode("ascii", "replace").strip() if data else None

    def uptime(self) -> float | None:
        data = self._read("uptime")
        try:
            return float(data.split()[0]) if data else None
        except ValueError:
            return None

    def kernel_release(self) -> str | None:
        data = self._read("sys/kernel/osrelease")
        return data.decode("ascii", "replace").strip() if data else None
