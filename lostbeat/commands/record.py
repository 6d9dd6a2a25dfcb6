"""``lostbeat record --dir DIR [--interval S] [--max-size SIZE] [--retention DURATION]``

Samples every process's memory every ``--interval`` seconds into DIR (raw for a day, then
per-minute and per-hour min/mean/max for weeks, within ``--max-size``), with the kernel
log's records, and writes one ESX-format ``vmksummary`` line per hour. Warns when the
memory is projected to run out (``--warn-tte``), serves or writes metrics (``--metrics``),
and sends journal entries (``--journal``). Stops on SIGTERM or Ctrl-C, or after
``--duration``. ``lostbeat analyze DIR`` and ``lostbeat top --dir DIR`` read what it wrote.
"""

from __future__ import annotations

import argparse
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING

from lostbeat.errors import InputError
from lostbeat.recording.units import parse_duration, parse_size
from lostbeat.safetext import clean

if TYPE_CHECKING:
    from lostbeat.recorder.live import LiveConfig

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
    parser.add_argument(
        "--no-kernel-log",
        action="store_true",
        help="do not keep the kernel log (default: /dev/kmsg, and after a reboot what "
        "survived of the previous boot: pstore, journalctl -k -b -1)",
    )
    parser.add_argument(
        "--cgroup",
        metavar="PATH",
        help="the memory cgroup whose exhaustion the trend projects (default: the host)",
    )
    parser.add_argument(
        "--trend-window",
        type=_typed(parse_duration, minimum=5, what="at least 5s"),
        default=600.0,
        metavar="DURATION",
        help="how far back the time to exhaustion and the leak suspects look (default 10m)",
    )
    parser.add_argument(
        "--warn-tte",
        default="15m",
        metavar="DURATION",
        help="warn (and sync every sample) when the memory is projected to run out within "
        "this (default 15m; 'off' to disable)",
    )
    parser.add_argument(
        "--metrics",
        metavar="[HOST]:PORT|FILE.prom",
        help="serve OpenMetrics on HOST:PORT (':9464' is 127.0.0.1 only), or rewrite FILE.prom "
        "for node_exporter's textfile collector after each sample",
    )
    parser.add_argument(
        "--monitor-status",
        type=Path,
        metavar="FILE",
        help="the monitor's --status file: heartbeat ages in the metrics",
    )
    parser.add_argument(
        "--top",
        type=_typed(_seconds, minimum=1, what="at least 1"),
        default=10,
        metavar="N",
        help="top consumers and leak suspects in the metrics, each (default 10)",
    )
    parser.add_argument(
        "--journal",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="send kernel events and warnings to journald with fields (default: when "
        "standard error is the journal, as under systemd)",
    )


def _live(args: argparse.Namespace) -> LiveConfig:
    import os

    from lostbeat.agent import cgroup as cg
    from lostbeat.procfs import Procfs
    from lostbeat.recorder.journal import JOURNAL_SOCKET, journal_is_stderr
    from lostbeat.recorder.live import LiveConfig
    from lostbeat.recorder.metrics import parse_target

    watched = None
    if args.cgroup is not None:
        hierarchy = cg.memory_hierarchy(Procfs())
        if hierarchy is None:
            raise InputError("no memory cgroup controller on this host", path=args.cgroup)
        watched = cg.resolve(args.cgroup, hierarchy)
    try:
        warn = None if args.warn_tte == "off" else parse_duration(args.warn_tte)
    except ValueError as err:
        raise InputError(f"--warn-tte: {err}", path=args.warn_tte) from None
    journal = args.journal if args.journal is not None else journal_is_stderr(os.environ)
    return LiveConfig(
        cgroup=watched,
        trend_window_s=args.trend_window,
        warn_tte_s=warn,
        metrics=None if args.metrics is None else parse_target(args.metrics),
        monitor_status=args.monitor_status,
        top=int(args.top),
        journal=JOURNAL_SOCKET if journal else None,
    )


def run(args: argparse.Namespace) -> int:
    import shutil
    import threading

    stop = threading.Event()  # handled from the start: a stop while it sets up is a clean stop

    def _stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, _stop)

    from lostbeat.agent.kmsg import KMSG
    from lostbeat.recorder.daemon import Recorder, RecorderConfig
    from lostbeat.recording.store import Retention

    config = RecorderConfig(
        directory=args.dir,
        interval_s=args.interval,
        retention=Retention.from_options(retention_s=args.retention, max_bytes=int(args.max_size)),
        syslog=args.syslog,
        summary_every_s=args.summary_every,
        duration_s=args.duration,
        kernel_log=None if args.no_kernel_log else KMSG,
        journalctl=None if args.no_kernel_log else shutil.which("journalctl"),
        live=_live(args),
    )
    recorder = Recorder(config, stop=stop)

    def started() -> None:
        served = recorder.live.address if recorder.live is not None else None
        print(
            f"lostbeat record: recording {clean(recorder.host)} into {clean(str(args.dir))} "
            f"every {args.interval:g} s"
            + (f"; metrics on http://{served[0]}:{served[1]}/metrics" if served else ""),
            file=sys.stderr,
            flush=True,
        )

    stats = recorder.run(started=started)
    print(
        f"lostbeat record: stopped after {stats.samples} samples, {stats.bytes_written} bytes, "
        f"{stats.summaries} summary lines",
        file=sys.stderr,
    )
    return 0
