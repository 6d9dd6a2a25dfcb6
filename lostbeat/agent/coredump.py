"""Core dumps of the top consumers, by a route that works for the state each one is in.

Two routes, tried in order, each bounded in time:

``gcore``
    gdb attaches, dumps with registers, detaches. Works for running, sleeping and stopped
    processes. Not tried for a process in state D: a debugger cannot stop a task hung in the
    kernel (linux-mechanisms.md, VERIFIED: ``gcore`` did not finish in 15 s).
``procmem``
    Reads ``/proc/PID/maps`` and ``/proc/PID/mem`` and writes an ELF core itself
    (:mod:`lostbeat.agent.elfcore`), without stopping the process; works for a task in
    state D (VERIFIED here under a cgroup-v1 OOM). It holds memory and the pc and sp of
    each thread, not the other registers. A page the kernel will not show (one that could
    only be faulted in by charging a cgroup that is out of memory) is left as zeros and
    counted in ``unreadable_bytes``.

Every attempt is recorded, with why it failed, in the capture's manifest.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from lostbeat.agent import elfcore
from lostbeat.agent._linux import PAGE_SIZE, read_mem_into
from lostbeat.agent.bounded import BoundedRunner, StepStatus
from lostbeat.procfs import Procfs

BUFFER_SIZE = 1 << 20
_MAX_THREADS = 4096
_MAX_SEGMENTS = 65000  # e_phnum is 16 bits


class CoreRoute(StrEnum):
    GCORE = "gcore"
    PROCMEM = "procmem"


@dataclass(frozen=True, slots=True)
class CoreAttempt:
    """One try at dumping one process."""

    pid: int
    route: CoreRoute
    status: StepStatus
    reason: str
    path: str | None  # relative to the capture folder
    size: int | None
    seconds: float
    unreadable_bytes: int | None = None
    left_out_bytes: int | None = None  # beyond --core-limit


def core_name(comm: str, pid: int) -> str:
    """A safe file name for a core.

    >>> core_name("kworker/0:1 x", 7)
    'core.kworker_0_1_x.7'
    """
    return f"core.{re.sub(r'[^A-Za-z0-9._-]', '_', comm)[:32]}.{pid}"


class CoreDumper:
    """Dumps processes into a capture's ``cores/`` folder.

    Args:
        procfs: where to read processes.
        runner: bounds each attempt in time.
        limit: most bytes of memory one core may hold.
        timeout: seconds per attempt.
        gcore: the gcore program, None to use only the procmem route.
        no_gcore: why there is no gcore program (recorded in the attempt).
        keepalive: called about once a second during long waits (the systemd watchdog).
    """

    def __init__(
        self,
        procfs: Procfs,
        runner: BoundedRunner,
        *,
        limit: int,
        timeout: float,
        gcore: str | None = shutil.which("gcore"),
        keepalive: Callable[[], None] | None = None,
        no_gcore: str = "gcore (gdb) is not installed",
    ) -> None:
        self._no_gcore = no_gcore
        self._keepalive = keepalive
        self._procfs = procfs
        self._runner = runner
        self._limit = limit
        self._timeout = timeout
        self._gcore = gcore
        self._buffer = bytearray(BUFFER_SIZE)  # allocated (and locked) before any trouble

    def dump(self, pid: int, *, comm: str, state: str, folder: Path, rel: str) -> list[CoreAttempt]:
        """Try the routes in order until one succeeds; returns every attempt."""
        name = core_name(comm, pid)
        attempts: list[CoreAttempt] = []
        if state == "D":
            why = "process is in state D (hung in the kernel): a debugger cannot stop it"
            attempts.append(
                CoreAttempt(pid, CoreRoute.GCORE, StepStatus.SKIPPED, why, None, None, 0)
            )
        elif self._gcore is None:
            why = self._no_gcore
            attempts.append(
                CoreAttempt(pid, CoreRoute.GCORE, StepStatus.SKIPPED, why, None, None, 0)
            )
        else:
            attempts.append(self._via_gcore(pid, folder, name, rel))
            if attempts[-1].status is StepStatus.OK:
                return attempts
        attempts.append(self._via_procmem(pid, folder / name, f"{rel}/{name}"))
        return attempts

    def _via_gcore(self, pid: int, folder: Path, name: str, rel: str) -> CoreAttempt:
        assert self._gcore is not None
        started = time.monotonic()
        prefix = folder / name.rsplit(".", 1)[0]
        produced = Path(f"{prefix}.{pid}")
        try:
            proc = subprocess.Popen(
                [self._gcore, "-o", str(prefix), str(pid)],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                start_new_session=True,
            )
        except OSError as error:
            why = f"cannot start gcore: {error.strerror}"
            return CoreAttempt(pid, CoreRoute.GCORE, StepStatus.FAILED, why, None, None, 0.0)
        try:
            err = self._wait(proc, started + self._timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            produced.unlink(missing_ok=True)
            why = f"gcore did not finish within {self._timeout:g} s (killed)"
            return CoreAttempt(
                pid,
                CoreRoute.GCORE,
                StepStatus.TIMEOUT,
                why,
                None,
                None,
                time.monotonic() - started,
            )
        seconds = time.monotonic() - started
        if proc.returncode != 0 or not produced.is_file():
            produced.unlink(missing_ok=True)
            tail = err.decode("utf-8", "replace").strip().splitlines()[-1:] or [""]
            why = f"gcore exited with {proc.returncode}: {tail[0][:200]}"
            return CoreAttempt(pid, CoreRoute.GCORE, StepStatus.FAILED, why, None, None, seconds)
        os.chmod(produced, 0o600)
        fd = os.open(produced, os.O_RDONLY | os.O_CLOEXEC)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        size = produced.stat().st_size
        return CoreAttempt(
            pid, CoreRoute.GCORE, StepStatus.OK, "", f"{rel}/{produced.name}", size, seconds
        )

    def _wait(self, proc: subprocess.Popen[bytes], until: float) -> bytes:
        while True:
            try:
                _, err = proc.communicate(timeout=max(0.0, min(1.0, until - time.monotonic())))
                return err
            except subprocess.TimeoutExpired:
                if time.monotonic() >= until:
                    raise
                if self._keepalive is not None:
                    self._keepalive()

    def _via_procmem(self, pid: int, path: Path, rel: str) -> CoreAttempt:
        deadline = time.monotonic() + self._timeout
        outcome = self._runner.run(
            lambda: self._write_procmem(pid, path, deadline, self._buffer),
            timeout=self._timeout + 2.0,
            keepalive=self._keepalive,
        )
        if outcome.status is StepStatus.TIMEOUT:
            self._buffer = bytearray(BUFFER_SIZE)  # the stuck thread keeps the old one
        if outcome.value is None:
            size = path.stat().st_size if path.exists() else None
            return CoreAttempt(
                pid,
                CoreRoute.PROCMEM,
                outcome.status,
                outcome.reason,
                rel if size else None,
                size,
                outcome.seconds,
            )
        size, unreadable, left_out, finished = outcome.value
        status = StepStatus.OK if finished else StepStatus.TIMEOUT
        notes = [] if finished else [f"stopped at the {self._timeout:g} s bound; core is partial"]
        if unreadable:
            notes.append(f"{unreadable} bytes could not be read (left as zeros)")
        if left_out:
            notes.append(f"--core-limit left out {left_out} bytes")
        reason = "; ".join(notes)
        return CoreAttempt(
            pid, CoreRoute.PROCMEM, status, reason, rel, size, outcome.seconds, unreadable, left_out
        )

    def _write_procmem(
        self, pid: int, path: Path, deadline: float, buffer: bytearray
    ) -> tuple[int, int, int, bool]:
        machine = elfcore.MACHINES.get(os.uname().machine)
        if machine is None:
            raise RuntimeError(f"no ELF core layout for machine {os.uname().machine}")
        stat = self._procfs.stat(pid)
        status = self._procfs.status(pid)
        maps = self._procfs.maps(pid)
        info = elfcore.ProcessInfo(
            pid=pid,
            ppid=stat.ppid,
            pgrp=stat.pgrp,
            session=stat.session,
            uid=status.uid or 0,
            gid=status.gid or 0,
            state=stat.state,
            comm=stat.comm,
            args=self._procfs.cmdline(pid),
        )
        threads = [
            elfcore.ThreadRegs(tid, *(self._procfs.user_pc_sp(pid, tid) or (None, None)))
            for tid in self._procfs.tids(pid)[:_MAX_THREADS]
        ]
        segments, left_out = elfcore.plan_segments(maps[:_MAX_SEGMENTS], limit=self._limit)
        notes = elfcore.build_notes(
            info, threads, auxv=self._procfs.read_bytes(pid, "auxv"), maps=maps, machine=machine
        )
        head, placed = elfcore.layout(segments, notes, machine=machine)
        mem = self._procfs.open_mem(pid)
        out = os.open(
            path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600
        )
        written = False
        try:
            os.write(out, head)
            unreadable, finished = 0, True
            for seg in placed:
                done = 0
                while done < seg.filesz and finished:
                    if time.monotonic() > deadline:
                        finished = False
                        break
                    want = min(len(buffer), seg.filesz - done)
                    got = _copy(
                        mem, out, memoryview(buffer)[:want], seg.start + done, seg.offset + done
                    )
                    unreadable += want - got
                    done += want
            end = max((s.offset + s.filesz for s in placed), default=len(head))
            os.ftruncate(out, max(end, len(head)))  # unreadable pages stay zero (a hole)
            os.fsync(out)
            written = True
        finally:
            os.close(out)
            os.close(mem)
            if not written:  # a full disk: no partial core, and its space back to the manifest
                path.unlink(missing_ok=True)
        return os.stat(path).st_size, unreadable, left_out, finished


def _copy(mem: int, out: int, view: memoryview, address: int, offset: int) -> int:
    """Copy one chunk; on a read error retry page by page. Returns the bytes copied."""
    try:
        got = read_mem_into(mem, view, address)
    except OSError:
        got = 0
    if got == len(view):
        os.pwrite(out, view, offset)
        return got
    copied = 0
    for at in range(0, len(view), PAGE_SIZE):
        page = view[at : at + PAGE_SIZE]
        try:
            n = read_mem_into(mem, page, address + at)
        except OSError:
            continue
        if n:
            os.pwrite(out, page[:n], offset + at)
            copied += n
    return copied
