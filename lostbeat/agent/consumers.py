"""The top memory consumers of the watched domain, and their growth between samples.

The monitor samples every ``--sample-interval`` seconds and keeps, for at most ``keep``
processes, the memory they held then, so that the diagnostic screen can show how much each
top consumer grew since the last sample (the KB's advice: a leak shows as growth, a spike
as a sudden jump). A process is identified by pid and start time, so a reused pid never
shows a false growth.

A process's state and its wait channel are read together (:func:`read_sched`): read apart,
a task that the kernel wakes and puts back to sleep between the two reads shows as
running in one and sleeping in the other.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from lostbeat.errors import AgentError
from lostbeat.procfs import Procfs, parse_stat

SLEEPING = frozenset("SDI")
"""States of a task blocked in the kernel: it has a wait channel (``get_wchan`` gives one
only for a task that is neither running nor waking, kernel/sched/core.c)."""


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


@dataclass(frozen=True, slots=True)
class Sched:
    """A process's state and wait channel from one read of each, and those files' bytes."""

    state: str
    wchan: str | None
    """The function it sleeps in; None when the kernel shows none (``0``)."""
    stat: bytes
    wchan_file: bytes


def _wchan_name(data: bytes) -> str | None:
    """A ``wchan`` file's function: the kernel shows ``0`` for a task that is not sleeping
    (and to a reader that may not look)."""
    text = data.decode("ascii", "replace").strip()
    return text if text and text != "0" else None


def read_sched(procfs: Procfs, pid: int, *, tries: int = 3) -> Sched:
    """``stat``, ``wchan`` and ``stat`` again, until both states are the same and the wait
    channel fits them (a running task has none, a sleeping one has one), at most ``tries``
    times: a task woken between the reads is read again rather than shown half running and
    half asleep. After ``tries`` the last reading is given as it is (a reader the kernel
    shows no wait channel to never sees one).

    Raises:
        AgentError: the process is gone or cannot be read.
    """
    for _ in range(tries):
        before = procfs.read_bytes(pid, "stat")
        wchan = procfs.read_bytes(pid, "wchan")
        after = procfs.read_bytes(pid, "stat")
        try:
            state, again = parse_stat(before).state, parse_stat(after).state
        except (ValueError, IndexError) as err:
            raise AgentError(f"{procfs.path(pid, 'stat')}: not a stat line") from err
        name = _wchan_name(wchan)
        if (
            state == again
            and (state not in SLEEPING or name is not None)
            and (state != "R" or name is None)
        ):
            break
    return Sched(again, name, after, wchan)
