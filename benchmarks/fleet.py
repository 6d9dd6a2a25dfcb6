"""Fleet: many generated bundles with 1 and 2 local workers, and on a Dask LocalCluster.

Generates (once, cached in ``--dir``) ``--count`` vm-support bundles cycling through every
scenario of :mod:`lostbeat.scenarios` with a different seed each, one case folder each (the
archive and its ``psod.txt``; the truth files are moved aside). Then it times
``lostbeat.fleet.runner.run_local`` with 1 and with 2 workers and ``run_dask`` on a
``LocalCluster`` of 2 worker processes (1 thread each), checks that the three runs give the
same documents, and prints a table: wall time, time per bundle, the speed-up of 2 workers
over 1, and the per-bundle overhead of the Dask path over the local pool.

It also times the whole command, ``lostbeat fleet --workers N --json`` in a fresh process
(Python start-up, imports, the fork server, the analysis and the SQLite writes).

Pools and clusters are started and warmed (the analyzer imported in every worker) before
the clock starts; their start-up times are printed apart. Each configuration runs
``--repeat`` times, round by round, and the best wall time counts, since the machine's
cores are shared.

Usage::

    .venv/bin/python benchmarks/fleet.py [--dir DIR] [--count 500] [--repeat 3] [--fresh]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from lostbeat import __version__
from lostbeat.fleet.cluster import run_dask
from lostbeat.fleet.discover import Incident, discover
from lostbeat.fleet.model import BundleResult
from lostbeat.fleet.runner import run_local

SPEEDUP_TARGET = 1.8
DEFAULT_DIR = Path(tempfile.gettempdir()) / "lostbeat-fleet-bench"


def _generate_one(job: tuple[str, int, str]) -> str:
    from lostbeat.scenarios import generate

    name, seed, root = job
    folder = Path(root) / "cases" / f"{seed:04d}-{name}"
    case = generate(name, folder, seed=seed)
    case.truth_path.rename(Path(root) / "truth" / f"{seed:04d}-{name}.json")
    return name


def build(root: Path, count: int, *, fresh: bool) -> Path:
    """The case folders, generated unless ``root`` already holds this many from this version."""
    from lostbeat.scenarios import SCENARIOS

    stamp = root / "bench.json"
    want = {"count": count, "lostbeat": __version__, "scenarios": sorted(SCENARIOS)}
    if not fresh and stamp.is_file() and json.loads(stamp.read_text()) == want:
        return root / "cases"
    shutil.rmtree(root, ignore_errors=True)
    (root / "truth").mkdir(parents=True)
    names = sorted(SCENARIOS)
    jobs = [(names[i % len(names)], i, str(root)) for i in range(count)]
    start = time.perf_counter()
    with ProcessPoolExecutor(max_workers=len(os.sched_getaffinity(0))) as pool:
        list(pool.map(_generate_one, jobs, chunksize=8))
    print(f"generated {count} bundles in {time.perf_counter() - start:.1f} s under {root}")
    stamp.write_text(json.dumps(want))
    return root / "cases"


def _dask(incidents: list[Incident], starts: list[float]) -> list[BundleResult]:
    """``run_dask`` on a fresh LocalCluster; its start-up (appended to ``starts``) is not
    part of the time that counts, and the cluster is gone while the other runs are timed."""
    from distributed import Client, LocalCluster

    t0 = time.perf_counter()
    with LocalCluster(
        processes=True, n_workers=2, threads_per_worker=1, dashboard_address=":0"
    ) as cluster:
        with Client(cluster.scheduler_address) as client:
            client.run(__import__, "lostbeat.analyzer.engine")  # warm both workers
        starts.append(time.perf_counter() - t0)
        results = run_dask(incidents, scheduler=cluster.scheduler_address)
        t1 = time.perf_counter()
    starts[-1] += time.perf_counter() - t1  # the shutdown does not count either
    return results


def _cli(cases: Path, workers: int) -> list[BundleResult]:
    """``lostbeat fleet`` end to end in a fresh process: start-up, analysis and SQLite."""
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(
            [
                sys.executable,
                "-m",
                "lostbeat",
                "fleet",
                str(cases),
                "--workers",
                str(workers),
                "--db",
                str(Path(tmp) / "fleet.sqlite"),
                "--json",
            ],
            check=True,
            stdout=subprocess.DEVNULL,
        )
    return []


def _documents(results: list[BundleResult]) -> list[tuple[str, str | None, str | None]]:
    return [(r.key, r.document, r.error) for r in results]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dir", type=Path, default=DEFAULT_DIR, help="bundle cache folder")
    parser.add_argument("--count", type=int, default=500, help="bundles to generate")
    parser.add_argument("--repeat", type=int, default=3, help="runs per configuration")
    parser.add_argument("--fresh", action="store_true", help="generate again even if cached")
    args = parser.parse_args()

    cases = build(args.dir, args.count, fresh=args.fresh)
    incidents: list[Incident] = list(discover([cases]).incidents)
    warm = incidents[:4]

    load0 = os.getloadavg()[0]
    start = time.perf_counter()
    run_local(warm, workers=2)  # starts the fork server, which imports the analyzer once
    fork_server_s = time.perf_counter() - start

    configs: list[tuple[str, int, Callable[[], list[BundleResult]]]] = [
        ("local pool", 1, lambda: run_local(incidents, workers=1)),
        ("local pool", 2, lambda: run_local(incidents, workers=2)),
        ("dask LocalCluster", 2, lambda: _dask(incidents, starts)),
        ("lostbeat fleet CLI", 1, lambda: _cli(cases, 1)),
        ("lostbeat fleet CLI", 2, lambda: _cli(cases, 2)),
    ]
    starts: list[float] = []
    best = [float("inf")] * len(configs)
    outputs: list[list[BundleResult]] = [[] for _ in configs]
    # round by round, so a burst of load from other work hits every configuration alike
    for _ in range(args.repeat):
        for i, (_, _, run) in enumerate(configs):
            t0 = time.perf_counter()
            outputs[i], spent = run(), time.perf_counter() - t0
            best[i] = min(best[i], spent - (starts[-1] if i == 2 else 0.0))
    cluster_s = min(starts)
    rows = [(name, w, best[i], outputs[i]) for i, (name, w, _) in enumerate(configs)]

    n = len(incidents)
    ok = sum(r.ok for r in rows[0][3])
    same = all(_documents(r[3]) == _documents(rows[0][3]) for r in rows[1:3])
    per_bundle = statistics.mean(r.duration_s for r in rows[0][3]) * 1000
    load = os.getloadavg()
    print(
        f"\n{n} bundles ({ok} analysed, {n - ok} error rows), {len(os.sched_getaffinity(0))} "
        f"CPUs, load average {load0:.2f} before, {load[0]:.2f} after, best of {args.repeat}, "
        f"Python {sys.version.split()[0]}; mean analysis {per_bundle:.1f} ms a bundle (1 worker)"
    )
    print(f"{'backend':<18} {'workers':>7} {'wall s':>8} {'ms/bundle':>10} {'speed-up':>9}")
    for name, workers, wall, _ in rows:
        family = name if name.endswith("CLI") else "local pool"
        base = next(r[2] for r in rows if r[0] == family and r[1] == 1)
        print(f"{name:<18} {workers:>7} {wall:>8.2f} {wall / n * 1000:>10.2f} {base / wall:>8.2f}x")
    local1, local2, dask2 = rows[0][2], rows[1][2], rows[2][2]
    speedup = local1 / local2
    verdict = "pass" if speedup >= SPEEDUP_TARGET else "FAIL"
    print(
        f"speed-up, local pool 2 workers / 1: {speedup:.2f}x "
        f"(target >= {SPEEDUP_TARGET}x): {verdict}"
    )
    print(
        f"Dask overhead over the local pool (2 workers): "
        f"{(dask2 - local2) / n * 1000:+.2f} ms a bundle ({(dask2 / local2 - 1) * 100:+.0f} %)"
    )
    print(
        f"start-up, not in the times above: fork server {fork_server_s:.2f} s, "
        f"LocalCluster {cluster_s:.2f} s"
    )
    print(f"identical documents, local 1 and 2 workers and Dask: {same}")


if __name__ == "__main__":
    main()
