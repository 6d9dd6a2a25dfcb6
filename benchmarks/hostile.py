"""Hostile inputs: peak RSS and wall time of the whole ``lostbeat analyze`` command.

Runs every case of the hostile corpus (``tests/hostile/corpus.py``, at the sizes of the
report: 32 M one-character lines, 10 M summary lines, 1,500 links of 1 MB, 1,000,000 members
and folder entries, a 4 GiB member, a 2 GiB line, an 8 GiB nested bomb...) and the memory
worst case of ``benchmarks/bundle_read.py`` (512 MiB of wanted vmkernel logs, every other one
a nested ``.gz``, varied lines that compress 6 to 1), each as ``python -m lostbeat analyze
--json`` in a child, and prints a table against the targets: at most 200 MB of peak RSS for
the whole command, and at most 10 s per 100 MB of archive (10 s for anything smaller).

Peak RSS is the child's own ``ru_maxrss`` (``tests/hostile/child.py`` explains why the child is
forked by a small reporter); the wall time is the median of ``--repeat`` runs, the runs of
all cases interleaved so that load from other work falls on all of them alike; peak RSS is
the largest of the runs.

Usage::

    .venv/bin/python benchmarks/hostile.py [--repeat 3] [--only CASE ...] [--no-bundle]
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "benchmarks")]

import bundle_read  # noqa: E402

from tests.hostile.child import run  # noqa: E402
from tests.hostile.corpus import CASES  # noqa: E402
from tests.hostile.inputs import remove_tree  # noqa: E402

RSS_TARGET_MB = 200.0
SECONDS_PER_100MB = 10.0


@dataclass(frozen=True)
class Input:
    name: str
    what: str
    args: list[str]
    size: int  # bytes on disk (apparent), for the time target
    status: int


def time_target(size: int) -> float:
    return SECONDS_PER_100MB * max(1.0, size / 100e6)


def _folder_for(name: str, base: Path) -> Path:
    """Where a case is built: /dev/shm for the million folder entries (seconds, not minutes)."""
    shm = Path("/dev/shm")
    if name == "folder-of-a-million-entries" and shm.is_dir() and os.access(shm, os.W_OK):
        return Path(tempfile.mkdtemp(prefix="lostbeat-hostile-", dir=shm))
    folder = base / name
    folder.mkdir()
    return folder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--only", nargs="*", default=None, help="case names")
    parser.add_argument("--no-bundle", action="store_true", help="skip bundle_read's bundle")
    parser.add_argument("--dir", type=Path, default=Path(tempfile.gettempdir()) / "lostbeat-bench")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit("terminated"))  # clean up all the same
    base = Path(tempfile.mkdtemp(prefix="lostbeat-hostile-"))
    folders: list[Path] = []
    inputs: list[Input] = []
    try:
        for case in CASES:
            if args.only and case.name not in args.only:
                continue
            folder = _folder_for(case.name, base)
            folders.append(folder)
            prepared = case.build(folder, 1.0)
            inputs.append(
                Input(case.name, case.what, prepared.args, prepared.archive_bytes, case.status)
            )
        if not args.no_bundle:
            bundle = bundle_read.build(args.dir, 512, large_logs=True)
            size = bundle.stat().st_size
            inputs.append(
                Input(
                    "bundle-512mb-large-logs", "every log wanted", [str(bundle), "--json"], size, 0
                )
            )
        _table(inputs, args.repeat, base)
    finally:
        for folder in folders:
            remove_tree(folder)
        remove_tree(base)


def _table(inputs: list[Input], repeat: int, base: Path) -> None:
    walls: dict[str, list[float]] = {i.name: [] for i in inputs}
    peaks: dict[str, list[float]] = {i.name: [] for i in inputs}
    for round_ in range(repeat):
        for item in inputs:
            sandbox = base / f"sandbox-{item.name}-{round_}"
            result = run(["analyze", *item.args], sandbox, kill_mb=1000.0, kill_s=300.0)
            remove_tree(sandbox)
            if result.status != item.status or result.killed:
                sys.exit(
                    f"{item.name}: exit status {result.status} {result.killed}: {result.stderr}"
                )
            walls[item.name].append(result.wall_s)
            peaks[item.name].append(result.peak_mb)
    print(
        f"median wall of {repeat} interleaved runs, largest peak RSS; {os.cpu_count()} CPUs, "
        f"load {os.getloadavg()[0]:.1f} at the end; targets: peak RSS <= {RSS_TARGET_MB:.0f} MB, "
        f"wall <= {SECONDS_PER_100MB:.0f} s per 100 MB of input (10 s at least)"
    )
    print(f"{'case':<34} {'class':<28} {'input MB':>9} {'wall s':>7} {'peak MB':>8}  targets")
    failed = 0
    for item in inputs:
        wall = statistics.median(walls[item.name])
        peak = max(peaks[item.name])
        ok_rss, ok_time = peak <= RSS_TARGET_MB, wall <= time_target(item.size)
        failed += not (ok_rss and ok_time)
        verdict = ("PASS" if ok_rss else "FAIL RSS") + (" PASS" if ok_time else " FAIL time")
        print(
            f"{item.name:<34} {item.what:<28} {item.size / 1e6:>9.1f} {wall:>7.2f} "
            f"{peak:>8.1f}  {verdict}"
        )
    print(f"{len(inputs) - failed} of {len(inputs)} inputs within both targets")


if __name__ == "__main__":
    main()
