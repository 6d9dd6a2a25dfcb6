"""The recorder's loop: sample, store, summarise every hour, keep the store in bounds.

Ticks follow the monotonic clock (a wall-clock step neither bunches nor skips samples);
a tick missed because a sample ran late is skipped, not made up. The wall clock only
stamps samples and decides when the day rolls and the hour's summary is due. Both clocks
and the wait are injectable, so tests drive days of recording in a moment.

One recorder per directory: ``recorder.pid`` is locked (``flock``) while it runs.
"""

from __future__ import annotations

import fcntl
import json
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from lostbeat.errors import AgentError
from lostbeat.procfs import Procfs
from lostbeat.recorder.sampler import Sampler, quietly
from lostbeat.recorder.summary import count_guests, hb_message, kernel_build, top_consumers
from lostbeat.recorder.summary_log import SummaryLog, SyslogSender
from lostbeat.recording.marker import open_directory
from lostbeat.recording.schema import Snapshot
from lostbeat.recording.store import Retention, Store

__all__ = ["Recorder", "RecorderConfig", "RecorderStats"]


@dataclass(frozen=True, slots=True)
class RecorderConfig:
    directory: Path
    interval_s: float = 10.0
    retention: Retention = field(default_factory=Retention)
    syslog: bool = False
    syslog_address: str = "/dev/log"
    summary_every_s: float = 3600.0
    duration_s: float | None = None
    """Stop after this long; ``None`` runs until stopped."""
    procfs_root: Path = Path("/proc")
    host: str | None = None
    """Defaults to the short host name."""
    fsync_every_s: float = 60.0
    """How often the open shard is flushed to the disk (a host crash loses at most this)."""


@dataclass(frozen=True, slots=True)
class RecorderStats:
    samples: int
    bytes_written: int
    summaries: int
    pruned: int


def _next_summary(now: float, every: float) -> float:
    """ESX logs at one minute past the hour (KB 1009016); shorter periods align to zero."""
    offset = 60.0 if every >= 3600 else 0.0
    return (now - offset) // every * every + every + offset


class Recorder:
    """Records one host into one directory until stopped."""

    def __init__(
        self,
        config: RecorderConfig,
        *,
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
        stop: threading.Event | None = None,
        wait: Callable[[float], object] | None = None,
    ) -> None:
        self.config = config
        self._clock, self._monotonic = clock, monotonic
        self.stop = stop or threading.Event()
        self._wait = wait or self.stop.wait
        self.host = config.host or os.uname().nodename.split(".")[0]

    def run(self, *, started: Callable[[], object] | None = None) -> RecorderStats:
        """Record until :attr:`stop` is set or the duration has passed.

        Args:
            started: called once the directory is checked and locked, before sampling.

        Raises:
            AgentError: another recorder holds the directory, no procfs, no syslog.
            InputError, RecordingCorrupt: the directory is not a (compatible) recording.
        """
        cfg = self.config
        open_directory(cfg.directory, host=self.host, interval_s=cfg.interval_s, now=self._clock())
        lock_fd = self._lock(cfg.directory / "recorder.pid")
        syslog = SyslogSender(cfg.syslog_address) if cfg.syslog else None
        store = Store(
            cfg.directory,
            host=self.host,
            interval_s=cfg.interval_s,
            retention=cfg.retention,
            clock=self._clock,
            fsync_every_s=cfg.fsync_every_s,
        )
        try:
            procfs = Procfs(cfg.procfs_root)
            sampler = Sampler(procfs, clock=self._clock)
            log = SummaryLog(cfg.directory, host=self.host, syslog=syslog)
            self._note_boot(log, procfs, sampler.boot_time)
            store.maintain(self._clock())
            if started is not None:
                started()
            return self._loop(store, sampler, log, procfs)
        finally:
            store.close()
            if syslog is not None:
                syslog.close()
            (cfg.directory / "recorder.pid").unlink(missing_ok=True)
            os.close(lock_fd)

    def _loop(
        self, store: Store, sampler: Sampler, log: SummaryLog, procfs: Procfs
    ) -> RecorderStats:
        cfg = self.config
        samples = written = summaries = 0
        start = tick = self._monotonic()
        next_summary = _next_summary(self._clock(), cfg.summary_every_s)
        next_prune = self._clock() + 3600.0
        while not self.stop.is_set():
            snapshot = sampler.sample()
            written += store.append(snapshot)
            samples += 1
            now = self._clock()
            if now >= next_summary:
                self._summarise(log, procfs, snapshot)
                summaries += 1
                next_summary = _next_summary(now, cfg.summary_every_s)
            if now >= next_prune:  # the open shard grows: check the cap every hour
                store.prune(now)
                next_prune = now + 3600.0
            tick += cfg.interval_s
            late = self._monotonic() - tick
            if late > 0:  # a sample overran its slot: skip the ticks it covered
                tick += (late // cfg.interval_s + 1) * cfg.interval_s
            if cfg.duration_s is not None and tick - start > cfg.duration_s + 1e-6:
                break
            self._wait(max(0.0, tick - self._monotonic()))
        return RecorderStats(samples, written, summaries, len(store.pruned))

    def _summarise(self, log: SummaryLog, procfs: Procfs, snapshot: Snapshot) -> None:
        cgroup_of = partial(quietly, partial(procfs.read_text, name="cgroup"))
        uptime = procfs.uptime()
        message = hb_message(
            uptime_s=uptime if uptime is not None else snapshot.ts - snapshot.boot_time,
            guests=count_guests(snapshot, cgroup_of),
            build=kernel_build(procfs.kernel_release()),
            swap_used=snapshot.system.swap_used,
            top=top_consumers(snapshot),
        )
        log.write(epoch=snapshot.ts, tag="logger", message=message)

    def _note_boot(self, log: SummaryLog, procfs: Procfs, boot_time: float) -> None:
        """Log ``Starting system...`` once per boot, stamped with the boot's time."""
        state_path = self.config.directory / "recorder.state"
        boot_id = procfs.boot_id()
        try:
            state = json.loads(state_path.read_text())
        except (OSError, ValueError):
            state = {}
        if boot_id is not None and isinstance(state, dict) and "boot_id" in state:
            new_boot = state.get("boot_id") != boot_id
        else:  # no boot id to compare: trust the log, allowing for clock steps since boot
            last = log.last_boot()
            new_boot = last is None or abs(last - boot_time) > 60.0
        if new_boot:
            log.write(epoch=boot_time, tag="vmkhalt", message="Starting system...")
        tmp = state_path.with_name(".recorder.state.tmp")
        tmp.write_text(json.dumps({"boot_id": boot_id, "boot_time": boot_time}) + "\n")
        os.replace(tmp, state_path)

    @staticmethod
    def _lock(path: Path) -> int:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as err:
            holder = os.read(fd, 32).decode("ascii", "replace").strip() or "?"
            os.close(fd)
            raise AgentError(
                f"{path.parent}: another recorder (pid {holder}) is writing to this directory"
            ) from err
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        return fd
