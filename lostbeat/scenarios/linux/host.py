"""A generated Linux host: its kernel generation, distribution, memory, processes and clock.

Kernel generations decide how the kernel words its reports (docs/reference/linux-logs.md §2-§5):
the OOM trigger line, the ``cpuset=`` line or the ``oom-kill:`` line, the task table's header,
the kill lines, the call-trace style (``[<address>] func`` up to 4.14, bare ``func+0x1/0x2``
after, between ``<TASK>`` markers from 5.15) and the lockup and RCU wordings. Releases are
the usual distribution kernels of each generation.

Examples:
    >>> import random
    >>> h = sample_host(random.Random(2), gens=("5.15",))
    >>> h.kernel.gen, h.kernel.at_least(5, 0), h.kernel.release.startswith("5.15")
    ('5.15', True, True)
    >>> len({p.pid for p in h.procs}) == len(h.procs)
    True
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, replace

__all__ = ["GENS", "Host", "Kernel", "Proc", "sample_host", "workload"]


@dataclass(frozen=True, slots=True)
class Kernel:
    gen: str
    """``2.6.32``, ``3.10``, ``3.16``, ``4.4``, ``4.15``, ``4.18``, ``4.19``, ``5.4``, ``5.10``,
    ``5.14``, ``5.15``, ``6.1``, ``6.8``, ``6.12``."""
    release: str
    distro: str
    """``rhel``, ``debian``, ``ubuntu``, ``fedora``, ``arch``, ``suse``."""
    released: dt.date

    def at_least(self, major: int, minor: int) -> bool:
        a, b = (int(x) for x in self.gen.split(".")[:2])
        return (a, b) >= (major, minor)


# (generation, release, distro, first day) [BACKGROUND: the distributions' usual kernels]
_KERNELS = (
    ("2.6.32", "2.6.32-754.35.1.el6.x86_64", "rhel", "2018-06-19"),
    ("2.6.32", "2.6.32-5-amd64", "debian", "2011-02-06"),
    ("3.10", "3.10.0-1160.88.1.el7.x86_64", "rhel", "2023-02-14"),
    ("3.10", "3.10.0-957.21.3.el7.x86_64", "rhel", "2019-06-04"),
    ("3.16", "3.16.0-11-amd64", "debian", "2020-07-01"),
    ("4.4", "4.4.0-210-generic", "ubuntu", "2021-04-20"),
    ("4.15", "4.15.0-213-generic", "ubuntu", "2023-06-13"),
    ("4.18", "4.18.0-513.5.1.el8_9.x86_64", "rhel", "2023-11-14"),
    ("4.19", "4.19.0-26-amd64", "debian", "2023-12-23"),
    ("5.4", "5.4.0-177-generic", "ubuntu", "2024-04-02"),
    ("5.10", "5.10.0-28-amd64", "debian", "2024-02-10"),
    ("5.14", "5.14.0-362.8.1.el9_3.x86_64", "rhel", "2023-11-07"),
    ("5.15", "5.15.0-105-generic", "ubuntu", "2024-04-16"),
    ("6.1", "6.1.0-21-amd64", "debian", "2024-05-04"),
    ("6.8", "6.8.0-45-generic", "ubuntu", "2024-09-11"),
    ("6.8", "6.8.9-300.fc40.x86_64", "fedora", "2024-05-09"),
    ("6.12", "6.12.9-200.fc41.x86_64", "fedora", "2025-01-10"),
    ("6.12", "6.12.10-arch1-1", "arch", "2025-01-18"),
)
GENS = tuple(dict.fromkeys(k[0] for k in _KERNELS))


@dataclass(frozen=True, slots=True)
class Proc:
    """One task as the OOM task table lists it (memory in 4 KiB pages)."""

    pid: int
    uid: int
    name: str
    """The 15-character comm."""
    rss: int
    total_vm: int
    swapents: int = 0
    adj: int = 0
    unit: str = ""
    """The systemd unit or cgroup it runs in."""
    cmdline: str = ""


# (comm, rss pages low-high, uid, unit, command line) [BACKGROUND - typical daemons]
_SYSTEM = (
    ("systemd", (2000, 3500), 0, "init.scope", "/usr/lib/systemd/systemd --switched-root --system"),
    (
        "systemd-journal",
        (3000, 40000),
        0,
        "systemd-journald.service",
        "/usr/lib/systemd/systemd-journald",
    ),
    ("systemd-udevd", (1200, 2600), 0, "systemd-udevd.service", "/usr/lib/systemd/systemd-udevd"),
    ("systemd-logind", (900, 1800), 0, "systemd-logind.service", "/usr/lib/systemd/systemd-logind"),
    ("dbus-daemon", (700, 1500), 81, "dbus.service", "/usr/bin/dbus-daemon --system"),
    ("rsyslogd", (1500, 9000), 0, "rsyslog.service", "/usr/sbin/rsyslogd -n"),
    ("sshd", (1200, 2200), 0, "sshd.service", "/usr/sbin/sshd -D"),
    ("crond", (500, 900), 0, "crond.service", "/usr/sbin/crond -n"),
    ("chronyd", (400, 800), 998, "chronyd.service", "/usr/sbin/chronyd"),
    (
        "NetworkManager",
        (3000, 6000),
        0,
        "NetworkManager.service",
        "/usr/sbin/NetworkManager --no-daemon",
    ),
    ("polkitd", (4000, 7000), 997, "polkit.service", "/usr/lib/polkit-1/polkitd --no-debug"),
    (
        "agetty",
        (200, 400),
        0,
        "getty@tty1.service",
        "/sbin/agetty -o -p -- \\u --noclear tty1 linux",
    ),
    ("auditd", (600, 1200), 0, "auditd.service", "/sbin/auditd"),
    ("irqbalance", (300, 700), 0, "irqbalance.service", "/usr/sbin/irqbalance --foreground"),
    ("containerd", (8000, 20000), 0, "containerd.service", "/usr/bin/containerd"),
    ("dockerd", (15000, 40000), 0, "docker.service", "/usr/bin/dockerd -H fd://"),
    (
        "kubelet",
        (20000, 45000),
        0,
        "kubelet.service",
        "/usr/bin/kubelet --config=/var/lib/kubelet/config.yaml",
    ),
    ("node_exporter", (3000, 6000), 65534, "node_exporter.service", "/usr/local/bin/node_exporter"),
)
# workloads: the usual growers and victims
_WORK = (
    ("java", (150000, 2500000), 1000, "app.service", "/usr/bin/java -Xmx8g -jar /opt/app/app.jar"),
    (
        "python3",
        (30000, 1500000),
        1000,
        "worker.service",
        "/usr/bin/python3 /opt/etl/run.py --batch",
    ),
    ("node", (40000, 800000), 1000, "web.service", "/usr/bin/node /srv/web/server.js"),
    ("postgres", (20000, 600000), 26, "postgresql.service", "postgres: checkpointer"),
    ("mysqld", (100000, 1600000), 27, "mysqld.service", "/usr/sbin/mysqld --basedir=/usr"),
    ("redis-server", (20000, 900000), 995, "redis.service", "/usr/bin/redis-server 127.0.0.1:6379"),
    ("mongod", (80000, 1200000), 996, "mongod.service", "/usr/bin/mongod -f /etc/mongod.conf"),
    ("php-fpm", (8000, 90000), 48, "php-fpm.service", "php-fpm: pool www"),
    (
        "gunicorn",
        (15000, 200000),
        1000,
        "api.service",
        "/opt/api/venv/bin/python3 /opt/api/venv/bin/gunicorn app:app",
    ),
    ("ruby", (30000, 400000), 1000, "sidekiq.service", "sidekiq 6.5.1 app [0 of 10 busy]"),
    (
        "beam.smp",
        (50000, 700000),
        994,
        "rabbitmq-server.service",
        "/usr/lib/erlang/erts-12.3/bin/beam.smp",
    ),
    (
        "clickhouse-serv",
        (100000, 2000000),
        993,
        "clickhouse-server.service",
        "/usr/bin/clickhouse-server --config=/etc/clickhouse-server/config.xml",
    ),
    (
        "ffmpeg",
        (20000, 300000),
        1000,
        "session-4.scope",
        "ffmpeg -i input.mkv -c:v libx264 out.mp4",
    ),
    (
        "cc1plus",
        (60000, 900000),
        1000,
        "session-7.scope",
        "/usr/libexec/gcc/x86_64-linux-gnu/12/cc1plus -quiet",
    ),
    (
        "prometheus",
        (60000, 900000),
        65534,
        "prometheus.service",
        "/usr/local/bin/prometheus --config.file=/etc/prometheus/prometheus.yml",
    ),
    ("memcached", (10000, 500000), 994, "memcached.service", "/usr/bin/memcached -m 2048"),
)
_HOSTS = ("web01", "db-prod-2", "app-server", "node-07", "k8s-worker-3", "build01", "etl02",
          "ip-10-0-3-17", "srv-backup", "analytics1", "cache-eu-1", "ubuntu", "localhost")  # fmt: skip # noqa: E501
_HW = ("Dell Inc. PowerEdge R640/0W23H8, BIOS 2.12.2 07/09/2021",
       "HP ProLiant DL380 Gen9/ProLiant DL380 Gen9, BIOS P89 10/21/2019",
       "QEMU Standard PC (Q35 + ICH9, 2009), BIOS 1.16.2-debian-1.16.2-1 04/01/2014",
       "Amazon EC2 m5.xlarge/, BIOS 1.0 10/16/2017",
       "Supermicro SYS-1029P-WTR/X11DDW-L, BIOS 3.4 10/30/2020",
       "VMware, Inc. VMware Virtual Platform/440BX Desktop Reference Platform, BIOS 6.00 11/12/2020")  # fmt: skip # noqa: E501


@dataclass(frozen=True, slots=True)
class Host:
    name: str
    kernel: Kernel
    hardware: str
    ram_mb: int
    swap_mb: int
    cpus: int
    boot: int
    """Epoch of the boot (``[seconds]`` stamps count from it)."""
    tz_min: int
    procs: tuple[Proc, ...]

    @property
    def ram_pages(self) -> int:
        return self.ram_mb * 256


def _proc(rng: random.Random, row: tuple[str, tuple[int, int], int, str, str], pid: int) -> Proc:
    name, (low, high), uid, unit, cmd = row
    rss = rng.randint(low, high)
    return Proc(pid, uid, name, rss, int(rss * rng.uniform(1.2, 3.5)), 0, 0, unit, cmd)


def workload(rng: random.Random, host: Host, *, exclude: tuple[str, ...] = ()) -> Proc:
    """A new workload process on ``host`` (not yet in its table), of a kind not in ``exclude``,
    at most a sixth of the host's RAM."""
    taken = {p.name for p in host.procs} | set(exclude)
    row = rng.choice([w for w in _WORK if w[0] not in taken])
    p = _proc(rng, row, max(p.pid for p in host.procs) + rng.randint(50, 9000))
    rss = min(p.rss, int(host.ram_pages * rng.uniform(0.01, 0.16)))
    return replace(p, rss=rss, total_vm=int(rss * rng.uniform(1.2, 3.5)))


def sample_host(rng: random.Random, *, gens: tuple[str, ...] = GENS) -> Host:
    """A host on a kernel of ``gens`` with its daemons and two or three workloads."""
    gen, release, distro, first = rng.choice([k for k in _KERNELS if k[0] in gens])
    day = dt.date.fromisoformat(first) + dt.timedelta(days=rng.randint(10, 500))
    kernel = Kernel(gen, release, distro, dt.date.fromisoformat(first))
    boot = int(dt.datetime.combine(day, dt.time(0), dt.UTC).timestamp()) + rng.randrange(86400)
    pid = 1
    procs = []
    for row in rng.sample(_SYSTEM, rng.randint(8, len(_SYSTEM))):
        procs.append(_proc(rng, row, pid if row[0] == "systemd" else rng.randint(300, 4000)))
    procs = [p if p.name != "systemd" else replace(p, pid=1) for p in procs]
    ram = rng.choice((2048, 4096, 8192, 16384, 32768, 65536))
    host = Host(rng.choice(_HOSTS), kernel, rng.choice(_HW), ram,
                rng.choice((0, 0, 1024, 2048, 4096, 8192)), rng.choice((2, 4, 8, 16, 32)), boot,
                rng.choice((0, 0, 60, 120, -300, -420, 330, 540)), tuple(procs))  # fmt: skip
    for _ in range(rng.randint(2, 3)):
        host = replace(host, procs=(*host.procs, workload(rng, host)))
    seen: set[int] = set()
    unique = []
    for p in host.procs:
        while p.pid in seen:
            p = replace(p, pid=p.pid + 1)
        seen.add(p.pid)
        unique.append(p)
    return replace(host, procs=tuple(sorted(unique, key=lambda p: p.pid)))


def incident_time(rng: random.Random) -> float:
    """Seconds since boot of the incident: minutes to weeks."""
    return float(rng.choice((rng.uniform(300, 7200), rng.uniform(7200, 40 * 86400))))


def grown(
    rng: random.Random, h: Host, *, share: float, exclude: tuple[str, ...] = ()
) -> tuple[Host, Proc]:
    """``h`` with a workload grown to ``share`` of its RAM (the grower), and that workload."""
    p = workload(rng, h, exclude=exclude)
    rss = int(h.ram_pages * share)
    p = replace(p, rss=rss, total_vm=int(rss * rng.uniform(1.05, 1.6)),
                swapents=h.swap_mb * 256 * rng.randint(60, 100) // 100)  # fmt: skip
    return replace(h, procs=(*h.procs, p)), p
