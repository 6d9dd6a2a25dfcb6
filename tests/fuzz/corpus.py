"""Seed samples for the fuzzers, all real: the KB quotations in tests/analyzer/parsers/data,
the real-Linux corpus's logs, the members of bundles made by ``lostbeat.scenarios.generate``,
a screen rendered by the monitor's own renderer, and a recording written by the recorder's
own store.
"""

from __future__ import annotations

import io
import tarfile
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from lostbeat.agent.cgroup import CgroupMemory, CgroupVersion, Hierarchy, MemoryCgroup
from lostbeat.agent.clients import ClientState, ClientView
from lostbeat.agent.consumers import Consumer
from lostbeat.agent.screen import CpuTask, Screen, TopRow, render
from lostbeat.analyzer.artifacts import sniff_kind
from lostbeat.analyzer.sources import open_source
from lostbeat.recording.marker import open_directory
from lostbeat.recording.schema import Identity, ProcessKey, ProcSample, Snapshot, SystemSample
from lostbeat.recording.store import Store
from lostbeat.scenarios import generate

KB_DATA = Path(__file__).resolve().parents[1] / "analyzer" / "parsers" / "data"
REAL_LINUX = Path(__file__).resolve().parents[1] / "corpus" / "real-linux"
SCENARIOS = ("vmware-leak", "cimserver-35", "cos-oops", "vmkernel-psod", "clean-halt")
"""A lost heartbeat with a PSOD, a known issue, a COS oops, a VMkernel PSOD, no crash."""


SAR_REPORT = (
    b"Linux 5.14.0-362.8.1.el9_3.x86_64 (web01) \t05/01/2024 \t_x86_64_\t(4 CPU)\n\n"
    b"11:50:01 PM kbmemfree   kbavail kbmemused  %memused kbbuffers  kbcached  kbcommit"
    b"   %commit  kbactive   kbinact   kbdirty\n"
    b"11:50:01 PM   5520968   6878592   1383812     17.50      4228   1482228   3153948"
    b"     23.44   1096112    852508        48\n"
    b"Average:      5520968   6878592   1383812     17.50      4228   1482228   3153948"
    b"     23.44   1096112    852508        48\n\n"
    b"11:50:01 PM kbswpfree kbswpused  %swpused  kbswpcad   %swpcad\n"
    b"11:50:01 PM   4194300         0      0.00         0      0.00\n\n"
    b"12:10:34 AM       LINUX RESTART\t(4 CPU)\n"
)
"""sysstat 12's `sar -A` in the C locale, cut to the sections the sar parser reads."""


@dataclass(frozen=True)
class Corpus:
    texts: dict[str, list[bytes]]  # artifact -> sample files
    names: list[list[str]]  # member names of each generated bundle
    recording: list[tuple[str, bytes]]  # a recording folder's files
    bundles: list[bytes]  # generated .tgz bundles, whole
    tars: list[bytes]  # small tar archives: generated members cut short, and hostile ones


def screen_text(host: str = "web1") -> bytes:
    """A monitor screen, as ``lostbeat.agent.screen.render`` writes it."""
    client = ClientView(1, "lostbeat-hbd", 4242, 0, ClientState.LOST, 1.0, 5.0, 5.4, 17, ())
    group = MemoryCgroup(Hierarchy(CgroupVersion.V1, Path("/sys/fs/cgroup/memory")), "/sim")
    top = (
        TopRow(Consumer(4300, "leaker", "D", 0, 1, 240000, 0, 20480), "mem_cgroup_oom_synchronize"),
        TopRow(Consumer(4242, "lostbeat-hbd", "D", 0, 1, 12000, 0, None), None),
    )
    screen = Screen(
        version="0.1.0",
        kernel="6.1.0-28-amd64",
        machine="x86_64",
        host=host,
        lost=(client,),
        declared_utc="2026-11-25T19:01:02.123Z",
        uptime=751.042,
        monitor_cpu=0,
        cpus=(CpuTask(0, 812, "lostbeat"), CpuTask(1, None, "idle1")),
        loadavg="0.5 0.4 0.3",
        meminfo="MemTotal: 24601184 kB\nMemAvailable: 23000000 kB\nSwapTotal: 1048576 kB\n"
        "SwapFree: 1048000 kB\n",
        pressure=(("memory", "some avg10=0.00"),),
        cgroup=group,
        cgroup_memory=CgroupMemory(268000000, 268435456, True, True, 3, 0),
        scope="cgroup /sim",
        top=top,
        alerts=("0:00:12:26.000 cpu0:812)HB: late",),
        clients=(client,),
        capture_dir="/var/lib/lostbeat/x",
    )
    return render(screen).encode()


def recording_files(folder: Path) -> list[tuple[str, bytes]]:
    """A day and a bit at 15-minute samples: the marker, a compressed raw day, its minute
    and hour shards and the open raw shard, as the recorder writes them."""
    t0 = 1_714_521_600.0  # 2024-05-01 00:00 UTC
    open_directory(folder, host="esx1", interval_s=900.0, now=t0)  # the marker
    store = Store(folder, host="esx1", interval_s=900.0, clock=lambda: t0, fsync_every_s=1e9)
    leak = Identity(ProcessKey("leaky", "leaky --serve", 7, t0 - 50), ppid=1, uid=0)
    flat = Identity(ProcessKey("sshd", "/usr/sbin/sshd -D", 9, t0 - 900), ppid=1, uid=0)
    ts = t0
    while ts < t0 + 86400 + 4 * 900:
        step = int((ts - t0) // 900)
        procs = ((leak, ProcSample(1000 + 40 * step, step % 3)), (flat, ProcSample(5000, None)))
        store.append(Snapshot(ts, t0 - 3600, SystemSample(8 << 30, 4 << 30, 1 << 30, 0), procs))
        ts += 900.0
    store.close()
    return sorted(
        (p.relative_to(folder).as_posix(), p.read_bytes()) for p in folder.rglob("*") if p.is_file()
    )


def _small_tar(members: list[tuple[str, bytes]], *, fmt: int) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=fmt) as tar:
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size, info.mtime = len(data), 1_300_000_000
            tar.addfile(info, io.BytesIO(data))
    return out.getvalue()


def hostile_tars() -> list[bytes]:
    """Archives with every kind of member a bundle must never follow or write."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.GNU_FORMAT) as tar:
        top = "vm-support-esx1-2010-03-16--12.51.4711/"
        for name, kind, link in (
            (top, tarfile.DIRTYPE, ""),
            (top + "var/log/vmkernel", tarfile.SYMTYPE, "/etc/shadow"),
            (top + "proc/meminfo", tarfile.LNKTYPE, "../../../etc/passwd"),
            (top + "dev/sda", tarfile.BLKTYPE, ""),
            (top + "dev/zero", tarfile.CHRTYPE, ""),
            (top + "tmp/fifo", tarfile.FIFOTYPE, ""),
            ("/etc/cron.d/evil", tarfile.REGTYPE, ""),
            (top + "../../escape", tarfile.REGTYPE, ""),
            (top + "var/log/" + "x" * 300, tarfile.REGTYPE, ""),
        ):
            info = tarfile.TarInfo(name)
            info.type, info.linkname = kind, link
            data = b"MemTotal: 1 kB\n" if kind == tarfile.REGTYPE else b""
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    pax = io.BytesIO()
    with tarfile.open(fileobj=pax, mode="w", format=tarfile.PAX_FORMAT) as tar:
        data = b"SwapTotal: 5 kB\n"
        info = tarfile.TarInfo("vm-support-h-2010-01-01--00.00.1/proc/meminfo")
        info.size = len(data)
        # explicit pax records, as some archivers write them: a size, a path, a comment
        info.pax_headers = {"size": str(len(data)), "path": info.name, "comment": "é 123"}
        tar.addfile(info, io.BytesIO(data))
    return [out.getvalue(), pax.getvalue()]


def build(workdir: Path) -> Corpus:
    texts: dict[str, list[bytes]] = defaultdict(list)
    for path in sorted(KB_DATA.glob("*.txt")):
        data = path.read_bytes()
        kind = sniff_kind(data.decode("utf-8", "replace"))
        if kind is not None:
            texts[kind].append(data)
    texts["capture"].append(screen_text())
    # the capture's manifest (lostbeat/agent/capture.py writes it with sort_keys and indent 1)
    texts["capture_manifest"].append(
        b'{\n "complete": true,\n "declared_utc": "2026-11-25T19:01:02.123Z",\n "host": "web1",'
        b'\n "message": "Memory pressure: some stall 150 ms within 1 s on /proc/pressure/memory",'
        b'\n "schema": "lostbeat.capture/1",\n "trigger": "pre-loss"\n}\n'
    )
    # a capture's /proc state (lostbeat/agent/capture.py): NUL-separated, and cgroup lines
    texts["proc_file"] += [
        b"python3\0/srv/app/leaky.py\0--workers\x004\0",
        b"0::/system.slice/leaky.service\n",
        b"12:memory:/lostbeat-sim\n1:name=systemd:/user.slice\n0::/\n",
    ]
    # sysstat's report as `sar -A` writes it (the -r and -S sections, a restart)
    texts["sar"].append(SAR_REPORT)
    # Linux logs as people posted them: every container and report form of the real corpus
    texts["host_log"] += [
        p.read_bytes() for p in sorted(REAL_LINUX.glob("*/*")) if p.name != "case.json"
    ]
    names: list[list[str]] = []
    bundles: list[bytes] = []
    tars: list[bytes] = []
    for i, scenario in enumerate(SCENARIOS):
        case = generate(scenario, workdir / scenario, seed=7)
        bundles.append(case.bundle.read_bytes())
        for extra in case.extras:
            texts["psod"].append(extra.read_bytes())
        collected = open_source(case.bundle).collect()
        names.append(list(collected.names))
        for member in collected.members:
            if member.data:
                texts[member.artifact].append(member.data)
        cut = [(f"vm-support-esx{i}-2010-03-16--12.51.4711/{m.path}", m.data[:1200])
               for m in collected.members]  # fmt: skip
        tars.append(_small_tar(cut, fmt=tarfile.GNU_FORMAT if i % 2 else tarfile.PAX_FORMAT))
    tars.extend(hostile_tars())
    # an ESXi zdump read as text: binary around the VMkernel log it carries
    texts["vmkernel_zdump"] += [
        b"\x00\x01VMKDUMP\xff\xfe\n" + log[:4096] + b"Coredump to disk complete\x00\x8b"
        for log in texts["vmkernel_log"][:2]
    ]
    recording = recording_files(workdir / "recording")
    return Corpus(dict(texts), names, recording, bundles, tars)
