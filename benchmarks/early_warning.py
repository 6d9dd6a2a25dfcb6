#!/usr/bin/env python3
"""How long before the heartbeat is lost the monitor's early warning fires, in a real leak.

Usage (as root, on a host with a memory cgroup controller):
    .venv/bin/python benchmarks/early_warning.py [--repeat N] [--ram 256M] [--timeout 5]

Runs ``lostbeat simulate --scenario leak --keep DIR`` at its defaults (a 256 MiB group that
the leaker fills in about 15 s; the monitor's defaults: PSI trigger ``some 150000
1000000``, time-to-exhaustion line 60 s fitted over 30 s) N times, and reads each run's
monitor log and captures:

* the first ``Warn:`` line of each kind (``exhaustion``: the trend; ``pressure``: PSI) and
  the time to exhaustion it said;
* how long before the last beat it came (the loss capture's deadline less the timeout), and
  before the loss was declared;
* when the pre-loss capture was on disk (its manifest), before the last beat.

Every figure is one run's, side by side; the last rows are the median and the worst (least
lead) of the runs. A negative lead is a warning after the fact.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

_LINE = re.compile(r"^(\d+):(\d\d):(\d\d):(\d\d\.\d+) cpu\S*\)(\w+): (.*)$")


def _uptime(match: re.Match[str]) -> float:
    days, hours, minutes, seconds = match.groups()[:4]
    return ((int(days) * 24 + int(hours)) * 60 + int(minutes)) * 60 + float(seconds)


def run_once(*, ram: str, timeout: str) -> dict[str, object]:
    with tempfile.TemporaryDirectory(prefix="lostbeat-ew-") as tmp:
        keep = Path(tmp) / "run"
        command = [sys.executable, "-m", "lostbeat", "simulate", "--scenario", "leak"]
        command += ["--ram", ram, "--timeout", timeout, "--keep", str(keep)]
        done = subprocess.run(command, capture_output=True, text=True, timeout=300)
        if done.returncode not in (0, 1):
            return {"error": (done.stderr.strip().splitlines() or ["?"])[-1]}
        lines = [m for line in (keep / "logs" / "monitor.log").read_text().splitlines()
                 if (m := _LINE.match(line))]  # fmt: skip
        (loss_dir,) = (keep / "datastore").glob("lost-heartbeat-*")
        loss = json.loads((loss_dir / "manifest.json").read_text())
        to = float(loss["lost"][0]["to"])
        # seconds from the last beat to the declaration, on the monotonic clock
        silence = float(loss["declared_monotonic"]) - (float(loss["deadline_monotonic"]) - to)
        declared = next(_uptime(m) for m in lines if m[5] == "Host" and "Lost heartbeat" in m[6])
        row: dict[str, object] = {}
        for kind, pattern in (
            ("exhaustion", "Memory runs out in"),
            ("pressure", "Memory pressure"),
        ):
            warn = next((m for m in lines if m[5] == "Warn" and m[6].startswith(pattern)), None)
            if warn is None:
                row[kind] = None
                continue
            before_declared = declared - _uptime(warn)
            row[kind] = before_declared - silence
            if kind == "exhaustion":
                said = re.search(r"runs out in (\d+) s", warn[6])
                row["said"] = float(said[1]) if said else None
                row["declared"] = before_declared
        pre = sorted((keep / "datastore").glob("pre-loss-*/manifest.json"))
        if pre:
            early = json.loads(pre[0].read_text())
            last_beat = float(loss["deadline_monotonic"]) - to
            row["capture"] = last_beat - float(early["declared_monotonic"])
        else:
            row["capture"] = None
        return row


def _cell(value: object, width: int) -> str:
    return f"{'-' if value is None else f'{value:.1f}':>{width}}"  # type: ignore[str-format]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ram", default="256M")
    parser.add_argument("--timeout", default="5")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    print(f"lostbeat simulate --scenario leak, ram {args.ram}, monitor timeout {args.timeout} s;")
    print("seconds before the last beat (before the declared loss for the last column)")
    head = ("run", "trend warning", "said TTE", "PSI warning", "pre-loss capture", "trend, to loss")
    print("| " + " | ".join(head) + " |")
    print("| --- | " + " | ".join("---:" for _ in head[1:]) + " |")
    rows = []
    for n in range(1, args.repeat + 1):
        row = run_once(ram=args.ram, timeout=args.timeout)
        if "error" in row:
            print(f"| {n} | failed: {row['error']} |")
            continue
        rows.append(row)
        cells = [row.get(k) for k in ("exhaustion", "said", "pressure", "capture", "declared")]
        print(
            f"| {n} | "
            + " | ".join(_cell(c, len(h)) for c, h in zip(cells, head[1:], strict=True))
            + " |"
        )
    for label, pick in (("median", statistics.median), ("worst", min)):
        cells = []
        for key in ("exhaustion", "said", "pressure", "capture", "declared"):
            values = [float(r[key]) for r in rows if r.get(key) is not None]  # type: ignore[arg-type]
            cells.append(pick(values) if values else None)
        print(
            f"| {label} | "
            + " | ".join(_cell(c, len(h)) for c, h in zip(cells, head[1:], strict=True))
            + " |"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
