#!/usr/bin/env python3
"""How long the reports take to render, and how big they are, for a fortnight and a month.

Usage:
    .venv/bin/python benchmarks/report_render.py [--repeat N]

Cases: the documented example (3 consumers, 336 hourly points) and a month of hourly
summaries (720 points) for 10 consumers, one leaking. Prints a table: best of N wall times.
"""

from __future__ import annotations

import argparse
import dataclasses
import io
import math
import time
from collections.abc import Callable
from functools import partial

from rich.console import Console

from lostbeat.analyzer.result import AnalysisResult, CauseKind, CrashType, History, ProcessSeries
from lostbeat.report import jsonout
from lostbeat.report.example import example_result
from lostbeat.report.html import render_html
from lostbeat.report.terminal import render


def month_result(consumers: int = 10, hours: int = 720) -> AnalysisResult:
    t0 = 1_700_000_000.0
    series = tuple(
        ProcessSeries(
            f"proc{n}",
            f"process-number-{n}",
            tuple(
                (t0 + 3600.0 * i, round(50_000 + 10_000 * n + (600.0 if n == 0 else 0.0) * i))
                for i in range(hours)
            ),
        )
        for n in range(consumers)
    )
    end = t0 + 3600.0 * (hours - 1)
    base = example_result()
    return dataclasses.replace(
        base,
        crash=dataclasses.replace(base.crash, type=CrashType.LOST_HEARTBEAT, crashed_at=end + 1800),
        root_cause=dataclasses.replace(base.root_cause, kind=CauseKind.LEAK, token="proc0"),
        history=History(
            consumers=series,
            swap=tuple(
                (t0 + 3600.0 * i, 4096 * 100 * i + round(1e6 * math.sin(i))) for i in range(hours)
            ),
            swap_total_bytes=600 << 20,
            mem_total_bytes=800 << 20,
            boots=(t0 - 3600.0,),
            projection=((t0, 50_000.0), (end + 1800, 50_000.0 + 600.0 * hours)),
        ),
    )


def best(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    render_html(example_result())  # warm-up: imports, font cache, template compile
    cases = {"fortnight, 3 consumers": example_result(), "month, 10 consumers": month_result()}
    print(f"{'case':<24} {'step':<20} {'best ms':>9} {'size KB':>9}")
    for name, result in cases.items():
        text = jsonout.dumps(result)
        page = render_html(result)
        terminal = Console(file=io.StringIO(), width=100, color_system=None)
        steps: list[tuple[str, Callable[[], object], int | None]] = [
            ("json dumps", partial(jsonout.dumps, result), len(text.encode())),
            ("json loads", partial(jsonout.loads, text), None),
            ("terminal render", partial(render, result, terminal), None),
            ("html render", partial(render_html, result), len(page.encode())),
        ]
        for step, fn, size in steps:
            ms = best(fn, args.repeat) * 1000
            shown = f"{size / 1024:9.0f}" if size is not None else f"{'':>9}"
            print(f"{name:<24} {step:<20} {ms:9.1f} {shown}")


if __name__ == "__main__":
    main()
