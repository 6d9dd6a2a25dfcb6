"""The formats of ``/proc`` files, one pure parser each: text in, a typed record out.

``stat`` and ``status`` of a process, a ``maps`` line, and ``meminfo``, whether read live
by the agent and the recorder or found in a bundle by the analyzer (proc(5)).

:class:`ProcStat` is a named tuple, not a dataclass: the recorder builds one for every
process of the host at every sample, and a tuple is the cheapest record to build
(benchmarks/recorder.py).

Examples:
    >>> s = parse_stat(b"42 (my (odd) name) S 1 42 42 0 -1 4194560 0 0 0 0 7 3 0 0 20 0 2 0 "
    ...                b"1234 10485760 256 18446744073709551615")
    >>> s.pid, s.comm, s.state, s.ppid, s.kthread, s.cpu_ticks, s.threads, s.starttime
    (42, 'my (odd) name', 'S', 1, False, 10, 2, 1234)
    >>> s.vsz_kb, s.rss_kb == 256 * PAGE_KB, s.processor
    (10240, True, None)
    >>> m = parse_status(b"Name:\\tx\\nUid:\\t1000\\t1000\\t1000\\t1000\\nVmRSS:\\t   512 kB\\n")
    >>> (m.uid, m.rss_kb, m.swap_kb)
    (1000, 512, None)
    >>> parse_meminfo("MemTotal:  1000 kB\\nHugePages_Total:  0\\nnot a line\\n")
    {'MemTotal': 1024000, 'HugePages_Total': 0}
"""

from __future__ import annotations

import mmap
import re
from dataclasses import dataclass
from typing import NamedTuple

__all__ = [
    "Mapping",
    "MeminfoLine",
    "PAGE_KB",
    "ProcStat",
    "ProcStatus",
    "meminfo_line",
    "parse_maps_line",
    "parse_meminfo",
    "parse_stat",
    "parse_status",
    "status_field",
]

PAGE_KB = mmap.PAGESIZE // 1024
_PF_KTHREAD = 0x00200000  # include/linux/sched.h


class ProcStat(NamedTuple):
    """The fields of ``/proc/PID/stat`` (or ``task/TID/stat``) that lostbeat uses."""

    pid: int
    comm: str
    state: str  # one letter: R S D T t Z X I
    ppid: int
    pgrp: int
    session: int
    flags: int  # PF_* of include/linux/sched.h
    utime: int  # clock ticks
    stime: int
    threads: int
    starttime: int  # clock ticks after boot; with the pid, identifies a process
    vsize: int  # bytes
    rss: int  # pages
    processor: int | None  # the CPU it last ran on; None on kernels that do not say

    @property
    def kthread(self) -> bool:
        """A kernel thread: no memory of its own."""
        return bool(self.flags & _PF_KTHREAD)

    @property
    def cpu_ticks(self) -> int:
        return self.utime + self.stime

    @property
    def vsz_kb(self) -> int:
        return self.vsize >> 10

    @property
    def rss_kb(self) -> int:
        return self.rss * PAGE_KB


def parse_stat(data: bytes) -> ProcStat:
    """Parse one ``stat`` line; the command name may hold spaces and parentheses.

    Raises:
        ValueError, IndexError: not a stat line.
    """
    open_at, close_at = data.index(b"("), data.rindex(b")")
    rest = data[close_at + 2 :].split()
    # proc(5) numbers fields from 1 with pid, comm; rest[0] is field 3 (state), field N
    # is rest[N - 3]
    return ProcStat(
        int(data[:open_at]),
        data[open_at + 1 : close_at].decode("utf-8", "replace"),
        rest[0].decode("ascii", "replace"),
        int(rest[1]),
        int(rest[2]),
        int(rest[3]),
        int(rest[6]),
        int(rest[11]),
        int(rest[12]),
        int(rest[17]),
        int(rest[19]),
        int(rest[20]),
        int(rest[21]),
        int(rest[36]) if len(rest) > 36 else None,
    )


@dataclass(frozen=True, slots=True)
class ProcStatus:
    """Owner and memory of a process from ``/proc/PID/status``; None where none is shown."""

    uid: int | None
    gid: int | None
    rss_kb: int | None
    swap_kb: int | None
    threads: int | None


def status_field(data: bytes, key: bytes) -> int | None:
    """The first number of one ``Key:`` line of ``status``; None if there is no such line.

    Kernel threads have no ``VmRSS``, kernels before 2.6.34 no ``VmSwap``.

    >>> status_field(b"Name:\\tx\\nVmSwap:\\t  64 kB\\n", b"VmSwap"), status_field(b"", b"Uid")
    (64, None)
    """
    at = data.find(b"\n" + key + b":")
    if at < 0:
        if not data.startswith(key + b":"):
            return None
        at = -1
    start = at + len(key) + 2
    end = data.find(b"\n", start)
    words = data[start : end if end >= 0 else None].split()
    return int(words[0]) if words else None


def parse_status(data: bytes) -> ProcStatus:
    """Parse ``/proc/PID/status``."""
    return ProcStatus(
        uid=status_field(data, b"Uid"),
        gid=status_field(data, b"Gid"),
        rss_kb=status_field(data, b"VmRSS"),
        swap_kb=status_field(data, b"VmSwap"),
        threads=status_field(data, b"Threads"),
    )


@dataclass(frozen=True, slots=True)
class Mapping:
    """One line of ``/proc/PID/maps``."""

    start: int
    end: int
    perms: str  # "rw-p"
    offset: int
    inode: int
    path: str  # "" for anonymous memory, "[heap]", "/usr/lib/libc.so.6"


def parse_maps_line(line: str) -> Mapping:
    """Parse one ``maps`` line.

    >>> m = parse_maps_line("7f00-7f10 rw-p 00001000 08:01 1234   /usr/lib/x.so")
    >>> (hex(m.start), m.end - m.start, m.perms, m.offset, m.path)
    ('0x7f00', 16, 'rw-p', 4096, '/usr/lib/x.so')
    """
    parts = line.split(maxsplit=5)
    start, _, end = parts[0].partition("-")
    return Mapping(
        start=int(start, 16),
        end=int(end, 16),
        perms=parts[1],
        offset=int(parts[2], 16),
        inode=int(parts[4]),
        path=parts[5].strip() if len(parts) > 5 else "",
    )


class MeminfoLine(NamedTuple):
    """One ``Key: value [kB]`` line of ``meminfo``."""

    key: str
    value: int  # as written: KB when ``unit`` is "kB", a count otherwise
    unit: str | None

    @property
    def bytes(self) -> int:
        """The value in bytes for a ``kB`` line; a count (``HugePages_Total``) as is."""
        return self.value * 1024 if self.unit == "kB" else self.value


# at most 18 digits: no meminfo value comes near 10**18 KB, and int() of a huge one is slow
_MEMINFO_LINE = re.compile(
    r"\s*([A-Za-z_][A-Za-z0-9_()]*)\s*:\s*([0-9]{1,18})(?:\s*(kB))?\s*", re.A
)


def meminfo_line(text: str) -> MeminfoLine | None:
    """One line of ``meminfo``, or None if it is not ``Key: value [kB]``.

    Every kernel from 2.4 on prints these lines (2.4 prints a byte table before them).

    >>> meminfo_line("SwapTotal:      554168 kB"), meminfo_line("Mem:  1 2 3")
    (MeminfoLine(key='SwapTotal', value=554168, unit='kB'), None)
    """
    match = _MEMINFO_LINE.fullmatch(text)
    if match is None:
        return None
    key, number, unit = match.groups()
    return MeminfoLine(key, int(number), unit)


def parse_meminfo(text: str) -> dict[str, int]:
    """Every ``Key: value [kB]`` line of ``meminfo``, in bytes (counts as they are).

    Lines of another form are left out; of a key written twice, the first is kept.
    """
    values: dict[str, int] = {}
    for line in text.splitlines():
        parsed = meminfo_line(line)
        if parsed is not None and parsed.key not in values:
            values[parsed.key] = parsed.bytes
    return values
