"""``lostbeat hbd --socket PATH [--interval S] [--name NAME] [--timeout S]``."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--socket", required=True, type=Path, help="the monitor's socket")
    parser.add_argument(
        "--interval", type=float, default=1.0, help="seconds between beats (default 1)"
    )
    parser.add_argument(
        "--name", default="lostbeat-hbd", help="client name in alert lines (default lostbeat-hbd)"
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=None,
        help="ask the monitor for this timeout in seconds (default: the monitor's --timeout)",
    )


def run(args: argparse.Namespace) -> int:
    from lostbeat.agent.hbd import run_hbd

    return run_hbd(args.socket, interval=args.interval, name=args.name, timeout=args.timeout)
