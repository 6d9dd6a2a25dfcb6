"""Monitor log lines in the style of the VMkernel's, and the bounded log that keeps them.

Every line the monitor writes has the form::

    <uptime> cpu<N>:<monitor pid>)<Source>: <text>

where ``<uptime>`` is the host's uptime as ``D:HH:MM:SS.mmm`` (the VMkernel's format) and
``cpu<N>`` the CPU the monitor ran on. The heartbeat lines carry the ESX fields::

    0:00:12:31.042 cpu1:812)HB: Lost heartbeat (comm=lostbeat-hbd pid=4242 t=3 to=5 clt=1)

``comm`` is the client's name, ``pid`` its process id (from SO_PEERCRED), ``t`` the whole
seconds since its last beat, ``to`` its timeout in seconds and ``clt`` its client number.
ESX counts ``t`` and ``to`` in minutes (seed KB 1009607, VERIFIED: "timeout period of 30
minutes", ``to=30``); lostbeat counts seconds.
"""

from __future__ import annotations

import sys
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import TextIO

from lostbeat.agent.clients import Event, EventKind

RING_LINES = 256
# Lines about the clients of one uid other than root: a burst, then one a second. A uid
# whose clients never beat, or come and go, cannot flush the ring the capture keeps.
UID_BURST = 32
UID_EVERY = 1.0


def format_uptime(seconds: float) -> str:
    """Uptime as the VMkernel prints it.

    >>> format_uptime(3682886.308)
    '42:15:01:26.308'
    >>> format_uptime(0.5)
    '0:00:00:00.500'
    """
    millis = round(seconds * 1000)
    secs, ms = divmod(millis, 1000)
    mins, sec = divmod(secs, 60)
    hours, minute = divmod(mins, 60)
    days, hour = divmod(hours, 24)
    return f"{days}:{hour:02d}:{minute:02d}:{sec:02d}.{ms:03d}"


@dataclass(frozen=True, slots=True)
class HbFields:
    """The fields of a heartbeat line."""

    comm: str
    pid: int
    t: float
    to: float
    clt: int

    def render(self) -> str:
        """``(comm=.. pid=.. t=.. to=.. clt=..)`` with whole seconds.

        >>> HbFields("hbd", 42, 2.9, 5.0, 1).render()
        '(comm=hbd pid=42 t=2 to=5 clt=1)'
        """
        to = int(self.to) if self.to == int(self.to) else round(self.to, 3)
        return f"(comm={self.comm} pid={self.pid} t={int(self.t)} to={to} clt={self.clt})"


class AlertLog:
    """Writes monitor lines to a stream and keeps the last :data:`RING_LINES` of them.

    Args:
        uptime: returns the host's uptime in seconds.
        cpu: returns the CPU the monitor runs on, or None.
        pid: the monitor's process id.
        stream: where lines go (the journal, under systemd); None for ``sys.stderr``.
    """

    def __init__(
        self,
        *,
        uptime: Callable[[], float],
        cpu: Callable[[], int | None],
        pid: int,
        stream: TextIO | None = None,
    ) -> None:
        self._uptime = uptime
        self._cpu = cpu
        self._pid = pid
        self._stream = stream
        self.ring: deque[str] = deque(maxlen=RING_LINES)
        self._limited: dict[str, tuple[float, float, int]] = {}

    def line(self, source: str, text: str) -> str:
        """Write and keep one line; returns it."""
        cpu = self._cpu()
        where = f"cpu{cpu}" if cpu is not None else "cpu?"
        line = f"{format_uptime(self._uptime())} {where}:{self._pid}){source}: {text}"
        self.ring.append(line)
        stream = self._stream or sys.stderr
        try:
            stream.write(line + "\n")
            stream.flush()
        except (OSError, ValueError):
            pass  # a closed or full log must not stop the monitor
        return line

    def limited(
        self,
        key: str,
        source: str,
        text: str,
        *,
        now: float,
        every: float = 1.0,
        burst: int = 1,
        counted: str = "more suppressed",
    ) -> bool:
        """Write a line unless ``key`` has used its allowance; returns whether it was written.

        Each key may write ``burst`` lines at once, then one per ``every`` seconds (a token
        bucket); the lines held back are counted and the count is appended to the key's
        next line as ``(N more suppressed)``, or ``(N <counted>)``. Keys come from a fixed
        set (a kind of complaint, an allowed uid), so this state stays small.
        """
        tokens, last, suppressed = self._limited.get(key, (float(burst), now, 0))
        tokens = min(float(burst), tokens + (now - last) / every)
        if tokens < 1.0 - 1e-9:  # (sums of float fractions fall just short of 1)
            self._limited[key] = (tokens, now, suppressed + 1)
            return False
        more = f" ({suppressed} {counted})" if suppressed else ""
        self.line(source, text + more)
        self._limited[key] = (tokens - 1.0, now, 0)
        return True

    def report(self, event: Event, *, now: float) -> None:
        """The lines of a client event. Root's are always written; another uid's are held
        to :data:`UID_BURST` at once, then one per :data:`UID_EVERY` seconds."""
        c = event.client
        fields = HbFields(c.name, c.pid, c.since, c.timeout, c.clt).render()
        text = {
            EventKind.REGISTERED: f"Client registered {fields} uid={c.uid} interval={c.interval:g}",
            EventKind.DEREGISTERED: f"Client deregistered {fields}",
            EventKind.LATE: f"Lost heartbeat {fields}",
            EventKind.LOST: f"Lost heartbeat {fields}",
            EventKind.RESUMED: f"Heartbeat resumed {fields}",
            EventKind.GONE: f"Client gone {fields}: process exited, not a hang",
        }[event.kind]
        lines = [("HB", text)]
        if event.kind is EventKind.LOST:
            lines.append(("Host", f"Error: Lost heartbeat {fields}"))
        for source, line in lines:
            if c.uid == 0:
                self.line(source, line)
            else:
                self.limited(
                    f"uid:{c.uid}", source, line, now=now, every=UID_EVERY, burst=UID_BURST,
                    counted=f"more lines of uid {c.uid} suppressed",
                )  # fmt: skip

    def recent(self) -> tuple[str, ...]:
        """The kept lines, oldest first."""
        return tuple(self.ring)
