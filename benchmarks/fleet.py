"""Fleet: the local pool against Dask, 1 against 2 workers, 10,000 bundles through a Dask
cluster with its memory over the run, an interrupted run resumed, and where leaks came from.

1. **Speed.** ``--count`` generated bundles (cached in ``--dir``: every scenario of
   :mod:`lostbeat.scenarios` whose case is an archive, in turn, a seed each, one case folder
   each) run through ``run_local`` with 1 and 2 workers and ``run_dask`` on a fresh
   ``LocalCluster`` of 1 and of 2 worker processes (1 thread each), and through the command
   itself (``lostbeat fleet --workers N --json`` in a process of its own: discovery, the fork
   server's start, the store and the summary included), ``--repeat`` rounds, the six
   configurations interleaved in each round. Each run starts after a second in which
   other work on the machine took under 0.3 cores (waiting ``--quiet-wait`` seconds at most;
   every run counts). Printed: the median wall time of each, the speed-up of 2 workers over
   1, the Dask path's overhead a bundle over the local pool, the CPU time every process of
   the run spent (this process, the fork server and its workers, the cluster's workers),
   and the cores other work took during the run (``/proc/stat`` less this process tree),
   which says how far a wall time is the machine's and not ours; then where that CPU went
   (this process: the pool's parent, or the Dask client with the ``LocalCluster``'s
   scheduler and nannies; the Dask workers' event loops; the analysis), the minor page
   faults a bundle, the Dask overhead part by part, and the analysis's CPU a bundle with 2
   workers over 1. Pools and clusters start before the clock does.
2. **10,000 bundles.** ``--big`` incidents (hard links to the cached bundles, a case folder
   each) through ``lostbeat fleet --scheduler`` against a ``LocalCluster`` running in a
   process of its own (its scheduler lives there). The command is killed (SIGKILL) at 40 %,
   then run again with ``--resume``. The resident memory of the command (the Dask client)
   and of the scheduler's process is read from ``/proc`` every half second and printed
   against the command's progress lines.
3. **Where leaks came from.** ``--fleets`` generated fleets whose culprit leaks from one
   build on (:mod:`lostbeat.scenarios.fleet`) and half as many whose agent leaks with one
   version, each analysed and rolled up: how often the introducing build (the agent
   version) is the one named, and how often a build is named where none should be.

Usage::

    .venv/bin/python benchmarks/fleet.py [--dir DIR] [--count 500] [--repeat 5]
        [--big 10000] [--fleets 40] [--fresh] [--quiet-wait 60] [--only speed|big|origins]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from lostbeat import __version__
from lostbeat.errors import InputError
from lostbeat.fleet.cluster import run_dask
from lostbeat.fleet.discover import Incident, IncidentKind, discover
from lostbeat.fleet.model import BundleResult
from lostbeat.fleet.runner import run_local

sys.path.insert(0, str(Path(__file__).parent))
from fleet_big import big  # noqa: E402

SPEEDUP_TARGET = 1.9
OVERHEAD_TARGET = 0.10
ACCURACY_TARGET = 0.95
QUIET_CORES = 0.3
"""Other work under this many cores (of 2) for a second: a quiet moment to start a run."""
QUIET_WAIT_S = 60.0
DEFAULT_DIR = Path(tempfile.gettempdir()) / "lostbeat-fleet-bench"
_TICK = os.sysconf("SC_CLK_TCK")
_BUNDLES = (IncidentKind.ARCHIVE, IncidentKind.BUNDLE_DIR)


def _generate_one(job: tuple[str, int, str]) -> str:
    from lostbeat.scenarios import generate

    name, seed, root = job
    folder = Path(root) / "cases" / f"{seed:04d}-{name}"
    case = generate(name, folder, seed=seed)
    case.truth_path.rename(Path(root) / "truth" / f"{seed:04d}-{name}.json")
    return name


def _is_bundle(name: str) -> bool:
    """Whether a case of scenario ``name`` is an archive or a bundle folder (a folder of
    loose logs alone is a host folder, docs/fleet.md: left out, so the figures stay those
    of bundles)."""
    from lostbeat.scenarios import generate

    with tempfile.TemporaryDirectory() as tmp:
        generate(name, Path(tmp) / "case", seed=0)
        try:
            found = discover([Path(tmp) / "case"]).incidents
        except InputError:  # nothing to analyse
            return False
        return len(found) == 1 and found[0].kind in _BUNDLES


def build(root: Path, count: int, *, fresh: bool) -> Path:
    """``count`` case folders of bundles, generated unless ``root`` already holds this many
    from this version: every scenario whose case is a bundle in turn, a seed each."""
    from lostbeat.scenarios import SCENARIOS

    stamp = root / "bench.json"
    want = {
        "count": count,
        "lostbeat": __version__,
        "scenarios": sorted(SCENARIOS),
        "bundles": True,
    }
    if not fresh and stamp.is_file() and json.loads(stamp.read_text()) == want:
        return root / "cases"
    shutil.rmtree(root, ignore_errors=True)
    (root / "truth").mkdir(parents=True)
    start = time.perf_counter()
    with ProcessPoolExecutor(max_workers=len(os.sched_getaffinity(0))) as pool:
        every = sorted(SCENARIOS)
        names = [n for n, ok in zip(every, pool.map(_is_bundle, every), strict=True) if ok]
        jobs = [(names[i % len(names)], i, str(root)) for i in range(count)]
        list(pool.map(_generate_one, jobs, chunksize=8))
    print(f"generated {count} bundles of {len(names)} scenarios in "
          f"{time.perf_counter() - start:.1f} s under {root}")  # fmt: skip
    stamp.write_text(json.dumps(want))
    return root / "cases"


# --- CPU of a process tree -------------------------------------------------------------


def _stat(pid: int, *, thread: int | None = None) -> list[str] | None:
    path = f"/proc/{pid}/stat" if thread is None else f"/proc/{pid}/task/{thread}/stat"
    try:
        return Path(path).read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None


def _descendants(root: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (fields := _stat(int(entry.name))) is not None:
            children.setdefault(int(fields[1]), []).append(int(entry.name))
    out, todo = [], [root]
    while todo:
        for child in children.get(todo.pop(), []):
            out.append(child)
            todo.append(child)
    return out


@dataclass(frozen=True, slots=True)
class Usage:
    """What a process tree spent, in CPU seconds and minor page faults."""

    cpu: float
    """Every process: this one, its reaped children, every live descendant."""
    caller: float
    """This process alone: the pool's parent, or the Dask client with the ``LocalCluster``'s
    scheduler and nannies (they run on its event loop)."""
    loops: float
    """The main threads of live descendants that hold more than one thread: a Dask worker's
    event loop (its tasks run on other threads); 0 for a local pool."""
    faults: int
    """Minor page faults of every process (copy-on-write after a fork, fresh heap pages)."""

    def __sub__(self, other: Usage) -> Usage:
        return Usage(
            self.cpu - other.cpu,
            self.caller - other.caller,
            self.loops - other.loops,
            self.faults - other.faults,
        )


def _ticks(fields: list[str], first: int, last: int) -> float:
    return sum(int(f) for f in fields[first:last]) / _TICK


def tree_usage() -> Usage:
    """CPU and minor faults of this process, its reaped children and every live descendant
    (with the children those reaped): all the work a run did, wherever it ran here."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    reaped = resource.getrusage(resource.RUSAGE_CHILDREN)
    caller = own.ru_utime + own.ru_stime
    total = caller + reaped.ru_utime + reaped.ru_stime
    faults = own.ru_minflt + reaped.ru_minflt
    loops = 0.0
    for pid in _descendants(os.getpid()):
        fields = _stat(pid)
        if fields is None:
            continue
        total += _ticks(fields, 11, 15)  # utime, stime, cutime, cstime
        faults += int(fields[7]) + int(fields[8])  # minflt, cminflt
        if int(fields[17]) > 1 and (main := _stat(pid, thread=pid)) is not None:
            loops += _ticks(main, 11, 13)
    return Usage(total, caller, loops, faults)


def tree_cpu() -> float:
    """CPU seconds of :func:`tree_usage`."""
    return tree_usage().cpu


def busy_cpu() -> float:
    """CPU seconds the whole machine has spent busy since it started (``/proc/stat``)."""
    user, nice, system, _idle, _iowait, irq, softirq, steal = (
        int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]
    )
    return (user + nice + system + irq + softirq + steal) / _TICK


def wait_quiet(*, limit_s: float) -> None:
    """Waits until other work takes less than :data:`QUIET_CORES` cores for a second, or
    ``limit_s`` has passed; the run that follows is timed either way."""
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        busy0, ours0 = busy_cpu(), tree_cpu()
        time.sleep(1.0)
        if (busy_cpu() - busy0) - (tree_cpu() - ours0) < QUIET_CORES:
            return


class Clock:
    """Wall time, CPU of this process tree and CPU of other work on the machine, from
    :meth:`start` to :meth:`stop`, after waiting up to ``quiet_s`` for a quiet moment."""

    quiet_s = QUIET_WAIT_S

    def start(self) -> None:
        wait_quiet(limit_s=self.quiet_s)
        self.t0, self.usage0, self.busy0 = time.perf_counter(), tree_usage(), busy_cpu()

    def stop(self) -> Run:
        wall, usage = time.perf_counter() - self.t0, tree_usage() - self.usage0
        others = max(0.0, busy_cpu() - self.busy0 - usage.cpu)
        return Run(wall, usage.cpu, others / wall, usage)


@dataclass(frozen=True, slots=True)
class Run:
    wall: float
    cpu: float
    """CPU seconds of every process of the run."""
    others: float
    """Cores other work on the machine took during the run, on average."""
    usage: Usage | None = None
    """Where the CPU went, and the minor faults (None: not known)."""

    def split(self) -> tuple[float, float, float, float]:
        """CPU seconds of the caller, of the workers' event loops and of the analysis, and
        minor faults; nan where not known."""
        u = self.usage
        if u is None:
            return (math.nan,) * 4
        return u.caller, u.loops, u.cpu - u.caller - u.loops, float(u.faults)


# --- 1. speed --------------------------------------------------------------------------


def _local(incidents: list[Incident], workers: int) -> tuple[Run, list[BundleResult]]:
    clock = Clock()
    clock.start()
    results = run_local(incidents, workers=workers)
    return clock.stop(), results


def _dask(incidents: list[Incident], workers: int) -> tuple[Run, list[BundleResult]]:
    """``run_dask`` on a fresh LocalCluster; its start and its shutdown are not counted."""
    from distributed import Client, LocalCluster

    with LocalCluster(
        processes=True, n_workers=workers, threads_per_worker=1, dashboard_address=":0"
    ) as cluster:
        with Client(cluster.scheduler_address) as client:
            client.run(__import__, "lostbeat.analyzer.engine")  # warm every worker
        clock = Clock()
        clock.start()
        results = run_dask(incidents, scheduler=cluster.scheduler_address)
        return clock.stop(), results


def _command(cases: Path, workers: int) -> tuple[Run, list[BundleResult]]:
    """``lostbeat fleet CASES --workers N --json`` in a process of its own, as a user runs it:
    discovery, the fork server's start, the store, the summary and all."""
    from lostbeat.fleet.store import FleetStore

    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "fleet.sqlite"
        argv = [sys.executable, "-m", "lostbeat", "fleet", str(cases), "--workers", str(workers)]
        clock = Clock()
        clock.start()
        done = subprocess.run([*argv, "--db", str(db), "--json"], capture_output=True, check=False)
        # its workers fork from a fork server the command does not reap: their CPU reaches
        # neither this tree nor getrusage, so CPU and other work are not known (nan)
        run = Run(clock.stop().wall, math.nan, math.nan)
        if done.returncode != 0:
            raise SystemExit(f"lostbeat fleet failed: {done.stderr.decode(errors='replace')}")
        with FleetStore(db) as store:
            results = sorted(store.results(), key=lambda r: r.sort_key)
    return run, results


def speed(cases: Path, repeat: int) -> None:
    incidents = list(discover([cases]).incidents)
    n = len(incidents)
    run_local(incidents[:4], workers=2)  # starts the fork server, which imports the analyzer
    configs: list[tuple[str, int, Callable[[], tuple[Run, list[BundleResult]]]]] = [
        ("local pool", 1, lambda: _local(incidents, 1)),
        ("local pool", 2, lambda: _local(incidents, 2)),
        ("Dask LocalCluster", 1, lambda: _dask(incidents, 1)),
        ("Dask LocalCluster", 2, lambda: _dask(incidents, 2)),
        ("lostbeat fleet", 1, lambda: _command(cases, 1)),
        ("lostbeat fleet", 2, lambda: _command(cases, 2)),
    ]
    runs: list[list[Run]] = [[] for _ in configs]
    outputs: list[list[BundleResult]] = [[] for _ in configs]
    load0 = os.getloadavg()
    for r in range(repeat):  # round by round: a burst of other work hits every one alike
        line = []
        for i, (name, workers, run) in enumerate(configs):
            done, outputs[i] = run()
            runs[i].append(done)
            line.append(f"{name} x{workers} {done.wall:.1f} s ({done.others:.2f})")
        print(f"round {r + 1}: " + ", ".join(line), flush=True)
    wall = [statistics.median(x.wall for x in c) for c in runs]
    cpu = [statistics.median(x.cpu for x in c) for c in runs]
    others = [statistics.median(x.others for x in c) for c in runs]
    same = all(_documents(o) == _documents(outputs[0]) for o in outputs[1:])
    load = os.getloadavg()
    print(
        f"\n{n} bundles, {len(os.sched_getaffinity(0))} CPUs, load average (1, 5, 15 min) "
        f"{_load(load0)} before and {_load(load)} after, median of {repeat} interleaved "
        f"rounds, each run started after a quiet second (other work under {QUIET_CORES} "
        f"cores; waited {Clock.quiet_s:.0f} s at most), Python {sys.version.split()[0]}; in "
        "brackets above: the cores other work took during the run"
    )
    print(
        f"{'backend':<18} {'workers':>7} {'wall s':>8} {'ms/bundle':>10} {'CPU ms/bundle':>14}"
        f" {'others, cores':>14}"
    )
    for (name, workers, _), w, c, o in zip(configs, wall, cpu, others, strict=True):
        print(
            f"{name:<18} {workers:>7} {w:>8.2f} {w / n * 1000:>10.1f} {c / n * 1000:>14.1f}"
            f" {o:>14.2f}"
        )
    splits = [[statistics.median(x.split()[i] for x in c) for i in range(4)] for c in runs]
    print(
        "\nwhere the CPU went, ms a bundle (medians): the caller (the pool's parent; the Dask "
        "client with the LocalCluster's scheduler and nannies), the Dask workers' event loops, "
        "the analysis (the workers' other threads); and minor page faults a bundle"
    )
    print(
        f"{'backend':<18} {'workers':>7} {'caller':>8} {'loops':>8} {'analysis':>9} {'faults':>8}"
    )
    for (name, workers, _), (caller, loops, analysis, faults) in zip(configs, splits, strict=True):
        print(
            f"{name:<18} {workers:>7} {caller / n * 1000:>8.2f} {loops / n * 1000:>8.2f}"
            f" {analysis / n * 1000:>9.1f} {faults / n:>8.0f}"
        )
    for label, one, two in (("local pool", 0, 1), ("Dask", 2, 3), ("lostbeat fleet", 4, 5)):
        ratios = sorted(runs[one][r].wall / runs[two][r].wall for r in range(repeat))
        speedup = wall[one] / wall[two]
        verdict = "pass" if speedup >= SPEEDUP_TARGET else "FAIL"
        print(
            f"speed-up of 2 workers over 1, {label}: {speedup:.2f}x (median walls; each round: "
            f"{', '.join(f'{x:.2f}' for x in ratios)}), target >= {SPEEDUP_TARGET}x: {verdict}"
        )
    over = wall[3] / wall[1] - 1
    over_cpu = cpu[3] / cpu[1] - 1
    verdict = "pass" if over <= OVERHEAD_TARGET else "FAIL"
    print(
        f"Dask overhead over the local pool, 2 workers: wall {(wall[3] - wall[1]) / n * 1000:+.1f}"
        f" ms a bundle ({over * 100:+.0f} %), target <= {OVERHEAD_TARGET * 100:.0f} %: {verdict}; "
        f"CPU {(cpu[3] - cpu[1]) / n * 1000:+.1f} ms a bundle ({over_cpu * 100:+.0f} %)"
    )
    print(f"  of which, ms a bundle: {_parts(splits[3], splits[1], n)}")
    over1 = wall[2] / wall[0] - 1
    over1_cpu = cpu[2] / cpu[0] - 1
    print(
        f"Dask overhead over the local pool, 1 worker: wall {over1 * 100:+.0f} %, "
        f"CPU {over1_cpu * 100:+.0f} %"
    )
    print(f"  of which, ms a bundle: {_parts(splits[2], splits[0], n)}")
    print(
        "CPU a bundle of 2 workers over 1 (the analysis alone): local pool "
        f"{splits[1][2] / splits[0][2]:.3f}x, Dask {splits[3][2] / splits[2][2]:.3f}x"
    )
    print(f"identical documents from all six: {same}")


def _parts(dask: list[float], local: list[float], n: int) -> str:
    """What the Dask run spent beyond the local pool's, part by part, ms a bundle."""
    labels = ("caller", "event loops", "analysis")
    return ", ".join(f"{x} {(dask[i] - local[i]) / n * 1000:+.2f}" for i, x in enumerate(labels))


def _load(load: tuple[float, float, float]) -> str:
    return ", ".join(f"{x:.2f}" for x in load)


def _documents(results: list[BundleResult]) -> list[tuple[str, str | None, str | None]]:
    return [(r.key, r.document, r.error) for r in results]


# --- 3. where leaks came from ----------------------------------------------------------


def _fleet(job: tuple[str, int, str]) -> str:
    from lostbeat.scenarios.fleet import generate_fleet

    kind, seed, root = job
    return str(generate_fleet(kind, Path(root) / f"{kind}-{seed:03d}", seed=seed).truth_path)


def origins(root: Path, fleets: int) -> None:
    from lostbeat.fleet.rollup import rollup
    from lostbeat.scenarios.fleet import FleetTruth

    shutil.rmtree(root / "fleets", ignore_errors=True)
    jobs = [("build", s, str(root / "fleets")) for s in range(fleets)]
    jobs += [("agent", s, str(root / "fleets")) for s in range(max(1, fleets // 2))]
    t0 = time.perf_counter()
    with ProcessPoolExecutor(max_workers=len(os.sched_getaffinity(0))) as pool:
        truths = list(pool.map(_fleet, jobs))
    hosts = 0
    hits = {"build": 0, "agent": 0}
    false_builds = 0
    misses = []
    for path in truths:
        truth = FleetTruth.from_json(Path(path).read_text())
        results = run_local(discover([Path(path).parent / "cases"]).incidents, workers=2)
        hosts += len(results)
        found = next((o for o in rollup(results).leak_origins if o.culprit == truth.culprit), None)
        if truth.kind == "build":
            named = found.introducing_build if found else None
            ok = named == truth.introducing_build
        else:
            agent = next((s for s in (found.splits if found else ()) if s.kind == "agent"), None)
            named = (agent.package, agent.version) if agent else None
            ok = named == (truth.package, truth.version)
            false_builds += bool(found and found.introducing_build is not None)
        hits[truth.kind] += ok
        if not ok:
            misses.append(f"  {Path(path).parent.name}: {truth.culprit}, truth "
                          f"{truth.introducing_build or truth.version}, named {named}")  # fmt: skip
    n_build, n_agent = fleets, max(1, fleets // 2)
    spent = time.perf_counter() - t0
    print(f"\nwhere leaks came from: {n_build + n_agent} generated fleets, {hosts} hosts, "
          f"{spent:.0f} s (generation and analysis)")  # fmt: skip
    accuracy = hits["build"] / n_build
    verdict = "pass" if accuracy >= ACCURACY_TARGET else "FAIL"
    target = f"target >= {ACCURACY_TARGET * 100:.0f} %"
    print(f"introducing build named: {hits['build']} of {n_build} build fleets "
          f"({accuracy * 100:.0f} %), {target}: {verdict}")  # fmt: skip
    print(f"leaking agent version named: {hits['agent']} of {n_agent} agent fleets "
          f"({hits['agent'] / n_agent * 100:.0f} %); a build named where none leaks from one: "
          f"{false_builds} of {n_agent}")  # fmt: skip
    for miss in misses:
        print(miss)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dir", type=Path, default=DEFAULT_DIR, help="bundle cache folder")
    parser.add_argument("--count", type=int, default=500, help="bundles to generate")
    parser.add_argument("--repeat", type=int, default=5, help="interleaved rounds")
    parser.add_argument("--big", type=int, default=10_000, help="incidents of the Dask run")
    parser.add_argument("--fleets", type=int, default=40, help="build fleets to generate")
    parser.add_argument("--fresh", action="store_true", help="generate again even if cached")
    parser.add_argument(
        "--quiet-wait", type=float, default=QUIET_WAIT_S, help="seconds to wait for quiet"
    )
    parser.add_argument("--only", choices=("speed", "big", "origins"), help="one part only")
    args = parser.parse_args()

    Clock.quiet_s = args.quiet_wait
    cases = build(args.dir, args.count, fresh=args.fresh)
    if args.only in (None, "speed"):
        speed(cases, args.repeat)
    if args.only in (None, "big"):
        big(cases, args.dir, args.big)
    if args.only in (None, "origins"):
        origins(args.dir, args.fleets)


if __name__ == "__main__":
    main()
