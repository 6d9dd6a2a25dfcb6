"""State files of the bundle, all taken after the reboot: meminfo, esx.conf, versions, ps,
pstree and top (esx-artifacts.md §3.2-§3.3, §4, §8).

``proc/meminfo`` has the 2.4 layout (with the ``total: used: free:`` block) on 3.5 and the
2.6.18 layout on 4.x (COS kernels per §2.3). ``top`` is procps 2.0 batch output on 3.5 and
procps 3.2 on 4.x; both layouts are background knowledge (§8, unverified). ``ps -auxwww``
prints the whole command, so it resolves 8-character tokens; ``top`` and ``pstree`` print the
15-character task name (``vmware-webAcces``).

Examples:
    >>> print(meminfo(799732, 554168, used_kb=300000, family="4.0").splitlines()[0])
    MemTotal:       799732 kB
    >>> vmware_version(153875, "3.5.0")
    'VMware ESX Server 3.5.0 build-153875\\n'
"""

from __future__ import annotations

import datetime as dt
import random

from lostbeat.scenarios.catalog import Build
from lostbeat.scenarios.host import Host
from lostbeat.scenarios.simulate import Running
from lostbeat.scenarios.summary import local_time

__all__ = ["esx_conf", "meminfo", "ps", "pstree", "release_file", "top", "vmware_version"]

COMM_LEN = 15  # Linux task names (top, pstree, the comm= of HB alerts)


def _kb(key: str, value: int) -> str:
    return f"{key + ':':<14}{value:>8} kB"


def meminfo(total_kb: int, swap_kb: int, *, used_kb: int, family: str) -> str:
    """``/proc/meminfo`` of the Service Console at collection."""
    free = max(4096, total_kb - used_kb)
    buffers, cached = used_kb // 9, used_kb // 3
    active, inactive = used_kb // 2, used_kb // 6
    if family == "3.5":
        rows = [
            "        total:    used:    free:  shared: buffers:  cached:",
            f"Mem:  {total_kb * 1024} {(total_kb - free) * 1024} {free * 1024}        0 "
            f"{buffers * 1024} {cached * 1024}",
            f"Swap: {swap_kb * 1024}        0 {swap_kb * 1024}",
            _kb("MemTotal", total_kb), _kb("MemFree", free), _kb("MemShared", 0),
            _kb("Buffers", buffers), _kb("Cached", cached), _kb("SwapCached", 0),
            _kb("Active", active), _kb("ActiveAnon", active // 2),
            _kb("ActiveCache", active - active // 2), _kb("Inact_dirty", inactive // 2),
            _kb("Inact_laundry", inactive // 4), _kb("Inact_clean", inactive // 4),
            _kb("Inact_target", (active + inactive) // 5), _kb("HighTotal", 0),
            _kb("HighFree", 0), _kb("LowTotal", total_kb), _kb("LowFree", free),
            _kb("SwapTotal", swap_kb), _kb("SwapFree", swap_kb),
            _kb("CommitLimit", swap_kb + total_kb // 2), _kb("Committed_AS", used_kb * 2),
            "HugePages_Total:     0", "HugePages_Free:      0", _kb("Hugepagesize", 4096),
        ]  # fmt: skip
    else:
        rows = [
            _kb("MemTotal", total_kb), _kb("MemFree", free), _kb("Buffers", buffers),
            _kb("Cached", cached), _kb("SwapCached", 0), _kb("Active", active),
            _kb("Inactive", inactive), _kb("HighTotal", 0), _kb("HighFree", 0),
            _kb("LowTotal", total_kb), _kb("LowFree", free), _kb("SwapTotal", swap_kb),
            _kb("SwapFree", swap_kb), _kb("Dirty", 124), _kb("Writeback", 0),
            _kb("AnonPages", used_kb // 3), _kb("Mapped", used_kb // 12),
            _kb("Slab", used_kb // 14), _kb("PageTables", used_kb // 200), _kb("NFS_Unstable", 0),
            _kb("Bounce", 0), _kb("CommitLimit", swap_kb + total_kb // 2),
            _kb("Committed_AS", used_kb * 2), "VmallocTotal: 34359738367 kB",
            _kb("VmallocUsed", 4912), "VmallocChunk: 34359733307 kB",
            "HugePages_Total:     0", "HugePages_Free:      0", "HugePages_Rsvd:      0",
            _kb("Hugepagesize", 2048),
        ]  # fmt: skip
    return "\n".join(rows) + "\n"


def vmware_version(build: int, version: str) -> str:
    """``vmware -v`` (tmp/vmware.<pid>.txt); the wording is background, unverified (§3.3)."""
    product = "VMware ESX Server" if version.startswith("3") else "VMware ESX"
    return f"{product} {version} build-{build}\n"


def release_file(version: str) -> str:
    """``/etc/vmware-release``; the code names are background knowledge, unverified."""
    if version.startswith("3"):
        return f"VMware ESX Server {version[:3]} (Dali)\n"
    return f"VMware ESX {version[:3]} (Kandinsky)\n"


def proc_version(build: Build) -> str:
    """``proc/vmware/version``: the second line's shape is §1.1's (``vmkernel build: N, ...``);
    the first line's wording is unverified."""
    product = "VMware ESX Server" if build.family == "3.5" else "VMware ESX"
    built = build.released - dt.timedelta(days=12)
    return (
        f"{product} {build.version} [Releasebuild-{build.number}], "
        f"built on {built:%b} {built.day} {built.year}\n"
        f"vmkernel build: {build.number}, vmkcall: 40.0 vmnix interface: 30.0 "
        "driver interface: 4.0 kernel: 30.0\n"
    )


def esx_conf(host: Host, rng: random.Random) -> str:
    """``etc/vmware/esx.conf``: sorted ``/key = "value"`` lines (§4.1) with the core file
    setting in either spelling, empty, outside VMFS, or absent."""
    ip = f"10.{rng.randint(1, 250)}.{rng.randint(0, 250)}.{rng.randint(10, 250)}"
    rows = {
        "/adv/Misc/HostName": host.name,
        "/adv/Net/ManagementAddr": ip,
        "/adv/Disk/MaxLUN": rng.choice(("256", "128")),
        "/adv/Misc/LogToSerial": "0",
        "/adv/Misc/HostAgentUpdateInterval": "10",
        "/adv/Net/followHardwareMac": "true",
        "/boot/memSize": str(host.cos_ram_mb),  # key unverified (§4.2 open question)
        "/firewall/services/sshServer/enabled": "true",
        "/firewall/services/CIMHttpServer/enabled": "true",
        "/net/pnic/child[0000]/name": "vmnic0",
        "/net/pnic/child[0001]/name": "vmnic1",
        "/net/vswitch/child[0000]/name": "vSwitch0",
        "/net/vswitch/child[0000]/numPorts": "64",
        "/net/vswif/child[0000]/portgroup": "Service Console",
        "/net/vswif/child[0000]/ipv4/address": ip,
        "/net/vswif/child[0000]/ipv4/netmask": "255.255.255.0",
        "/resourceGroups/version": host.build.version,
        "/system/uuid": f"{rng.getrandbits(128):032x}",
        "/storage/lvm/fsVolumeHeartbeat": host.datastore,
    }
    if rng.random() < 0.5:
        rows["/adv/Misc/PsodOnCosPanic"] = "1"
    if rng.random() < 0.15:  # the PCPU lockup detector's timeout, not the COS heartbeat (§2.4)
        rows["/adv/Misc/HeartbeatTimeout"] = str(rng.choice((10, 14, 20)))
    if host.core_file.key is not None:
        rows[host.core_file.key] = host.core_file.value or ""
    return "".join(f'{k} = "{v}"\n' for k, v in sorted(rows.items(), key=lambda kv: kv[0]))


def _stat(p: Running) -> str:
    return "SW" if p.proc.kernel else "S"


def _cpu_time(p: Running) -> str:
    """A plausible ``TIME``: a few seconds, more for the big daemons."""
    seconds = (p.pid * 7 + p.kb // 500) % (600 if p.kb > 20000 else 60)
    return f"{seconds // 60}:{seconds % 60:02}"


def ps(procs: list[Running], *, mem_total_kb: int, tz_min: int) -> str:
    """``ps -auxwww`` (tmp/ps.<pid>.txt)."""
    rows = ["USER       PID %CPU %MEM   VSZ  RSS TTY      STAT START   TIME COMMAND"]
    for p in sorted(procs, key=lambda r: r.pid):
        start = local_time(p.started, tz_min).strftime("%H:%M")
        vsz = 0 if p.proc.kernel else p.kb
        rss = 0 if p.proc.kernel else p.rss_kb
        mem = 100.0 * rss / mem_total_kb
        tty = "tty2" if p.proc.name == "mingetty" else "?"
        rows.append(
            f"{p.proc.user:<8} {p.pid:>5} {0.0:>4.1f} {mem:>4.1f} {vsz:>5} {rss:>4} {tty:<8} "
            f"{_stat(p):<4} {start}   {_cpu_time(p)} {p.proc.command}"
        )
    return "\n".join(rows) + "\n"


def pstree(procs: list[Running]) -> str:
    """``pstree -ap`` (tmp/pstree.<pid>.txt): every process a child of init, by name."""
    children = sorted((p for p in procs if p.pid != 1), key=lambda r: (r.proc.name, r.pid))
    rows = ["init,1"]
    for i, p in enumerate(children):
        branch = "`-" if i == len(children) - 1 else "|-"
        args = p.proc.command.split(" ", 1)
        tail = f" {args[1]}" if len(args) > 1 and not p.proc.kernel else ""
        rows.append(f"  {branch}{p.proc.name[:COMM_LEN]},{p.pid}{tail}")
    return "\n".join(rows) + "\n"


def _size_24(kb: int) -> str:
    return str(kb) if kb < 100000 else f"{kb // 1024}M"


def _size_32(kb: int) -> str:
    return str(kb) if kb < 100000 else f"{kb // 1024}m"


def top(
    procs: list[Running], *, host: Host, at: int, up_s: int, used_kb: int, rng: random.Random
) -> str:
    """``top -d 1 -n 10 -b`` (tmp/top.<pid>.txt)."""
    total, swap = host.mem_total_kb, host.swap_total_kb
    free = max(4096, total - used_kb)
    clock = local_time(at, host.tz_min)
    up = f"{up_s // 3600}:{up_s % 3600 // 60:02}" if up_s >= 3600 else f"{up_s // 60} min"
    out: list[str] = []
    listed = sorted(procs, key=lambda r: r.pid)
    for i in range(10):
        now = f"{clock.hour:02}:{clock.minute:02}:{(clock.second + i) % 60:02}"
        load = ", ".join(f"{rng.uniform(0.0, 0.9):.2f}" for _ in range(3))
        if host.build.family == "3.5":
            out += [
                f" {now}  up {up},  1 user,  load average: {load}",
                f"{len(listed)} processes: {len(listed) - 1} sleeping, 1 running, 0 zombie, "
                "0 stopped",
                "CPU states:  cpu    user    nice  system    irq  softirq  iowait    idle",
                "           total    1.9%    0.0%    1.9%   0.0%     0.0%    0.0%   96.0%",
                f"Mem:  {total:>7}k av, {used_kb:>7}k used, {free:>7}k free,       0k shrd, "
                f"{used_kb // 9:>7}k buff",
                f"Swap: {swap:>7}k av,       0k used, {swap:>7}k free                 "
                f"{used_kb // 3:>7}k cached",
                "",
                "  PID USER     PRI  NI  SIZE  RSS SHARE STAT %CPU %MEM   TIME CPU COMMAND",
            ]
            for p in listed:
                size = 0 if p.proc.kernel else p.kb
                rss = 0 if p.proc.kernel else p.rss_kb
                out.append(
                    f"{p.pid:>5} {p.proc.user:<8}  15   0 {_size_24(size):>5} {_size_24(rss):>4} "
                    f"{rss // 3:>5} {_stat(p):<4}  0.0 {100.0 * rss / total:>4.1f}   0:00   0 "
                    f"{p.proc.name[:COMM_LEN]}"
                )
        else:
            out += [
                f"top - {now} up {up},  1 user,  load average: {load}",
                f"Tasks: {len(listed):>3} total,   1 running, {len(listed) - 1:>3} sleeping,   "
                "0 stopped,   0 zombie",
                "Cpu(s):  1.9%us,  1.9%sy,  0.0%ni, 96.0%id,  0.2%wa,  0.0%hi,  0.0%si,  0.0%st",
                f"Mem:  {total:>8}k total, {used_kb:>8}k used, {free:>8}k free, "
                f"{used_kb // 9:>8}k buffers",
                f"Swap: {swap:>8}k total,        0k used, {swap:>8}k free, "
                f"{used_kb // 3:>8}k cached",
                "",
                "  PID USER      PR  NI  VIRT  RES  SHR S %CPU %MEM    TIME+  COMMAND",
            ]
            for p in listed:
                size = 0 if p.proc.kernel else p.kb
                rss = 0 if p.proc.kernel else p.rss_kb
                out.append(
                    f"{p.pid:>5} {p.proc.user:<8}  15   0 {_size_32(size):>5} {_size_32(rss):>4} "
                    f"{_size_32(rss // 3):>4} S  0.0 {100.0 * rss / total:>4.1f}   0:00.00 "
                    f"{p.proc.name[:COMM_LEN]}"
                )
        out.append("")
    return "\n".join(out) + "\n"
