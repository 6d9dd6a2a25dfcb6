"""sysstat's history as the Linux profile reads it: the host's memory and swap over time,
where vmksummary gives ESX's (docs/reference/linux-logs.md §8).

sar measures the host, not its processes: it gives the domain's size, the swap series, the
pressure before the end and the restarts, and the host's own memory use in the boot that
crashed (``MemoryHistory.domain_used``: the root cause judges whether it rose steadily up to
the crash); never a culprit (the crash's own report names it).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from statistics import median

from lostbeat.analyzer.facts import Pressure, Sampling
from lostbeat.analyzer.parsers.sar import SarLog, SarMemory

__all__ = ["MIN_POINTS", "SUSTAINED_S", "SarView", "read_sar", "sar_sampling"]

MIN_POINTS = 6
"""sar samples needed before its memory series can show a steady rise."""
SUSTAINED_S = 2 * 3600.0
"""A rise of the host's memory is a trend, not one workload's burst, once it has lasted this
long (and :data:`MIN_POINTS` samples): a judgement, as vmksummary's 4 hours are on ESX."""
BURST_S = 3600.0
"""A rise within this long is one burst (a job's allocations), however many samples show it:
vmksummary's hour, which cannot split it either."""

WHEN = 0.8
"""Pressure is read four fifths into the window: a host that hung is full at its very end."""


@dataclass(frozen=True, slots=True)
class SarView:
    ram_kb: float | None = None
    swap_total_kb: float | None = None
    swap: tuple[tuple[float, int], ...] = ()
    """(epoch, swap used bytes) up to the end."""
    pressure: Pressure = Pressure()
    restarts: tuple[float, ...] = ()
    end: float | None = None
    used: tuple[tuple[float, float], ...] = ()
    """(epoch, KB the host held: its total less what was available) up to the end, from the
    last restart before it: the boot that crashed."""


def read_sar(sars: Sequence[SarLog], end: float | None) -> SarView:
    """The reports merged in time, cut at ``end`` (the crash) when it is known."""
    memory = sorted({m.at: m for log in sars for m in log.memory}.values(), key=lambda m: m.at)
    swap = sorted({s.at: s for log in sars for s in log.swap}.values(), key=lambda s: s.at)
    if end is not None:
        memory = [m for m in memory if m.at <= end]
        swap = [s for s in swap if s.at <= end]
    restarts = tuple(sorted({r for log in sars for r in log.restarts}))
    last = memory[-1].at if memory else None
    booted = max((r for r in restarts if last is not None and r <= last), default=float("-inf"))
    if not memory and not swap:
        return SarView(restarts=restarts)
    ram = float(memory[-1].total_kb) if memory else None
    swap_total = float(swap[-1].free_kb + swap[-1].used_kb) if swap else None
    times = [m.at for m in memory] or [s.at for s in swap]
    when = times[0] + WHEN * (times[-1] - times[0])
    m = next((m for m in reversed(memory) if m.at <= when), None)
    s = next((s for s in reversed(swap) if s.at <= when), None)
    ram_used = None
    if m is not None and m.total_kb:
        ram_used = round(100.0 * _held(m) / m.total_kb, 1)
    swap_used = None
    if s is not None and s.free_kb + s.used_kb:
        swap_used = round(100.0 * s.used_kb / (s.free_kb + s.used_kb), 1)
    free = float(swap[-1].free_kb) if swap else None
    return SarView(
        ram_kb=ram,
        swap_total_kb=swap_total,
        swap=tuple((s.at, s.used_kb * 1024) for s in swap),
        pressure=Pressure(swap_used, ram_used, free),
        restarts=restarts,
        end=times[-1],
        used=tuple((m.at, float(_held(m))) for m in memory if m.at > booted),
    )


def _held(m: SarMemory) -> int:
    return m.total_kb - m.available_kb if m.available_kb is not None else m.used_kb


def sar_sampling(base: Sampling, view: SarView) -> Sampling:
    """``base`` at sar's own pace: its samples' median step, a sustained span, and the steps
    one burst may take."""
    steps = [b[0] - a[0] for a, b in zip(view.used, view.used[1:], strict=False)]
    step = median(steps) if steps else base.resolution_s
    return replace(
        base,
        resolution_s=step,
        min_samples=MIN_POINTS,
        min_span_s=max(MIN_POINTS * step, SUSTAINED_S),
        jump_steps=max(1, round(BURST_S / step)) if step > 0 else 1,
        unit="sar samples",
    )
