#!/usr/bin/env python3
"""How long ``lostbeat simulate`` takes, phase by phase, and whether each verdict was right.

Usage (as root, on a host with a memory cgroup controller):
    .venv/bin/python benchmarks/simulate.py [--ram 256M] [--timeout 5] [--repeat N]
        [--scenario leak --scenario spike ...]

Runs ``lostbeat simulate --keep DIR --json`` for each scenario (default: all four, third-party
only when stress-ng is installed), N times each, and prints one row a run: when the group
filled, when the capture was written, the whole wall time, and the analyzer's verdict.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SCENARIOS = ("leak", "spike", "contention", "third-party")


def run_once(scenario: str, *, ram: str, timeout: str) -> dict[str, object]:
    with tempfile.TemporaryDirectory(prefix="lostbeat-bench-") as tmp:
        keep = Path(tmp) / "run"
        command = [sys.executable, "-m", "lostbeat", "simulate", "--scenario", scenario]
        command += ["--ram", ram, "--timeout", timeout, "--keep", str(keep), "--json"]
        start = time.monotonic()
        done = subprocess.run(command, capture_output=True, text=True, timeout=300)
        wall = time.monotonic() - start
        if done.returncode not in (0, 1):
            return {"scenario": scenario, "error": done.stderr.strip().splitlines()[-1]}
        run = json.loads((keep / "simulation.json").read_text())
        cause = json.loads(done.stdout)["root_cause"]
        phases = dict(run["phases"])
        return {
            "scenario": scenario,
            "full": phases.get("group full"),
            "capture": phases.get("capture written"),
            "analysed": phases.get("analysed"),
            "wall": wall,
            "verdict": f"{cause['kind']} {cause['process'] or ''}".strip(),
            "right": run["verdict_ok"],
        }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ram", default="256M")
    parser.add_argument("--timeout", default="5")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--scenario", action="append", choices=SCENARIOS)
    args = parser.parse_args()
    scenarios = args.scenario or [
        s for s in SCENARIOS if s != "third-party" or shutil.which("stress-ng")
    ]
    print(f"ram {args.ram}, monitor timeout {args.timeout} s; seconds since the group was made")
    print(
        f"| {'scenario':<11} | {'group full':>10} | {'capture':>7} | {'analysed':>8} "
        f"| {'wall':>5} | verdict"
    )
    print(f"| {'-' * 11} | {'-' * 10}: | {'-' * 7}: | {'-' * 8}: | {'-' * 5}: | ---")
    for scenario in scenarios:
        for _ in range(args.repeat):
            row = run_once(scenario, ram=args.ram, timeout=args.timeout)
            if "error" in row:
                print(f"| {scenario:<11} | failed: {row['error']}")
                continue
            mark = "right" if row["right"] else "WRONG"
            print(
                f"| {scenario:<11} | {row['full']:>10.1f} | {row['capture']:>7.1f} | "
                f"{row['analysed']:>8.1f} | {row['wall']:>5.1f} | {row['verdict']} ({mark})"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
