"""Agent benchmark: the monitor's cost with many clients, and how fast a capture is on disk.

1. ``--clients`` clients (default 100, spread over 4 processes, each holding its own
   connection) beat every second, each beat mapping and touching a page, for
   ``--seconds`` (default 30). The monitor's CPU time (user + system from
   ``/proc/PID/stat``) over that window, its VmRSS, VmHWM and VmLck at the end, and any
   late or lost lines it wrote.
2. ``--trials`` times (default 5) per configuration: a heartbeat daemon and a 100 MiB
   process in a fresh memory cgroup, the daemon stopped with SIGSTOP; the time from the
   timeout expiring (last beat + timeout, from the manifest) to the loss being declared,
   and to ``manifest.json`` being on disk (polled every 2 ms). Configurations: without
   cores (screen, alerts, /proc state); with cores of the top 2 consumers by the default
   routes (gcore for processes it can stop); and by the procmem route only (``--no-gcore``).

Needs root for part 2 (a memory cgroup); without it part 2 is skipped, saying why.

Usage::

    .venv/bin/python benchmarks/monitor.py [--clients 100] [--seconds 30] [--trials 5]
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
import uuid
from pathlib import Path

PY = sys.executable
HZ = os.sysconf("SC_CLK_TCK")

CLIENTS = textwrap.dedent(
    """
    import sys, time
    from lostbeat.heartbeat import Heartbeat
    path, first, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    beats = [Heartbeat(path, name=f"bench{first + i}", interval=1.0, timeout=10.0)
             for i in range(count)]
    for hb in beats:
        hb.connect()
    print("connected", flush=True)
    start = time.monotonic()
    n = 0
    while True:
        for i, hb in enumerate(beats):  # spread the beats over each second
            due = start + n + i / count
            time.sleep(max(0.0, due - time.monotonic()))
            hb.beat(page=True)
        n += 1
    """
)
HOG = (
    "b = bytearray(b'x') * (100 << 20)\nimport time\nprint('ready', flush=True)\ntime.sleep(600)\n"
)


def _status(pid: int) -> dict[str, int]:
    found = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM", "VmLck"):
            found[key] = int(value.split()[0])
    return found


def _cpu_ticks(pid: int) -> int:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def _start_monitor(workdir: Path, *args: str) -> tuple[subprocess.Popen[bytes], Path]:
    log = workdir / "monitor.log"
    socket = workdir / "hb.sock"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [PY, "-m", "lostbeat", "monitor", "--socket", str(socket), "--datastore",
             str(workdir / "datastore"), *args],
            stdout=out, stderr=out,
        )  # fmt: skip
    until = time.monotonic() + 10
    while "listening on" not in log.read_text():
        if time.monotonic() > until or proc.poll() is not None:
            raise SystemExit(f"monitor did not start: {log.read_text()}")
        time.sleep(0.02)
    return proc, socket


def _stop(procs: list[subprocess.Popen[bytes]]) -> None:
    for proc in procs:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGCONT)
            proc.kill()
        proc.wait()


def load(clients: int, seconds: float) -> list[tuple[str, str]]:
    workdir = Path(tempfile.mkdtemp(prefix="lbbench-", dir="/tmp"))
    monitor, socket = _start_monitor(workdir, "--timeout", "10", "--cores", "0",
                                     "--max-clients", str(clients + 8))  # fmt: skip
    groups = 4
    procs: list[subprocess.Popen[bytes]] = []
    try:
        for g in range(groups):
            count = clients // groups + (1 if g < clients % groups else 0)
            first = sum(clients // groups + (1 if i < clients % groups else 0) for i in range(g))
            proc = subprocess.Popen([PY, "-c", CLIENTS, str(socket), str(first), str(count)],
                                    stdout=subprocess.PIPE)  # fmt: skip
            assert proc.stdout is not None and proc.stdout.readline() == b"connected\n"
            procs.append(proc)
        time.sleep(3)  # let the first beats and the first sample settle
        t0, c0 = time.monotonic(), _cpu_ticks(monitor.pid)
        time.sleep(seconds)
        t1, c1 = time.monotonic(), _cpu_ticks(monitor.pid)
        mem = _status(monitor.pid)
        text = (workdir / "monitor.log").read_text()
        registered = text.count("Client registered")
    finally:
        _stop([*procs, monitor])
        subprocess.run(["rm", "-rf", str(workdir)], check=False)
    cpu = (c1 - c0) / HZ
    return [
        ("clients registered", f"{registered}"),
        ("window", f"{t1 - t0:.1f} s"),
        ("monitor CPU", f"{cpu:.2f} s = {100 * cpu / (t1 - t0):.2f} % of one core"),
        ("monitor VmRSS / VmHWM", f"{mem['VmRSS'] / 1024:.1f} / {mem['VmHWM'] / 1024:.1f} MiB"),
        ("monitor VmLck (mlockall)", f"{mem.get('VmLck', 0) / 1024:.1f} MiB"),
        ("late / lost lines", f"{text.count('HB: Lost heartbeat')} / {text.count('Host: Error')}"),
    ]


def _memory_cgroup() -> Path | str:
    if os.geteuid() != 0:
        return "needs root to create a memory cgroup"
    for line in Path("/proc/self/cgroup").read_text().splitlines():
        _, controllers, path = line.split(":", 2)
        if "memory" in controllers.split(","):
            group = (
                Path("/sys/fs/cgroup/memory") / path.lstrip("/") / f"lbbench-{uuid.uuid4().hex[:6]}"
            )
            group.mkdir()
            return group
    return "no cgroup-v1 memory controller here"


def capture_trial(cores: int, *extra: str) -> tuple[float, float, float]:
    group = _memory_cgroup()
    if isinstance(group, str):
        raise SystemExit(group)
    workdir = Path(tempfile.mkdtemp(prefix="lbbench-", dir="/tmp"))
    procs: list[subprocess.Popen[bytes]] = []
    enter = ["sh", "-c", f'echo $$ > "{group}/cgroup.procs" && exec "$@"', "sh"]
    try:
        monitor, socket = _start_monitor(
            workdir, "--timeout", "2", "--cgroup", str(group), "--cores", str(cores),
            "--sample-interval", "1", *extra,
        )  # fmt: skip
        procs.append(monitor)
        hog = subprocess.Popen([*enter, PY, "-c", HOG], stdout=subprocess.PIPE)
        procs.append(hog)
        assert hog.stdout is not None and hog.stdout.readline() == b"ready\n"
        hbd = subprocess.Popen([*enter, PY, "-m", "lostbeat", "hbd", "--socket", str(socket),
                                "--interval", "0.5"], stderr=subprocess.DEVNULL)  # fmt: skip
        procs.append(hbd)
        time.sleep(2.5)
        os.kill(hbd.pid, signal.SIGSTOP)
        until = time.monotonic() + 60
        manifest = None
        while manifest is None and time.monotonic() < until:
            for folder in (workdir / "datastore").glob("lost-heartbeat-*"):
                if (folder / "manifest.json").exists():
                    manifest = folder / "manifest.json"
            if manifest is None:
                time.sleep(0.002)
        on_disk = time.monotonic()
        if manifest is None:
            raise SystemExit("no capture within 60 s")
        body = json.loads(manifest.read_text())
        size = sum(f["size"] or 0 for f in body["files"])
        deadline, declared = body["deadline_monotonic"], body["declared_monotonic"]
        return declared - deadline, on_disk - deadline, size / 1024
    finally:
        _stop(procs)
        subprocess.run(["rm", "-rf", str(workdir)], check=False)
        for _ in range(100):
            try:
                group.rmdir()
                break
            except OSError:
                time.sleep(0.05)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, default=100)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--trials", type=int, default=5)
    args = parser.parse_args()

    print(f"## {args.clients} clients beating every second, {args.seconds:g} s\n")
    print("| measure | value |\n| --- | ---: |")
    for name, value in load(args.clients, args.seconds):
        print(f"| {name} | {value} |")

    group = _memory_cgroup()
    if isinstance(group, str):
        print(f"\ncapture timing skipped: {group}")
        return
    group.rmdir()
    print(f"\n## timeout to capture on disk, {args.trials} trials each (median, max)\n")
    print("| capture | declared after timeout ms | on disk after timeout ms | KiB written |")
    print("| --- | ---: | ---: | ---: |")
    configurations = (
        (0, (), "screen + alerts + /proc state"),
        (2, (), "... + cores of top 2 (gcore route)"),
        (2, ("--no-gcore",), "... + cores of top 2 (procmem route)"),
    )
    for cores, extra, label in configurations:
        rows = [capture_trial(cores, *extra) for _ in range(args.trials)]
        declared = [r[0] * 1000 for r in rows]
        on_disk = [r[1] * 1000 for r in rows]
        size = statistics.median(r[2] for r in rows)
        print(f"| {label} | {statistics.median(declared):.0f} ({max(declared):.0f}) | "
              f"{statistics.median(on_disk):.0f} ({max(on_disk):.0f}) | {size:.0f} |")  # fmt: skip


if __name__ == "__main__":
    main()
