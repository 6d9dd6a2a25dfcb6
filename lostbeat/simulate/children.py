"""Starting the simulation's programs, waiting for them, and stopping every one of them.

Each program runs in a session (and so a process group) of its own, so a Ctrl-C at the
terminal reaches only ``lostbeat simulate``, which then stops them in order. Between fork
and exec each child asks to be killed when ``lostbeat simulate`` dies
(``PR_SET_PDEATHSIG``) and, for a program of the group, writes its pid into the group's
``cgroup.procs`` (and, on cgroup v2, -1000 into its ``oom_score_adj``): it runs its first
instruction inside the group. A Python program is run
through a link to the interpreter named after the program, so its ``comm`` (which the
recorder reads once per process) is the program's name from exec on. Each child carries
``LOSTBEAT_SIMULATION=<run>`` in its environment, so a last sweep of ``/proc`` finds any
process that escaped the rest.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import os
import re
import signal
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import lostbeat
from lostbeat.errors import AgentError
from lostbeat.procfs import Procfs

__all__ = [
    "Child",
    "Children",
    "MARKER",
    "find_marked",
]

MARKER = "LOSTBEAT_SIMULATION"
_PR_SET_PDEATHSIG = 1
_LIBC = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)


@dataclass(frozen=True, slots=True)
class Child:
    """One started program."""

    name: str
    role: str
    popen: subprocess.Popen[bytes]
    log: Path
    inside: bool
    """Runs in the simulated Service Console (the cgroup)."""

    @property
    def pid(self) -> int:
        return self.popen.pid

    def log_text(self) -> str:
        try:
            return self.log.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""

    def last_line(self) -> str:
        lines = self.log_text().strip().splitlines()
        return lines[-1] if lines else "(no output)"


def _before_exec(
    parent: int, procs: tuple[bytes, ...], oom_score_adj: bytes | None
) -> Callable[[], None]:
    """What the child does between fork and exec (async-signal-safe calls only)."""

    def run() -> None:
        _LIBC.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        if os.getppid() != parent:
            os._exit(1)
        if oom_score_adj is not None:
            fd = os.open("/proc/self/oom_score_adj", os.O_WRONLY)
            try:
                os.write(fd, oom_score_adj)
            finally:
                os.close(fd)
        pid = str(os.getpid()).encode()
        for path in procs:
            fd = os.open(path, os.O_WRONLY)
            try:
                os.write(fd, pid)
            finally:
                os.close(fd)

    return run


class Children:
    """The programs of one run.

    Args:
        run: the run's name, put in every program's environment.
        python: the interpreter that runs ``lostbeat``.
        workdir: gets ``logs/NAME.log`` per program (stdout and stderr) and ``bin/NAME``,
            the named links to ``python``.
    """

    def __init__(self, *, run: str, python: str, workdir: Path) -> None:
        self.run, self.python = run, python
        self.logs, self.bin = workdir / "logs", workdir / "bin"
        self.logs.mkdir(exist_ok=True)
        self.bin.mkdir(exist_ok=True)
        self.started: list[Child] = []
        # a named link is outside the virtual environment: lostbeat (stdlib only in what the
        # group runs) is found through PYTHONPATH instead
        root = str(Path(lostbeat.__file__).resolve().parent.parent)
        path = os.environ.get("PYTHONPATH")
        self._env = {**os.environ, MARKER: run}
        self._named_env = {**self._env, "PYTHONPATH": root + (os.pathsep + path if path else "")}

    def start(
        self,
        name: str,
        argv: Sequence[str],
        *,
        role: str,
        join: Sequence[Path] = (),
        oom_score_adj: int | None = None,
    ) -> Child:
        """Start ``argv``; with ``join``, inside those cgroups (``cgroup.procs`` files), and
        with ``oom_score_adj`` written to its own before it runs.

        When ``argv`` runs ``python``, it runs as ``bin/NAME`` (a link to it) instead.

        Raises:
            AgentError: the program could not be started or could not join the group.
        """
        argv, env = list(argv), self._env
        if argv[0] == self.python:
            link = self.bin / name
            if not link.is_symlink():
                link.symlink_to(self.python)
            argv[0], env = str(link), self._named_env
        log = self.logs / f"{name}.log"
        procs = tuple(bytes(p) for p in join)
        try:
            with open(log, "ab") as out:
                popen = subprocess.Popen(
                    argv,
                    stdin=subprocess.DEVNULL,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    env=env,
                    start_new_session=True,
                    preexec_fn=_before_exec(
                        os.getpid(),
                        procs,
                        None if oom_score_adj is None else str(oom_score_adj).encode(),
                    ),
                )
        except (OSError, subprocess.SubprocessError) as err:
            where = ", ".join(str(p) for p in join) or argv[0]
            raise AgentError(f"{where}: cannot start {name}: {err}") from err
        child = Child(name, role, popen, log, inside=bool(join))
        self.started.append(child)
        return child

    def wait_for(self, child: Child, pattern: str, *, timeout: float) -> str:
        """Wait until ``child``'s log has a line matching ``pattern``; returns the line.

        Raises:
            AgentError: the program exited first, or ``timeout`` passed.
        """
        regex = re.compile(pattern)
        deadline = time.monotonic() + timeout
        while True:
            for line in child.log_text().splitlines():
                if regex.search(line):
                    return line
            status = child.popen.poll()
            if status is not None:
                raise AgentError(
                    f"{child.log}: {child.name} exited with status {status} before it was "
                    f"ready: {child.last_line()}"
                )
            if time.monotonic() > deadline:
                raise AgentError(
                    f"{child.log}: {child.name} not ready after {timeout:g} s "
                    f"(expected a line matching {pattern!r}): {child.last_line()}"
                )
            time.sleep(0.05)

    def exited(self) -> list[Child]:
        """Programs that have ended."""
        return [c for c in self.started if c.popen.poll() is not None]

    def stop(self, child: Child, *, grace: float = 5.0) -> int:
        """SIGTERM, then SIGKILL after ``grace`` seconds; returns the exit status."""
        if child.popen.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(child.pid, signal.SIGTERM)
            try:
                return child.popen.wait(grace)
            except subprocess.TimeoutExpired:
                pass
        return self.kill(child)

    def kill(self, child: Child) -> int:
        """SIGKILL the program's process group and reap it."""
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(child.pid, signal.SIGKILL)
        try:
            return child.popen.wait(10.0)
        except subprocess.TimeoutExpired:
            return -9

    def kill_all(self) -> int:
        """SIGKILL every program still running; returns how many were."""
        alive = [c for c in self.started if c.popen.poll() is None]
        for child in alive:
            self.kill(child)
        return len(alive)

    def sweep(self, *, proc_root: Path = Path("/proc")) -> int:
        """SIGKILL any process left that carries this run's marker; returns how many."""
        pids = find_marked(self.run, proc_root=proc_root)
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        return len(pids)


def find_marked(run: str, *, proc_root: Path = Path("/proc")) -> list[int]:
    """Pids of the processes whose environment holds ``LOSTBEAT_SIMULATION=<run>``."""
    needle = f"{MARKER}={run}".encode()
    procfs, found = Procfs(proc_root), []
    for pid in procfs.pids():
        if pid == os.getpid():
            continue
        try:
            environ = procfs.read_bytes(pid, "environ")
        except AgentError:
            continue
        if needle in environ.split(b"\0"):
            found.append(pid)
    return found
