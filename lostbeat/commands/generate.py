"""``lostbeat generate``: write a realistic vm-support bundle of a scenario, with its truth.

``lostbeat generate --list`` lists the scenarios; ``lostbeat generate NAME --out DIR
[--seed N]`` writes the incident into ``DIR`` (an ESX 3.x/4.x ``esx-<date>.<pid>.tgz`` and the
loose files a support engineer would add, such as ``psod.txt``; or a screen, a log, an ESXi
bundle or a sosreport) with ``DIR/truth.json``, then prints their paths, the main input first.
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
    found = ", ".join(
        f"{key} {','.join(map(str, value)) if isinstance(value, list) else value}"
        for key, value in case.expect.to_doc().items()
        if value != []
    )
    print(f"{args.scenario} seed {args.seed}: {found}", file=sys.stderr)
    return 0
