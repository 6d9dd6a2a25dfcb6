"""The recorder's live view of its samples: time to exhaustion and leak suspects.

Not the analyzer's judgement (that reads the whole recording afterwards): a cheap,
running estimate for the metrics and the early warning, over the last ``window_s``.

* **Time to exhaustion**: the memory domain's working set (the host, or ``--cgroup``'s
  group) measured at each sample, a least-squares line through the window
  (``lostbeat.agent.early.Trend``, the monitor's own).
* **Leak suspects**: at most :data:`CHECKPOINTS` snapshots of every process's RSS + swap
  are kept across the window; a process is a suspect when it is in at least 5 of them (2 for
the early warning, which may come before the window fills),
  did not shrink between at least 70 % of consecutive ones, grew at least :data:`MIN_GROWTH`
  over them and its least-squares rate is at least :data:`MIN_RATE`.

Examples:
    >>> from lostbeat.recording.schema import *
    >>> t = LiveTrend(window_s=150.0)
    >>> ident = Identity(ProcessKey("leaker", "leaker --fast", 7, 0.0))
    >>> for s in range(16):
    ...     t.add(Snapshot(10.0 * s, 0.0, SystemSample(8 << 30, 4 << 30, 0, 0),
    ...                    ((ident, ProcSample(1000 + 1024 * s, 0)),)))
    >>> [(s.identity.key.name, round(s.rate), s.growth) for s in t.suspects()]
    [('leaker', 104858, 15728640)]
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from lostbeat.agent.early import slope
from lostbeat.recording.schema import Identity, ProcSample, Snapshot

__all__ = ["CHECKPOINTS", "MIN_GROWTH", "MIN_RATE", "LiveTrend", "Suspect"]

CHECKPOINTS = 16
MIN_GROWTH = 1 << 20
"""Bytes a suspect grew across the window, at least."""
MIN_RATE = 4096.0
"""Bytes a second a suspect grows at, at least (about 14 MiB an hour)."""

Ref = tuple[int, float]


@dataclass(frozen=True, slots=True)
class Suspect:
    identity: Identity
    rate: float
    """Bytes a second, fitted across the window."""
    growth: int
    """Bytes, from its first to its last checkpoint in the window."""
    held: int
    """Bytes (RSS + swap) now."""


def _bytes(sample: ProcSample) -> int | None:
    if sample.rss_kb is None and sample.swap_kb is None:
        return None
    return ((sample.rss_kb or 0) + (sample.swap_kb or 0)) * 1024


class LiveTrend:
    """Checkpoints of every process across a sliding window."""

    def __init__(self, *, window_s: float = 600.0) -> None:
        self.window_s = window_s
        self._step = window_s / (CHECKPOINTS - 1)
        self._checkpoints: deque[tuple[float, dict[Ref, int]]] = deque()
        self._latest: dict[Ref, tuple[Identity, int, ProcSample]] = {}

    def add(self, snapshot: Snapshot) -> None:
        latest = {}
        for identity, sample in snapshot.procs:
            held = _bytes(sample)
            if held is not None:
                latest[identity.key.ref] = (identity, held, sample)
        self._latest = latest
        ts = snapshot.ts
        if not self._checkpoints or ts - self._checkpoints[-1][0] >= self._step:
            self._checkpoints.append((ts, {ref: entry[1] for ref, entry in latest.items()}))
        while self._checkpoints and ts - self._checkpoints[0][0] > self.window_s:
            self._checkpoints.popleft()

    def top(self, count: int) -> list[tuple[Identity, int, int | None]]:
        """The ``count`` largest processes by RSS + swap now: identity, RSS and swap (bytes;
        swap None when unknown)."""
        ranked = sorted(self._latest.values(), key=lambda entry: -entry[1])[:count]
        return [
            (i, (s.rss_kb or 0) * 1024, None if s.swap_kb is None else s.swap_kb * 1024)
            for i, _, s in ranked
        ]

    def growers(self, count: int, *, among: set[int] | None = None) -> list[Suspect]:
        """The processes (of the pids ``among``) that grew most across their checkpoints,
        steady or not: who to name when a warning comes before any suspect is sure."""
        found = []
        for ref, (identity, held, _) in self._latest.items():
            if among is not None and identity.key.pid not in among:
                continue
            points = [(ts, float(table[ref])) for ts, table in self._checkpoints if ref in table]
            growth = int(points[-1][1] - points[0][1]) if points else 0
            if growth > 0:
                found.append(Suspect(identity, slope(points) or 0.0, growth, held))
        found.sort(key=lambda s: -s.growth)
        return found[:count]

    def suspects(self, count: int = 10, *, min_points: int = 5) -> list[Suspect]:
        """The processes growing steadily across the window, fastest first.

        Args:
            min_points: checkpoints a suspect must be in (an early warning, which may come
                before the window is full, takes fewer).
        """
        found = []
        for ref, (identity, held, _) in self._latest.items():
            points = [(ts, float(table[ref])) for ts, table in self._checkpoints if ref in table]
            if len(points) < max(2, min_points):
                continue
            steps = [b[1] - a[1] for a, b in zip(points, points[1:], strict=False)]
            growth = int(points[-1][1] - points[0][1])
            if growth < MIN_GROWTH or sum(d >= 0 for d in steps) < 0.7 * len(steps):
                continue
            rate = slope(points)
            if rate is not None and rate >= MIN_RATE:
                found.append(Suspect(identity, rate, growth, held))
        found.sort(key=lambda s: -s.rate)
        return found[:count]
