"""Early warning: memory pressure (PSI) and the time left before the memory runs out.

**Pressure.** The kernel's pressure stall information counts the time tasks waited for
memory (Documentation/accounting/psi.rst). A *trigger* is set by writing
``<some|full> <stall µs> <window µs>`` to a pressure file opened for writing; the kernel
then signals ``POLLPRI`` on that descriptor each time the stall within a window passes the
threshold (at most once per window); without CAP_SYS_RESOURCE the window must be a
multiple of 2 s (the case in the containers the tests run in, VERIFIED: a 1 s window gives
EINVAL, a 2 s one is taken). The file is the watched cgroup's ``memory.pressure``
under cgroup v2, else ``/proc/pressure/memory`` (cgroup v1 has no per-group pressure; these
hosts, VERIFIED). Where the kernel refuses a trigger (no permission, an older kernel, a
read-only ``/proc``), the same rule is applied by reading the file's cumulative ``total``
(µs stalled) at each check: the stall over the last window is the rise of ``total`` over it.

**Time to exhaustion.** A least-squares line through the domain's used memory over the last
``window`` seconds; when it rises, the time left is what is free now divided by the slope.
Used memory is the *working set*: for a cgroup its usage less its inactive file cache (v1
``memory.usage_in_bytes`` less ``total_inactive_file`` of ``memory.stat``; v2
``memory.current`` less ``inactive_file``), the page cache the kernel reclaims first, as
cAdvisor and ``docker stats`` count it; for the host ``MemTotal + SwapTotal`` less
``MemAvailable + SwapFree``.

Examples:
    >>> parse_trigger("some 150000 1000000")
    Trigger(kind='some', stall_us=150000, window_us=1000000)
    >>> t = Trend(window_s=60)
    >>> for s in range(10):
    ...     t.add(float(s), used=100 + 10 * s, capacity=300)
    >>> t.time_to_exhaustion()
    11.0
    >>> slope([(0.0, 1.0), (1.0, 3.0), (2.0, 5.0)])
    2.0
"""

from __future__ import annotations

import errno
import math
import os
import select
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from lostbeat.agent import cgroup as cg
from lostbeat.errors import InputError
from lostbeat.procfs import Procfs

__all__ = [
    "DEFAULT_TRIGGER",
    "Crossing",
    "Domain",
    "PressureWatch",
    "Trend",
    "Trigger",
    "exhaustion_text",
    "parse_trigger",
    "pressure_file",
    "slope",
]

MIB = 1 << 20

DEFAULT_TRIGGER = "some 150000 1000000"
"""150 ms of stall within 1 s, psi.rst's own example: tasks waited for memory 15 % of the
time, the point where a leak starts to be felt, well before the group stops."""


@dataclass(frozen=True, slots=True)
class Trigger:
    kind: str
    stall_us: int
    window_us: int

    def __str__(self) -> str:
        return f"{self.kind} {self.stall_us} {self.window_us}"


def parse_trigger(text: str) -> Trigger:
    """``some|full STALL_US WINDOW_US``, as the kernel takes it (window 0.5 s to 10 s).

    Raises:
        InputError: not in that form.
    """
    words = text.split()
    if (
        len(words) != 3
        or words[0] not in ("some", "full")
        or not all(w.isascii() and w.isdigit() for w in words[1:])
    ):
        raise InputError("expected 'some|full STALL_US WINDOW_US'", path=text)
    stall, window = int(words[1]), int(words[2])
    if not 500_000 <= window <= 10_000_000 or not 0 < stall <= window:
        raise InputError(
            "expected a window of 500000 to 10000000 µs and a stall within it", path=text
        )
    return Trigger(words[0], stall, window)


def pressure_file(watched: cg.MemoryCgroup | None, procfs: Procfs) -> Path:
    """The watched cgroup's ``memory.pressure`` (v2), else the host's."""
    if watched is not None and watched.hierarchy.version is cg.CgroupVersion.V2:
        own = watched.fs_path / "memory.pressure"
        if own.exists():
            return own
    return procfs.root / "pressure" / "memory"


def _total_us(text: str, kind: str) -> int | None:
    for line in text.splitlines():
        if line.startswith(kind + " "):
            for word in line.split():
                if word.startswith("total="):
                    return int(word[6:])
    return None


class PressureWatch:
    """Fires when the stall within a window passes the trigger's threshold.

    Args:
        path: the pressure file.
        trigger: the threshold.
        poll_trigger: try the kernel's trigger first (else read ``total`` at each check).
    """

    def __init__(self, path: Path, trigger: Trigger, *, poll_trigger: bool = True) -> None:
        self.path, self.trigger = path, trigger
        self.mode = "read"
        self.why_read: str | None = None
        """Why the kernel's trigger is not used, when it is not."""
        self._fd: int | None = None
        self._poll: select.poll | None = None
        self._totals: deque[tuple[float, int]] = deque()
        if poll_trigger:
            self._arm()

    def _arm(self) -> None:
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_NONBLOCK | os.O_CLOEXEC)
        except OSError as err:
            self.why_read = f"{self.path}: {err.strerror}"
            return
        try:
            os.write(fd, f"{self.trigger}\0".encode("ascii"))
        except OSError as err:  # EINVAL, EPERM, EOPNOTSUPP: no trigger here
            os.close(fd)
            self.why_read = f"{self.path}: the kernel refused the trigger ({err.strerror})"
            if err.errno == errno.EINVAL and self.trigger.window_us % 2_000_000:
                # psi.rst: without CAP_SYS_RESOURCE a window must be a multiple of 2 s
                self.why_read += "; without CAP_SYS_RESOURCE its window must be a multiple of 2 s"
            return
        self._fd, self.mode = fd, "trigger"
        self._poll = select.poll()
        self._poll.register(fd, select.POLLPRI)

    def check(self, now: float) -> int | None:
        """The stall (µs) of the window that passed the threshold since the last check,
        or None. With the kernel's trigger the stall is not told: the threshold is given."""
        if self._poll is not None:
            try:
                events = self._poll.poll(0)
            except OSError as err:
                if err.errno == errno.EINTR:
                    return None
                raise
            if any(mask & select.POLLERR for _, mask in events):
                self.close()  # the cgroup went away: go on reading what is left
                self.why_read = f"{self.path}: the trigger stopped (its cgroup removed?)"
                return None
            return self.trigger.stall_us if events else None
        return self._read(now)

    def _read(self, now: float) -> int | None:
        try:
            total = _total_us(self.path.read_text(encoding="ascii"), self.trigger.kind)
        except (OSError, ValueError):
            return None
        if total is None:
            return None
        window = self.trigger.window_us / 1e6
        totals = self._totals
        totals.append((now, total))
        while len(totals) > 1 and now - totals[1][0] >= window:
            totals.popleft()
        start, first = totals[0]
        if now - start < window * 0.5:
            return None  # too short a span to judge yet
        stall = total - first
        if stall >= self.trigger.stall_us:
            totals.clear()  # like the kernel: at most once per window
            totals.append((now, total))
            return stall
        return None

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd, self._poll, self.mode = None, None, "read"


def slope(points: Sequence[tuple[float, float]]) -> float | None:
    """The least-squares slope of ``(t, y)`` points; None for fewer than two distinct t."""
    n = len(points)
    if n < 2:
        return None
    mean_t = sum(t for t, _ in points) / n
    mean_y = sum(y for _, y in points) / n
    var = sum((t - mean_t) ** 2 for t, _ in points)
    if var <= 0:
        return None
    return sum((t - mean_t) * (y - mean_y) for t, y in points) / var


class Trend:
    """Used memory against capacity over a sliding window, and the time left at that pace.

    Args:
        window_s: how far back the line is fitted.
        min_points: fewer samples than this in the window give no estimate.
    """

    def __init__(self, *, window_s: float = 60.0, min_points: int = 5) -> None:
        self.window_s, self.min_points = window_s, min_points
        self._points: deque[tuple[float, float]] = deque()
        self.capacity: float | None = None
        self.used: float | None = None

    def add(self, t: float, *, used: float, capacity: float) -> None:
        self._points.append((t, used))
        while self._points and t - self._points[0][0] > self.window_s:
            self._points.popleft()
        self.used, self.capacity = used, capacity

    def rate(self) -> float | None:
        """Bytes a second the used memory grows (negative: shrinks); None if too few points."""
        if len(self._points) < self.min_points:
            return None
        return slope(self._points)

    def time_to_exhaustion(self) -> float | None:
        """Seconds until used reaches capacity at the fitted pace: ``inf`` when it does not
        grow, ``0`` when it is already there; None when there are too few points."""
        rate = self.rate()
        if rate is None or self.used is None or self.capacity is None:
            return None
        free = self.capacity - self.used
        if free <= 0:
            return 0.0
        return free / rate if rate > 0 else math.inf


class Crossing:
    """When the time to exhaustion first drops under a line, and when it is clear again:
    once it has risen over twice the line, or the memory stopped growing (so one episode
    gives one alarm, not one a sample).

    >>> c = Crossing(60.0)
    >>> [c.update(t) for t in (300.0, 50.0, 40.0, 90.0, 130.0, 30.0, None)]
    [None, True, None, None, False, True, None]
    """

    def __init__(self, line: float) -> None:
        self.line, self.armed = line, True

    def update(self, tte: float | None) -> bool | None:
        """True when it has just crossed, False when it has just cleared, else None."""
        if tte is None:
            return None
        if math.isinf(tte) or tte > 2 * self.line:
            cleared = not self.armed
            self.armed = True
            return False if cleared else None
        if tte >= self.line or not self.armed:
            return None
        self.armed = False
        return True


def exhaustion_text(tte: float, rate: float, used: float, capacity: float, where: str) -> str:
    """``runs out in 12 s at +9.8 MiB/s (230 of 256 MiB used, cgroup /x)``."""
    return (
        f"runs out in {tte:.0f} s at {rate / MIB:+.1f} MiB/s ({used // MIB:.0f} of "
        f"{capacity // MIB:.0f} MiB used, {where})"
    )


@dataclass(frozen=True, slots=True)
class Domain:
    """The memory domain whose exhaustion is projected: a cgroup with a limit, or the host."""

    procfs: Procfs
    cgroup: cg.MemoryCgroup | None = None

    def measure(self) -> tuple[int, int] | None:
        """``(used, capacity)`` in bytes now; None when unreadable. A cgroup without a limit
        is measured against the host."""
        if self.cgroup is not None:
            state = cg.memory_state(self.cgroup)
            if state.usage_bytes is not None and state.limit_bytes is not None:
                v1 = self.cgroup.hierarchy.version is cg.CgroupVersion.V1
                inactive = _stat(self.cgroup, "total_inactive_file" if v1 else "inactive_file")
                return max(0, state.usage_bytes - inactive), state.limit_bytes
        info = self.procfs.meminfo()
        keys = ("MemTotal", "MemAvailable", "SwapTotal", "SwapFree")
        if not all(k in info for k in keys):
            return None
        capacity = info["MemTotal"] + info["SwapTotal"]
        return capacity - info["MemAvailable"] - info["SwapFree"], capacity


def _stat(cgroup: cg.MemoryCgroup, key: str) -> int:
    try:
        text = (cgroup.fs_path / "memory.stat").read_text(encoding="ascii")
    except OSError:
        return 0
    for line in text.splitlines():
        name, _, value = line.partition(" ")
        if name == key and value.strip().isdigit():
            return int(value)
    return 0
