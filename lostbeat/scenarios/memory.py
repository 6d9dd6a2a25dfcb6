"""The memory model: process sizes and swap use at any moment.

Each Service Console process has a normal size (its ``vmksummary`` value, KB) of which a share
is real demand; leaked memory is all real. Demand beyond most of RAM goes to swap; once RAM and
swap are both spent the Service Console stalls, ``vmnixhbd`` can no longer get a page, and 30
minutes later the VMkernel declares the lost heartbeat (KB 308590). The leak of a leak scenario
is sized so that this happens at the spec's end time, which keeps every figure in the bundle
consistent with every other.

Steady processes may carry a habit (``spec.Behaviour``: a daily cycle, a warm-up, a GC
sawtooth, a drift) whose swing counts as real memory at the process's resident share. When a
leak must end under a large static consumer (``Spec.outsize``) the leak is sized first and the
rest of the load set to match, provided the leak still fills at least a third of the swap.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, replace

from lostbeat.scenarios.catalog import Proc
from lostbeat.scenarios.host import Host
from lostbeat.scenarios.spec import HOUR, Behaviour, Growth, Load, Pattern, Spec

__all__ = ["Inst", "Model", "calibrate", "instances"]


@dataclass(slots=True)
class Inst:
    proc: Proc
    base: int
    sigma: float
    resident: float
    growth: int = -1  # index into spec.growths, -1 none
    noise: float = 0.0
    habit: Behaviour | None = None
    swing: float = 0.0
    """The habit's part of the last size drawn (KB)."""


_ARTICLE_BASES = {"vmware-hostd": 82900, "webAccess": 27300, "VMap": 41000}


def instances(host: Host, rng: random.Random, spec: Spec) -> list[Inst]:
    out: list[Inst] = []
    for proc in host.procs:
        for _ in range(proc.count):
            low, high = proc.kb
            base = rng.randint(low, high) if high else 0
            if proc.name == "vmware-hostd":
                base = int(base * 0.75) + 260 * host.vms
            if spec.article:  # KB 308590: hostd ~83 MB, webAccess ~27 MB, next to VMap
                base = _ARTICLE_BASES.get(proc.name, min(base, 26000))
            out.append(Inst(proc, base, rng.uniform(0.002, 0.02), proc.resident))
    for i, g in enumerate(spec.growths):
        inst = next(x for x in out if x.proc.name == g.proc and x.growth < 0)
        inst.growth = i
    for b in spec.behaviours:
        inst = next(x for x in out if x.proc.name == b.proc and x.growth < 0 and not x.habit)
        inst.habit = b
        inst.base = inst.base if b.size_kb is None else b.size_kb
        inst.resident = inst.resident if b.resident is None else b.resident
    return out


def _daemons_kb(insts: list[Inst]) -> int:
    """Real memory the processes need at their normal sizes."""
    return sum(int(x.base * x.resident) for x in insts)


def _static_kb(host: Host, insts: list[Inst]) -> int:
    """Real memory in use at the end but for the leaks (a drift has reached its top)."""
    drift = sum(
        int(x.base * x.habit.amount * x.resident)
        for x in insts
        if x.habit is not None and x.habit.pattern is Pattern.DRIFT
    )
    return host.kernel_kb + host.vms * host.vm_cost_kb + _daemons_kb(insts) + drift


def _load_host(host: Host, insts: list[Inst], target_kb: int) -> Host:
    """``host`` with its VM load set so that its static demand is ``target_kb`` (or near)."""
    rest = _static_kb(replace(host, vms=0), insts)
    vm_total = max(0, target_kb - rest)
    vms, cost = host.vms, host.vm_cost_kb
    if vms and 1500 <= vm_total / vms <= 12000:
        cost = int(vm_total / vms)
    else:
        vms = max(0, min(120, round(vm_total / cost)))
        cost = int(vm_total / vms) if vms else cost
        cost = max(1500, min(12000, cost))
    return replace(host, vms=vms, vm_cost_kb=cost)


def _target_kb(host: Host, pressure: float) -> int:
    if pressure < 0:
        return int(host.ram_room_kb * (1 + pressure))
    return host.ram_room_kb + int(host.swap_total_kb * pressure)


def calibrate(spec: Spec, insts: list[Inst], rng: random.Random) -> tuple[Host, list[int]]:
    """The host with its VM load set for the spec, and each growth's amount at the end."""
    host = spec.host
    cap = host.capacity_kb
    if spec.load is Load.LEAK:
        if spec.article:  # VMap-586196 at 04:01 in KB 308590, +2672 KB/h until the stop
            amount = 586196 + 2672 * (spec.end_at - 1258102905) // HOUR - _leaker_base(insts)
            host = _load_host(host, insts, int(cap * 1.004) - amount)
            return host, [amount]
        fill = rng.uniform(1.0, 1.03)
        fitted = _under_large(spec, host, insts, fill) if spec.outsize else None
        if fitted is not None:
            return fitted
        host = _load_host(host, insts, _target_kb(host, spec.pressure))
        total = int(cap * fill) - _static_kb(host, insts)
        return host, [int(total * g.share) for g in spec.growths]
    host = _load_host(host, insts, _target_kb(host, spec.pressure))
    room = max(0, int(cap * 0.75) - _static_kb(host, insts))
    return host, [int(room * g.share) for g in spec.growths]


MIN_LEAK_OF_SWAP = 0.35
"""A leak sized under a large consumer still fills at least this share of the swap: the
console was not already contended before it began."""
LARGE_MAX_KB = 360 * 1024


def _under_large(
    spec: Spec, host: Host, insts: list[Inst], fill: float
) -> tuple[Host, list[int]] | None:
    """The leak sized so that the primary leaker ends ``spec.outsize`` times smaller than the
    large static consumer, and the rest of the load set to match; None when this console
    cannot hold such a leak (its swap is too large for the consumer, or its static load too
    high), in which case the leak is sized as usual."""
    large = next((x for x in insts if x.habit and x.habit.pattern is Pattern.STATIC), None)
    if large is None:
        return None
    leaker = next(x for x in insts if x.growth == 0)
    share = spec.growths[0].share
    least = max(64 * 1024, int(MIN_LEAK_OF_SWAP * host.swap_total_kb))
    need = int((leaker.base + least * share) * spec.outsize)
    if need > LARGE_MAX_KB:
        return None
    large.base = max(large.base, need)
    total = int((large.base / spec.outsize - leaker.base) / share)
    cap = host.capacity_kb
    host = _load_host(host, insts, int(cap * fill) - total)
    total = int(cap * fill) - _static_kb(host, insts)  # the VM load is coarse: what is left
    if total < least or leaker.base + total * share >= large.base:
        return None
    return host, [int(total * g.share) for g in spec.growths]


def _leaker_base(insts: list[Inst]) -> int:
    return next(x.base for x in insts if x.growth == 0)


def _swing_kb(x: Inst, t: int, *, start: int, phase: str, end: int, tz_min: int) -> float:
    """The habit's part of ``x``'s size at ``t`` (KB): at most 0, but for a drift."""
    h = x.habit
    if h is None:
        return 0.0
    size = x.base * h.amount
    if h.pattern is Pattern.DAILY:
        hour = ((t + tz_min * 60) / HOUR - h.phase_h) % 24.0
        return -size * (1.0 - math.cos(2.0 * math.pi * hour / 24.0)) / 2.0
    if h.pattern is Pattern.WARMUP:
        since = (t - start) / HOUR
        if h.phase_h and since >= h.phase_h:  # restarted mid-boot: warming up again
            since -= h.phase_h
        return -size * max(0.0, 1.0 - since / h.period_h) ** 2
    if h.pattern is Pattern.GC:
        return -size * (1.0 - (((t - start) / HOUR + h.phase_h) / h.period_h) % 1.0)
    if h.pattern is Pattern.DRIFT and phase == "grow":
        left = max(0.0, (end - t) / (h.period_h * HOUR))
        return size * (1.0 - left) if left < 1.0 else 0.0
    return 0.0


def _growth_kb(g: Growth, amount: int, end: int, start: int, t: int) -> int:
    """Growth of one process at ``t`` (0 before it starts), ``amount`` at ``end``."""
    final_h = max(1.0, min(g.hours, (end - start) / HOUR - 1.0))
    rate = amount / final_h
    onset = end - int(final_h * HOUR)
    if t < onset:  # earlier cycles of a sawtooth: each restart drops back to nothing
        begin = onset
        for length in reversed(g.cycles_h):
            begin -= int(length * HOUR)
            if begin <= t:
                return int(rate * (t - begin) / HOUR)
        return 0
    elapsed = t - onset
    if g.step_h:
        elapsed -= elapsed % (g.step_h * HOUR)
    return int(amount * (elapsed / (end - onset)) ** g.shape)


class Model:
    """Process sizes and swap use at any moment of any boot."""

    def __init__(self, spec: Spec, host: Host, insts: list[Inst], amounts: list[int]) -> None:
        self.spec, self.host, self.insts, self.amounts = spec, host, insts, amounts
        self.floor = host.swap_total_kb * 0.06  # idle pages swapped out over the first day
        self.static = _daemons_kb(insts)
        self.tokens = [x.proc.token for x in insts]
        self.walk = not spec.article  # KB 308590 shows 73 VMs on both lines

    def sizes(self, rng: random.Random, t: int, *, start: int, phase: str = "flat") -> list[int]:
        """Every process's size at ``t`` in a boot that started at ``start``; ``phase`` is
        "grow" (the boot that ends with the incident), "regrow" (after it: leakers restarted
        and leaking again) or "flat"."""
        out = []
        draw = rng.random
        for x in self.insts:
            if not x.base:
                out.append(0)
                continue
            x.noise = 0.85 * x.noise + (draw() - 0.5) * x.sigma * 1.7  # AR(1), sd ~ sigma
            kb = x.base * (1.0 + x.noise)
            if x.habit is not None:
                x.swing = _swing_kb(x, t, start=start, phase=phase, end=self.spec.end_at,
                                    tz_min=self.host.tz_min)  # fmt: skip
                kb += x.swing
            if x.growth >= 0 and phase != "flat":
                g = self.spec.growths[x.growth]
                amount = self.amounts[x.growth]
                if phase == "grow":
                    kb += _growth_kb(g, amount, self.spec.end_at, start, t)
                else:  # restarted at boot, leaking again at the same pace
                    kb += min(amount, amount / g.hours * (t - start) / HOUR)
            out.append(int(kb))
        return out

    def swap_kb(self, rng: random.Random, t: int, sizes: list[int], *, start: int, vms: int) -> int:
        """Swap in use at ``t`` (KB), given the sizes and the running VMs."""
        host = self.host
        demand = float(host.kernel_kb + vms * host.vm_cost_kb + self.static)
        for x, kb in zip(self.insts, sizes, strict=True):
            demand += kb - x.base - x.swing * (1.0 - x.resident)  # a habit's swing is partly real
        floor = self.floor * min(1.0, (t - start) / 86400)
        used = max(demand - host.ram_room_kb, floor) * rng.uniform(0.995, 1.005)
        return max(0, min(host.swap_total_kb, int(used)))
