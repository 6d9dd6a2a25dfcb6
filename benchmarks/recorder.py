"""Recorder overhead: a warm sample of ours beside a warm iteration of ``top -b`` over the
same processes, one ``atop`` sample, the recorder's RSS, and the disk a day takes.

Starts ``--procs`` real ``sleep`` processes and ``--active`` small Python processes whose
memory changes every 0.1 s (the part of a host that moves), then, on the same machine and in
one run:

1. like with like, in ``--rounds`` interleaved rounds: a warm sample of ours
   (``Sampler.sample`` + ``Store.append``, in a process that already took a first sample,
   which also reads every command line and owner: the median of ``--repeat`` samples 0.2 s
   apart, CPU and wall), and a warm iteration of ``top -b -d 0.2`` (its CPU over
   ``--top-iterations`` iterations less its CPU over one, divided by the iterations after the
   first: top's start-up and first read of every process are left out, as ours are). The
   median over the rounds of each, and of each round's ratio. On a host without swap, and
   with our per-process swap read forced on (``top`` reads ``status`` either way);
2. the cold costs of the old comparison: our first sample, ``top -b -n 1`` (a whole top
   process) and ``atop -w FILE 1 1`` (Debian's procps and atop), CPU time of the child
   (user + system) and wall time, median of ``--repeat``;
3. the real ``lostbeat record`` (interval 1 s) running for ``--rss-seconds``: its VmRSS and
   peak VmHWM; and the peak RSS of the day roll (downsampling and compressing a full day);
4. disk a day: an hour of real samples taken back to back while an injected clock advances
   10 s each (360 samples at the default interval), written 24 times with the hour shifted
   to make a full day's shard, then rolled over. The figure is the day's raw shard as
   written, plus what the roll leaves (compressed raw, minute and hour shards).

Usage::

    .venv/bin/python benchmarks/recorder.py [--procs 1000] [--active 100] [--repeat 10]
        [--rounds 5] [--top-iterations 11]
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
PY = sys.executable

CHURN = textwrap.dedent(
    """
    import random, time
    while True:
        b = bytearray(random.randrange(1, 64) << 16)
        time.sleep(0.1)
    """
)

SAMPLE_CHILD = textwrap.dedent(
    """
    import json, resource, sys, tempfile, time
    from pathlib import Path
    from lostbeat.recorder.sampler import Sampler
    from lostbeat.recording.store import Store
    forced, repeat = sys.argv[1] == "1", int(sys.argv[2])
    store = Store(Path(tempfile.mkdtemp()), host="bench", interval_s=10.0)
    sampler = Sampler(read_swap=True if forced else None)
    def one():
        c0, w0 = time.process_time(), time.perf_counter()
        snap = sampler.sample()
        n = store.append(snap)
        return time.process_time() - c0, time.perf_counter() - w0, len(snap.procs), n
    first = one()
    runs = []
    for _ in range(repeat):
        time.sleep(0.2)
        runs.append(one())
    store.close()
    print(json.dumps({"first": first, "runs": runs,
                      "maxrss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))
    """
)

DAY_CHILD = textwrap.dedent(
    """
    import json, sys, time
    from pathlib import Path
    from lostbeat.recorder.sampler import Sampler
    from lostbeat.recording.schema import Snapshot
    from lostbeat.recording.store import Store
    directory, samples, step = Path(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
    t0 = 1_714_521_600.0  # a UTC midnight
    clock = {"now": t0}
    sampler = Sampler(clock=lambda: clock["now"])
    hour = []
    for i in range(samples):  # one hour, real samples back to back, clock + 10 s each
        clock["now"] = t0 + i * 10.0
        hour.append(sampler.sample())
        time.sleep(step)
    store = Store(directory, host="bench", interval_s=10.0, fsync_every_s=86400.0)
    hour_bytes = 0
    for h in range(24):
        for snap in hour:
            n = store.append(Snapshot(snap.ts + h * 3600, snap.boot_time, snap.system, snap.procs))
            if h == 0:
                hour_bytes += n
    store.close()
    shard = next(directory.glob("raw/*.jsonl"))
    print(json.dumps({"hour_bytes": hour_bytes, "day_bytes": shard.stat().st_size,
                      "procs": len(hour[-1].procs)}))
    """
)

ROLL_CHILD = textwrap.dedent(
    """
    import resource, sys, time
    from pathlib import Path
    from lostbeat.recording.store import Store
    c0, w0 = time.process_time(), time.perf_counter()
    Store(Path(sys.argv[1]), host="bench", interval_s=10.0).maintain(1_714_521_600.0 + 86400 + 60)
    print(time.process_time() - c0, time.perf_counter() - w0,
          resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
    """
)


def _child_cost(argv: list[str], repeat: int) -> tuple[list[float], list[float]]:
    cpu, wall = [], []
    for _ in range(repeat):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        w0 = time.perf_counter()
        subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        wall.append(time.perf_counter() - w0)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
        time.sleep(0.2)
    return cpu, wall


def _top_warm(iterations: int) -> float:
    """CPU seconds of one iteration of ``top -b`` after its first, from one top over
    ``iterations`` iterations and one over a single iteration."""
    many, _ = _child_cost(["top", "-b", "-d", "0.2", "-n", str(iterations)], 1)
    one, _ = _child_cost(["top", "-b", "-n", "1"], 1)
    return (many[0] - one[0]) / (iterations - 1)


def _warm_rounds(rounds: int, repeat: int, iterations: int) -> dict[str, list[float]]:
    """Per round: our warm sample's median CPU (without and with the swap read) and top's
    warm iteration, seconds."""
    got: dict[str, list[float]] = {"ours": [], "ours_swap": [], "top": []}
    for _ in range(rounds):
        for key, forced in (("ours", False), ("ours_swap", True)):
            runs = _ours(repeat, forced=forced)["runs"]
            got[key].append(statistics.median(r[0] for r in runs))
        got["top"].append(_top_warm(iterations))
    return got


def _ours(repeat: int, *, forced: bool) -> dict[str, Any]:
    out = subprocess.run(
        [PY, "-c", SAMPLE_CHILD, "1" if forced else "0", str(repeat)],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    result: dict[str, Any] = json.loads(out.stdout)
    return result


def _recorder_rss(seconds: float, directory: Path) -> tuple[int, int]:
    """VmRSS and VmHWM (KB) of a real ``lostbeat record`` after ``seconds``."""
    with subprocess.Popen(
        [PY, "-m", "lostbeat", "record", "--dir", str(directory), "--interval", "1"],
        stderr=subprocess.DEVNULL,
        cwd=ROOT,
    ) as rec:
        time.sleep(seconds)
        status = Path(f"/proc/{rec.pid}/status").read_text()
        rec.terminate()
        rec.wait(timeout=30)
    fields = dict(ln.split(":", 1) for ln in status.splitlines() if ln.startswith("Vm"))
    return int(fields["VmRSS"].split()[0]), int(fields["VmHWM"].split()[0])


def _median_ms(values: list[float]) -> float:
    return statistics.median(values) * 1000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--procs", type=int, default=1000)
    parser.add_argument("--active", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--top-iterations", type=int, default=11)
    parser.add_argument("--rss-seconds", type=float, default=15.0)
    parser.add_argument("--hour-samples", type=int, default=360)
    args = parser.parse_args()
    missing = [tool for tool in ("top", "atop") if shutil.which(tool) is None]
    if missing:
        print(f"needs {' and '.join(missing)}: apt-get install procps atop", file=sys.stderr)
        return 2
    work = Path(tempfile.mkdtemp(prefix="lostbeat-bench-"))
    children = [subprocess.Popen(["sleep", "3600"]) for _ in range(args.procs)]
    children += [subprocess.Popen([PY, "-c", CHURN]) for _ in range(args.active)]
    try:
        time.sleep(2)
        warm = _warm_rounds(args.rounds, args.repeat, args.top_iterations)
        ours = _ours(args.repeat, forced=False)
        top_cpu, top_wall = _child_cost(["top", "-b", "-n", "1"], args.repeat)
        atop_file = work / "atop.raw"
        atop_cpu, atop_wall = [], []
        for _ in range(args.repeat):
            atop_file.unlink(missing_ok=True)
            cpu, wall = _child_cost(["atop", "-w", str(atop_file), "1", "1"], 1)
            atop_cpu += cpu
            atop_wall += wall
        atop_bytes = atop_file.stat().st_size
        rss, hwm = _recorder_rss(args.rss_seconds, work / "rss-rec")
        day = json.loads(
            subprocess.run(
                [PY, "-c", DAY_CHILD, str(work / "day"), str(args.hour_samples), "0.1"],
                capture_output=True,
                text=True,
                check=True,
                cwd=ROOT,
            ).stdout
        )
        roll = subprocess.run(
            [PY, "-c", ROLL_CHILD, str(work / "day")],
            capture_output=True,
            text=True,
            check=True,
            cwd=ROOT,
        ).stdout.split()
        sizes = {p.parent.name: p.stat().st_size for p in (work / "day").glob("*/*.jsonl.gz")}
    finally:
        for child in children:
            child.kill()
        for child in children:
            child.wait()
        shutil.rmtree(work, ignore_errors=True)
    procs = ours["first"][2]
    print(
        f"\n{procs} processes ({args.procs} sleep, {args.active} changing every 0.1 s, "
        f"the rest of the host); median of {args.repeat}\n"
    )
    top_warm = _median_ms(warm["top"])
    print(
        f"{'warm: a sample after the first, CPU':<44} {'ms':>8} {'vs top':>8} {'rounds':>8}"
        f"   ({args.rounds} rounds; target: at most 0.5x top's)"
    )
    for key, label in (
        ("ours", "ours, warm sample (host without swap)"),
        ("ours_swap", "ours, warm sample (swap read forced)"),
    ):
        ms = _median_ms(warm[key])
        per_round = statistics.median(
            o / t for o, t in zip(warm[key], warm["top"], strict=True) if t > 0
        )
        print(f"{label:<44} {ms:8.2f} {ms / top_warm:7.2f}x {per_round:7.2f}x")
    label = f"top -b -d 0.2, warm iteration (of {args.top_iterations})"
    print(f"{label:<44} {top_warm:8.2f}    1.00x\n")
    top_ms = _median_ms(top_cpu)
    print(f"{'cold: a whole first sample, CPU':<44} {'CPU ms':>8} {'wall ms':>8}  vs top CPU")
    first = ours["first"]
    print(
        f"{'ours, first sample (reads every cmdline)':<44} {first[0] * 1000:8.1f} "
        f"{first[1] * 1000:8.1f}"
    )
    print(f"{'top -b -n 1':<44} {top_ms:8.1f} {_median_ms(top_wall):8.1f}  1.00x")
    print(
        f"{'atop -w FILE 1 1':<44} {_median_ms(atop_cpu):8.1f} {_median_ms(atop_wall):8.1f}  "
        f"{_median_ms(atop_cpu) / top_ms:5.2f}x"
    )
    print(f"\n{'memory':<44} {'MB':>8}")
    label = f"lostbeat record, VmRSS after {args.rss_seconds:g} s"
    print(f"{label:<44} {rss / 1024:8.1f}")
    print(f"{'lostbeat record, peak (VmHWM)':<44} {hwm / 1024:8.1f}")
    print(
        f"{'day roll (downsample + compress), peak RSS':<44} {int(roll[2]) / 1024:8.1f}"
        f"   ({float(roll[0]):.2f} s CPU)"
    )
    mb = 1 << 20
    print(f"\n{'disk, defaults (10 s interval)':<44} {'MB':>8}")
    print(f"{'one hour of raw samples (measured)':<44} {day['hour_bytes'] / mb:8.2f}")
    print(f"{'a day of raw samples, as written':<44} {day['day_bytes'] / mb:8.2f}")
    for tier in ("raw", "minute", "hour"):
        print(f"{f'  after the roll: {tier} shard (gzip)':<44} {sizes.get(tier, 0) / mb:8.2f}")
    steady = (
        day["day_bytes"]
        + sizes.get("raw", 0)
        + 7 * sizes.get("minute", 0)
        + 30 * sizes.get("hour", 0)
    )
    print(f"{'steady state: 1 open + 1 gz raw, 7 d min, 30 d h':<44} {steady / mb:8.2f}")
    print(
        f"{'atop raw file, one sample':<44} {atop_bytes / mb:8.2f}   "
        f"(x8640 = {atop_bytes * 8640 / mb:.0f} MB a day at 10 s)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
