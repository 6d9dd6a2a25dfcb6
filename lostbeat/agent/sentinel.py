"""What, besides a lost heartbeat, makes the monitor write a capture.

Checked at every tick of the monitor's loop (0.1 s), each source cheap and bounded:

* **memory pressure**: the PSI trigger on the watched domain (``lostbeat.agent.early``);
* **time to exhaustion**: the domain's working set, measured once a second, fitted over
  the last ``trend_window_s``; an alarm when the projected time left first drops under
  ``tte_s`` (again only once it has risen back over twice that, or stopped growing);
* **the kernel log**: an OOM kill, an OOM with nothing to kill (a memory cgroup at its limit
  whose every task has ``oom_score_adj`` -1000: the kernel kills nothing and the group
  hangs), a hung task, a soft or hard lockup or an RCU stall read from ``/dev/kmsg``
  (``lostbeat.agent.kevents``), at most :data:`KMSG_BURST` records a tick. An OOM kill
  outside the watched cgroup (its ``task_memcg`` says where), nothing to kill in a cgroup
  that neither holds the watched one nor lies within it (or in one the report does not name,
  cut by records lost in a flood of them, while the watched group's own count of OOMs did not
  rise), or a hung task that lives outside it, is logged, not captured.

Each alarm is one ``Warn:`` or ``Kernel:`` line (at most one a second per kind, the rest
counted); the monitor then captures, at most once per ``--min-capture-interval`` per kind
of alarm, apart from the captures of lost heartbeats. A source the host lacks (no
``/dev/kmsg`` in a container, no pressure file) is said once at start and the rest runs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from lostbeat.agent import cgroup as cg
from lostbeat.agent.alerts import AlertLog
from lostbeat.agent.early import (
    DEFAULT_TRIGGER,
    Crossing,
    Domain,
    PressureWatch,
    Trend,
    Trigger,
    exhaustion_text,
    parse_trigger,
    pressure_file,
)
from lostbeat.agent.kevents import KernelEvent, Kind, Matcher
from lostbeat.agent.kmsg import KMSG, KmsgReader
from lostbeat.errors import AgentError
from lostbeat.procfs import Procfs

__all__ = ["Alarm", "Sentinel", "SentinelConfig"]

KMSG_BURST = 256
MIB = 1 << 20
_OOM = frozenset({Kind.OOM_KILL, Kind.OOM_NO_VICTIM})


@dataclass(frozen=True, slots=True)
class SentinelConfig:
    pressure: Trigger | None = field(default_factory=lambda: parse_trigger(DEFAULT_TRIGGER))
    tte_s: float | None = 60.0
    """Alarm when the memory is projected to run out within this many seconds."""
    trend_window_s: float = 30.0
    trend_every_s: float = 1.0
    kernel: bool = True
    kmsg: Path = KMSG
    min_capture_interval: float = 300.0
    """Seconds from one capture of a kind (pre-loss, kernel) to the next."""


@dataclass(frozen=True, slots=True)
class Alarm:
    trigger: str
    """``pre-loss`` or ``kernel``."""
    kind: str
    """``pressure``, ``exhaustion``, or the kernel event's kind."""
    message: str

    @property
    def capture(self) -> tuple[str, str]:
        """The capture's trigger and screen message."""
        return self.trigger, self.message


class Sentinel:
    """Watches pressure, the trend and the kernel log for one monitor.

    Args:
        config: what to watch.
        procfs: where to read.
        watched: the watched cgroup, or None for the whole host.
        log: the monitor's log (one line per source the host lacks, one per alarm).
    """

    def __init__(
        self,
        config: SentinelConfig,
        procfs: Procfs,
        watched: cg.MemoryCgroup | None,
        log: AlertLog,
    ) -> None:
        self._config, self._procfs, self._watched, self._log = config, procfs, watched, log
        self._last_capture: dict[str, float] = {}  # pre-loss, kernel -> when last captured
        self._pressure: PressureWatch | None = None
        if config.pressure is not None:
            path = pressure_file(watched, procfs)
            self._pressure = PressureWatch(path, config.pressure)
            how = (
                "trigger"
                if self._pressure.mode == "trigger"
                else f"read each tick ({self._pressure.why_read})"
            )
            log.line("Monitor", f"early warning: pressure {config.pressure} on {path}, {how}")
        self._domain = Domain(procfs, watched)
        self._trend = Trend(window_s=config.trend_window_s)
        self._next_trend = 0.0
        self._crossing = Crossing(config.tte_s or 0.0)
        if config.tte_s is not None:
            log.line(
                "Monitor",
                f"early warning: time to exhaustion under {config.tte_s:g} s, fitted over "
                f"{config.trend_window_s:g} s",
            )
        self._kmsg: KmsgReader | None = None
        self._matcher = Matcher()
        self._seq: int | None = None  # the last kernel record's sequence number
        self._rose: bool | None = None  # whether the OOM count rose, once read for a batch
        self._ooms = self._oom_count() if config.kernel else None
        if config.kernel:
            try:
                boot = procfs.boot_time() or 0.0
                self._kmsg = KmsgReader(boot_time=boot, path=config.kmsg, from_end=True)
                log.line("Monitor", f"kernel log: watching {config.kmsg} for OOM kills and hangs")
            except AgentError as err:
                log.line("Monitor", f"kernel log unavailable: {err}; watching the rest")

    @property
    def tte(self) -> float | None:
        return self._trend.time_to_exhaustion()

    def check(self, now: float) -> list[Alarm]:
        """The alarms raised since the last check (``now`` on the monotonic clock) that
        call for a capture: each is logged, and captured at most once per
        ``min_capture_interval`` per trigger."""
        alarms: list[Alarm] = []
        if self._pressure is not None:
            stall = self._pressure.check(now)
            if stall is not None:
                trig = self._pressure.trigger
                alarms.append(
                    Alarm(
                        "pre-loss",
                        "pressure",
                        f"Memory pressure: {trig.kind} stall {stall / 1000:.0f} ms within "
                        f"{trig.window_us / 1e6:g} s on {self._pressure.path}",
                    )
                )
        if self._config.tte_s is not None and now >= self._next_trend:
            self._next_trend = now + self._config.trend_every_s
            alarm = self._exhaustion(now)
            if alarm is not None:
                alarms.append(alarm)
        if self._kmsg is not None:
            alarms += self._kernel(now)
        captured = []
        for alarm in alarms:
            source = "Kernel" if alarm.trigger == "kernel" else "Warn"
            self._log.limited(f"alarm:{alarm.kind}", source, alarm.message, now=now)
            since = now - self._last_capture.get(alarm.trigger, -1e18)
            if since >= self._config.min_capture_interval:
                self._last_capture[alarm.trigger] = now
                captured.append(alarm)
            else:
                self._log.limited(
                    f"no-{alarm.trigger}",
                    "Dump",
                    f"no {alarm.trigger} capture: the last one was {since:.0f} s ago",
                    now=now,
                )
        return captured

    def _exhaustion(self, now: float) -> Alarm | None:
        try:
            measured = self._domain.measure()
        except (OSError, ValueError):
            return None
        if measured is None:
            return None
        used, capacity = measured
        self._trend.add(now, used=used, capacity=capacity)
        tte = self._trend.time_to_exhaustion()
        if tte is None or not self._crossing.update(tte):
            return None
        rate = self._trend.rate() or 0.0
        where = "host" if self._watched is None else f"cgroup {self._watched.path}"
        text = exhaustion_text(tte, rate, used, capacity, where)
        return Alarm("pre-loss", "exhaustion", f"Memory {text}")

    def _kernel(self, now: float) -> list[Alarm]:
        assert self._kmsg is not None
        try:
            records, _ = self._kmsg.read(most=KMSG_BURST)
        except AgentError as err:
            self._log.line("Monitor", f"kernel log: {err}; no longer watched")
            self._kmsg.close()
            self._kmsg = None
            return []
        alarms = []
        self._rose = None
        for record in records:
            if record.seq is not None and self._seq is not None and record.seq != self._seq + 1:
                # records were overwritten before they were read (a flood of OOM reports): a
                # line held from one report must not complete another
                self._matcher = Matcher()
            self._seq = record.seq
            event = self._matcher.feed(record.text)
            if event is None or not (event.kind in _OOM or event.hang):
                continue
            if event.kind in _OOM and event.memcg is not None:
                self._oom_rose()  # counted there too, if within: the next count starts after
            if not self._inside(event):
                unknown = event.kind is Kind.OOM_NO_VICTIM and event.memcg is None
                where = "cgroup unknown" if unknown else "outside the watched cgroup"
                text = f"{record.text} ({where}: no capture)"
                self._log.limited("kernel-outside", "Kernel", text, now=now)
                continue
            alarms.append(Alarm("kernel", event.kind.value, record.text))
        return alarms

    def _inside(self, event: KernelEvent) -> bool:
        """Whether the event concerns the watched scope (unknown counts as inside, but for
        nothing to kill, below)."""
        watched = self._watched
        if watched is None:
            return True
        if event.kind is Kind.OOM_KILL:
            return event.memcg is None or watched.contains(event.memcg)
        if event.kind is Kind.OOM_NO_VICTIM:  # the group at its limit hangs, and all below it
            if event.memcg is None:
                # the host's (a panic follows at once), or a memory cgroup's report cut by lost
                # records (the kernel prints a memory cgroup's again at each retry of the
                # charge, and a whole one says where): within the watched group if its own
                # count of OOMs says so
                return self._oom_rose()
            limited = cg.MemoryCgroup(watched.hierarchy, event.memcg)
            return watched.contains(limited.path) or limited.contains(watched.path)
        if event.pid is not None:
            group = cg.cgroup_of(self._procfs, event.pid, watched.hierarchy)
            return group is None or watched.contains(group)
        return True

    def _oom_count(self) -> int | None:
        """The watched group's count of OOMs: cgroup v2's ``memory.events`` ``oom``, which
        counts those of the groups within it too (cgroup-v2.rst; v1 has no such count)."""
        watched = self._watched
        if watched is None or watched.hierarchy.version is not cg.CgroupVersion.V2:
            return None
        try:
            return cg.memory_state(watched).oom_events
        except (OSError, ValueError, AgentError):
            return None

    def _oom_rose(self) -> bool:
        """Whether the watched group's count of OOMs rose since it was last read; read at
        most once for a batch of kernel records."""
        if self._rose is None:
            count, before = self._oom_count(), self._ooms
            self._rose = count is not None and before is not None and count > before
            if count is not None:
                self._ooms = count
        return self._rose

    def close(self) -> None:
        if self._pressure is not None:
            self._pressure.close()
        if self._kmsg is not None:
            self._kmsg.close()
