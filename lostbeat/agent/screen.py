"""The diagnostic screen: a purple screen adapted to Linux, as plain text.

The layout is stable (the analyzer reads it; docs/agent.md documents every line). The first
lines follow the ESX purple screen of the seed KB; the rest are ``Key: value`` lines and
titled sections::

    lostbeat 0.1.0 [Linux 6.1.0 x86_64] host=db1
    Lost heartbeat
    *0:812/lostbeat 1:4242/python3
    @BlueScreen: Lost heartbeat (comm=lostbeat-hbd pid=4242 t=5 to=5 clt=1)
    Uptime: 0:00:12:31.042
    ...
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from lostbeat.agent.alerts import HbFields, format_uptime
from lostbeat.agent.cgroup import CgroupMemory, MemoryCgroup
from lostbeat.agent.clients import ClientView
from lostbeat.agent.consumers import Consumer
from lostbeat.errors import AgentError
from lostbeat.procfs import Procfs, parse_meminfo

PRESSURE = ("cpu", "memory", "io")


@dataclass(frozen=True, slots=True)
class CpuTask:
    """What one CPU was running: a thread in state R that last ran there, or idle."""

    cpu: int
    pid: int | None
    comm: str


@dataclass(frozen=True, slots=True)
class TopRow:
    consumer: Consumer
    wchan: str | None


@dataclass(frozen=True, slots=True)
class Screen:
    """Everything the screen shows; None where it could not be read."""

    version: str
    kernel: str
    machine: str
    host: str
    lost: tuple[ClientView, ...]
    declared_utc: str
    uptime: float | None
    monitor_cpu: int | None
    cpus: tuple[CpuTask, ...] | None
    loadavg: str | None
    meminfo: str | None
    pressure: tuple[tuple[str, str | None], ...]
    cgroup: MemoryCgroup | None
    cgroup_memory: CgroupMemory | None
    scope: str
    top: tuple[TopRow, ...] | None
    alerts: tuple[str, ...]
    clients: tuple[ClientView, ...]
    capture_dir: str


def cpu_tasks(procfs: Procfs, ncpu: int) -> tuple[CpuTask, ...]:
    """For each CPU, the first runnable thread that last ran on it (by pid), else idle."""
    found: dict[int, CpuTask] = {}
    for pid in procfs.pids():
        for tid in procfs.tids(pid):
            try:
                stat = procfs.thread_stat(pid, tid)
            except AgentError:
                continue
            cpu = stat.processor
            if stat.state == "R" and cpu is not None and cpu not in found:
                found[cpu] = CpuTask(cpu, tid, stat.comm)
        if len(found) == ncpu:
            break
    return tuple(found.get(c, CpuTask(c, None, f"idle{c}")) for c in range(ncpu))


def _kb(value: int | None) -> str:
    return "-" if value is None else str(value)


def _memory_lines(text: str | None) -> list[str]:
    m = {key: value // 1024 for key, value in parse_meminfo(text or "").items()}  # kB
    if not m:
        return ["Memory: unavailable", "Swap: unavailable"]
    swap_used = m["SwapTotal"] - m["SwapFree"] if "SwapTotal" in m and "SwapFree" in m else None
    return [
        f"Memory: total={_kb(m.get('MemTotal'))} kB available={_kb(m.get('MemAvailable'))} kB"
        f" free={_kb(m.get('MemFree'))} kB",
        f"Swap: total={_kb(m.get('SwapTotal'))} kB free={_kb(m.get('SwapFree'))} kB"
        f" used={_kb(swap_used)} kB",
    ]


def _cgroup_line(cgroup: MemoryCgroup, mem: CgroupMemory | None) -> str:
    head = f"Cgroup: {cgroup.hierarchy.version} {cgroup.path}"
    if mem is None:
        return head + " unavailable"

    def flag(value: bool | None) -> str:
        return "-" if value is None else str(int(value))

    limit = "max" if mem.limit_bytes is None else str(mem.limit_bytes)
    return (
        f"{head} usage={_kb(mem.usage_bytes)} limit={limit} under_oom={flag(mem.under_oom)}"
        f" oom_kill_disable={flag(mem.oom_kill_disable)} failcnt={_kb(mem.oom_events)}"
        f" oom_kill={_kb(mem.oom_kills)}"
    )


def _top_lines(top: tuple[TopRow, ...] | None, scope: str) -> list[str]:
    lines = [f"Top consumers ({scope}):"]
    if top is None:
        return lines + ["  unavailable"]
    lines.append(
        f"{'PID':>8} {'COMM':<16} S {'RSS_KB':>10} {'SWAP_KB':>10} {'GROWTH_KB':>10} WCHAN"
    )
    for row in top:
        c = row.consumer
        growth = "-" if c.growth_kb is None else f"{c.growth_kb:+d}"
        lines.append(
            f"{c.pid:>8} {c.comm[:16]:<16} {c.state} {_kb(c.rss_kb):>10} {_kb(c.swap_kb):>10}"
            f" {growth:>10} {row.wchan or '-'}"
        )
    return lines


def utc_text(seconds: float) -> str:
    return (
        time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds))
        + f".{int(seconds % 1 * 1000):03d}Z"
    )


def render(s: Screen) -> str:
    """The screen text, ending with a newline."""
    first = s.lost[0] if s.lost else None
    fields = (
        HbFields(first.name, first.pid, first.since, first.timeout, first.clt).render()
        if first
        else ""
    )
    if s.cpus is None:
        cpus = "cpus unavailable"
    else:
        cpus = " ".join(
            f"{'*' if t.cpu == s.monitor_cpu else ''}{t.cpu}:{t.pid or 0}/{t.comm}" for t in s.cpus
        )
    lines = [
        f"lostbeat {s.version} [Linux {s.kernel} {s.machine}] host={s.host}",
        "Lost heartbeat",
        cpus,
        f"@BlueScreen: Lost heartbeat {fields}".rstrip(),
        f"Uptime: {format_uptime(s.uptime) if s.uptime is not None else '-'}",
        f"Declared: {s.declared_utc}",
        f"Load average: {(s.loadavg or '-').strip()}",
        *_memory_lines(s.meminfo),
    ]
    for resource, text in s.pressure:
        joined = " | ".join((text or "").split("\n")).strip(" |") or "unavailable"
        lines.append(f"Pressure {resource}: {joined}")
    if s.cgroup is not None:
        lines.append(_cgroup_line(s.cgroup, s.cgroup_memory))
    lines += _top_lines(s.top, s.scope)
    lines.append("Log:")
    lines += s.alerts
    for client in s.lost:
        lines.append(f"Heartbeat history (clt={client.clt} comm={client.name} pid={client.pid}):")
        for b in client.history:
            lines.append(
                f"  seq={b.seq} at={utc_text(b.at)} took={b.took:.6f}"
                f" received={format_uptime(b.received_uptime)}"
            )
    lines.append("Clients:")
    for c in s.clients:
        lines.append(
            f"  clt={c.clt} comm={c.name} pid={c.pid} uid={c.uid} state={c.state}"
            f" since={c.since:.3f} interval={c.interval:g} to={c.timeout:g} beats={c.beats}"
        )
    lines.append(f"Capture: {s.capture_dir}")
    return "\n".join(lines) + "\n"
