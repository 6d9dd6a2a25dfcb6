"""What happens on a generated host, before any of it is written down: the :class:`Spec`.

A scenario builder (``scenarios.py``) draws a spec; ``simulate.py`` plays it out hour by hour.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from lostbeat.scenarios.host import Host

__all__ = ["HOUR", "Behaviour", "End", "Growth", "Load", "Pattern", "Spec"]

HOUR = 3600


class End(StrEnum):
    LOST_HEARTBEAT = "lost_heartbeat"
    COS_OOPS = "cos_oops"
    COS_PANIC = "cos_panic"
    VMKERNEL = "vmkernel"
    REBOOT = "reboot"
    HALT = "halt"

    @property
    def crashed(self) -> bool:
        return self not in (End.REBOOT, End.HALT)


class Load(StrEnum):
    NORMAL = "normal"
    LEAK = "leak"
    SPIKE = "spike"
    CONTENTION = "contention"


@dataclass(frozen=True, slots=True)
class Growth:
    """One process that grows in the last boot."""

    proc: str
    share: float = 1.0
    """Leak: its share of the memory that exhausts the console; otherwise of the headroom."""
    hours: float = 100.0
    """How long its (last) growth lasts before the end; at most the boot's length."""
    shape: float = 1.0
    """Exponent of the growth curve (1 linear, < 1 fast then slow, > 1 accelerating)."""
    step_h: int = 0
    """Grows in steps every so many hours (e.g. when a CIM client polls); 0 smooth."""
    cycles_h: tuple[float, ...] = ()
    """Sawtooth: lengths of the earlier cycles, oldest first, each ended by a restart."""


class Pattern(StrEnum):
    """How a process that does not leak moves in the hourly record."""

    STATIC = "static"
    """Flat but for the usual noise (a large, stable consumer)."""
    DAILY = "daily"
    """A daily cycle, highest at ``phase_h`` local time (business hours, a nightly backup)."""
    WARMUP = "warmup"
    """Grows for ``period_h`` hours after each start, then stays (caches filling); restarted
    and warming up again ``phase_h`` hours into the boot when that is not 0."""
    GC = "gc"
    """A JVM heap: fills over ``period_h`` hours, falls back at each full collection."""
    DRIFT = "drift"
    """Rises over the last ``period_h`` hours before the end of the incident's boot only."""


@dataclass(frozen=True, slots=True)
class Behaviour:
    """How one steady (non-leaking) process varies; it never grows steadily over the boot."""

    proc: str
    pattern: Pattern
    amount: float = 0.0
    """The swing as a share of the process's size: the cycle's depth, the warm-up's growth
    or the drift's rise."""
    period_h: float = 24.0
    phase_h: float = 0.0
    size_kb: int | None = None
    """Normal size replacing the catalog's draw (a large consumer); None keeps the draw."""
    resident: float | None = None
    """Share of the size that is real memory; None keeps the catalog's."""


@dataclass(frozen=True, slots=True)
class Spec:
    """What happens on the host, before any of it is written down."""

    host: Host
    end: End
    load: Load
    end_at: int
    """Epoch of the end: heartbeat stop (lost heartbeat), screen (other crash), or the
    reboot/halt line."""
    boot_h: float
    """Length of the last boot before the end."""
    growths: tuple[Growth, ...] = ()
    behaviours: tuple[Behaviour, ...] = ()
    outsize: float = 0.0
    """Leak: the first large ``STATIC`` consumer ends this many times the size of the primary
    leaker at the end (the leak is sized to fit under it); 0 leaves the sizes as drawn."""
    pressure: float = 0.2
    """Load of everything but the growths: swap in use at the end as a share of SwapTotal;
    below 0, RAM not even full (-0.3: 70 % of the RAM room in use)."""
    earlier: tuple[tuple[float, End], ...] = ()
    """Earlier boots, newest first: (hours, how it ended)."""
    retained_h: float = 840.0
    silent_h: float = 0.0
    """No summary line in this window before the end (cron starved)."""
    down_s: int = 3600
    """From the screen (or the reboot/halt line) to the next ``Starting system``."""
    post_h: float = 6.0
    missing: float = 0.01
    variant: str = ""
    """Which look-alike screen: pcpu_lockup, pf_exception, not_implemented (VMkernel);
    empty for the others."""
    boot_failure: bool = False
    """The crash came while booting after a clean reboot (NOT_IMPLEMENTED, KB 1016239)."""
    article: bool = False
    """Reproduce KB 308590's two last summary lines exactly (vmware-leak, seed 0)."""
