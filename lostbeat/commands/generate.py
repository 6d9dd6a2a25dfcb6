"""``lostbeat generate``: write a realistic vm-support bundle of a scenario, with its truth.

``lostbeat generate --list`` lists the scenarios; ``lostbeat generate NAME --out DIR
[--seed N]`` writes ``DIR/esx-<date>.<pid>.tgz``, ``DIR/truth.json`` and the loose files a
support engineer would add (``DIR/psod.txt``), then prints their paths.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("scenario", nargs="?", metavar="SCENARIO", help="scenario name")
    parser.add_argument("--out", type=Path, metavar="DIR", help="folder to write into")
    parser.add_argument("--seed", type=int, default=0, help="incident number (default 0)")
    parser.add_argument("--list", action="store_true", help="list the scenarios and exit")


def run(args: argparse.Namespace) -> int:
    from lostbeat.errors import InputError
    from lostbeat.scenarios import SCENARIOS, generate

    if args.list:
        width = max(map(len, SCENARIOS))
        for name, text in SCENARIOS.items():
            print(f"{name:<{width}}  {text}")
        return 0
    if args.scenario is None:
        raise InputError("a scenario is needed (see --list)", path="SCENARIO")
    if args.out is None:
        raise InputError("--out DIR is needed", path=args.scenario)
    case = generate(args.scenario, args.out, seed=args.seed)
    print(case.bundle)
    print(case.truth_path)
    for extra in case.extras:
        print(extra)
    truth = case.truth
    culprit = f", culprit {truth.culprit}" if truth.culprit else ""
    print(
        f"{args.scenario} seed {args.seed}: {truth.crash_type.value}, "
        f"{truth.root_cause_kind.value}{culprit} ({truth.release}, build {truth.build})",
        file=sys.stderr,
    )
    return 0
