"""Parser throughput: each ``lostbeat.analyzer.parsers`` parser on a large synthetic input.

Builds in memory, once per parser, a file of the parser's kind (the vmkernel log as a
realistic mix: mostly ordinary storage/network/scheduler lines, a per-CPU heartbeat
warning now and then, an HB alert every 50 000 lines), then times ``parse(lines, path=...)``
on the list of lines, best of ``--repeat`` runs, and prints a table in MB/s. The vmkernel
log is timed a second time read from a temporary file (open + decode + parse), the way a
100 MB log is met in a bundle.

Usage::

    .venv/bin/python benchmarks/parsers.py [--vmkernel-mb 100] [--mb 10] [--repeat 3]
"""

from __future__ import annotations

import argparse
import gc
import os
import random
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from lostbeat.analyzer.parsers.coredumps import parse_coredumps
from lostbeat.analyzer.parsers.esx_conf import parse_esx_conf
from lostbeat.analyzer.parsers.meminfo import parse_meminfo
from lostbeat.analyzer.parsers.processes import parse_ps, parse_pstree
from lostbeat.analyzer.parsers.psod import parse_psod
from lostbeat.analyzer.parsers.top import parse_top
from lostbeat.analyzer.parsers.version import parse_version
from lostbeat.analyzer.parsers.vmkernel_log import parse_vmkernel_log
from lostbeat.analyzer.parsers.vmksummary import parse_vmksummary

_MODULES = ("Vol3", "FS3", "ScsiDeviceIO", "NMP", "LinScsi", "Tcpip", "Net", "Sched", "VSCSI")
_WORDS = (
    *("path", "vmhba1:C0:T0:L2", "device", "naa.600508b1", "state", "on", "ok", "failed"),
    *("retry", "lock", "offset", "gen", "stampUS", "cmd", "0x2a", "to", "dev", "status"),
    *("H:0x0", "D:0x2", "P:0x0", "sense", "data", "0x6", "0x29", "0x0", "world", "vmnic0"),
    *("link", "up", "speed", "1000", "duplex", "full", "rebalance", "queue", "depth"),
)
_PSOD = Path(__file__).resolve().parents[1] / "tests/analyzer/parsers/data/kb308590-psod.txt"


def _fill(target_bytes: int, make: Callable[[int], str]) -> list[str]:
    out: list[str] = []
    size = i = 0
    while size < target_bytes:
        line = make(i)
        out.append(line)
        size += len(line)
        i += 1
    return out


def _uptime(i: int) -> str:
    ms = i * 37
    s, ms = divmod(ms, 1000)
    m, s = divmod(s, 60)
    h, m = divmod(m, 60)
    d, h = divmod(h, 24)
    return f"{d}:{h:02}:{m:02}:{s:02}.{ms:03}"


def vmkernel_lines(mb: float, rng: random.Random) -> list[str]:
    def make(i: int) -> str:
        stamp = f"{_uptime(i)} cpu{i % 8}:{1024 + i % 300})"
        if i % 50_000 == 49_999:
            return f"{stamp}VMNIX: ALERT: HB: 365: Lost heartbeat (comm=x pid=1 t=1 to=30 clt=1).\n"
        if i % 5_000 == 4_999:
            return (
                f"{stamp}WARNING: Heartbeat: 961: PCPU 3 didn't have a heartbeat for 8 seconds.\n"
            )
        words = " ".join(rng.choice(_WORDS) for _ in range(rng.randint(4, 14)))
        return f"{stamp}{rng.choice(_MODULES)}: {rng.randint(100, 9999)}: {words}\n"

    return _fill(int(mb * 2**20), make)


def vmksummary_lines(mb: float) -> list[str]:
    def make(i: int) -> str:
        if i % 500 == 499:
            return f"Nov 13 07:13:58 esx01 vmkhalt: ({1258114439 + i}) Starting system...\n"
        return (
            f"Nov 13 03:01:35 esx01 logger: ({1258099291 + 3600 * i}) hb: vmk loaded, "
            f"{11795301.25 + i:.2f}, {11795288.97 + i:.3f}, 73, 153875, 153875, "
            f"{567468032 + i * 4096}, VMap-{583524 + i}, vmware-h-82812, webAcces-27332\n"
        )

    return _fill(int(mb * 2**20), make)


def meminfo_lines(mb: float) -> list[str]:
    keys = ("MemTotal", "MemFree", "Buffers", "Cached", "SwapTotal", "SwapFree", "LowTotal")
    return _fill(int(mb * 2**20), lambda i: f"{keys[i % len(keys)]}:{799732 + i:>12} kB\n")


def esx_conf_lines(mb: float) -> list[str]:
    return _fill(int(mb * 2**20), lambda i: f'/adv/Group{i % 97}/Option{i} = "value {i}"\n')


def version_lines(mb: float) -> list[str]:
    return ["VMware ESX Server 3.5.0 build-153875\n"] + _fill(
        int(mb * 2**20), lambda i: f"vmkernel build: {i}, vmkcall: 0.0 esx-3.5.0\n"
    )


def ps_lines(mb: float) -> list[str]:
    header = "USER       PID %CPU %MEM   VSZ  RSS TTY      STAT START   TIME COMMAND\n"
    return [header] + _fill(
        int(mb * 2**20),
        lambda i: (
            f"root {i + 1:>9}  0.5 10.1 {82812 + i} {40960 + i} ?   S    Nov12   5:01 "
            f"/usr/lib/vmware/bin/vmware-hostd -u /etc/vmware/hostd/config.xml\n"
        ),
    )


def pstree_lines(mb: float) -> list[str]:
    def make(i: int) -> str:
        if i % 3 == 2:
            return f"  |   `-{{vmware-hostd}},{i + 1}\n"
        return f"  |-vmware-hostd,{i + 1} -u /etc/vmware/hostd/config.xml\n"

    return ["init,1\n"] + _fill(int(mb * 2**20), make)


def top_lines(mb: float) -> list[str]:
    header = [
        "top - 03:01:35 up 136 days,  2:03,  1 user,  load average: 0.50, 0.40, 0.30\n",
        "Mem:    799732k total,   790000k used,     9732k free,     1024k buffers\n",
        "Swap:   554168k total,   554000k used,      168k free,    20480k cached\n",
        "\n",
        "  PID USER      PR  NI  VIRT  RES  SHR S %CPU %MEM    TIME+  COMMAND\n",
    ]
    rows_per_iteration = 200

    def make(i: int) -> str:
        at = i % (rows_per_iteration + len(header))
        if at < len(header):
            return header[at]
        return f"{i + 1:>5} root      16   0  572m 300m 1200 S  2.0 38.4  10:01.02 VMap\n"

    return _fill(int(mb * 2**20), make)


def psod_lines(mb: float) -> list[str]:
    screen = _PSOD.read_text(encoding="utf-8").splitlines(keepends=True)
    return _fill(int(mb * 2**20), lambda i: screen[i % len(screen)])


def coredump_names(mb: float) -> list[str]:
    top = "vm-support-esx01-2009-11-13--07.30.4711"

    def make(i: int) -> str:
        if i % 1000 == 0:
            return f"{top}/root/old_cores/vmkernel-zdump-1113{i % 100:02}.07.13.1"
        return f"{top}/var/log/vmware/hostd-{i}.log"

    return _fill(int(mb * 2**20), make)


def _best(fn: Callable[[], object], repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        gc.collect()
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--vmkernel-mb", type=float, default=100.0)
    ap.add_argument("--mb", type=float, default=10.0, help="size for the other parsers")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    rng = random.Random(1)
    vmkernel = vmkernel_lines(args.vmkernel_mb, rng)
    cases: list[tuple[str, list[str], Callable[[list[str]], object]]] = [
        ("vmkernel_log", vmkernel, lambda x: parse_vmkernel_log(x, path="p")),
        ("vmksummary", vmksummary_lines(args.mb), lambda x: parse_vmksummary(x, path="p")),
        ("psod", psod_lines(args.mb), lambda x: parse_psod(x, path="p")),
        ("meminfo", meminfo_lines(args.mb), lambda x: parse_meminfo(x, path="p")),
        ("esx_conf", esx_conf_lines(args.mb), lambda x: parse_esx_conf(x, path="p")),
        ("version", version_lines(args.mb), lambda x: parse_version(x, path="p")),
        ("ps", ps_lines(args.mb), lambda x: parse_ps(x, path="p")),
        ("pstree", pstree_lines(args.mb), lambda x: parse_pstree(x, path="p")),
        ("top", top_lines(args.mb), lambda x: parse_top(x, path="p")),
        ("coredumps", coredump_names(args.mb), parse_coredumps),
    ]
    print(f"{'parser':<26} {'MB':>7} {'lines':>10} {'best s':>8} {'MB/s':>8} {'klines/s':>9}")
    print("-" * 73)
    for name, lines, parse in cases:
        mb = sum(len(line) for line in lines) / 2**20
        seconds = _best(lambda lines=lines, parse=parse: parse(lines), args.repeat)
        print(
            f"{name:<26} {mb:>7.1f} {len(lines):>10} {seconds:>8.3f} "
            f"{mb / seconds:>8.1f} {len(lines) / seconds / 1000:>9.0f}"
        )
        if name == "vmkernel_log":
            with tempfile.NamedTemporaryFile("w", suffix=".log", delete=False) as tmp:
                tmp.writelines(lines)
            try:

                def from_file(path: str = tmp.name) -> object:
                    with open(path, encoding="utf-8", errors="replace") as f:
                        return parse_vmkernel_log(f, path="var/log/vmkernel")

                seconds = _best(from_file, args.repeat)
                print(
                    f"{'vmkernel_log (from file)':<26} {mb:>7.1f} {len(lines):>10} "
                    f"{seconds:>8.3f} {mb / seconds:>8.1f} {len(lines) / seconds / 1000:>9.0f}"
                )
            finally:
                os.unlink(tmp.name)
    del vmkernel, cases


if __name__ == "__main__":
    main()
