"""The top memory consumers of the watched domain, and their growth between samples.

The monitor samples every ``--sample-interval`` seconds and keeps, for at most ``keep``
processes, the memory they held then, so that the diagnostic screen can show how much each
top consumer grew since the last sample (the KB's advice: a leak shows as growth, a spike
as a sudden jump). A process is identified by pid and start time, so a reused pid never
shows a false growth.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from lostbeat.errors import AgentError
from lostbeat.procfs import Procfs


@dataclass(frozen=True, slots=True)
class Consumer:
    """One process and the memory it holds (kB); None where unknown."""

    pid: int
    comm: str
    state: str
    uid: int | None
    starttime: int
    rss_kb: int | None
    swap_kb: int | None
    growth_kb: int | None  # rss + swap now minus at the last sample; None if not sampled

    @property
    def total_kb(self) -> int:
        """RSS plus swap, unknowns counted as nothing (used only to rank)."""
        return (self.rss_kb or 0) + (self.swap_kb or 0)


class Sampler:
    """Ranks processes by RSS plus swap.

    Args:
        procfs: where to read processes.
        scope: returns the pids to consider (the watched cgroup's, or every process).
        exclude: pids never ranked (the monitor itself).
        keep: how many processes a sample remembers.
    """

    def __init__(
        self,
        procfs: Procfs,
        *,
        scope: Callable[[], list[int]],
        exclude: frozenset[int] = frozenset(),
        keep: int = 64,
    ) -> None:
        self._procfs = procfs
        self._scope = scope
        self._exclude = exclude
        self._keep = keep
        self._last: dict[tuple[int, int], int] = {}

    def measure(self) -> list[Consumer]:
        """Every process in scope that has user memory, largest first."""
        found: list[Consumer] = []
        for pid in self._scope():
            if pid in self._exclude:
                continue
            try:
                stat = self._procfs.stat(pid)
                memory = self._procfs.status(pid)
            except AgentError:
                continue  # gone or hidden while we looked: not worth a line
            if memory.rss_kb is None:
                continue  # a kernel thread
            total = memory.rss_kb + (memory.swap_kb or 0)
            before = self._last.get((pid, stat.starttime))
            found.append(
                Consumer(
                    pid=pid,
                    comm=stat.comm,
                    state=stat.state,
                    uid=memory.uid,
                    starttime=stat.starttime,
                    rss_kb=memory.rss_kb,
                    swap_kb=memory.swap_kb,
                    growth_kb=None if before is None else total - before,
                )
            )
        found.sort(key=lambda c: (-c.total_kb, c.pid))
        return found

    def sample(self) -> list[Consumer]:
        """Measure and remember the largest ``keep`` processes for the next growth figures."""
        found = self.measure()
        self._last = {(c.pid, c.starttime): c.total_kb for c in found[: self._keep]}
        return found

    def top(self, count: int) -> tuple[Consumer, ...]:
        """The ``count`` largest processes now, with growth since the last sample."""
        return tuple(self.measure()[:count])
