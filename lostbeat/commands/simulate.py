"""``lostbeat simulate [--scenario leak|spike|contention|third-party] [--ram SIZE] [--timeout S]
[--keep DIR] [--json]``

Reproduces a real lost heartbeat on this machine: a memory cgroup plays the Service
Console, the heartbeat daemon, steady programs and the scenario's workload run in it, the
monitor and the recorder outside it; when the group is full the heartbeat stops, the
monitor captures, and the analyzer's report on the recording plus the capture is printed
(``--json``: the analysis document). Progress goes to stderr. Needs root and a memory
cgroup controller; always removes its processes and its cgroup, also on Ctrl-C.

Exit status: 0 when the analyzer's verdict is the scenario's, 1 when it is not, 2 when the
simulation refused to start or failed, 130 when interrupted.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from lostbeat.commands._args import seconds_between
from lostbeat.recording.units import parse_size
from lostbeat.safetext import clean

__all__ = ["add_arguments", "run"]

SCENARIOS = ("leak", "spike", "contention", "third-party")


def _ram(text: str) -> int:
    try:
        return parse_size(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


_seconds = seconds_between(1, 600)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--scenario",
        choices=SCENARIOS,
        default="leak",
        help="leak: a program of ours grows until the limit (default); spike: one program "
        "takes the room at once; contention: several steady programs fill it, plus churn; "
        "third-party: stress-ng --bigheap (Debian package stress-ng)",
    )
    parser.add_argument(
        "--ram",
        type=_ram,
        default=256 << 20,
        metavar="SIZE",
        help="memory of the simulated Service Console, such as 256M (default 256M, at least 96M)",
    )
    parser.add_argument(
        "--timeout",
        type=_seconds,
        default=5.0,
        metavar="S",
        help="seconds without a heartbeat before the monitor declares it lost (default 5)",
    )
    parser.add_argument(
        "--keep",
        type=Path,
        metavar="DIR",
        help="keep the recording, the capture, the logs and simulation.json in DIR "
        "(new or empty); default: a temporary folder, removed at the end",
    )
    parser.add_argument(
        "--json", action="store_true", help="print the analysis as JSON (lostbeat.analysis/2)"
    )


def run(args: argparse.Namespace) -> int:
    from rich.console import Console

    from lostbeat.report import jsonout, terminal
    from lostbeat.simulate.plans import Scenario
    from lostbeat.simulate.run import SimulationConfig, simulate

    def say(text: str) -> None:
        # the monitor's lines it repeats name processes of the host
        print(f"lostbeat simulate: {clean(text)}", file=sys.stderr, flush=True)

    config = SimulationConfig(
        scenario=Scenario(args.scenario),
        ram_bytes=args.ram,
        timeout_s=args.timeout,
        keep=args.keep,
    )
    outcome = simulate(config, say=say)
    if args.json:
        sys.stdout.write(jsonout.dumps(outcome.result) + "\n")
    else:
        terminal.render(outcome.result, Console())
    say(outcome.verdict)
    if outcome.kept is not None:
        say(f"kept in {outcome.kept}: recording/, {outcome.capture}, logs/, simulation.json")
    return 0 if outcome.verdict_ok else 1
