"""The one reader of a procfs tree, for the monitor, the recorder and the simulator.

The root is injectable, so tests build a fake ``/proc`` in a temporary folder (below's
``new_with_custom_procfs``). Files are read with raw ``os.open``/``os.read``, at most a bound
of bytes each: the cheapest way to see every process, cheaper than ``top -b`` (see
docs/benchmarks.md), and safe in a monitor that must keep working when the host is out of
memory.

A read of one process's file translates OS errors at this boundary: a process that vanished
raises :class:`~lostbeat.errors.ProcessGone`, a refusal
:class:`~lostbeat.errors.AccessDenied`. A system-wide file (``meminfo``, ``stat``) that cannot
be read gives None. :meth:`Procfs.scan` reads every user process at once and skips, without
noise, a process that ends while it is read and kernel threads (no memory of their own).

On the real ``/proc``, :meth:`Procfs.scan` keeps each process's ``stat`` (and ``status``)
open between scans and reads it again with ``pread``: half the system calls, and no path
lookup, for the same text (a held file of a process that ended reads ``ESRCH``, never a
later process's data, so a pid taken again is opened afresh). A process whose ``stat`` did
not change since the last scan, as most do between two samples, is not parsed again. At
most :data:`HELD_MAX` files are held, and never more than a quarter of the soft limit on
open files; :meth:`Procfs.close` (or the collection of the reader) closes them.
"""

from __future__ import annotations

import errno
import os
import resource
import weakref
from collections.abc import Container
from pathlib import Path
from typing import NamedTuple

from lostbeat.errors import AccessDenied, AgentError, ProcessGone
from lostbeat.procfs.formats import (
    Mapping,
    ProcStat,
    ProcStatus,
    parse_maps_line,
    parse_meminfo,
    parse_stat,
    parse_status,
    status_field,
)

__all__ = ["HELD_MAX", "Procfs", "RawProc"]

_READ_LIMIT = 1 << 20  # no /proc text file lostbeat reads is larger than this
_CMDLINE_LIMIT = 1 << 16
_STAT_LIMIT = 4096  # a stat line is under 1 KiB even with a 64-character name
_STATUS_LIMIT = 16384
HELD_MAX = 4096
"""Files :meth:`Procfs.scan` keeps open between scans, at most (two per process with the
swap read): about 5 KB of kernel memory each."""


class RawProc(NamedTuple):
    """One process as :meth:`Procfs.scan` read it: ``stat``, plus ``VmSwap`` when asked for."""

    pid: int
    stat: ProcStat
    swap_kb: int | None


class Procfs:
    """Read-only access to a procfs tree.

    Args:
        root: where procfs is mounted; tests pass a folder they built.
    """

    def __init__(self, root: Path = Path("/proc")) -> None:
        self.root = root
        self._prefix = str(root).rstrip("/") + "/"
        self._root = os.fsencode(root)
        self.clock_ticks = os.sysconf("SC_CLK_TCK")
        # only a real procfs: a file of a test's folder may be replaced, not rewritten
        self._hold = _hold_budget() if os.path.realpath(root) == "/proc" else 0
        self._held: dict[bytes, int] = {}  # b"<pid>/stat" -> open descriptor
        # pid -> its last stat text, and what was made of it (None: a kernel thread)
        self._parsed: dict[bytes, tuple[bytes, RawProc | None]] = {}
        self._closer = weakref.finalize(self, _close_all, self._held)

    def close(self) -> None:
        """Close the files :meth:`scan` holds open (it opens them again if called again)."""
        self._closer()
        self._closer = weakref.finalize(self, _close_all, self._held)

    def path(self, pid: int | str, name: str) -> Path:
        """The path of one file of a process (``pid`` may be ``"self"``)."""
        return Path(f"{self._prefix}{pid}/{name}")

    # -- one process ------------------------------------------------------------------

    def read_bytes(self, pid: int | str, name: str, *, limit: int = _READ_LIMIT) -> bytes:
        """Read one file of a process, at most ``limit`` bytes.

        Raises:
            ProcessGone: the process does not exist (any more).
            AccessDenied: the kernel refused.
        """
        try:
            fd = os.open(f"{self._prefix}{pid}/{name}", os.O_RDONLY | os.O_CLOEXEC)
        except (FileNotFoundError, ProcessLookupError) as err:
            raise ProcessGone(_as_pid(pid)) from err
        except PermissionError as err:
            raise AccessDenied(_as_pid(pid), name) from err
        try:
            return _read_fd(fd, limit)
        except ProcessLookupError as err:
            raise ProcessGone(_as_pid(pid)) from err
        except PermissionError as err:
            raise AccessDenied(_as_pid(pid), name) from err
        except OSError as err:
            if err.errno == errno.ESRCH:
                raise ProcessGone(_as_pid(pid)) from err
            raise AgentError(f"{self.path(pid, name)}: {err.strerror}") from err
        finally:
            os.close(fd)

    def read_text(self, pid: int | str, name: str) -> str:
        """Read one file of a process as text (undecodable bytes replaced)."""
        return self.read_bytes(pid, name).decode("utf-8", "replace")

    def stat(self, pid: int) -> ProcStat:
        """Parse ``/proc/PID/stat``."""
        return parse_stat(self.read_bytes(pid, "stat"))

    def thread_stat(self, pid: int, tid: int) -> ProcStat:
        """Parse ``/proc/PID/task/TID/stat``."""
        return parse_stat(self.read_bytes(pid, f"task/{tid}/stat"))

    def status(self, pid: int) -> ProcStatus:
        """Parse ``/proc/PID/status``."""
        return parse_status(self.read_bytes(pid, "status"))

    def maps(self, pid: int) -> list[Mapping]:
        """Parse ``/proc/PID/maps``."""
        text = self.read_text(pid, "maps")
        return [parse_maps_line(line) for line in text.splitlines() if line.strip()]

    def cmdline(self, pid: int) -> str:
        """The command line, arguments joined by spaces ("" for a kernel thread)."""
        data = self.read_bytes(pid, "cmdline", limit=_CMDLINE_LIMIT)
        return data.rstrip(b"\0").replace(b"\0", b" ").decode("utf-8", "replace")

    def uid(self, pid: int) -> int:
        """The owner of a process (of its ``/proc/PID`` folder)."""
        try:
            return os.stat(self.path(pid, "")).st_uid
        except OSError as err:
            raise ProcessGone(pid) from err

    def tids(self, pid: int) -> list[int]:
        """The thread ids of a process (empty if it is gone)."""
        try:
            return sorted(int(e.name) for e in os.scandir(self.path(pid, "task")))
        except OSError:
            return []

    def user_pc_sp(self, pid: int, tid: int) -> tuple[int, int] | None:
        """User stack and instruction pointers of a blocked thread, from ``syscall``.

        The kernel shows them even for a task hung in a page fault (the line then starts
        with ``-1``), seen on a cgroup-v1 OOM hang; None for a running thread.
        """
        try:
            fields = self.read_text(pid, f"task/{tid}/syscall").split()
        except AgentError:
            return None
        if len(fields) < 3 or fields[0] == "running":
            return None
        return int(fields[-1], 16), int(fields[-2], 16)

    def is_alive(self, pid: int, starttime: int | None) -> bool:
        """True while the process exists, is not a zombie, and is the same process."""
        try:
            stat = self.stat(pid)
        except AgentError:
            return False
        if stat.state in ("Z", "X"):
            return False
        return starttime is None or stat.starttime == starttime

    def open_mem(self, pid: int) -> int:
        """Open ``/proc/PID/mem`` for reading; the caller closes the descriptor."""
        try:
            return os.open(self.path(pid, "mem"), os.O_RDONLY | os.O_CLOEXEC)
        except (FileNotFoundError, ProcessLookupError) as err:
            raise ProcessGone(pid) from err
        except PermissionError as err:
            raise AccessDenied(pid, "mem") from err

    # -- every process ----------------------------------------------------------------

    def pids(self) -> list[int]:
        """Every process id, sorted."""
        return sorted(int(e.name) for e in os.scandir(self.root) if e.name.isdigit())

    def scan(self, *, read_swap: bool) -> list[RawProc]:
        """Every user process now, in the order of the directory listing."""
        found: list[RawProc] = []
        parsed, seen = self._parsed, {}
        for entry in os.listdir(self._root):
            if not entry.isdigit():
                continue
            try:
                data = self._read_held(entry, b"/stat", _STAT_LIMIT)
                last = parsed.get(entry)
                if last is not None and last[0] == data:
                    raw = last[1]  # not changed since the last scan: parsed then
                else:
                    stat = parse_stat(data)
                    raw = None if stat.kthread else RawProc(stat.pid, stat, None)
            except (OSError, ValueError, IndexError):
                continue  # ended while we looked, or not a process folder
            # A process's swap changes only as pages go out or come in, and each moves its
            # resident count (and a swap-in its fault count) in ``stat``: with ``stat`` the
            # same bytes, the swap read last time stands, and ``status`` (dearer for the
            # kernel to build than ``stat``) is not read again.
            if raw is not None and read_swap and raw.swap_kb is None:  # new, changed or unread
                try:
                    status = self._read_held(entry, b"/status", _STATUS_LIMIT)
                    raw = raw._replace(swap_kb=status_field(status, b"VmSwap"))
                except (OSError, ValueError):
                    continue
            seen[entry] = (data, raw)
            if raw is not None:  # else a kernel thread
                found.append(
                    raw if read_swap or raw.swap_kb is None else raw._replace(swap_kb=None)
                )
        self._parsed = seen
        if self._held:
            self._release(seen)
        return found

    def _read_held(self, entry: bytes, name: bytes, limit: int) -> bytes:
        """One file of a process, from the descriptor held open for it when there is one.

        Raises:
            OSError: the process ended (``ESRCH``, ``ENOENT``), or the file cannot be read.
        """
        key = entry + name
        held = self._held
        fd = held.get(key)
        if fd is not None:
            try:
                return os.pread(fd, limit, 0)
            except OSError:  # that process ended; the pid may be another's by now
                del held[key]
                os.close(fd)
        fd = os.open(self._root + b"/" + key, os.O_RDONLY | os.O_CLOEXEC)
        try:
            data = os.pread(fd, limit, 0)
        except BaseException:
            os.close(fd)
            raise
        if len(held) < self._hold:
            held[key] = fd
        else:
            os.close(fd)
        return data

    def _release(self, seen: Container[bytes]) -> None:
        """Close the held files of the processes the last scan did not find."""
        held = self._held
        for key in [k for k in held if k[: k.index(b"/")] not in seen]:
            os.close(held.pop(key))

    # -- the system -------------------------------------------------------------------

    def read_system(self, name: str, *, limit: int = _READ_LIMIT) -> str | None:
        """Read a system-wide file such as ``meminfo`` or ``pressure/memory``; None if absent."""
        try:
            fd = os.open(f"{self._prefix}{name}", os.O_RDONLY | os.O_CLOEXEC)
        except OSError:
            return None
        try:
            return _read_fd(fd, limit).decode("utf-8", "replace")
        except OSError:
            return None
        finally:
            os.close(fd)

    def meminfo(self) -> dict[str, int]:
        """``meminfo`` in bytes (:func:`~lostbeat.procfs.formats.parse_meminfo`); {} if unread."""
        return parse_meminfo(self.read_system("meminfo") or "")

    def boot_time(self) -> float | None:
        """``btime`` of ``/proc/stat``: the epoch of the boot."""
        for line in (self.read_system("stat") or "").splitlines():
            if line.startswith("btime "):
                return float(line.split()[1])
        return None

    def boot_id(self) -> str | None:
        return _stripped(self.read_system("sys/kernel/random/boot_id"))

    def uptime(self) -> float | None:
        text = self.read_system("uptime")
        try:
            return float(text.split()[0]) if text else None
        except ValueError:
            return None

    def kernel_release(self) -> str | None:
        return _stripped(self.read_system("sys/kernel/osrelease"))


def _hold_budget() -> int:
    """How many files :meth:`Procfs.scan` may hold: :data:`HELD_MAX`, and a quarter of the
    soft limit on open files (1,024 by default: 256), so that the process keeps the rest."""
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    return HELD_MAX if soft == resource.RLIM_INFINITY else min(HELD_MAX, soft // 4)


def _close_all(held: dict[bytes, int]) -> None:
    for fd in held.values():
        os.close(fd)
    held.clear()


def _read_fd(fd: int, limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while size < limit:
        chunk = os.read(fd, min(65536, limit - size))
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)


def _stripped(text: str | None) -> str | None:
    return text.strip() if text else None


def _as_pid(pid: int | str) -> int:
    return pid if isinstance(pid, int) else os.getpid()
