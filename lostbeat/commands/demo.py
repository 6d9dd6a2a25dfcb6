"""``lostbeat demo``: generate a built-in incident and show the full analysis."""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from lostbeat.commands import analyze as analyze_command

DEFAULT_SCENARIO = "vmware-leak"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--scenario",
        default=DEFAULT_SCENARIO,
        help=f"the incident to generate (default {DEFAULT_SCENARIO}; "
        "`lostbeat generate --list` lists them)",
    )
    parser.add_argument("--seed", type=int, default=0, help="generator seed (default 0)")
    parser.add_argument("--json", action="store_true", help="print the analysis as JSON")
    parser.add_argument("--html", type=Path, metavar="FILE", help="also write an HTML report")
    parser.add_argument(
        "--keep", type=Path, metavar="DIR", help="write the generated bundle here and keep it"
    )


def run(args: argparse.Namespace) -> int:
    from lostbeat.analyzer.engine import analyze
    from lostbeat.errors import InputError
    from lostbeat.scenarios import SCENARIOS, generate

    if args.scenario not in SCENARIOS:
        raise InputError(
            f"unknown scenario; one of {', '.join(sorted(SCENARIOS))}", path=args.scenario
        )
    with tempfile.TemporaryDirectory(prefix="lostbeat-demo-") as tmp:
        out = args.keep if args.keep is not None else Path(tmp)
        out.mkdir(parents=True, exist_ok=True)
        case = generate(args.scenario, out, seed=args.seed)
        inputs = [case.bundle, *case.extras]
        if not args.json:
            shown = " ".join(str(p) for p in inputs)
            print(
                f"lostbeat demo: scenario {args.scenario} (seed {args.seed}); "
                f"lostbeat analyze {shown}",
                file=sys.stderr,
            )
        result = analyze(inputs)
        args.kind = None
        return analyze_command.emit(result, args)
