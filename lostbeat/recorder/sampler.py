"""One sample of every process's memory: raw counters in, a :class:`Snapshot` out.

Each sample reads ``/proc/PID/stat`` (RSS, size, threads, CPU ticks, state) of every user
process, and ``VmSwap`` from ``/proc/PID/status`` when the host has swap configured (on a
host without swap a process's swap is exactly 0, and the read is saved), again only for a
process whose ``stat`` changed: a page going out or coming in moves the resident count it
shows. A process is
known by its pid and start time, so a reused pid is a new process. Its owner is read the
first time it is seen; its command line and cgroup then, and again whenever its name
(``comm``, which ``exec`` and ``prctl(PR_SET_NAME)`` change at once, linux-mechanisms.md,
VERIFIED) or the start of its stack (which ``exec`` moves, ``stat`` field 28) changes, and
once an hour besides (a program may rewrite its command line in place, as
``setproctitle`` does): names stay true without a read per process per sample.

Examples:
    >>> import pathlib, tempfile
    >>> from lostbeat.procfs import PAGE_KB
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (root / "stat").write_text("cpu 0\\nbtime 1700000000\\n")
    >>> _ = (root / "meminfo").write_text("MemTotal: 1000 kB\\nSwapTotal: 0 kB\\nSwapFree: 0 kB\\n")
    >>> (root / "7").mkdir()
    >>> _ = (root / "7" / "stat").write_text(
    ...     "7 (leaky) S 1 7 7 0 -1 0 0 0 0 0 5 5 0 0 20 0 1 0 250 8192000 100 0")
    >>> _ = (root / "7" / "cmdline").write_bytes(b"leaky\\0--fast\\0")
    >>> snap = Sampler(Procfs(root), clock=lambda: 1700000100.0).sample()
    >>> identity, sample = snap.procs[0]
    >>> identity.key.cmdline, identity.key.start, sample.rss_kb == 100 * PAGE_KB
    ('leaky --fast', 1700000002.5, True)
    >>> sample.swap_kb, snap.system.mem_total
    (0, 1024000)
    >>> cgroup_path("12:memory:/db\\n1:name=systemd:/system.slice/db.service\\n0::/\\n")
    '/system.slice/db.service'
    >>> cgroup_path("4:memory:/lostbeat-oom\\n1:name=systemd:/\\n0::/\\n")
    '/lostbeat-oom'
    >>> cgroup_path("0::/system.slice/db.service\\n")
    '/system.slice/db.service'
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace
from typing import TypeVar

from lostbeat.errors import AgentError
from lostbeat.procfs import Procfs, ProcStat
from lostbeat.recording.schema import Identity, ProcessKey, ProcSample, Snapshot, SystemSample

__all__ = ["REFRESH_S", "Sampler", "cgroup_path", "quietly", "system_sample"]

REFRESH_S = 3600.0
"""How often every process's command line and cgroup are read again, whatever else."""

T = TypeVar("T")


def quietly(read: Callable[[int], T], pid: int) -> T | None:
    """What ``read`` finds of a process, or None if it ended (or hides) meanwhile."""
    try:
        return read(pid)
    except AgentError:
        return None


def cgroup_path(text: str) -> str | None:
    """The cgroup that names a process's service, from ``/proc/PID/cgroup``: the first that
    is not the root of the unified hierarchy (v2), systemd's own (v1) and the memory
    controller's (v1), in that order (as the analyzer reads a captured ``cgroup`` file);
    ``/`` when all are the root, None when the text has none of them."""
    paths: dict[str, str] = {}
    for line in text.splitlines():
        controllers, _, path = line.partition(":")[2].partition(":")
        for name in controllers.split(","):
            paths.setdefault(name, path)
    found = [paths[k] for k in ("", "name=systemd", "memory") if k in paths]
    return next((p for p in found if p != "/"), found[0] if found else None)


def system_sample(meminfo: dict[str, int]) -> SystemSample:
    """Memory and swap in bytes from parsed ``meminfo``; a line it lacks gives ``None``."""
    total, free = meminfo.get("SwapTotal"), meminfo.get("SwapFree")
    return SystemSample(
        mem_total=meminfo.get("MemTotal"),
        mem_available=meminfo.get("MemAvailable"),
        swap_total=total,
        swap_used=None if total is None or free is None else total - free,
    )


_Row = tuple[Identity, ProcSample]
_Known = tuple[Identity, ProcStat, int | None, _Row, float]


def _proc_sample(stat: ProcStat, swap_kb: int | None) -> ProcSample:
    return ProcSample(
        rss_kb=stat.rss_kb,
        swap_kb=swap_kb,
        vsz_kb=stat.vsz_kb,
        threads=stat.threads,
        cpu_ticks=stat.cpu_ticks,
        state=stat.state,
    )


class Sampler:
    """Takes snapshots of one host's processes."""

    def __init__(
        self,
        procfs: Procfs | None = None,
        *,
        clock: Callable[[], float] = time.time,
        read_swap: bool | None = None,
    ) -> None:
        """
        Args:
            procfs: where to read; the real ``/proc`` by default.
            clock: wall clock for the sample times.
            read_swap: read each process's swap; ``None`` reads it only when the host
                has swap configured (``SwapTotal`` above 0, or unknown).

        Raises:
            AgentError: ``/proc/stat`` has no ``btime`` (not a procfs).
        """
        self.procfs = procfs or Procfs()
        self._clock = clock
        self._read_swap = read_swap
        boot = self.procfs.boot_time()
        if boot is None:
            raise AgentError(f"{self.procfs.root}/stat: expected a 'btime' line (is it procfs?)")
        self.boot_time = boot
        # each process seen last time: its identity, stat, swap and snapshot row, and when
        # its names and cgroup were read
        self._known: dict[tuple[int, int], _Known] = {}

    def sample(self) -> Snapshot:
        procfs = self.procfs
        ts = self._clock()
        system = system_sample(procfs.meminfo())
        no_swap = system.swap_total == 0
        read_swap = self._read_swap if self._read_swap is not None else not no_swap
        known: dict[tuple[int, int], _Known] = self._known
        seen: dict[tuple[int, int], _Known] = {}
        boot, hz = self.boot_time, procfs.clock_ticks
        rows: list[_Row] = []
        for proc in procfs.scan(read_swap=read_swap):
            stat = proc.stat
            ref = (proc.pid, stat.starttime)
            # Without swap configured a process's swap is known to be 0, not unknown.
            swap = proc.swap_kb if read_swap else (0 if no_swap else None)
            last = known.get(ref)
            if last is not None:
                identity, last_stat, last_swap, row, read_at = last
                # the scan gives the same stat object for a stat file that did not change:
                # then so is the sample, and the row of the last snapshot serves again
                stale = last_stat is not stat or last_swap != swap
                renamed = stat.comm != last_stat.comm or stat.startstack != last_stat.startstack
                if (
                    stat.state != "Z" and stat.startstack and (renamed or ts - read_at >= REFRESH_S)
                ):  # (a zombie, or a process exiting, has no stack nor command line left to read)
                    fresh, read_at = self._refresh(identity, stat.comm), ts
                    stale, identity = stale or fresh is not identity, fresh
                if stale:
                    row = (identity, _proc_sample(stat, swap))
            else:
                key = ProcessKey(
                    name=stat.comm,
                    cmdline=quietly(procfs.cmdline, proc.pid) or "",
                    pid=proc.pid,
                    start=round(boot + stat.starttime / hz, 2),
                )
                cgroup = quietly(self._cgroup, proc.pid)
                identity = Identity(key, stat.ppid, quietly(procfs.uid, proc.pid), cgroup)
                row, read_at = (identity, _proc_sample(stat, swap)), ts
            seen[ref] = (identity, stat, swap, row, read_at)
            rows.append(row)
        self._known = seen
        return Snapshot(ts=ts, boot_time=boot, system=system, procs=tuple(rows))

    def _cgroup(self, pid: int) -> str | None:
        return cgroup_path(self.procfs.read_text(pid, "cgroup"))

    def _refresh(self, identity: Identity, comm: str) -> Identity:
        """The identity with the name, command line and cgroup the process has now (the
        same object when none changed, so the store writes nothing)."""
        pid = identity.key.pid
        cmdline = quietly(self.procfs.cmdline, pid)
        cgroup = quietly(self._cgroup, pid)
        key = replace(identity.key, name=comm, cmdline=cmdline or identity.key.cmdline)
        fresh = replace(identity, key=key, cgroup=identity.cgroup if cgroup is None else cgroup)
        return identity if fresh == identity else fresh
