"""The incident's hour-by-hour history: a :class:`Spec` in, a :class:`Timeline` out.

Boots, reboots, halts and the crash, each hour's sizes from the memory model (``memory.py``),
and the processes before the end and at collection. Summary lines follow §1.2-§1.3: hourly at
HH:01 local from cron, the epoch in parentheses a few seconds before the syslog stamp, then the
boot/stop lines.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, replace

from lostbeat.scenarios.catalog import VMX, Proc
from lostbeat.scenarios.memory import Inst, Model, calibrate, instances
from lostbeat.scenarios.spec import HOUR, End, Spec

__all__ = ["Line", "Running", "Timeline", "simulate"]


@dataclass(frozen=True, slots=True)
class Line:
    """One vmksummary line; ``kind`` is hb, starting, rebooting, halting, vmkernel_error or
    loaded."""

    kind: str
    epoch: int
    delay: int
    cos_uptime: float = 0.0
    vmk_uptime: float = 0.0
    vms: int = 0
    build: int = 0
    swap_bytes: int = 0
    top: tuple[tuple[str, int], ...] = ()


@dataclass(frozen=True, slots=True)
class Running:
    """One process as ps/top would show it."""

    proc: Proc
    pid: int
    kb: int
    rss_kb: int
    started: int


@dataclass(frozen=True, slots=True)
class Timeline:
    lines: tuple[Line, ...]
    crash_at: int | None
    """Epoch of the purple screen."""
    crash_vmk_load: int
    """VMkernel load epoch of the boot that ended (uptimes on the screen count from it)."""
    restart: int
    """``Starting system`` of the current boot."""
    quiet_from: int
    """From here until ``restart`` the Service Console logged nothing (hung, or down)."""
    vmk_load: int
    cos_boot: int
    collected: int
    running: tuple[Running, ...]
    """At collection (ps, pstree, top)."""
    before: tuple[Running, ...]
    """Just before the end (pids for the screen)."""
    vms_now: int
    """Running VMs at collection."""


def _local_hours(start: int, stop: int, tz_min: int) -> list[int]:
    """Epochs of local HH:01:00 strictly inside (start, stop)."""
    offset = tz_min * 60
    first = ((start + offset) // HOUR + 1) * HOUR + 60 - offset
    return list(range(first if first > start else first + HOUR, stop, HOUR))


@dataclass(slots=True)
class _Boot:
    start: int
    """``Starting system``."""
    end: int
    """Last moment a summary line may be written."""
    cos_boot: float
    vmk_load: float
    loaded: int | None
    after_crash: bool
    pids: dict[int, int]
    """id(instance) -> pid in this boot."""
    vms: int
    phase: str = "flat"
    """Of the memory model: grow (the incident's boot), regrow (after it) or flat."""
    end_line: Line | None = None


def _boot(rng: random.Random, start: int, end: int, *, after_crash: bool, vms: int) -> _Boot:
    # KB 1019238: "loaded VMkernel" 33-66 s after "Starting system...", "VMkernel error" at
    # 11 s; COS uptime leads VMkernel uptime by 1.8-113 s in the KB lines (§1.2)
    cos_boot = start - rng.uniform(10, 40)
    loaded = start + rng.randint(20, 70)
    vmk_load = loaded - rng.uniform(3, 15)
    return _Boot(start, end, cos_boot, vmk_load, loaded, after_crash, {}, vms)


def _pids(rng: random.Random, boot: _Boot, insts: list[Inst]) -> None:
    kernel = {"init": 1, "keventd": 2, "ksoftirqd/0": 3, "kswapd": 4, "bdflush": 5,
              "kupdated": 6, "vmnixhbd": 20, "kjournald": 27}  # fmt: skip
    pid = rng.randint(900, 1500)
    for x in insts:
        if x.proc.name in kernel:
            boot.pids[id(x)] = kernel[x.proc.name]
        else:
            pid += rng.randint(2, 60)
            boot.pids[id(x)] = pid


def _hb_lines(
    rng: random.Random, model: Model, boot: _Boot, vmx: list[int], build: int, since: float
) -> list[Line]:
    """The boot's hourly lines from ``since`` (older ones were rotated away) to its end."""
    lines: list[Line] = []
    host = model.host
    for x in model.insts:
        x.noise = 0.0
    vms = boot.vms
    first = max((boot.loaded or boot.start) + 60, int(since) - HOUR)
    for t0 in _local_hours(first, boot.end, host.tz_min):
        t = t0 + int(rng.expovariate(1 / 8.0)) % 50  # cron start and script time
        if t > boot.end:
            break
        if model.walk and boot.vms >= 3 and rng.random() < 0.08:  # VMs powered on/off, moved
            vms = max(boot.vms - 3, min(boot.vms + 3, vms + rng.choice((-1, 1))))
        sizes = model.sizes(rng, t, start=boot.start, phase=boot.phase)
        swap = model.swap_kb(rng, t, sizes, start=boot.start, vms=vms)
        ranked = [(token, kb) for token, kb in zip(model.tokens, sizes, strict=True) if kb]
        ranked += [(VMX.token, kb) for kb in sorted(vmx[:vms])[-3:]]
        ranked.sort(key=lambda r: -r[1])
        lines.append(
            Line(
                "hb",
                t,
                rng.choice((0, 1, 2, 3, 4, 4, 4, 5, 6)),
                cos_uptime=round(t - boot.cos_boot + rng.uniform(0, 0.9), 2),
                vmk_uptime=round(t - boot.vmk_load + rng.uniform(0, 0.9), 3),
                vms=vms,
                build=build,
                swap_bytes=swap // 4 * 4096,
                top=tuple(ranked[:3]),
            )
        )
    return lines


def _drop_missing(rng: random.Random, lines: list[Line], keep_after: int, missing: float) -> None:
    """Remove hourly lines at random, and sometimes a run of hours (cron or syslog stuck)."""
    hb = [i for i, ln in enumerate(lines) if ln.kind == "hb" and ln.epoch < keep_after]
    drop = {i for i in hb if rng.random() < missing}
    if len(hb) > 40 and rng.random() < 0.3:
        first = rng.randrange(len(hb) - 12)
        drop.update(hb[first : first + rng.randint(2, 8)])
    lines[:] = [ln for i, ln in enumerate(lines) if i not in drop]


def _running(
    model: Model, boot: _Boot, sizes: list[int], vmx: list[int], rng: random.Random
) -> list[Running]:
    """The processes of ``boot`` with ``sizes``, and one ``vmware-vmx`` per running VM."""
    out = [
        Running(x.proc, boot.pids[id(x)], kb, int(min(kb, x.base * x.resident + kb - x.base)),
                boot.start)
        for x, kb in zip(model.insts, sizes, strict=True)
    ]  # fmt: skip
    pid = max(r.pid for r in out) + rng.randint(200, 900)
    for kb in vmx[: boot.vms]:
        pid += rng.randint(3, 40)
        out.append(Running(VMX, pid, kb, int(kb * VMX.resident), boot.start + rng.randint(60, 900)))
    return out


def _event(kind: str, epoch: int) -> Line:
    return Line(kind, epoch, 0)


def _boot_lines(boot: _Boot, rng: random.Random) -> list[Line]:
    out = [_event("starting", boot.start)]
    if boot.after_crash:
        out.append(_event("vmkernel_error", boot.start + rng.randint(8, 14)))
    if boot.loaded is not None:
        out.append(_event("loaded", boot.loaded))
    return out


def simulate(spec: Spec, rng: random.Random) -> Timeline:
    """Play the spec out hour by hour.

    Args:
        spec: what happens.
        rng: the incident's random source (the only one used).

    Returns:
        Every summary line (oldest first, the retained window only), the crash and the
        processes before the end and at collection.
    """
    insts = instances(spec.host, rng, spec)
    host, amounts = calibrate(spec, insts, rng)
    model = Model(spec, host, insts, amounts)
    end = spec.end_at
    vmx = [rng.randint(*VMX.kb) for _ in range(130)]
    crash_at = None
    if spec.end is End.LOST_HEARTBEAT:
        crash_at = end + 30 * 60 + rng.randint(0, 25)  # t counts to to=30 (§2.2)
    elif spec.end.crashed:
        crash_at = end
    resume = (crash_at or end) + spec.down_s
    if spec.article:  # KB 308590: "Nov 13 07:13:58 esxhostname vmkhalt: (1258114439) Starting"
        resume = 1258114439

    incident = _boot(rng, end - int(spec.boot_h * HOUR), end, after_crash=False, vms=host.vms)
    incident.phase = "grow"
    if spec.article:  # uptimes of KB 308590's lines: COS up 11795301.25 s at 1258099291
        incident.cos_boot, incident.vmk_load = 1246303989.5, 1246304002.0
    lines: list[Line] = []
    crash_vmk_load = int(incident.vmk_load)
    tail: list[Line] = []
    if spec.end is End.REBOOT or spec.boot_failure:
        stop = end - rng.randint(100, 240) if spec.boot_failure else end
        incident.end = stop - 2
        tail.append(_event("rebooting", stop))
        if spec.boot_failure:  # the boot after the reboot dies loading the VMkernel
            tail.append(_event("starting", end - rng.randint(40, 70)))
            crash_vmk_load = end - rng.randint(20, 35)
            resume = end + spec.down_s
    elif spec.end is End.HALT:
        incident.end = end - 2
        tail.append(_event("halting", end))
    else:
        incident.end = end - int(spec.silent_h * HOUR)

    boots = [incident]
    start = incident.start
    for hours, how in spec.earlier:
        stop = start - rng.randint(100, 240 if how is End.REBOOT else 20000)
        older = _boot(rng, stop - int(hours * HOUR), stop - 2, after_crash=False, vms=host.vms)
        older.end_line = _event("rebooting" if how is End.REBOOT else "halting", stop)
        boots.insert(0, older)
        start = older.start
    since = end - spec.retained_h * HOUR
    for b in boots:
        _pids(rng, b, insts)
        b_lines = _boot_lines(b, rng) + _hb_lines(rng, model, b, vmx, host.build.number, since)
        lines += b_lines
        if b.end_line is not None:
            lines.append(b.end_line)
    before_sizes = model.sizes(rng, end, start=incident.start, phase="grow")
    lines += tail
    keep_after = lines[-1].epoch if spec.article else _last_two(lines)
    _drop_missing(rng, lines, keep_after, spec.missing)
    lines = [ln for ln in lines if ln.epoch >= since]

    vms_post = max(0, host.vms - rng.randint(0, min(4, host.vms)))
    post = resume + int(spec.post_h * HOUR)
    current = _boot(rng, resume, post, after_crash=crash_at is not None, vms=vms_post)
    current.phase = "regrow"
    _pids(rng, current, insts)
    lines += _boot_lines(current, rng)
    lines += _hb_lines(rng, model, current, vmx, host.build.number, current.start)
    collected = current.end + rng.randint(60, 900)
    if spec.article:
        _article(lines, end)
    now = model.sizes(rng, collected, start=current.start, phase="regrow")
    return Timeline(
        lines=tuple(lines),
        crash_at=crash_at,
        crash_vmk_load=crash_vmk_load,
        restart=current.start,
        quiet_from=incident.end,
        vmk_load=int(current.vmk_load),
        cos_boot=int(current.cos_boot),
        collected=collected,
        running=tuple(_running(model, current, now, vmx, rng)),
        before=tuple(_running(model, incident, before_sizes, vmx, rng)),
        vms_now=vms_post,
    )


def _last_two(lines: list[Line]) -> int:
    hb = [ln.epoch for ln in lines if ln.kind == "hb"]
    return hb[-2] if len(hb) >= 2 else 0


def _article(lines: list[Line], end: int) -> None:
    """KB 308590's last two summary lines before the crash and the next start, with their very
    figures (the syslog stamps are 4 s, 0 s and -1 s off the epochs there)."""
    hb = [i for i, ln in enumerate(lines) if ln.kind == "hb" and ln.epoch < end]
    kb = (
        (1258099291, 4, 11795301.25, 11795288.970, (("VMap", 583524), ("vmware-h", 82812),
                                                     ("webAcces", 27332))),
        (1258102905, 0, 11798915.64, 11798902.253, (("VMap", 586196), ("vmware-h", 83180),
                                                     ("webAcces", 27292))),
    )  # fmt: skip
    for i, (epoch, delay, cos, vmk, top) in zip(hb[-2:], kb, strict=True):
        lines[i] = replace(lines[i], epoch=epoch, delay=delay, cos_uptime=cos, vmk_uptime=vmk,
                           vms=73, swap_bytes=567468032, top=top)  # fmt: skip
    start = next(i for i, ln in enumerate(lines) if ln.kind == "starting" and ln.epoch > end)
    lines[start] = replace(lines[start], delay=-1)
