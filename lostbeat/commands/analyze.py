"""``lostbeat analyze [PATH...] [--this-host] [--json] [--strict] [--as KIND] [--at TIME]
[--html FILE]``."""

from __future__ import annotations

import argparse
import sys
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console

KINDS = (
    "vmksummary",
    "vmkernel_log",
    "psod",
    "meminfo",
    "esx_conf",
    "version",
    "ps",
    "pstree",
    "top",
    "host_log",
    "sar",
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "paths",
        nargs="*",
        metavar="PATH",
        help="an ESX or ESXi vm-support archive or folder, a purple screen, ESX logs; a Linux "
        "kernel log, journal, syslog file, sosreport or supportconfig, earlyoom, "
        "systemd-oomd, nohang or kubectl output; a lostbeat recording or capture; archives "
        "and logs may be gzip, xz or bzip2. All of one host and one incident",
    )
    parser.add_argument(
        "--this-host",
        action="store_true",
        help="read this Linux host's own evidence where it lies: the kernel log (the "
        "journal's previous and current boot, else dmesg), /proc/meminfo, sysstat's sar "
        "files, lostbeat's recording",
    )
    parser.add_argument(
        "--json",
        action="store_true",
        help="print the analysis as JSON (schema lostbeat.analysis/2)",
    )
    parser.add_argument(
        "--strict",
        action="store_true",
        help="fail on the first broken artifact instead of reporting it",
    )
    parser.add_argument(
        "--as",
        dest="kind",
        choices=KINDS,
        metavar="KIND",
        help=f"read loose files as this kind instead of sniffing: {', '.join(KINDS)}",
    )
    parser.add_argument(
        "--at",
        metavar="TIME",
        help="where the evidence shows several incidents (a Linux log's OOM kills, hangs...), "
        "judge the one nearest TIME: an ISO time (2024-05-01T12:00), seconds since boot "
        "(12345.6) or a stamp as the log writes it (Apr 20 09:26); the last one by default",
    )
    parser.add_argument(
        "--html",
        type=Path,
        metavar="FILE",
        help="also write a self-contained HTML report with plots",
    )


def emit(result: object, args: argparse.Namespace) -> int:
    """Render ``result`` as the flags ask: JSON or terminal, plus HTML.

    Raises:
        LostbeatError: the report cannot be written (a full disk); one line.
        BrokenPipeError: the reader of standard output went away (the CLI ends quietly).
    """
    from lostbeat.analyzer.result import AnalysisResult
    from lostbeat.errors import LostbeatError

    assert isinstance(result, AnalysisResult)
    if args.html is not None:  # matplotlib and jinja2 only here
        from lostbeat.report.html import write_html

        write_html(result, args.html)
    try:
        if args.json:
            from lostbeat.report import jsonout

            sys.stdout.write(jsonout.dumps(result) + "\n")
        else:  # rich only here, and for the progress bar on a terminal
            from lostbeat.report import terminal

            terminal.render(result, _console())
        sys.stdout.flush()
    except BrokenPipeError:
        raise
    except OSError as err:
        reason = err.strerror or str(err)
        raise LostbeatError(f"standard output: cannot write the report: {reason}") from None
    if args.html is not None and not args.json:
        print(f"HTML report written to {args.html}", file=sys.stderr)
    return 0


def _console() -> Console:
    from rich.console import Console

    class _Console(Console):
        def on_broken_pipe(self) -> None:
            # rich exits 1 itself; the CLI ends a closed pipe quietly, with 141
            self.quiet = True
            raise BrokenPipeError

    return _Console()


def run(args: argparse.Namespace) -> int:
    from lostbeat.analyzer import early
    from lostbeat.errors import LostbeatError

    if not args.paths and not args.this_host:
        raise LostbeatError("nothing to analyse: give a PATH, or --this-host")

    early.one_arena()  # before any thread reads an archive
    if args.kind is None:  # the first archive inflates while the analysis is imported
        early.start(args.paths)
    try:
        return _run(args)
    finally:
        early.stop()


def _run(args: argparse.Namespace) -> int:
    from lostbeat.analyzer.engine import analyze

    sources = []
    if args.this_host:
        from lostbeat.analyzer.this_host import this_host

        sources = this_host()
    run = partial(
        analyze, args.paths, strict=args.strict, kind=args.kind, at=args.at, sources=sources
    )
    if not sys.stderr.isatty():  # no progress bar to show: rich is not imported for it
        return emit(run(), args)
    from rich.console import Console

    from lostbeat.report import terminal

    with terminal.progress(Console(stderr=True)) as tick:
        result = run(progress=tick)
    return emit(result, args)
