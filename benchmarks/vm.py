#!/usr/bin/env python3
"""How long the VM stage (``make test-vm``) takes: the image built cold and warm, the boot,
the suite, and each guest test.

Usage (as root, with ``scripts/setup-system --vm`` done):
    .venv/bin/python benchmarks/vm.py [--no-cold] [--imports]

A cold build uses an empty cache folder of its own (the root file system from debootstrap,
the wheels, the image), so nothing from ~/.cache/lostbeat/vm is reused; ``--no-cold`` skips
it. Then the suite is booted once from the built image (the warm case of ``make test-vm``,
where only the boot and the suite count), and the table shows every phase and the ten
slowest guest tests. Runs take about ten minutes under TCG on two shared cores.

``--imports`` instead boots the image once to time, inside the guest, the imports the suite
pays for: each module in a fresh interpreter, twice (the second time from a warm page cache).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts" / "vm"))

import vm_image  # noqa: E402
import vm_suite  # noqa: E402


def _row(what: str, seconds: float | None, note: str = "") -> None:
    shown = "-" if seconds is None else f"{seconds:.1f}"
    print(f"| {what} | {shown} | {note} |", flush=True)


IMPORTS = """\
#!/bin/bash
P=/opt/lostbeat/bin/python
for round in cold warm; do
  for m in lostbeat.cli lostbeat.agent.monitor pytest numpy scipy.stats \\
      lostbeat.analyzer.engine lostbeat.fleet.provenance; do
    $P -c "import time, importlib; t = time.monotonic(); importlib.import_module('$m'); \\
print('| import $m ($round) |', round(time.monotonic() - t, 1), '| fresh interpreter |')"
  done
done
"""


def imports() -> int:
    with tempfile.TemporaryDirectory(prefix="lostbeat-vm-bench-") as tmp:
        script = Path(tmp) / "imports.sh"
        script.write_text(IMPORTS)
        lines: list[str] = []
        run = vm_suite.run_suite(
            results=Path(tmp) / "results",
            script=script,
            say=lambda s: None,
            on_line=lambda t, line: lines.append(line),
        )
    print("| phase | seconds | note |\n| --- | ---: | --- |")
    for line in lines:
        if line.startswith("| import "):
            print(line)
    print(f"problem: {run.problem}")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-cold", action="store_true", help="skip the cold image build")
    parser.add_argument("--imports", action="store_true", help="time the guest's imports only")
    args = parser.parse_args()
    print(f"load average before: {os.getloadavg()[0]:.1f}", flush=True)
    if args.imports:
        return imports()
    print("| phase | seconds | note |\n| --- | ---: | --- |", flush=True)
    cache = vm_image.cache_root()
    if not args.no_cold:
        with tempfile.TemporaryDirectory(prefix="lostbeat-vm-cold-", dir=cache.parent) as cold:
            start = time.monotonic()
            built = vm_image.build(cache=Path(cold), say=lambda s: None)
            total = time.monotonic() - start
            for name, seconds in built.seconds.items():
                _row(f"cold build: {name}", seconds)
            _row("cold build: total", total, "debootstrap, wheels, venv, image")
    start = time.monotonic()
    built = vm_image.build(say=lambda s: None)
    took = time.monotonic() - start
    _row(
        "warm build",
        took,
        "cached" if not built.seconds else "rebuilt: " + ", ".join(built.seconds),
    )
    with tempfile.TemporaryDirectory(prefix="lostbeat-vm-bench-") as results:
        run = vm_suite.run_suite(results=Path(results), say=lambda s: None)
    notes = {
        "boot": "qemu's start to the suite's first line",
        "suite": "the guest's pytest, to its last line",
        "qemu": "qemu's start to its exit (the results written, powered off)",
        "total": "run_suite: the build check, the boot, the results read",
    }
    for name, note in notes.items():
        _row(name, run.seconds.get(name), note)
    slow = sorted(run.outcomes.values(), key=lambda o: -o.seconds)[:10]
    for outcome in slow:
        _row(f"guest: {outcome.nodeid}", outcome.seconds, outcome.status)
    passed = sum(o.status == "passed" for o in run.outcomes.values())
    print(f"{passed} of {len(run.outcomes)} guest tests passed; problem: {run.problem}")
    print(f"load average after: {os.getloadavg()[0]:.1f}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
