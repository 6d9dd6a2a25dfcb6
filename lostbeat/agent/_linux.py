"""The one module of the agent that touches ``/proc`` and makes raw system calls.

Everything else in :mod:`lostbeat.agent` goes through :class:`Procfs` (whose root is
injectable, so tests build a fake ``/proc`` in a temporary directory) or through the few
syscall wrappers below. OS errors are translated here, at one boundary: a process that
vanished raises :class:`~lostbeat.errors.ProcessGone`, a refusal raises
:class:`~lostbeat.errors.AccessDenied`.

Standard library only: the monitor that uses this module must keep working when the host
is out of memory.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import mmap
import os
import signal
import socket
import struct
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from lostbeat.errors import AccessDenied, AgentError, ProcessGone

PAGE_SIZE = mmap.PAGESIZE
_MCL_CURRENT = 1
_MCL_FUTURE = 2
_PR_SET_NAME = 15
_READ_LIMIT = 1 << 20  # no /proc text file the agent reads is larger than this


@dataclass(frozen=True, slots=True)
class PeerCred:
    """Who is at the other end of a UNIX socket, as the kernel vouches (SO_PEERCRED)."""

    pid: int
    uid: int
    gid: int


@dataclass(frozen=True, slots=True)
class ProcStat:
    """The fields of ``/proc/PID/stat`` (or ``task/TID/stat``) that the agent uses."""

    pid: int
    comm: str
    state: str  # one letter: R S D T t Z X I
    ppid: int
    pgrp: int
    session: int
    starttime: int  # clock ticks after boot; with the pid, identifies a process
    processor: int | None  # the CPU it last ran on
    utime: int
    stime: int


@dataclass(frozen=True, slots=True)
class ProcStatus:
    """Owner and memory of a process from ``/proc/PID/status``; None where none is shown."""

    uid: int | None
    gid: int | None
    rss_kb: int | None
    swap_kb: int | None
    threads: int | None


@dataclass(frozen=True, slots=True)
class Mapping:
    """One line of ``/proc/PID/maps``."""

    start: int
    end: int
    perms: str  # "rw-p"
    offset: int
    inode: int
    path: str  # "" for anonymous memory, "[heap]", "/usr/lib/libc.so.6"


def parse_stat(text: str) -> ProcStat:
    """Parse one ``stat`` line; the command name may hold spaces and parentheses.

    >>> s = parse_stat("42 (my (odd) name) S 1 42 42 0 -1 0 0 0 0 0 7 3 0 0 20 0 1 0 999 "
    ...                + "0 " * 16 + "1 0 0")
    >>> (s.pid, s.comm, s.state, s.starttime, s.processor, s.utime)
    (42, 'my (odd) name', 'S', 999, 1, 7)
    """
    open_at, close_at = text.index("("), text.rindex(")")
    rest = text[close_at + 2 :].split()
    # rest[0] is field 3 (state); field N is rest[N - 3]
    processor = int(rest[36]) if len(rest) > 36 else None
    return ProcStat(
        pid=int(text[:open_at]),
        comm=text[open_at + 1 : close_at],
        state=rest[0],
        ppid=int(rest[1]),
        pgrp=int(rest[2]),
        session=int(rest[3]),
        starttime=int(rest[19]),
        processor=processor,
        utime=int(rest[11]),
        stime=int(rest[12]),
    )


def parse_status(text: str) -> ProcStatus:
    """Parse ``/proc/PID/status``: kernel threads have no ``VmRSS`` line, so None.

    >>> m = parse_status("Name:\\tx\\nUid:\\t1000\\t1000\\t1000\\t1000\\nVmRSS:\\t   512 kB\\n")
    >>> (m.uid, m.rss_kb, m.swap_kb)
    (1000, 512, None)
    """
    text = "\n" + text  # every key now follows a newline; the monitor reads this often

    def first(key: str) -> int | None:
        at = text.find(f"\n{key}:")
        if at < 0:
            return None
        end = text.find("\n", at + 1)
        words = text[at + len(key) + 2 : end if end >= 0 else None].split()
        return int(words[0]) if words else None

    return ProcStatus(
        uid=first("Uid"),
        gid=first("Gid"),
        rss_kb=first("VmRSS"),
        swap_kb=first("VmSwap"),
        threads=first("Threads"),
    )


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


class Procfs:
    """Read-only access to a procfs tree.

    Args:
        root: where procfs is mounted; tests pass a directory they built.
    """

    def __init__(self, root: Path = Path("/proc")) -> None:
        self.root = root
        self._prefix = str(root).rstrip("/") + "/"

    def path(self, pid: int | str, name: str) -> Path:
        """The path of one file of a process (``pid`` may be ``"self"``)."""
        return Path(f"{self._prefix}{pid}/{name}")

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
            chunks: list[bytes] = []
            size = 0
            while size < limit:
                chunk = os.read(fd, min(65536, limit - size))
                if not chunk:
                    break
                chunks.append(chunk)
                size += len(chunk)
            return b"".join(chunks)
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

    def read_system(self, name: str) -> str | None:
        """Read a system-wide file such as ``meminfo`` or ``pressure/memory``; None if absent."""
        try:
            return (self.root / name).read_text(encoding="utf-8", errors="replace")
        except OSError:
            return None

    def pids(self) -> list[int]:
        """Every process id, sorted."""
        return sorted(int(e.name) for e in os.scandir(self.root) if e.name.isdigit())

    def tids(self, pid: int) -> list[int]:
        """The thread ids of a process (empty if it is gone)."""
        try:
            return sorted(int(e.name) for e in os.scandir(self.path(pid, "task")))
        except OSError:
            return []

    def stat(self, pid: int) -> ProcStat:
        """Parse ``/proc/PID/stat``."""
        return parse_stat(self.read_text(pid, "stat"))

    def thread_stat(self, pid: int, tid: int) -> ProcStat:
        """Parse ``/proc/PID/task/TID/stat``."""
        return parse_stat(self.read_text(pid, f"task/{tid}/stat"))

    def status(self, pid: int) -> ProcStatus:
        """Parse ``/proc/PID/status``."""
        return parse_status(self.read_text(pid, "status"))

    def maps(self, pid: int) -> list[Mapping]:
        """Parse ``/proc/PID/maps``."""
        text = self.read_text(pid, "maps")
        return [parse_maps_line(line) for line in text.splitlines() if line.strip()]

    def cmdline(self, pid: int) -> str:
        """The command line, arguments joined by spaces."""
        return self.read_bytes(pid, "cmdline").replace(b"\0", b" ").decode("utf-8", "replace")

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


def _as_pid(pid: int | str) -> int:
    return pid if isinstance(pid, int) else os.getpid()


def read_mem_into(fd: int, buffer: memoryview, address: int) -> int:
    """Read process memory at ``address`` into ``buffer``; returns the bytes read.

    Raises:
        OSError: EIO for a page the kernel cannot show (for example one it could only
            fault in by charging a cgroup that is out of memory).
    """
    return os.preadv(fd, [buffer], address)


def peer_credentials(sock: socket.socket) -> PeerCred:
    """The pid, uid and gid the kernel recorded for a connected UNIX socket peer."""
    raw = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    pid, uid, gid = struct.unpack("3i", raw)
    return PeerCred(pid=pid, uid=uid, gid=gid)


def touch_page() -> None:
    """Map one private anonymous page, write to it, and unmap it.

    The write faults the page in, so the kernel must find a free page (and charge the
    caller's memory cgroup) before this returns; a task whose cgroup is out of memory with
    the OOM killer disabled sleeps here, as ``vmnixhbd`` did in ``alloc_pages``.
    """
    page = mmap.mmap(-1, PAGE_SIZE, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
    try:
        page[0] = 1
    finally:
        page.close()


def kill_process(pid: int, starttime: int | None, *, procfs: Procfs) -> bool:
    """SIGKILL a process if it is still the one started at ``starttime``; True if sent."""
    if not procfs.is_alive(pid, starttime):
        return False
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        return False
    return True


def set_comm(name: str) -> None:
    """Set this thread's command name (``comm``, at most 15 bytes), as alert lines show it."""
    _libc().prctl(_PR_SET_NAME, ctypes.c_char_p(name.encode("utf-8")[:15]), 0, 0, 0)


def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)


def mlockall() -> None:
    """Lock every current and future page of this process in memory.

    Raises:
        AgentError: the kernel refused (no CAP_IPC_LOCK and RLIMIT_MEMLOCK too small).
    """
    if _libc().mlockall(_MCL_CURRENT | _MCL_FUTURE) != 0:
        code = ctypes.get_errno()
        raise AgentError(f"mlockall: {os.strerror(code)}")


def set_oom_score_adj(value: int, *, procfs: Procfs) -> int:
    """Write this process's ``oom_score_adj`` and return the value the kernel now shows.

    Raises:
        AgentError: the write was refused (lowering it needs CAP_SYS_RESOURCE).
    """
    path = procfs.path("self", "oom_score_adj")
    try:
        path.write_text(f"{value}\n", encoding="ascii")
        return int(path.read_text(encoding="ascii"))
    except OSError as err:
        raise AgentError(f"{path}: {err.strerror}") from err


_sched_getcpu: list[Callable[[], int]] = []


def current_cpu() -> int | None:
    """The CPU this thread runs on now (``sched_getcpu``), None if unknown."""
    if not _sched_getcpu:
        _sched_getcpu.append(_libc().sched_getcpu)
    cpu = int(_sched_getcpu[0]())
    return cpu if cpu >= 0 else None


def boottime() -> float:
    """Seconds since boot, counting suspend (``CLOCK_BOOTTIME``): the uptime of alert lines."""
    return time.clock_gettime(time.CLOCK_BOOTTIME)


def fsync_dir(path: Path) -> None:
    """Flush a directory's entries to disk, so a new file's name survives a crash."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_private(path: Path, data: bytes | str) -> int:
    """Create ``path`` (mode 0600, never through a symlink), write, fsync; return the size."""
    raw = data.encode("utf-8") if isinstance(data, str) else data
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
    fd = os.open(path, flags, 0o600)
    try:
        view = memoryview(raw)
        while view:
            view = view[os.write(fd, view) :]
        os.fsync(fd)
    except OSError:
        # a full disk: leave no partial file behind, and give its space back to the
        # manifest that says what the capture holds
        os.close(fd)
        path.unlink(missing_ok=True)
        raise
    else:
        os.close(fd)
    return len(raw)


def make_private_dir(path: Path) -> None:
    """Create a directory with mode 0700 whatever the umask (it may already exist)."""
    path.mkdir(mode=0o700, parents=False, exist_ok=True)
    os.chmod(path, 0o700)
