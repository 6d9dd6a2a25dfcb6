"""The one module of the agent that makes raw system calls.

Everything else in :mod:`lostbeat.agent` reads ``/proc`` through
:class:`lostbeat.procfs.Procfs` (whose root is injectable, so tests build a fake ``/proc``
in a temporary directory) and calls the kernel through the few wrappers below. OS errors
are translated at those two boundaries.

Standard library only: the monitor that uses this module must keep working when the host
is out of memory.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import mmap
import os
import signal
import socket
import struct
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from lostbeat.errors import AgentError
from lostbeat.procfs import Procfs

PAGE_SIZE = mmap.PAGESIZE
_MCL_CURRENT = 1
_MCL_FUTURE = 2
_PR_SET_NAME = 15


@dataclass(frozen=True, slots=True)
class PeerCred:
    """Who is at the other end of a UNIX socket, as the kernel vouches (SO_PEERCRED)."""

    pid: int
    uid: int
    gid: int


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
