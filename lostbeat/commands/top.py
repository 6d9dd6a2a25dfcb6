"""``lostbeat top --dir DIR [--at TIME]``: the recorded process table at a moment.

Like ``atop -r`` or ``below replay``: the table nearest TIME (ISO 8601,
``YYYY-mm-dd HH:MM[:SS]`` in local time, ``-10m``, ``@EPOCH``; default: the latest),
largest processes first. Older than the raw samples kept, the rows are the minute's or
the hour's min / mean / max.
"""

from __future__ import annotations

import argparse
import re
import time
from pathlib import Path

from lostbeat.recording.schema import Identity, ProcAggregate, ProcSample
from lostbeat.recording.units import parse_time
from lostbeat.safetext import clean

__all__ = ["add_arguments", "format_kb", "run"]

_SORTS = ("mem", "rss", "swap", "pid", "name")
_RELATIVE = re.compile(r"^-(\d+(\.\d+)?[smhdw]?)+$|^-\d*\.\d+$")


def _moment(text: str) -> float:
    try:
        return parse_time(text, now=time.time())
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def add_arguments(parser: argparse.ArgumentParser) -> None:
    # argparse takes "-10m" for an option; let it pass as a value the way it lets "-10" pass.
    parser._negative_number_matcher = _RELATIVE
    parser.add_argument(
        "--dir", required=True, type=Path, metavar="DIR", help="recording directory"
    )
    parser.add_argument(
        "--at",
        type=_moment,
        default=None,
        metavar="TIME",
        help="moment: 2024-05-01T13:00, '2024-05-01 13:00:05', -10m, @EPOCH (default: latest)",
    )
    parser.add_argument(
        "--sort", choices=_SORTS, default="mem", help="order: mem (RSS + swap, default), rss, ..."
    )
    parser.add_argument(
        "--limit", type=int, default=0, metavar="N", help="show the first N rows (default: all)"
    )


def format_kb(kb: int | None) -> str:
    """A size in KB as people read it.

    >>> format_kb(512), format_kb(20480), format_kb(3 << 20), format_kb(None)
    ('512K', '20.0M', '3.0G', '-')
    """
    if kb is None:
        return "-"
    if kb < 10 * 1024:
        return f"{kb}K"
    if kb < 1 << 20:
        return f"{kb / 1024:.1f}M"
    return f"{kb / (1 << 20):.1f}G"


def run(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table
    from rich.text import Text

    from lostbeat.recording.replay import table_at
    from lostbeat.recording.schema import SystemSample

    table = table_at(args.dir, at=args.at)
    console = Console(highlight=False)
    stamp = time.strftime("%Y-%m-%d %H:%M:%S %Z", time.localtime(table.ts))
    kind = (
        f"raw sample, every {table.resolution_s:g} s"
        if table.resolution_s and table.tier.value == "raw"
        else f"{table.tier.value} bucket (min / mean / max)"
    )
    header = f"[bold]{escape(clean(table.host or '?'))}[/]  {stamp}  {kind}"
    if args.at is not None:
        header += f"  (asked {time.strftime('%H:%M:%S', time.localtime(args.at))})"
    console.print(header)
    system = table.system
    if isinstance(system, SystemSample):
        avail, swap = system.mem_available, system.swap_used
    else:
        avail, swap = system.mem_available_min, system.swap_used_max
    console.print(
        f"MEM total {_bytes(system.mem_total)}  available {_bytes(avail)}   "
        f"SWAP total {_bytes(system.swap_total)}  used {_bytes(swap)}   "
        f"processes {len(table.rows)}"
    )
    grid = Table(box=None, pad_edge=False, header_style="bold", expand=True)
    raw = table.tier.value == "raw"
    grid.add_column("PID", justify="right", no_wrap=True)
    grid.add_column("NAME", no_wrap=True)
    for name in ("RSS", "SWAP", "VSZ", "THR", "S") if raw else ("RSS MAX", "RSS MEAN", "SWAP MAX"):
        grid.add_column(name, justify="right", no_wrap=True)
    grid.add_column("CMDLINE", no_wrap=True, overflow="ellipsis", ratio=1)
    rows = sorted(table.rows, key=lambda r: _sort_key(args.sort, r[0], r[1]))
    for identity, row in rows[: args.limit or None]:
        key = identity.key
        if isinstance(row, ProcSample):
            cells = [
                format_kb(row.rss_kb),
                format_kb(row.swap_kb),
                format_kb(row.vsz_kb),
                "-" if row.threads is None else str(row.threads),
                row.state or "-",
            ]
        else:
            cells = [format_kb(row.rss_max), format_kb(row.rss_mean), format_kb(row.swap_max)]
        # process text is data: never markup, never a control sequence, one line however
        # it was written (a newline shows as \x0a)
        command = clean(key.cmdline) or f"[{clean(key.name)}]"
        grid.add_row(str(key.pid), Text(clean(key.name)), *cells, Text(command))
    console.print(grid)
    for problem in table.problems:
        console.print(f"[yellow]note:[/] {escape(clean(f'{problem.where}: {problem.reason}'))}")
    return 0


def _sort_key(
    sort: str, identity: Identity, row: ProcSample | ProcAggregate
) -> tuple[int | str, int]:
    if isinstance(row, ProcSample):
        rss, swap = row.rss_kb or 0, row.swap_kb or 0
    else:
        rss, swap = row.rss_max or 0, row.swap_max or 0
    key = identity.key
    if sort == "pid":
        return key.pid, 0
    if sort == "name":
        return key.name, key.pid
    return -(rss + swap if sort == "mem" else rss if sort == "rss" else swap), key.pid


def _bytes(value: int | None) -> str:
    return format_kb(None if value is None else value // 1024)
