"""The hourly summary line, in ESX's ``/var/log/vmksummary`` format, byte for byte.

ESX's ``/etc/cron.hourly/vmkheartbeat`` logs, one minute after each hour (KB 1009016,
esx-artifacts.md §1.2)::

    Nov 13 03:01:35 myhost logger: (1258099291) hb: vmk loaded, 11795301.25, 11795288.970,
    73, 153875, 153875, 567468032, VMap-583524, vmware-h-82812, webAcces-27332

(one line in the file; wrapped here)

and at boot ``vmkhalt: (epoch) Starting system...``. On Linux the fields are:

* the two uptimes: ``/proc/uptime`` for both (a Linux host has no second kernel; the
  second keeps ESX's three decimals);
* VMs: virtual machines (qemu, firecracker, ...) plus containers (distinct container ids
  in ``/proc/PID/cgroup``) seen;
* the two builds: the kernel release as a number, ``major*10000 + minor*100 + patch``
  (patch capped at 99; 6.1.55 gives 60155), or 0 when the release cannot be read;
* swap used in bytes (``SwapTotal - SwapFree``; -1, which ESX never writes, if unknown);
* the top three processes by RSS + swap, ``name-KB``, names cut to 8 characters as ESX's
  ``ps --format fname`` does (esx-artifacts.md §1.2, DERIVED).

Syslog stamps are local time with the day padded by a space (RFC 3164, section 4.1.2).

Examples:
    >>> kernel_build("6.1.55-amd64"), kernel_build("4.19.0"), kernel_build("weird")
    (60155, 41900, 0)
    >>> hb_message(uptime_s=1746.98, guests=0, build=208167, swap_used=0,
    ...            top=[("vmware-hostd", 59580), ("sfcbd", 7660)])
    'hb: vmk loaded, 1746.98, 1746.980, 0, 208167, 208167, 0, vmware-h-59580, sfcbd-7660'
    >>> container_id("0::/system.slice/docker-0123456789abcdef.scope")
    'docker-0123456789abcdef'
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Sequence

from lostbeat.recording.schema import Snapshot

__all__ = [
    "VM_NAMES",
    "container_id",
    "count_guests",
    "hb_message",
    "kernel_build",
    "log_line",
    "syslog_stamp",
    "top_consumers",
]

VM_NAMES = (
    "qemu-system",
    "qemu-kvm",
    "firecracker",
    "cloud-hyperviso",
    "vmware-vmx",
    "VBoxHeadless",
)
"""``comm`` prefixes of processes that each run one virtual machine."""

# docker, containerd (cri-containerd), CRI-O, podman (libpod), LXC and systemd-nspawn
_CONTAINER = re.compile(
    r"(docker-[0-9a-f]{12,}|cri-containerd-[0-9a-f]{12,}|crio-[0-9a-f]{12,}"
    r"|libpod-[0-9a-f]{12,}|/docker/[0-9a-f]{12,}|/kubepods[^\n]*/[0-9a-f]{32,}"
    r"|/lxc(?:\.payload)?[./][^/\n]+|machine-[^/\n]+\.scope)"
)
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_RELEASE = re.compile(r"(\d+)\.(\d+)(?:\.(\d+))?")


def kernel_build(release: str | None) -> int:
    """The kernel release as the number written in the two build fields (0 if unknown)."""
    match = _RELEASE.match(release or "")
    if not match:
        return 0
    major, minor, patch = (int(g or 0) for g in match.groups())
    return major * 10000 + minor * 100 + min(patch, 99)


def container_id(cgroup: str) -> str | None:
    """The container a process runs in, from its ``/proc/PID/cgroup`` text."""
    match = _CONTAINER.search(cgroup)
    return match[1].strip("/") if match else None


def count_guests(snapshot: Snapshot, cgroup: Callable[[int], str | None]) -> int:
    """Virtual machines plus distinct containers among the snapshot's processes."""
    vms = 0
    containers: set[str] = set()
    for identity, _ in snapshot.procs:
        key = identity.key
        if key.name.startswith(VM_NAMES):
            vms += 1
        text = cgroup(key.pid)
        found = container_id(text) if text else None
        if found:
            containers.add(found)
    return vms + len(containers)


def top_consumers(snapshot: Snapshot, count: int = 3) -> list[tuple[str, int]]:
    """``(name, KB)`` of the largest processes by RSS + swap, largest first."""
    sized = [
        ((s.rss_kb or 0) + (s.swap_kb or 0), identity.key.name)
        for identity, s in snapshot.procs
        if s.rss_kb is not None or s.swap_kb is not None
    ]
    sized.sort(key=lambda pair: pair[0], reverse=True)
    return [(name, kb) for kb, name in sized[:count]]


def hb_message(
    *,
    uptime_s: float,
    guests: int,
    build: int,
    swap_used: int | None,
    top: Sequence[tuple[str, int]],
) -> str:
    """The ``hb: vmk loaded, ...`` message, without the syslog prefix."""
    fields = [
        "hb: vmk loaded",
        f"{uptime_s:.2f}",
        f"{uptime_s:.3f}",
        str(guests),
        str(build),
        str(build),
        str(-1 if swap_used is None else swap_used),
    ]
    fields += [f"{name[:8]}-{kb}" for name, kb in top]
    return ", ".join(fields)


def syslog_stamp(epoch: float) -> str:
    """``Nov 13 03:01:35`` in local time; single-digit days padded with a space."""
    t = time.localtime(epoch)
    month = _MONTHS[t.tm_mon - 1]  # not %b: that follows the locale, syslog does not
    return f"{month} {t.tm_mday:2d} {t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d}"


def log_line(*, epoch: float, host: str, tag: str, message: str) -> str:
    """A whole vmksummary line: ``STAMP HOST TAG: (EPOCH) MESSAGE``."""
    return f"{syslog_stamp(epoch)} {host} {tag}: ({int(epoch)}) {message}"
