"""What the recorder does at each sample besides storing it.

* adds the kernel log's new records to the sample (``lostbeat.recorder.kernel``);
* keeps the time to exhaustion and the leak suspects (``lostbeat.recorder.trend``);
* warns when the time to exhaustion first drops under ``--warn-tte``: one line on standard
  error and a journal entry naming the fastest growers (of the ``--cgroup`` group, when one
  is watched), and from then on every sample is
  synced to the disk at once, so the evidence is there even if the host never recovers
  (until the time left is back over twice the line, or the memory stops growing);
* sends a journal entry for each OOM kill, hang or panic it reads (``--journal``) and counts
  them in the metrics (``--metrics``), once the recorder runs: the ones from before, read
  from the kernel's ring or the previous boot, are kept in the recording, not announced.
"""

from __future__ import annotations

import math
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from lostbeat.agent import cgroup as cg
from lostbeat.agent.early import Crossing, Domain, Trend, exhaustion_text
from lostbeat.agent.kevents import KernelEvent
from lostbeat.agent.status import parse_status
from lostbeat.errors import LostbeatError
from lostbeat.procfs import Procfs
from lostbeat.recorder.journal import Journal
from lostbeat.recorder.kernel import KernelLog
from lostbeat.recorder.metrics import Labelled, Metrics, MetricsServer, render, write_textfile
from lostbeat.recorder.trend import LiveTrend
from lostbeat.recording.schema import KernelCounts, Snapshot
from lostbeat.safetext import clean

__all__ = ["Live", "LiveConfig"]

MIB = 1 << 20


@dataclass(frozen=True, slots=True)
class LiveConfig:
    cgroup: cg.MemoryCgroup | None = None
    """The memory domain whose exhaustion is projected; None: the host."""
    trend_window_s: float = 600.0
    warn_tte_s: float | None = 900.0
    metrics: tuple[str, int] | Path | None = None
    monitor_status: Path | None = None
    top: int = 10
    journal: Path | None = None
    """journald's socket; None: no journal entries."""


class Live:
    """The recorder's per-sample duties beyond storing (see the module's docstring)."""

    def __init__(
        self,
        config: LiveConfig,
        *,
        procfs: Procfs,
        kernel: KernelLog | None,
        directory: Path,
        urgent: Callable[[bool], object],
        say: Callable[[str], object] | None = None,
    ) -> None:
        """
        Args:
            kernel: the kernel log, or None when not read.
            urgent: called with True when every sample must be synced at once, False after.
            say: writes one line (standard error by default).
        """
        self.config, self.kernel = config, kernel
        self._domain = Domain(procfs, config.cgroup)
        self._trend = Trend(window_s=config.trend_window_s)
        self._live = LiveTrend(window_s=config.trend_window_s)
        self._urgent = urgent
        self._crossing = Crossing(config.warn_tte_s) if config.warn_tte_s is not None else None
        self._say = say or (lambda line: print(line, file=sys.stderr, flush=True))
        self._events: Counter[str] = Counter()
        self._lost = KernelCounts()
        self.samples = 0
        self._started = time.time()
        self.current: Metrics | None = None
        self.warnings = 0
        self._journal = Journal(config.journal, recording=directory) if config.journal else None
        self._server: MetricsServer | None = None
        if isinstance(config.metrics, tuple):
            self._server = MetricsServer(config.metrics, lambda: self.current)
        for note in kernel.notes if kernel is not None else ():
            self._say(f"lostbeat record: kernel log: {clean(note)}")
        if kernel is not None:
            kernel.notes.clear()

    @property
    def address(self) -> tuple[str, int] | None:
        """Where the metrics are served, when they are."""
        if self._server is None:
            return None
        host, port = self._server.address[:2]
        return str(host), int(port)

    def attach_kernel(self, snapshot: Snapshot, now: float) -> Snapshot:
        """The snapshot with the kernel records read since the last one."""
        if self.kernel is None:
            return snapshot
        read = self.kernel.read(now)
        for note in self.kernel.notes:
            self._say(f"lostbeat record: kernel log: {clean(note)}")
        self.kernel.notes.clear()
        for record, event in read.events:
            if record.epoch >= self._started - 1.0:  # older ones, from the ring, are news to none
                self._events[event.kind.value] += 1
                self._journal_event(event)
        self._lost += read.counts
        return replace(snapshot, kernel=read.records, kernel_counts=read.counts)

    def after(self, snapshot: Snapshot) -> None:
        """Trend, warning and metrics, once the sample is stored."""
        self.samples += 1
        self._live.add(snapshot)
        measured = self._measure()
        if measured is not None:
            self._trend.add(snapshot.ts, used=measured[0], capacity=measured[1])
        tte = self._trend.time_to_exhaustion()
        self._warn(tte)
        if self.config.metrics is None:
            return  # nothing serves or writes them: no top-N, suspects or status file read
        self.current = self._metrics(snapshot.ts, tte, measured)
        if isinstance(self.config.metrics, Path):
            try:
                write_textfile(self.config.metrics, render(self.current, openmetrics=False))
            except OSError as err:
                self._say(f"lostbeat record: {self.config.metrics}: {err.strerror}")

    def _measure(self) -> tuple[int, int] | None:
        try:
            return self._domain.measure()
        except (OSError, ValueError):
            return None

    def _warn(self, tte: float | None) -> None:
        crossed = self._crossing.update(tte) if self._crossing is not None else None
        if crossed is False:  # clear again: back to a sync a minute
            self._urgent(False)
        if not crossed or tte is None:
            return
        self.warnings += 1
        self._urgent(True)
        rate = self._trend.rate() or 0.0
        used, capacity = self._trend.used or 0, self._trend.capacity or 0
        where = "host" if self.config.cgroup is None else f"cgroup {self.config.cgroup.path}"
        members = None
        if self.config.cgroup is not None:  # the growers that fill this domain, not another
            members = set(cg.member_pids(self.config.cgroup))
        suspects = [
            s
            for s in self._live.suspects(10, min_points=2)
            if members is None or s.identity.key.pid in members
        ][:3] or self._live.growers(3, among=members)
        growers = ", ".join(f"{s.identity.key.label} {s.rate / MIB:+.1f} MiB/s" for s in suspects)
        message = f"memory {exhaustion_text(tte, rate, used, capacity, where)}"
        message += f"; growing: {growers}" if growers else ""
        self._say(f"lostbeat record: warning: {clean(message)}; syncing every sample")
        if self._journal is not None:
            first = suspects[0] if suspects else None
            self._journal.send(
                "early-warning",
                message,
                priority=4,
                fields={
                    "LOSTBEAT_KIND": "early-warning",
                    "LOSTBEAT_TTE_SECONDS": f"{tte:.0f}",
                    "LOSTBEAT_GROWTH_BYTES_PER_SECOND": f"{rate:.0f}",
                    "LOSTBEAT_SUSPECT_PID": str(first.identity.key.pid) if first else "",
                    "LOSTBEAT_SUSPECT_COMM": first.identity.key.name if first else "",
                    "LOSTBEAT_SUSPECT_CGROUP": (first.identity.cgroup or "") if first else "",
                },
            )

    def _journal_event(self, event: KernelEvent) -> None:
        if self._journal is None:
            return
        self._journal.send(
            "kernel-event",
            event.text,
            priority=3 if event.kind.value != "panic" else 0,
            fields={
                "LOSTBEAT_KIND": event.kind.value,
                "LOSTBEAT_PID": "" if event.pid is None else str(event.pid),
                "LOSTBEAT_COMM": event.comm or "",
                "LOSTBEAT_CONSTRAINT": event.constraint or "",
                "LOSTBEAT_MEMCG": event.memcg or "",
                "LOSTBEAT_RSS_KB": "" if event.rss_kb is None else str(event.rss_kb),
            },
        )

    def _metrics(self, ts: float, tte: float | None, measured: tuple[int, int] | None) -> Metrics:
        def labels(identity_pid: int, comm: str, cgroup: str | None) -> tuple[tuple[str, str], ...]:
            return (("pid", str(identity_pid)), ("comm", comm), ("cgroup", cgroup or ""))

        top = self._live.top(self.config.top)
        suspects = self._live.suspects(self.config.top)
        ages, timeouts, status_age = self._heartbeats()
        return Metrics(
            ts=ts,
            samples=self.samples,
            tte_s=math.nan if tte is None else tte,
            used=measured[0] if measured else None,
            capacity=measured[1] if measured else None,
            growth=self._trend.rate(),
            resident=tuple(
                Labelled(labels(i.key.pid, i.key.name, i.cgroup), rss) for i, rss, _ in top
            ),
            swap=tuple(
                Labelled(labels(i.key.pid, i.key.name, i.cgroup), swap)
                for i, _, swap in top
                if swap is not None
            ),
            suspect_rate=tuple(
                Labelled(labels(s.identity.key.pid, s.identity.key.name, s.identity.cgroup), s.rate)
                for s in suspects
            ),
            suspect_growth=tuple(
                Labelled(
                    labels(s.identity.key.pid, s.identity.key.name, s.identity.cgroup), s.growth
                )
                for s in suspects
            ),
            heartbeat_age=ages,
            heartbeat_timeout=timeouts,
            status_age=status_age,
            kernel_events=dict(self._events),
            kernel_dropped=(
                None
                if self.kernel is None
                else self._lost.dropped + self._lost.unparsed + self._lost.overwritten
            ),
        )

    def _heartbeats(self) -> tuple[tuple[Labelled, ...], tuple[Labelled, ...], float | None]:
        path = self.config.monitor_status
        if path is None:
            return (), (), None
        try:
            status = parse_status(path.read_text(encoding="utf-8"), path=str(path))
        except (OSError, LostbeatError):
            return (), (), None
        now = time.time()
        ages, timeouts = [], []
        for c in status.clients:
            labels = (("client", c.comm), ("pid", str(c.pid)), ("clt", str(c.clt)))
            ages.append(Labelled(labels, max(0.0, now - c.last_beat)))
            timeouts.append(Labelled(labels, c.timeout))
        return tuple(ages), tuple(timeouts), max(0.0, now - status.written)

    def close(self) -> None:
        if self._server is not None:
            self._server.close()
        if self._journal is not None:
            self._journal.close()
        if self.kernel is not None:
            self.kernel.close()
