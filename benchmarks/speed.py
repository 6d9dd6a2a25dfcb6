"""Speed of the whole ``lostbeat analyze`` against its floor: isal's inflate of the same archive.

Two tables, each the median of interleaved runs (every command of a table once per round,
the rounds one after another, so that load from other work falls on all of them alike),
each run a fresh process timed as a whole (start-up and imports included), its peak RSS by
GNU time:

* bundles: ``lostbeat analyze --json`` of a vm-support ``.tgz`` holding 128 MiB, 512 MiB,
  1 GiB and 4 GiB of unrelated service logs (``benchmarks/bundle_read.py``'s builder, cached
  in ``--dir``) against ``python -m isal.igzip -d -c`` of the same file. Targets: wall at most
  1.5x isal's at every size, peak RSS at most 120 MB.
* small: the demo's incident (``lostbeat demo``'s bundle and screen, 55 KB), analysed as
  JSON and for the terminal; the whole ``lostbeat demo`` (which also generates the bundle)
  and a bare interpreter for scale. Targets: wall at most 0.5 s, peak RSS at most 80 MB.
  The packages each command imported are listed from ``python -X importtime``: a run imports
  only what it needs.

CPU (user + system) is printed beside the wall time: on the shared 2 cores the wall time of
a run follows the load, its CPU time much less. Wall below CPU means two cores worked (the
archive is inflated in a thread of its own).

Usage::

    .venv/bin/python benchmarks/speed.py [--sizes 128 512 1024 4096] [--repeat 5]
        [--small-repeat 9] [--only bundles|small] [--dir DIR]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bundle_read  # noqa: E402

RATIO_TARGET = 1.5
BUNDLE_RSS_MB = 120.0
SMALL_WALL_S = 0.5
SMALL_RSS_MB = 80.0
WATCHED = ("numpy", "scipy", "matplotlib", "jinja2", "rich", "dask", "distributed", "isal")


@dataclass(frozen=True, slots=True)
class Runs:
    name: str
    wall: list[float]
    cpu: list[float]
    rss: list[float]

    @property
    def wall_s(self) -> float:
        return statistics.median(self.wall)

    @property
    def cpu_s(self) -> float:
        return statistics.median(self.cpu)

    @property
    def rss_mb(self) -> float:
        return max(self.rss)


def _rounds(commands: dict[str, list[str]], repeat: int) -> dict[str, Runs]:
    runs = {name: Runs(name, [], [], []) for name in commands}
    for _ in range(repeat):
        for name, argv in commands.items():
            wall, cpu, rss = bundle_read.run_once(argv)
            runs[name].wall.append(wall)
            runs[name].cpu.append(cpu)
            runs[name].rss.append(rss)
    return runs


def _lostbeat(*args: str) -> list[str]:
    return [sys.executable, "-m", "lostbeat", *args]


def _load() -> str:
    return f"load average {os.getloadavg()[0]:.1f}"


def bundles(directory: Path, sizes: list[int], repeat: int) -> bool:
    paths = {size: str(bundle_read.build(directory, size)) for size in sizes}
    commands: dict[str, list[str]] = {}
    for size, path in paths.items():
        commands[f"{size} isal"] = [sys.executable, "-m", "isal.igzip", "-d", "-c", path]
        commands[f"{size} lostbeat"] = _lostbeat("analyze", "--json", path)
    started = _load()
    runs = _rounds(commands, repeat)
    print(
        f"\nbundles: lostbeat analyze --json against python -m isal.igzip -d -c; median of "
        f"{repeat} interleaved rounds, largest peak RSS; {started} at the start, {_load()} "
        f"at the end"
    )
    print(
        f"{'logs':>9} {'.tgz MB':>8} {'isal s':>7} {'ours s':>7} {'ratio':>6} {'round':>6}"
        f" {'isal cpu':>9} {'ours cpu':>9} {'ours MB':>8}  targets"
    )
    ok = True
    for size, path in paths.items():
        floor, ours = runs[f"{size} isal"], runs[f"{size} lostbeat"]
        ratio = ours.wall_s / floor.wall_s
        # the median of each round's own ratio: the two runs of a round share its load
        per_round = statistics.median(o / f for o, f in zip(ours.wall, floor.wall, strict=True))
        fast, small = ratio <= RATIO_TARGET, ours.rss_mb <= BUNDLE_RSS_MB
        ok = ok and fast and small
        print(
            f"{_mib(size):>9} {os.path.getsize(path) / 1e6:>8.0f} {floor.wall_s:>7.2f} "
            f"{ours.wall_s:>7.2f} {ratio:>6.2f} {per_round:>6.2f} {floor.cpu_s:>9.2f} "
            f"{ours.cpu_s:>9.2f} {ours.rss_mb:>8.1f}  {_verdict(fast)} {_verdict(small)}"
        )
    print(f"targets: wall <= {RATIO_TARGET}x isal's; peak RSS <= {BUNDLE_RSS_MB:.0f} MB")
    return ok


def _mib(size: int) -> str:
    return f"{size // 1024} GiB" if size >= 1024 else f"{size} MiB"


def _verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def small(repeat: int) -> bool:
    from lostbeat.scenarios import generate

    with tempfile.TemporaryDirectory(prefix="lostbeat-speed-") as tmp:
        case = generate("vmware-leak", Path(tmp), seed=0)
        inputs = [str(case.bundle), *(str(p) for p in case.extras)]
        size = sum(os.path.getsize(p) for p in inputs)
        commands = {
            "python -c pass": [sys.executable, "-c", "pass"],
            "lostbeat analyze --json": _lostbeat("analyze", "--json", *inputs),
            "lostbeat analyze (terminal)": _lostbeat("analyze", *inputs),
            "lostbeat demo --json": _lostbeat("demo", "--json"),
        }
        imported = {name: _imports(argv) for name, argv in commands.items()}
        started = _load()
        runs = _rounds(commands, repeat)
    print(
        f"\nsmall: the demo's incident ({size / 1000:.0f} KB: bundle and screen); median of "
        f"{repeat} interleaved rounds, largest peak RSS; {started} at the start, {_load()} "
        "at the end"
    )
    print(f"{'command':<28} {'wall s':>7} {'cpu s':>6} {'peak MB':>8}  targets    imported")
    ok = True
    for name, run in runs.items():
        verdicts = ""
        if name.startswith("lostbeat analyze"):
            fast, lean = run.wall_s <= SMALL_WALL_S, run.rss_mb <= SMALL_RSS_MB
            ok = ok and fast and lean
            verdicts = f"{_verdict(fast)} {_verdict(lean)}"
        shown = ", ".join(imported[name]) or "-"
        print(
            f"{name:<28} {run.wall_s:>7.3f} {run.cpu_s:>6.3f} {run.rss_mb:>8.1f}  "
            f"{verdicts:<11}{shown}"
        )
    print(f"targets: wall <= {SMALL_WALL_S} s; peak RSS <= {SMALL_RSS_MB:.0f} MB")
    return ok


def _imports(argv: list[str]) -> list[str]:
    """The watched packages a command imports (``-X importtime``, on its standard error)."""
    cmd = [argv[0], "-X", "importtime", *argv[1:]]
    err = subprocess.run(cmd, capture_output=True, text=True, check=True).stderr
    names = {line.rsplit("|", 1)[-1].strip().split(".")[0] for line in err.splitlines()}
    return [name for name in WATCHED if name in names]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", type=Path, default=Path(tempfile.gettempdir()) / "lostbeat-bench")
    parser.add_argument("--sizes", type=int, nargs="+", default=[128, 512, 1024, 4096])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--small-repeat", type=int, default=9)
    parser.add_argument("--only", choices=("bundles", "small"))
    args = parser.parse_args()
    print(f"{os.cpu_count()} CPUs; python {sys.version.split()[0]}")
    ok = True
    if args.only in (None, "small"):
        ok = small(args.small_repeat) and ok
    if args.only in (None, "bundles"):
        ok = bundles(args.dir, args.sizes, args.repeat) and ok
    print("\nall targets met" if ok else "\nsome targets not met")


if __name__ == "__main__":
    main()
