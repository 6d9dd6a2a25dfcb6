"""Fleet, part 2: ``--big`` incidents through ``lostbeat fleet --scheduler`` against a
``LocalCluster`` of its own, killed at 40 % and resumed, with the resident memory of the
client and of the scheduler over the run. Run by ``benchmarks/fleet.py`` (see its docstring).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

__all__ = ["big"]


def _rss_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


_CLUSTER = """
import sys
from distributed import LocalCluster
if __name__ == "__main__":
    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                           dashboard_address=":0", scheduler_port=0)
    print(cluster.scheduler_address, flush=True)
    sys.stdin.read()  # until the benchmark closes our stdin
    cluster.close()
"""


def big_tree(cases: Path, root: Path, count: int) -> Path:
    """``count`` case folders of hard links to the cached bundles (cached too)."""
    stamp = root / "big.json"
    want = {"count": count, "cases": str(cases)}
    if stamp.is_file() and json.loads(stamp.read_text()) == want:
        return root / "big"
    shutil.rmtree(root / "big", ignore_errors=True)
    sources = sorted(cases.iterdir())
    for i in range(count):
        case = root / "big" / f"{i:05d}"
        case.mkdir(parents=True)
        for f in sources[i % len(sources)].iterdir():
            os.link(f, case / f.name)
    stamp.write_text(json.dumps(want))
    return root / "big"


def _watch(
    args: list[str], pids: dict[str, int], *, kill_at: float | None
) -> tuple[int, list[tuple[float, str]], dict[str, list[tuple[float, float]]]]:
    """Runs the command, samples RSS; kills its session at ``kill_at`` (a share of progress)."""
    proc = subprocess.Popen(
        args, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True, start_new_session=True
    )
    pids = {"client": proc.pid, **pids}
    lines: list[tuple[float, str]] = []
    rss: dict[str, list[tuple[float, float]]] = {k: [] for k in pids}
    t0 = time.monotonic()

    def read() -> None:
        assert proc.stderr is not None
        for line in proc.stderr:
            lines.append((time.monotonic() - t0, line.rstrip()))
            if kill_at is not None and line.startswith("analysed "):
                done, total = (int(x) for x in line.split()[1:4:2])
                if done >= kill_at * total:
                    os.killpg(proc.pid, signal.SIGKILL)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    while proc.poll() is None:
        for name, pid in pids.items():
            if (mb := _rss_mb(pid)) is not None:
                rss[name].append((time.monotonic() - t0, mb))
        time.sleep(0.5)
    reader.join()
    return proc.returncode, lines, rss


def _at(samples: list[tuple[float, float]], t: float) -> float:
    before = [mb for when, mb in samples if when <= t]
    return before[-1] if before else float("nan")


def _curve(lines: list[tuple[float, str]], rss: dict[str, list[tuple[float, float]]]) -> None:
    progress = [(t, ln) for t, ln in lines if ln.startswith("analysed ")]
    if not progress:
        return
    end = progress[-1][0]
    marks = [progress[0], progress[len(progress) // 2], progress[-1]]
    print(f"  {'':<7} {'progress':<48} {'client MB':>10} {'scheduler MB':>13}")
    for label, (t, line) in zip(("start", "middle", "end"), marks, strict=True):
        client, scheduler = _at(rss["client"], t), _at(rss["scheduler"], t)
        print(f"  {label:<7} {line:<48} {client:>10.0f} {scheduler:>13.0f}")
    after = [mb for t, mb in rss["client"] if t > end]
    if after:
        peak = max(after)
        print(f"  after the analysis (the rows read back, the summary): client peak {peak:.0f} MB")


def big(cases: Path, root: Path, count: int) -> None:
    tree = big_tree(cases, root, count)
    db = root / "big.sqlite"
    db.unlink(missing_ok=True)
    cluster = subprocess.Popen(
        [sys.executable, "-c", _CLUSTER], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert cluster.stdout is not None
        address = cluster.stdout.readline().strip()
        command = [sys.executable, "-m", "lostbeat", "fleet", str(tree), "--scheduler", address,
                   "--db", str(db), "--progress"]  # fmt: skip
        t0 = time.perf_counter()
        code, lines, rss = _watch(command, {"scheduler": cluster.pid}, kill_at=0.4)
        first = time.perf_counter() - t0
        stored = _analysed_at(db)
        print(f"\n{count} incidents through lostbeat fleet --scheduler (LocalCluster: 2 worker "
              f"processes x 1 thread, its scheduler in a process of its own)")  # fmt: skip
        print(f"killed (SIGKILL, exit {code}) at {lines[-1][1]!r} after {first:.0f} s; "
              f"{len(stored)} incidents committed")  # fmt: skip
        _curve(lines, rss)
        t0 = time.perf_counter()
        code, lines, rss = _watch([*command, "--resume"], {"scheduler": cluster.pid}, kill_at=None)
        second = time.perf_counter() - t0
        after = _analysed_at(db)
        again = sum(1 for k, at in stored.items() if after.get(k) != at)
        resumed = next((ln for _, ln in lines if ln.startswith("resumed run")), "?")
        print(f"resumed (exit {code}) in {second:.0f} s: {resumed}")
        print(f"incidents stored: {len(after)} of {count}; analysed again after the kill: {again}")
        _curve(lines, rss)
        total = first + second
        print(f"both parts: {total:.0f} s, {total / count * 1000:.1f} ms a bundle of wall time")
    finally:
        if cluster.stdin is not None:
            cluster.stdin.close()
        cluster.wait(timeout=60)


def _analysed_at(db: Path) -> dict[str, float]:
    con = sqlite3.connect(db)
    try:
        return dict(con.execute("SELECT key, analysed_at FROM incidents").fetchall())
    finally:
        con.close()
