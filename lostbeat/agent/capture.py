"""The capture written when a heartbeat is declared lost (or, lighter, before it is lost).

In this order, each step bounded in time, into a new folder of the datastore::

    DATASTORE/<trigger>-<host>-<YYYYmmddTHHMMSSZ>/     (mode 0700; files 0600)
        screen.txt          the diagnostic screen (lostbeat.agent.screen)
        alerts.log          the monitor's recent log lines
        cgroup/<file>       the watched cgroup's memory files, when there is one
        proc/<pid>/<file>   /proc state of the lost clients and the top consumers
        cores/core.<comm>.<pid>   core dumps of the top consumers (lostbeat.agent.coredump)
        manifest.json       every file with size and status; written last

Every file and folder is fsync'ed, and ``manifest.json`` is written last (to a temporary
name, fsync'ed, renamed), so a capture without a manifest is one that did not finish.

The trigger is ``lost-heartbeat``; or ``pre-loss`` (an early warning) or ``kernel`` (an OOM
kill, an OOM with nothing to kill, or a hang in the kernel log): those two capture no core
dumps, which would stop the very processes that are still running, and their screen's second
line says what happened.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from functools import partial
from pathlib import Path

from lostbeat import __version__
from lostbeat.agent import cgroup as cg
from lostbeat.agent import screen
from lostbeat.agent._linux import fsync_dir, make_private_dir, write_private
from lostbeat.agent.bounded import BoundedRunner, Outcome, StepStatus, T
from lostbeat.agent.clients import ClientView
from lostbeat.agent.consumers import Consumer, Sampler, Sched, read_sched
from lostbeat.agent.coredump import CoreAttempt, CoreDumper
from lostbeat.procfs import Procfs

SCHEMA = "lostbeat.capture/1"
PROC_FILES = (
    "status", "stat", "statm", "smaps_rollup", "maps", "cmdline", "wchan", "stack",
    "syscall", "cgroup", "limits", "oom_score", "oom_score_adj",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class CaptureConfig:
    """What to capture, and the bound of each step."""

    datastore: Path
    top: int = 5
    cores: int = 3
    core_limit: int = 1 << 30
    step_timeout: float = 5.0
    core_timeout: float = 30.0
    gcore: bool = True  # False: only the procmem route, which never stops a process


@dataclass(frozen=True, slots=True)
class Incident:
    """A declared loss, as the monitor saw it."""

    lost: tuple[ClientView, ...]
    clients: tuple[ClientView, ...]
    alerts: tuple[str, ...]
    declared_monotonic: float
    deadline_monotonic: float  # when the first lost client's timeout expired
    declared_wall: float
    uptime: float | None
    monitor_cpu: int | None
    trigger: str = "lost-heartbeat"
    """``lost-heartbeat``, ``pre-loss`` or ``kernel``: the folder's prefix."""
    message: str = "Lost heartbeat"
    """The screen's second line."""


@dataclass(frozen=True, slots=True)
class FileRecord:
    path: str  # relative to the capture folder
    size: int | None
    status: StepStatus
    note: str = ""


@dataclass(frozen=True, slots=True)
class CaptureResult:
    folder: Path
    manifest: Path
    top: tuple[Consumer, ...]
    files: tuple[FileRecord, ...]
    cores: tuple[CoreAttempt, ...]
    complete: bool  # every file written in full


def utc_stamp(seconds: float) -> str:
    """``20251125T190012Z``.

    >>> utc_stamp(0)
    '19700101T000000Z'
    """
    return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(seconds))


class Capturer:
    """Writes captures into the datastore.

    Args:
        procfs: where to read processes.
        config: what to capture.
        sampler: ranks the top consumers of the watched scope.
        cgroup: the watched cgroup, or None when the whole host is watched.
        keepalive: called between steps and during long ones (the systemd watchdog).
        say: writes one monitor log line (source, text).
    """

    def __init__(
        self,
        *,
        procfs: Procfs,
        config: CaptureConfig,
        sampler: Sampler,
        cgroup: cg.MemoryCgroup | None,
        keepalive: Callable[[], None],
        say: Callable[[str, str], object],
    ) -> None:
        self._procfs, self._config, self._sampler = procfs, config, sampler
        self._cgroup, self._keepalive, self._say = cgroup, keepalive, say
        self._runner = BoundedRunner()
        self._dumper = CoreDumper(
            procfs,
            self._runner,
            limit=config.core_limit,
            timeout=config.core_timeout,
            keepalive=keepalive,
            gcore=shutil.which("gcore") if config.gcore else None,
            no_gcore="gcore (gdb) is not installed" if config.gcore else "--no-gcore given",
        )
        self._host = socket.gethostname()

    def _new_folder(self, wall: float, trigger: str) -> Path:
        """A new, empty folder of our own: ``mkdir`` never follows a link nor reuses a name.

        The name is predictable, so something may already stand there (a link planted to
        send the capture elsewhere, a file to make it fail): then ``-2`` to ``-9``, then a
        random suffix, as many times as ``mkdtemp`` tries. A capture is never given up for
        a name.
        """
        host = re.sub(r"[^A-Za-z0-9._-]", "_", self._host)
        base = f"{trigger}-{host}-{utc_stamp(wall)}"
        datastore = self._config.datastore
        for name in (base, *(f"{base}-{n}" for n in range(2, 10))):
            try:
                os.mkdir(datastore / name, 0o700)
            except FileExistsError:
                continue
            folder = datastore / name
            break
        else:
            folder = Path(tempfile.mkdtemp(prefix=f"{base}-", dir=datastore))
            self._say("Dump", f"the names {base}[-2..-9] are taken; writing to '{folder.name}'")
        os.chmod(folder, 0o700)
        return folder

    def capture(self, incident: Incident) -> CaptureResult:
        """Write one capture; a step that fails is recorded, never raised."""
        run = _Run(
            self._new_folder(incident.declared_wall, incident.trigger),
            self._runner,
            self._config,
            self._keepalive,
        )
        folder = run.folder
        self._say("Dump", f"Writing capture to '{folder}'")
        measured = run.step("top consumers", lambda: self._sampler.top(self._config.top))
        top: tuple[Consumer, ...] = measured.value or ()
        ok = measured.status is StepStatus.OK
        pids = dict.fromkeys([c.pid for c in incident.lost] + [c.pid for c in top])
        # each process's state and wait channel from one reading, shown alike on the screen,
        # in the manifest and in proc/<pid>/stat and wchan, and used to choose its core's route
        sched = {pid: run.step(f"state {pid}", partial(read_sched, self._procfs, pid)).value
                 for pid in pids}  # fmt: skip
        top = tuple(replace(c, state=s.state) if (s := sched[c.pid]) else c for c in top)
        run.save("screen.txt", self._screen(incident, run, top if ok else None, sched))
        run.save("alerts.log", "".join(line + "\n" for line in incident.alerts))
        if self._cgroup is not None:
            make_private_dir(folder / "cgroup")
            for name in cg.capture_files(self._cgroup):
                path = self._cgroup.fs_path / name
                if path.exists():
                    run.save_step(f"cgroup/{name}", path.read_bytes)
        if pids:
            make_private_dir(folder / "proc")
        for pid in pids:
            make_private_dir(folder / "proc" / str(pid))
            read = sched[pid]
            for name in PROC_FILES:
                if read is not None and name in ("stat", "wchan"):
                    run.save(f"proc/{pid}/{name}", read.stat if name == "stat" else read.wchan_file)
                    continue
                run.save_step(f"proc/{pid}/{name}", partial(self._procfs.read_bytes, pid, name))
        cores: list[CoreAttempt] = []
        dumped = top[: self._config.cores] if incident.trigger == "lost-heartbeat" else ()
        if dumped:
            make_private_dir(folder / "cores")
        for consumer in dumped:
            self._keepalive()
            self._say(
                "Dump",
                f"Dumping core of {consumer.comm} pid={consumer.pid} state="
                f"{consumer.state} to '{folder / 'cores'}'",
            )
            attempts = self._dumper.dump(
                consumer.pid,
                comm=consumer.comm,
                state=consumer.state,
                folder=folder / "cores",
                rel="cores",
            )
            cores += attempts
            last = attempts[-1]
            if last.path is not None:
                run.files.append(FileRecord(last.path, last.size, last.status, last.reason))
        for sub in ("cgroup", "cores", *(f"proc/{p}" for p in pids), "proc"):
            if (folder / sub).is_dir():
                fsync_dir(folder / sub)
        complete = all(f.status is StepStatus.OK for f in run.files)
        manifest = self._manifest(folder, incident, top, run, cores, complete)
        return CaptureResult(folder, manifest, top, tuple(run.files), tuple(cores), complete)

    def _screen(
        self,
        incident: Incident,
        run: _Run,
        top: tuple[Consumer, ...] | None,
        sched: dict[int, Sched | None],
    ) -> str:
        procfs, watched = self._procfs, self._cgroup
        ncpu = os.cpu_count() or 1
        cpus = run.step("per-CPU tasks", partial(screen.cpu_tasks, procfs, ncpu)).value
        rows = None
        if top is not None:
            rows = tuple(
                screen.TopRow(c, s.wchan if (s := sched.get(c.pid)) is not None else None)
                for c in top
            )
        memory = None
        if watched is not None:
            memory = run.step("cgroup memory", partial(cg.memory_state, watched)).value
        uname = os.uname()
        data = screen.Screen(
            version=__version__,
            kernel=uname.release,
            machine=uname.machine,
            host=self._host,
            lost=incident.lost,
            declared_utc=screen.utc_text(incident.declared_wall),
            uptime=incident.uptime,
            monitor_cpu=incident.monitor_cpu,
            cpus=cpus,
            loadavg=procfs.read_system("loadavg"),
            meminfo=procfs.read_system("meminfo"),
            pressure=tuple((r, procfs.read_system(f"pressure/{r}")) for r in screen.PRESSURE),
            cgroup=watched,
            cgroup_memory=memory,
            scope="host" if watched is None else f"cgroup {watched.path}",
            top=rows,
            alerts=incident.alerts,
            clients=incident.clients,
            capture_dir=str(run.folder),
            message=incident.message,
        )
        return screen.render(data)

    def _manifest(
        self,
        folder: Path,
        incident: Incident,
        top: tuple[Consumer, ...],
        run: _Run,
        cores: list[CoreAttempt],
        complete: bool,
    ) -> Path:
        uname = os.uname()
        body = {
            "schema": SCHEMA,
            "lostbeat": __version__,
            "host": self._host,
            "kernel": uname.release,
            "machine": uname.machine,
            "trigger": incident.trigger,
            "message": incident.message,
            "declared_utc": screen.utc_text(incident.declared_wall),
            "declared_monotonic": incident.declared_monotonic,
            "deadline_monotonic": incident.deadline_monotonic,
            "uptime": incident.uptime,
            "scope": None
            if self._cgroup is None
            else {"cgroup": self._cgroup.path, "version": str(self._cgroup.hierarchy.version)},
            "lost": [_client(c) for c in incident.lost],
            "top": [asdict(c) for c in top],
            "files": [asdict(f) for f in run.files],
            "cores": [asdict(c) for c in cores],
            "steps": run.steps,
            "complete": complete,
        }
        tmp = folder / ".manifest.json.tmp"
        write_private(tmp, json.dumps(body, indent=1, sort_keys=True) + "\n")
        final = folder / "manifest.json"
        os.rename(tmp, final)
        fsync_dir(folder)
        fsync_dir(folder.parent)
        return final


class _Run:
    """The state of one capture being written: its folder, files and failed steps."""

    def __init__(
        self,
        folder: Path,
        runner: BoundedRunner,
        config: CaptureConfig,
        keepalive: Callable[[], None],
    ) -> None:
        self.folder, self._runner, self._config = folder, runner, config
        self._keepalive = keepalive
        self.files: list[FileRecord] = []
        self.steps: list[dict[str, object]] = []

    def step(self, name: str, body: Callable[[], T]) -> Outcome[T]:
        """Run one bounded step; a step that did not succeed is listed in the manifest."""
        self._keepalive()
        outcome = self._runner.run(body, timeout=self._config.step_timeout)
        if outcome.status is not StepStatus.OK:
            self.steps.append(
                {
                    "name": name,
                    "status": outcome.status,
                    "reason": outcome.reason,
                    "seconds": round(outcome.seconds, 3),
                }
            )
        return outcome

    def save(self, rel: str, data: bytes | str) -> None:
        """Write one file of the capture (0600, fsync'ed) and list it, failed or not."""
        try:
            size = write_private(self.folder / rel, data)
        except OSError as err:  # a full datastore loses this file, not the capture
            self.files.append(FileRecord(rel, None, StepStatus.FAILED, f"write: {err.strerror}"))
            return
        self.files.append(FileRecord(rel, size, StepStatus.OK))

    def save_step(self, rel: str, read: Callable[[], bytes]) -> None:
        """Read within the step bound, then save; a failed read is listed with its reason."""
        outcome = self.step(rel, read)
        if outcome.value is None:
            self.files.append(FileRecord(rel, None, outcome.status, outcome.reason))
        else:
            self.save(rel, outcome.value)


def _client(c: ClientView) -> dict[str, object]:
    last = c.history[-1] if c.history else None
    return {
        "clt": c.clt,
        "comm": c.name,
        "pid": c.pid,
        "uid": c.uid,
        "t": round(c.since, 3),
        "to": c.timeout,
        "interval": c.interval,
        "beats": c.beats,
        "last_seq": last.seq if last else None,
        "last_at": last.at if last else None,
    }
