"""Bundle reading: lostbeat's ``open_source(...).collect()`` against ``gzip -dc`` and isal.

Builds once (cached) a realistic vm-support ``.tgz``: about 1 GB of unrelated service logs
(varied lines that compress about 6x, like real hostd/vpxa logs; GNU tar format with long
names, as vm-support's ``tar czf`` writes) plus the few artifacts lostbeat reads. Then, each
in its own subprocess so that wall time and peak RSS are its own, it runs ``gzip -dc``,
``python -m isal.igzip -d -c`` and lostbeat's reader, and prints a table with the ratio
ours/gzip and pass/fail against the targets (at most half of gzip's wall time, peak RSS
under 200 MB).

Usage::

    .venv/bin/python benchmarks/bundle_read.py [--dir DIR] [--size-mb 1024] [--repeat 3]
"""

from __future__ import annotations

import argparse
import gzip
import io
import os
import random
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

TOP = "vm-support-esx01-2010-03-16--12.51.4711"
POOL_BYTES = 24 * 1024 * 1024
TIME_TARGET = 0.5
RSS_TARGET_MB = 200.0

_VOCABULARY = (
    "the host agent task session vim.Task completed failed retry queue worker pool lease "
    "heartbeat datastore volume snapshot migrate vmotion scsi path nmp device adapter vmhba "
    "storage network vswitch portgroup uplink nic link up down cpu memory alloc free page swap "
    "balloon guest tools vpxa hostd sfcbd cimserver provider instance class property method "
    "invoke return error warning info verbose"
)
_WORDS = tuple(_VOCABULARY.split())
_COMPONENTS = ("Hostd", "Vpxa", "VpxaHalCnxHostagent", "Libs", "vmsvc", "Solo", "SoapAdapter")

ARTIFACTS = {
    "var/log/vmksummary": (
        "Nov 13 03:01:35 esx01 logger: (1258099291) hb: vmk loaded, 11795301.25, "
        "11795288.970, 73, 153875, 153875, 567468032, VMap-583524, vmware-h-82812, "
        "webAcces-27332\n" * 200
    ),
    "var/log/vmkernel": (
        "42:14:02:29.347 cpu0:1024)VMNIX: ALERT: HB: 365: Lost heartbeat "
        "(comm=vmnixhbd pid=20 t=29 to=30 clt=1).\n" * 2000
    ),
    "proc/meminfo": "MemTotal:799732 kB\nHighTotal:0 kB\nLowTotal:799732 kB\nSwapTotal:554168 kB\n",
    "etc/vmware/esx.conf": '/adv/Misc/PsodOnCosPanic = "1"\n/adv/Misc/HostName = "esx01"\n',
    "tmp/vmware.4711.txt": "VMware ESX Server 3.5.0 build-153875\n",
}


def _pool(seed: int) -> bytes:
    """About 24 MiB of log lines built from 300 message templates (compresses ~6x)."""
    rnd = random.Random(seed)
    templates = [
        " ".join(rnd.choice(_WORDS) for _ in range(rnd.randint(4, 14)))
        + (" id=%d" if rnd.random() < 0.5 else "")
        for _ in range(300)
    ]
    threads = [f"{rnd.randint(0, 0xFFFFFFFF):08X}" for _ in range(12)]
    levels = ("info", "verbose", "warning", "error")
    out = io.StringIO()
    size, ts = 0, 1268744000.0
    while size < POOL_BYTES:
        ts += rnd.random() * 2
        tpl = rnd.choice(templates)
        msg = tpl % rnd.randint(0, 9999) if "%d" in tpl else tpl
        stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(ts))
        line = (
            f"[{stamp}.{rnd.randint(0, 999):03d} {rnd.choice(threads)} {rnd.choice(levels)} "
            f"'{rnd.choice(_COMPONENTS)}'] {msg}\n"
        )
        size += out.write(line)
    return out.getvalue().encode()


def _add(tar: tarfile.TarFile, name: str, data: bytes | memoryview) -> None:
    info = tarfile.TarInfo(f"{TOP}/{name}")
    info.size = len(data)
    info.mtime = 1268744000
    tar.addfile(info, io.BytesIO(data))


def build(directory: Path, size_mb: int, *, large_logs: bool = False) -> Path:
    """Build the bundle once; reuse it when already there.

    With ``large_logs`` the bulk is wanted vmkernel logs instead (every other one a nested
    ``.gz``), the worst case for memory: each is kept up to the read caps.
    """
    path = directory / f"bundle-{size_mb}mb{'-large-logs' if large_logs else ''}.tgz"
    if path.exists():
        return path
    directory.mkdir(parents=True, exist_ok=True)
    pool = memoryview(_pool(seed=size_mb))
    rnd = random.Random(size_mb)
    partial = path.with_suffix(".partial")
    started = time.perf_counter()
    with open(partial, "wb") as out:
        gz = subprocess.Popen(["gzip", "-6", "-c"], stdin=subprocess.PIPE, stdout=out)
        assert gz.stdin is not None
        with tarfile.open(fileobj=gz.stdin, mode="w|", format=tarfile.GNU_FORMAT) as tar:
            for name, text in ARTIFACTS.items():
                _add(tar, name, text.encode())
            written, n = 0, 0
            while written < size_mb * 1024 * 1024:
                length = rnd.randint(1, 12) * 1024 * 1024
                start = rnd.randrange(0, len(pool) - length)
                data: bytes | memoryview = pool[start : start + length]
                # vm-support keeps absolute paths, so VM logs under vmfs/volumes get long names
                if large_logs:
                    name = f"var/log/vmkernel.{n}" + (".gz" if n % 2 else "")
                    data = gzip.compress(data, compresslevel=1) if n % 2 else data
                elif n % 3 == 0:
                    name = f"var/log/vmware/hostd-{n}.log"
                elif n % 3 == 1:
                    name = f"var/log/messages.{n}"
                else:
                    name = (
                        "vmfs/volumes/4533e089-1dfcdd21-f1d3-001a140ebdca/"
                        f"a-virtual-machine-with-a-rather-long-name-{n:04d}/vmware-{n}.log"
                    )
                _add(tar, name, data)
                written += length
                n += 1
            _add(tar, "root/vmkernel-zdump-111309.07.13.1", b"\0" * 4096)
        gz.stdin.close()
        if gz.wait() != 0:
            sys.exit("gzip failed while building the bundle")
    partial.rename(path)
    print(
        f"built {path} ({path.stat().st_size / 1e6:.0f} MB) in "
        f"{time.perf_counter() - started:.0f} s",
        file=sys.stderr,
    )
    return path


@dataclass(frozen=True, slots=True)
class Run:
    name: str
    wall_s: float
    rss_mb: float


def run_once(argv: list[str]) -> tuple[float, float, float]:
    """Wall seconds, CPU seconds (user + system) and peak RSS (MB) of one run of ``argv``.

    Peak RSS comes from GNU time when present: the rusage of a child forked from this
    Python counts the parent's pages it carried before exec.
    """
    timer = shutil.which("time", path="/usr/bin:/bin")
    with tempfile.NamedTemporaryFile("r") as report:
        cmd = [timer, "-f", "%M", "-o", report.name, *argv] if timer else argv
        started = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - started
        if os.waitstatus_to_exitcode(status) != 0:
            sys.exit(f"{argv[:3]} failed with exit status {os.waitstatus_to_exitcode(status)}")
        rss_kb = int(report.read().split()[-1]) if timer else usage.ru_maxrss
    return wall, usage.ru_utime + usage.ru_stime, rss_kb / 1024


def _measure(readers: dict[str, list[str]], repeat: int) -> list[Run]:
    """Median wall time and largest peak RSS of each reader; rounds are interleaved so that
    load from other processes falls on all readers alike."""
    samples: dict[str, list[tuple[float, float]]] = {name: [] for name in readers}
    for _ in range(repeat):
        for name, argv in readers.items():
            wall, _, rss = run_once(argv)
            samples[name].append((wall, rss))
    return [
        Run(name, statistics.median(w for w, _ in got), max(r for _, r in got))
        for name, got in samples.items()
    ]


OURS = """
import sys
from lostbeat.analyzer.sources import open_source
c = open_source(sys.argv[1]).collect()
assert {m.artifact for m in c.members} >= {"vmksummary", "vmkernel_log", "meminfo"}, c
kept = sum(len(m.data) for m in c.members)
print(len(c.names), "names,", len(c.members), "members,", kept, "bytes kept")
"""


TARFILE = """
import sys, tarfile
from isal import igzip
with tarfile.open(fileobj=igzip.open(sys.argv[1], "rb"), mode="r|", bufsize=4 << 20) as tar:
    print(sum(1 for _ in tar), "members")
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", type=Path, default=Path(tempfile.gettempdir()) / "lostbeat-bench")
    parser.add_argument("--size-mb", type=int, default=1024)
    parser.add_argument("--large-logs-mb", type=int, default=512, help="0: skip that case")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    bundle = build(args.dir, args.size_mb)
    _table(bundle, f"{args.size_mb} MiB of unrelated logs", args.repeat, timed=True)
    if args.large_logs_mb:
        # the memory worst case: here lostbeat also inflates the nested .gz logs that
        # gzip -dc leaves compressed, so only the memory target applies
        bundle = build(args.dir, args.large_logs_mb, large_logs=True)
        what = f"{args.large_logs_mb} MiB of wanted vmkernel logs"
        _table(bundle, what, args.repeat, timed=False)


def _table(path: Path, what: str, repeat: int, *, timed: bool) -> None:
    bundle = str(path)
    gzip_bin = shutil.which("gzip") or "gzip"
    runs = _measure(
        {
            "gzip -dc": [gzip_bin, "-dc", bundle],
            "isal igzip -d -c": [sys.executable, "-m", "isal.igzip", "-d", "-c", bundle],
            "tarfile r| + isal": [sys.executable, "-c", TARFILE, bundle],
            "lostbeat collect()": [sys.executable, "-c", OURS, bundle],
            # the user's figure: the whole command, imports, parsing, rules and JSON included
            "lostbeat analyze": [sys.executable, "-m", "lostbeat", "analyze", "--json", bundle],
        },
        repeat,
    )
    base = runs[0].wall_s
    print(
        f"\nbundle: {bundle} ({os.path.getsize(bundle) / 1e6:.0f} MB compressed, "
        f"{what}); median of {repeat} runs, max RSS; "
        f"{os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f} at the end"
    )
    print(f"{'reader':<20} {'wall s':>8} {'/gzip':>7} {'peak RSS MB':>12}")
    for run in runs:
        print(f"{run.name:<20} {run.wall_s:>8.2f} {run.wall_s / base:>7.2f} {run.rss_mb:>12.1f}")
    for ours in runs[-2:]:
        verdicts = [f"peak RSS < {RSS_TARGET_MB:.0f} MB: " + _verdict(ours.rss_mb < RSS_TARGET_MB)]
        if timed:
            ok = ours.wall_s <= TIME_TARGET * base
            verdicts.insert(0, f"wall <= {TIME_TARGET} x gzip: " + _verdict(ok))
        print(f"target, {ours.name}: " + "; ".join(verdicts))


def _verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


if __name__ == "__main__":
    main()
