"""``lostbeat record --dir DIR [--interval S] [--max-size SIZE] [--retention DURATION]``

Samples every process's memory every ``--interval`` seconds into DIR (raw for a day, then
per-minute and per-hour min/mean/max for weeks, within ``--max-size``), and writes one
ESX-format ``vmksummary`` line per hour. Stops on SIGTERM or Ctrl-C, or after
``--duration``. ``lostbeat analyze DIR`` and ``lostbeat top --dir DIR`` read what it wrote.
"""

from __future__ import annotations

import argparse
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from types import FrameType

from lostbeat.recording.units import parse_duration, parse_size
from lostbeat.safetext import clean

__all__ = ["add_arguments", "run"]


def _typed(parse: Callable[[str], float], *, minimum: float, what: str) -> Callable[[str], float]:
    def convert(text: str) -> float:
        try:
            value = parse(text)
        except ValueError as err:
            raise argparse.ArgumentTypeError(str(err)) from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}")
        return value

    return convert


def _seconds(text: str) -> float:
    return float(text)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--dir",
        required=True,
        type=Path,
        metavar="DIR",
        help="recording directory (created if absent)",
    )
    parser.add_argument(
        "--interval",
        type=_typed(_seconds, minimum=0.05, what="at least 0.05 s"),
        default=10.0,
        metavar="S",
        help="seconds between samples (default 10)",
    )
    parser.add_argument(
        "--max-size",
        type=_typed(parse_size, minimum=1 << 20, what="at least 1M"),
        default=256 << 20,
        metavar="SIZE",
        help="cap on the directory, oldest shards pruned first (default 256M)",
    )
    parser.add_argument(
        "--retention",
        type=_typed(parse_duration, minimum=3600, what="at least 1h"),
        default=30 * 86400.0,
        metavar="DURATION",
        help="keep hourly aggregates this long (default 30d; minute ones 7d, "
        "raw samples 1d, each at most this)",
    )
    parser.add_argument(
        "--syslog",
        action="store_true",
        help="also send the hourly summary lines to syslog (/dev/log)",
    )
    parser.add_argument(
        "--summary-every",
        type=_typed(parse_duration, minimum=1, what="at least 1s"),
        default=3600.0,
        metavar="DURATION",
        help="period of the vmksummary line (default 1h, as ESX)",
    )
    parser.add_argument(
        "--duration",
        type=_typed(parse_duration, minimum=0, what="a duration"),
        default=None,
        metavar="DURATION",
        help="stop after this long",
    )


def run(args: argparse.Namespace) -> int:
    from lostbeat.recorder.daemon import Recorder, RecorderConfig
    from lostbeat.recording.store import Retention

    config = RecorderConfig(
        directory=args.dir,
        interval_s=args.interval,
        retention=Retention.from_options(retention_s=args.retention, max_bytes=int(args.max_size)),
        syslog=args.syslog,
        summary_every_s=args.summary_every,
        duration_s=args.duration,
    )
    recorder = Recorder(config)

    def _stop(signum: int, frame: FrameType | None) -> None:
        recorder.stop.set()

    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, _stop)
    stats = recorder.run(
        started=lambda: print(
            f"lostbeat record: recording {clean(recorder.host)} into {clean(str(args.dir))} "
            f"every {args.interval:g} s",
            file=sys.stderr,
            flush=True,
        )
    )
    print(
        f"lostbeat record: stopped after {stats.samples} samples, {stats.bytes_written} bytes, "
        f"{stats.summaries} summary lines",
        file=sys.stderr,
    )
    return 0
