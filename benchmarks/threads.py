"""Where a bundle's analysis spends its CPU: the parsing thread, the tar walk and the inflater.

``lostbeat analyze`` reads a ``.tgz`` with three threads (docs/analysis.md): the inflater,
which lets go of the GIL while it inflates; the walker, which reads each wanted member into
its sink; and the caller's, which imports the analysis and parses each member. On two free
cores the command's wall time is about its import plus the longer of the parsing (which
shares the GIL with the walk) and the inflation. This prints, for each bundle of
``speed.py``'s builder, each thread's CPU time (the median of ``--repeat`` runs, each a fresh
process), the process's minor page faults, and that estimate beside the wall time measured.

Usage::

    .venv/bin/python benchmarks/threads.py [--sizes 128 512 1024 4096] [--repeat 3] [--dir DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bundle_read  # noqa: E402

# run in a child: the analysis of one bundle, each thread's CPU time as it ends
_CHILD = r"""
import json, resource, sys, threading, time
start = time.perf_counter()
spent = {}
run = threading.Thread.run
def timed(self):
    try:
        run(self)
    finally:
        spent[self.name] = time.thread_time()
threading.Thread.run = timed
import lostbeat.analyzer.early as early
from lostbeat.analyzer._inflater import one_arena
one_arena()  # as the command line does: one malloc arena, then
early.start([sys.argv[1]])  # inflating while the analysis imports
import lostbeat.analyzer.engine as engine
import lostbeat.report.jsonout
imported, import_cpu = time.perf_counter() - start, time.thread_time()
engine.analyze([sys.argv[1]])
usage = resource.getrusage(resource.RUSAGE_SELF)
print(json.dumps({
    "wall": time.perf_counter() - start, "import": imported, "import_cpu": import_cpu,
    "main": time.thread_time() - import_cpu, "walk": spent.get("lostbeat-walk", 0.0),
    "inflate": spent.get("lostbeat-inflate", 0.0), "faults": usage.ru_minflt,
    "cpu": usage.ru_utime + usage.ru_stime,
}))
"""


def _run(path: str) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, "-c", _CHILD, path], check=True, capture_output=True, text=True,
        cwd=tempfile.gettempdir(),
    )  # fmt: skip
    row: dict[str, float] = json.loads(out.stdout)
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", type=Path, default=Path(tempfile.gettempdir()) / "lostbeat-bench")
    parser.add_argument("--sizes", type=int, nargs="+", default=[128, 512, 1024, 4096])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    paths = {size: str(bundle_read.build(args.dir, size)) for size in args.sizes}
    rows: dict[int, list[dict[str, float]]] = {size: [] for size in args.sizes}
    load = os.getloadavg()[0]
    for _ in range(args.repeat):
        for size, path in paths.items():
            rows[size].append(_run(path))
    print(
        f"median of {args.repeat} runs a bundle, interleaved; load average {load:.1f} at the "
        f"start, {os.getloadavg()[0]:.1f} at the end; CPU seconds of each thread"
    )
    print(
        f"{'logs':>9} {'import':>7} {'parse':>7} {'walk':>6} {'inflate':>8} {'faults':>7}"
        f" {'cpu':>6} {'wall':>6} {'2 cores':>8}"
    )
    for size, runs in rows.items():
        med = {key: statistics.median(r[key] for r in runs) for key in runs[0]}
        ideal = med["import_cpu"] + max(med["main"] + med["walk"], med["inflate"])
        print(
            f"{_mib(size):>9} {med['import_cpu']:>7.3f} {med['main']:>7.3f} {med['walk']:>6.3f} "
            f"{med['inflate']:>8.3f} {med['faults']:>7.0f} {med['cpu']:>6.2f} "
            f"{med['wall']:>6.2f} {ideal:>8.2f}"
        )
    print(
        "import, parse: the caller's thread before and after the analysis is imported; "
        "2 cores: import + the longer of (parse + walk) and inflate, the wall time two free "
        "cores would give"
    )


def _mib(size: int) -> str:
    return f"{size // 1024} GiB" if size >= 1024 else f"{size} MiB"


if __name__ == "__main__":
    main()
