"""Plots of the memory history as inline SVG, made with matplotlib and nothing else.

One plot per top consumer (its footprint over time, the boots and the crash as vertical
lines, the leak's projection dashed to the exhaustion point, the domain's memory for scale) and one
of swap used against swap total. The SVG draws its text as glyph paths, so it needs no font
and no file, and it carries no string from the bundle: legends say "footprint" or "crash",
and the names go in the HTML caption, where the template escapes them.
"""

from __future__ import annotations

import dataclasses
import io
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import matplotlib
import matplotlib.dates as mdates
import matplotlib.style
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.typing import RcKeyType

from lostbeat.analyzer.result import AnalysisResult, ProcessSeries
from lostbeat.report._format import clean, size_kb

__all__ = ["MAX_CONSUMERS", "Plot", "memory_plots"]

MAX_CONSUMERS = 8
"""Consumers plotted at most, in the order the analyzer ranked them."""

_LINE, _CRASH, _BOOT, _LIMIT = "#1f5fa8", "#c0392b", "#6b6b6b", "#8a8a8a"
_MB = 1024.0  # KB per MB
# Dropped from matplotlib's SVG before it is inlined: the prolog, comments (which repeat
# the text), metadata, and the namespace attributes an HTML parser does not need.
_DROP = re.compile(r"<\?xml.*?\?>|<!DOCTYPE.*?>|<!--.*?-->|<metadata>.*?</metadata>", re.S)
_XMLNS = re.compile(r'\sxmlns(?::xlink)?="[^"]*"')
_RC: dict[RcKeyType, Any] = {
    "svg.fonttype": "path",  # text as glyph outlines: no font needed where it opens
    "text.parse_math": False,  # a "$" is a dollar sign, never mathtext
    "font.size": 9.0,
    "axes.spines.top": False,
    "axes.spines.right": False,
}


@dataclass(frozen=True, slots=True)
class Plot:
    """One figure: a DOM id, a caption (may hold bundle text: escape it) and SVG markup."""

    key: str
    title: str
    caption: str
    svg: str


@dataclass(frozen=True, slots=True)
class _Marks:
    boots: tuple[float, ...]
    crash: float | None
    ram_kb: float | None
    resolution_s: float
    ram_label: str = "memory"


def _x(epochs: Sequence[float] | np.ndarray) -> np.ndarray:
    """Epoch seconds to matplotlib date numbers, whatever epoch matplotlib is set to."""
    origin = mdates.date2num(datetime(1970, 1, 1, tzinfo=UTC))  # type: ignore[no-untyped-call]
    return np.asarray(origin + np.asarray(epochs, dtype=float) / 86400.0)


def _broken(
    points: Sequence[tuple[float, float]], boots: Sequence[float], max_gap: float
) -> tuple[np.ndarray, np.ndarray]:
    """Times and values with a gap (NaN) at each boot and each missing stretch of samples.

    A process shows in vmksummary only in the hours it is among the top three, so its
    series has holes; a line drawn across them would invent values.
    """
    ts: list[float] = []
    ys: list[float] = []
    for i, (t, y) in enumerate(points):
        if i:
            before = points[i - 1][0]
            if t - before > max_gap or any(before < b <= t for b in boots):
                ts.append((before + t) / 2)
                ys.append(math.nan)
        ts.append(t)
        ys.append(y)
    return _x(ts), np.asarray(ys, dtype=float)


def _line(ax: Axes, xs: np.ndarray, ys: np.ndarray, label: str) -> None:
    """The series as a line, and as dots where a sample stands alone between gaps."""
    ax.plot(xs, ys, color=_LINE, linewidth=1.6, label=label)
    gap = np.isnan(ys)
    alone = ~gap & np.r_[True, gap[:-1]] & np.r_[gap[1:], True]
    if alone.any():
        ax.plot(xs[alone], ys[alone], color=_LINE, marker="o", markersize=3, linestyle="none")


def _svg(fig: Figure, key: str) -> str:
    buf = io.StringIO()
    with matplotlib.rc_context({"svg.hashsalt": key}):
        fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": None})
    text = _DROP.sub("", buf.getvalue())
    head, sep, rest = text.partition(">")
    return (_XMLNS.sub("", head) + sep + rest).strip()


def _figure() -> tuple[Figure, Axes]:
    fig = Figure(figsize=(9.0, 2.6), layout="constrained")
    ax = fig.add_subplot()
    ax.grid(True, color="#e3e3e3", linewidth=0.6)
    # matplotlib.dates is not annotated (matplotlib 3.10)
    locator = mdates.AutoDateLocator(tz=UTC)  # type: ignore[no-untyped-call]
    ax.xaxis.set_major_locator(locator)
    formatter = mdates.ConciseDateFormatter(locator, tz=UTC)  # type: ignore[no-untyped-call]
    ax.xaxis.set_major_formatter(formatter)
    ax.set_ylabel("MB")
    return fig, ax


def _mark(ax: Axes, marks: _Marks, span: tuple[float, float]) -> None:
    """Boots and the crash as vertical lines, the RAM as a horizontal one."""
    label = "boot"
    for boot in marks.boots:
        if span[0] <= boot <= span[1]:
            ax.axvline(float(_x([boot])[0]), color=_BOOT, linestyle=":", linewidth=1.2, label=label)
            label = "_"
    if marks.crash is not None:
        ax.axvline(float(_x([marks.crash])[0]), color=_CRASH, linewidth=1.6, label="crash")
    if marks.ram_kb is not None:
        ax.axhline(
            marks.ram_kb / _MB, color=_LIMIT, linestyle="-.", linewidth=1, label=marks.ram_label
        )
    lo, hi = _x([span[0], span[1]])
    pad = max((hi - lo) * 0.02, 1 / 24)
    ax.set_xlim(float(lo - pad), float(hi + pad))
    ax.set_ylim(bottom=0)
    ax.legend(loc="upper left", fontsize=8, framealpha=0.85)


def _span(
    *series: Sequence[tuple[float, float]], extra: Sequence[float | None], boots: Sequence[float]
) -> tuple[float, float]:
    """The time range to show: the data and the crash, and a boot shortly after them."""
    times = [t for s in series for t, _ in s] + [t for t in extra if t is not None]
    lo, hi = min(times), max(times)
    reach = hi + max((hi - lo) * 0.1, 3600.0)
    after = [b for b in boots if hi < b <= reach]
    return lo, max([hi, *after])


def _consumer_plot(
    n: int,
    series: ProcessSeries,
    projection: Sequence[tuple[float, float]],
    marks: _Marks,
) -> Plot:
    fig, ax = _figure()
    points = [(t, kb / _MB) for t, kb in series.points]
    gap = 1.5 * marks.resolution_s
    _line(ax, *_broken(points, marks.boots, gap), label="footprint")
    if projection:
        px = _x([t for t, _ in projection])
        py = np.asarray([kb / _MB for _, kb in projection])
        ax.plot(px, py, color=_CRASH, linestyle="--", linewidth=1.4, label="projected leak")
        ax.plot(px[-1:], py[-1:], color=_CRASH, marker="X", markersize=8, linestyle="none")
    _mark(ax, marks, _span(series.points, projection, extra=(marks.crash,), boots=marks.boots))
    name = clean(series.name or series.token, limit=80)
    peak = max(kb for _, kb in series.points)
    token = f" (logged as {clean(series.token, limit=16)!r})" if series.token != series.name else ""
    caption = f"{name}{token}: peak {size_kb(peak)}"
    if projection:
        caption += "; dashed: the leak's projected line to exhaustion"
    key = f"plot-consumer-{n}"
    return Plot(key, f"Memory of {name}", caption, _svg(fig, key))


def _projection_plot(projection: Sequence[tuple[float, float]], marks: _Marks) -> Plot:
    fig, ax = _figure()
    px = _x([t for t, _ in projection])
    py = np.asarray([kb / _MB for _, kb in projection])
    ax.plot(px, py, color=_CRASH, linestyle="--", linewidth=1.4, label="projected leak")
    ax.plot(px[-1:], py[-1:], color=_CRASH, marker="X", markersize=8, linestyle="none")
    _mark(ax, marks, _span(projection, extra=(marks.crash,), boots=marks.boots))
    caption = "The leak's projected line to exhaustion (its process has no plotted history)"
    return Plot("plot-projection", "Projected leak", caption, _svg(fig, "plot-projection"))


def _swap_plot(result: AnalysisResult, marks: _Marks) -> Plot:
    history = result.history
    fig, ax = _figure()
    points = [(t, used / 1024 / _MB) for t, used in history.swap]
    _line(ax, *_broken(points, marks.boots, 1.5 * marks.resolution_s), label="swap used")
    if history.swap_total_bytes is not None:
        total = history.swap_total_bytes / 1024 / _MB
        ax.axhline(total, color=_LIMIT, linestyle="--", linewidth=1.2, label="swap total")
    _mark(ax, marks, _span(history.swap, extra=(marks.crash,), boots=marks.boots))
    used = max(b for _, b in history.swap)
    total_text = size_kb(history.swap_total_bytes / 1024) if history.swap_total_bytes else "unknown"
    caption = f"Swap used (peak {size_kb(used / 1024)}) against swap total ({total_text})"
    return Plot("plot-swap", "Swap used against swap total", caption, _svg(fig, "plot-swap"))


def _is_culprit(series: ProcessSeries, result: AnalysisResult) -> bool:
    cause = result.root_cause
    return series.token == cause.token or (
        cause.process is not None and series.name == cause.process
    )


def memory_plots(result: AnalysisResult) -> tuple[Plot, ...]:
    """The plots for a result; empty when it has no history.

    Args:
        result: the analysis; only ``history``, the crash time and the culprit are used.

    Returns:
        The consumers' plots (at most :data:`MAX_CONSUMERS`), then the swap plot.
    """
    history = result.history
    ram_kb = history.mem_total_bytes / 1024 if history.mem_total_bytes else None
    resolution = history.resolution_s if history.resolution_s > 0 else 3600.0
    ram_label = f"{result.platform.domain_short} memory"
    base = _Marks(history.boots, result.crash.crashed_at, None, resolution, ram_label)
    plots: list[Plot] = []
    drawn = False
    with (
        matplotlib.style.context("default"),
        matplotlib.rc_context(_RC),
    ):
        consumers = [s for s in history.consumers if s.points][:MAX_CONSUMERS]
        for n, series in enumerate(consumers, start=1):
            mine = _is_culprit(series, result) and not drawn
            projection = history.projection if mine else ()
            drawn = drawn or bool(projection)
            peak = max(kb for _, kb in series.points)
            show_ram = ram_kb is not None and (mine or peak >= ram_kb / 4)
            marks = dataclasses.replace(base, ram_kb=ram_kb if show_ram else None)
            plots.append(_consumer_plot(n, series, projection, marks))
        if history.projection and not drawn:
            marks = dataclasses.replace(base, ram_kb=ram_kb)
            plots.append(_projection_plot(history.projection, marks))
        if history.swap:
            plots.append(_swap_plot(result, base))
    return tuple(plots)
