"""The fleet page's plots: incidents over time, stacked by root cause and by crash class.

Each incident counts in the period of its crash (a month, a week or a day, whichever gives
a readable number of bars for the span); an incident without a crash time (a clean reboot,
an unreadable bundle) is counted in the caption, not drawn. Like the single-incident plots
(:mod:`lostbeat.report.plots`) the SVG is inline, draws its text as paths and carries no
string from a bundle: the legends are lostbeat's own words for causes and classes.

Examples:
    >>> rows = [{"ok": True, "crashed_at": 1.26e9 + i * 86400 * 9, "root_cause_kind": "leak",
    ...          "crash_type": "lost_heartbeat"} for i in range(40)]
    >>> [p.key for p in time_plots(rows)]
    ['plot-causes', 'plot-classes']
    >>> time_plots([])
    ()
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib
import matplotlib.dates as mdates
import matplotlib.style
import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from lostbeat.analyzer.result import CauseKind, CrashType
from lostbeat.report.plots import _RC, Plot, _svg, _x

__all__ = ["CAUSE_WORDS", "CLASS_WORDS", "time_plots"]

CAUSE_WORDS: dict[str, str] = {
    CauseKind.LEAK: "leak",
    CauseKind.SPIKE: "spike",
    CauseKind.CONTENTION: "contention",
    CauseKind.INCONCLUSIVE: "inconclusive",
    CauseKind.NOT_MEMORY: "not memory",
}
CLASS_WORDS: dict[str, str] = {
    CrashType.LOST_HEARTBEAT: "lost heartbeat",
    CrashType.COS_OOPS: "COS oops",
    CrashType.COS_PANIC: "COS panic",
    CrashType.VMKERNEL: "VMkernel PSOD",
    CrashType.OOM_KILL: "OOM kill",
    CrashType.CGROUP_OOM: "cgroup OOM",
    CrashType.HUNG_TASK: "hung task",
    CrashType.SOFT_LOCKUP: "soft lockup",
    CrashType.HARD_LOCKUP: "hard lockup",
    CrashType.RCU_STALL: "RCU stall",
    CrashType.KERNEL_PANIC: "kernel panic",
    CrashType.NONE: "no crash",
    CrashType.UNKNOWN: "unknown",
}
# colour-blind-safe Okabe-Ito first, then Tol's muted set: one per category, in order
_COLOURS = (
    "#D55E00", "#E69F00", "#CC79A7", "#999999", "#0072B2", "#56B4E9", "#009E73", "#F0E442",
    "#882255", "#44AA99", "#117733", "#332288", "#DDCC77", "#AA4499",
)  # fmt: skip
_DAY = 86400.0


def _periods(times: Sequence[float]) -> tuple[list[float], float, str]:
    """Period starts covering ``times``, the period length in days and its name."""
    lo, hi = min(times), max(times)
    span_days = (hi - lo) / _DAY
    start = dt.datetime.fromtimestamp(lo, dt.UTC).replace(hour=0, minute=0, second=0)
    if span_days > 150:
        first = start.replace(day=1)
        starts = []
        while first.timestamp() <= hi:
            starts.append(first.timestamp())
            first = (first + dt.timedelta(days=32)).replace(day=1)
        return starts, 30.0, "month"
    step, name = (7.0, "week") if span_days > 25 else (1.0, "day")
    if step == 7.0:
        start -= dt.timedelta(days=start.weekday())
    count = int((hi - start.timestamp()) // (step * _DAY)) + 1
    return [start.timestamp() + i * step * _DAY for i in range(count)], step, name


def _stacked(
    key: str, title: str, dated: Sequence[tuple[float, str]], words: Mapping[str, str]
) -> Plot:
    starts, days, name = _periods([t for t, _ in dated])
    edges = np.asarray([*starts, float("inf")])
    counts: dict[str, Counter[int]] = {c: Counter() for c in words}
    for t, category in dated:
        index = int(np.searchsorted(edges, t, side="right")) - 1
        counts.setdefault(category, Counter())[index] += 1
    fig = Figure(figsize=(9.0, 2.8), layout="constrained")
    ax = fig.add_subplot()
    ax.grid(True, axis="y", color="#e3e3e3", linewidth=0.6)
    xs = _x([s + days * _DAY / 2 for s in starts])
    bottom = np.zeros(len(starts))
    named = {**words, **{c: c for c in counts if c not in words}}  # a value no table names
    for n, (category, word) in enumerate(named.items()):
        colour = _COLOURS[n % len(_COLOURS)]
        heights = np.asarray([counts[category][i] for i in range(len(starts))], dtype=float)
        if heights.any():
            ax.bar(xs, heights, width=days * 0.85, bottom=bottom, color=colour, label=word)
            bottom += heights
    locator = mdates.AutoDateLocator(tz=dt.UTC)  # type: ignore[no-untyped-call]
    ax.xaxis.set_major_locator(locator)
    formatter = mdates.ConciseDateFormatter(locator, tz=dt.UTC)  # type: ignore[no-untyped-call]
    ax.xaxis.set_major_formatter(formatter)
    ax.set_ylabel(f"incidents a {name}")
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    fig.legend(loc="outside right upper", fontsize=8, frameon=False)
    return Plot(key, title, f"{len(dated)} incidents, one bar a {name}", _svg(fig, key))


def time_plots(rows: Sequence[Mapping[str, Any]]) -> tuple[Plot, ...]:
    """The two time plots of the fleet document's rows; none when no incident is dated.

    Args:
        rows: the ``rows`` of a ``lostbeat.fleet/1`` document.
    """
    dated = [r for r in rows if r.get("ok") and r.get("crashed_at") is not None]
    if not dated:
        return ()
    with matplotlib.style.context("default"), matplotlib.rc_context(_RC):
        return (
            _stacked(
                "plot-causes",
                "Incidents by root cause",
                [(float(r["crashed_at"]), str(r["root_cause_kind"])) for r in dated],
                CAUSE_WORDS,
            ),
            _stacked(
                "plot-classes",
                "Incidents by crash class",
                [(float(r["crashed_at"]), str(r["crash_type"])) for r in dated],
                CLASS_WORDS,
            ),
        )
