"""sosreports (issue 17's layout): ``sosreport-<host>-<case>-<date>-<id>/`` as ``.tar.xz`` (sos's
default) or ``.tar.gz``, holding ``sos_commands/kernel/dmesg``, ``sos_commands/logs/journalctl_*``,
``var/log/messages`` (RHEL) or ``var/log/syslog`` and ``kern.log`` (Debian, Ubuntu),
(one of them rotated when logrotate ran between the incident and the report: ``messages-DATE``,
``syslog.1``, ``syslog.2.gz``), ``proc/meminfo``, ``sos_commands/process/ps_*``,
``sos_commands/memory/*``, and the sar data
under ``var/log/sa/`` (the daily text reports ``sarDD``, one a day, beside the binary ``saDD``),
whose
memory lines play the part of vmksummary: a leak climbs for hours, a spike comes within the
last interval.

Examples:
    >>> rows = sar_memory(random.Random(1), total_kb=8 * 1024**2, start=0, end=6 * 3600,
    ...                   shape="leak")
    >>> len(rows), rows[0][0], int(rows[-1][1].split()[2]) > int(rows[0][1].split()[2])
    (35, 601, True)
"""

from __future__ import annotations

import datetime as dt
import gzip
import random
from dataclasses import replace

from lostbeat.scenarios.linux.frame import Msg, render
from lostbeat.scenarios.linux.host import Host

__all__ = ["meminfo_text", "sar_files", "sar_memory", "sosreport_files"]


def _clock(at: float, clock24: bool) -> str:
    w = dt.datetime.fromtimestamp(at, dt.UTC)
    return f"{w:%H:%M:%S}" if clock24 else f"{w:%I:%M:%S %p}"


_COLUMNS = ("kbmemfree   kbavail kbmemused  %memused kbbuffers  kbcached  kbcommit   %commit  "
            "kbactive   kbinact   kbdirty")  # fmt: skip


def sar_memory(
    rng: random.Random, *, total_kb: int, start: int, end: int, shape: str
) -> list[tuple[int, str]]:
    """``sar -r`` rows every 10 minutes from ``start`` to ``end``, as (epoch, the columns after
    the time): ``leak`` climbs steadily to nearly all memory, ``spike`` and ``none`` stay level.
    The page cache is a steady share of what is free (it does not come and go by the tenth of
    the memory between two samples), so what is available follows what is used."""
    base = rng.uniform(0.25, 0.5)
    cache = rng.uniform(0.3, 0.6)
    out: list[tuple[int, str]] = []
    at = start - start % 600 + 601
    steps = max(1, (end - at) // 600)
    i = 0
    while at < end:
        frac = base
        if shape == "leak":
            frac = base + (0.985 - base) * (i / steps) ** rng.uniform(0.9, 1.1)
        frac = min(0.99, frac + rng.uniform(-0.01, 0.01))
        used = int(total_kb * frac)
        free = total_kb - used
        cached = int(free * cache * rng.uniform(0.97, 1.03))
        out.append((at, f"{free:>9} {free + cached // 2:>9} {used:>9} "
                        f"{100 * frac:>9.2f} {rng.randint(1000, 90000):>9} {cached:>9} "
                        f"{int(used * 1.3):>9} {130 * frac:>9.2f} {int(used * 0.8):>9} "
                        f"{int(used * 0.1):>9} {rng.randint(0, 900):>9}"))  # fmt: skip
        at += 600
        i += 1
    return out


def sar_files(h: Host, rows: list[tuple[int, str]], *, clock24: bool) -> dict[str, bytes]:
    """sysstat's daily text reports ``var/log/sa/sarDD``: one a day, each under its own
    header, its rows that day's."""
    days: dict[dt.date, list[str]] = {}
    for at, text in rows:
        day = dt.datetime.fromtimestamp(at, dt.UTC).date()
        if day not in days:
            header = f"Linux {h.kernel.release} ({h.name}) \t{day:%m/%d/%Y} \t_x86_64_\t"
            days[day] = [f"{header}({h.cpus} CPU)", "", f"{_clock(at - 1, clock24)} {_COLUMNS}"]
        days[day].append(f"{_clock(at, clock24)} {text}")
    return {f"var/log/sa/sar{day:%d}": "".join(f"{ln}\n" for ln in lines).encode()
            for day, lines in days.items()}  # fmt: skip


def _ps(h: Host, rng: random.Random) -> str:
    rows = ["USER         PID %CPU %MEM    VSZ   RSS TTY      STAT START   TIME COMMAND"]
    for p in h.procs:
        user = "root" if p.uid == 0 else str(p.uid)
        rows.append(f"{user:<10} {p.pid:>6} {rng.uniform(0, 9):>4.1f} "
                    f"{100 * p.rss / h.ram_pages:>4.1f} {p.total_vm * 4:>7} {p.rss * 4:>6} ?        "  # noqa: E501
                    f"Ssl  09:{rng.randint(10, 59)}   0:{rng.randint(10, 59):02} {p.cmdline or p.name}")  # fmt: skip # noqa: E501
    return "\n".join(rows) + "\n"


def meminfo_text(h: Host, used_frac: float) -> str:
    total = h.ram_mb * 1024
    free = int(total * (1 - used_frac))
    rows = [("MemTotal", total), ("MemFree", free), ("MemAvailable", int(free * 1.4)),
            ("Buffers", 2048), ("Cached", free // 2), ("SwapCached", 0),
            ("SwapTotal", h.swap_mb * 1024), ("SwapFree", h.swap_mb * 1024),
            ("AnonPages", int(total * used_frac * 0.8)), ("Shmem", 10240)]  # fmt: skip
    return "".join(f"{k + ':':<16}{v:>8} kB\n" for k, v in rows)


def sosreport_files(
    rng: random.Random,
    h: Host,
    msgs: list[Msg],
    *,
    collected: float,
    shape: str,
    rebooted: bool,
    killed: int | None = None,
) -> tuple[str, dict[str, bytes]]:
    """(top folder, files) of a sosreport taken ``collected`` seconds into the host's boot,
    after the incident in ``msgs``; when the incident ``rebooted`` the host, the kernel
    buffer is the new boot's and the incident is in the previous boot's journal only. ``ps``
    shows the host when the report was taken: without the task ``killed``, and after a
    reboot every process started afresh (never the grower at its size before the incident)."""
    k = h.kernel
    rhel = k.distro in ("rhel", "fedora")
    when = dt.datetime.fromtimestamp(h.boot + collected, dt.UTC)
    case = rng.choice(("", f"{rng.randint(1000000, 3999999)}-"))
    top = f"sosreport-{h.name}-{case}{when:%Y-%m-%d}-{''.join(rng.choice('abcdefghijklmnopqrstuvwxyz') for _ in range(6))}"  # noqa: E501
    files: dict[str, bytes] = {}

    def text(lines: list[str]) -> bytes:
        return "".join(f"{ln}\n" for ln in lines).encode()

    boot_msgs = [Msg(rng.uniform(0.0, 2.0) + i * 0.01, t) for i, t in enumerate((
        f"Linux version {k.release} (mockbuild@builder) (gcc version 8.5.0) #1 SMP",
        f"Command line: BOOT_IMAGE=/vmlinuz-{k.release} root=/dev/mapper/rhel-root ro quiet",
        f"Memory: {h.ram_mb * 1000}K/{h.ram_mb * 1024}K available",
    ))]  # fmt: skip
    files["sos_commands/kernel/dmesg"] = text(
        render(boot_msgs if rebooted else boot_msgs + msgs, h, "dmesg", rng)
    )
    journal = render(boot_msgs + msgs, h, "journal-short", rng)
    files["sos_commands/logs/journalctl_--no-pager"] = text(journal)
    files["sos_commands/logs/journalctl_--list-boots"] = text(
        [f"-1 {rng.getrandbits(128):032x} first", " 0 " + f"{rng.getrandbits(128):032x} now"]
    )
    everything = boot_msgs + msgs
    rotated = [m for m in everything if m.t < collected - 6 * 3600]
    if rotated and rng.random() < 0.5:  # logrotate ran between the incident and the report
        live = everything[len(rotated) :]
        day = dt.datetime.fromtimestamp(h.boot + collected - 3 * 3600, dt.UTC)
        old = f"messages-{day:%Y%m%d}" if rhel else rng.choice(("syslog.1", "syslog.2.gz"))
    else:
        live, rotated, old = everything, [], ""
    if rhel:
        files["var/log/messages"] = text(render(live, h, "syslog-messages", rng))
        if rotated:
            files[f"var/log/{old}"] = text(render(rotated, h, "syslog-messages", rng))
    else:
        files["var/log/syslog"] = text(render(live, h, "syslog-kernlog", rng))
        files["var/log/kern.log"] = text(
            render([m for m in live if m.ident == "kernel"], h, "syslog-kernlog", rng)
        )
        if rotated:
            data = text(render(rotated, h, "syslog-kernlog", rng))
            files[f"var/log/{old}"] = (
                gzip.compress(data, 6, mtime=0) if old.endswith(".gz") else data
            )
    files["proc/meminfo"] = meminfo_text(h, rng.uniform(0.3, 0.6)).encode()
    files["sos_commands/memory/free"] = text(["               total        used        free      shared  buff/cache   available",  # noqa: E501
                                              f"Mem:    {h.ram_mb * 1024:>12} {h.ram_mb * 400:>11} {h.ram_mb * 500:>11} {10240:>11} {h.ram_mb * 124:>11} {h.ram_mb * 600:>11}",  # noqa: E501
                                              f"Swap:   {h.swap_mb * 1024:>12} {0:>11} {h.swap_mb * 1024:>11}"])  # fmt: skip # noqa: E501
    now = tuple(p for p in h.procs if p.pid != killed)
    if rebooted:
        now = tuple(replace(p, rss=max(64, p.rss // rng.randint(8, 40)), swapents=0) for p in now)
    files["sos_commands/process/ps_auxwww"] = _ps(replace(h, procs=now), rng).encode()
    files["sos_commands/kernel/uname_-a"] = (
        f"Linux {h.name} {k.release} #1 SMP x86_64 GNU/Linux\n".encode()
    )
    files["etc/hostname"] = f"{h.name}\n".encode()
    files["uptime"] = (
        f" {when:%H:%M:%S} up {int(collected) // 3600}:{int(collected) % 3600 // 60:02},  1 user,  load average: 0.41, 0.35, 0.30\n".encode()  # noqa: E501
    )
    files["version.txt"] = b"sosreport: 4.6.1\n"
    clock24 = not rhel or rng.random() < 0.3
    kernel = [m.t for m in msgs if m.ident == "kernel"]  # the incident, not later services
    crash_at = h.boot + max(kernel) if kernel else h.boot + collected
    start = max(h.boot, int(crash_at) - 86400 + 600)
    rows = sar_memory(rng, total_kb=h.ram_mb * 1024, start=start, end=int(crash_at), shape=shape)
    sars = sar_files(h, rows, clock24=clock24)
    files.update(sars)
    for name in sars:
        files[name.replace("/sar", "/sa")] = b"\x96\xd5" + rng.randbytes(rng.randint(4096, 16384))
    return top, files
