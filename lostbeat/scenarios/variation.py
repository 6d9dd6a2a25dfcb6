"""What the steady processes of a real Service Console do while something else goes wrong.

A generated incident gets bystanders that move the way real ones do (a :class:`Behaviour`
each), without changing what the incident is:

* a large, stable consumer of 150-350 MB: a Java-based ``webAccess`` or third-party agent, an
  HP or Dell agent, a bloated but steady ``vmware-hostd`` (KB 308590 names "third party
  software with a large memory footprint"; §6's normal sizes are far smaller). Beside a leak
  it often ends larger than the leaker, the leak being sized to fit (``Spec.outsize``);
* a daily cycle (business hours, a nightly backup or inventory scan);
* caches warming up for a few hours after a start, then a plateau; sometimes the management
  agents are restarted mid-boot and warm up again;
* a JVM's garbage-collection sawtooth;
* in a spike, a short upward drift in the last hours, far too slow to have filled what was
  left (the spike itself still comes after the last summary line).

Nothing here grows steadily over a boot: a bystander is never a leak.

Examples:
    >>> import random
    >>> from lostbeat.scenarios.host import sample_host
    >>> from lostbeat.scenarios.spec import End, Load, Spec
    >>> host = sample_host(random.Random(4), vendor=None)
    >>> spec = Spec(host=host, end=End.LOST_HEARTBEAT, load=Load.CONTENTION, end_at=0, boot_h=90)
    >>> varied = vary_contention(random.Random(2), spec)
    >>> all(b.pattern is not Pattern.DRIFT for b in varied.behaviours)
    True
"""

from __future__ import annotations

import random
from dataclasses import replace

from lostbeat.scenarios.catalog import JAVA_AGENT, PROCS
from lostbeat.scenarios.host import Host
from lostbeat.scenarios.spec import Behaviour, Pattern, Spec

__all__ = ["LARGE_KB", "vary_contention", "vary_leak", "vary_spike"]

LARGE_KB = (150 * 1024, 350 * 1024)
"""A large static consumer's ``vmksummary`` value."""
# share of a large consumer's value that is real memory: a JVM reserves far more than it
# touches (Dell's connsvc JVM is drawn at 0.25 in the catalog) [BACKGROUND - unverified]
_LARGE = {
    "webAccess": 0.35,
    "vmware-webAccess": 0.35,
    "java": 0.3,
    "dsm_om_connsvc32d": 0.25,
    "vmware-hostd": 0.5,
    "dsm_sa_datamgr32d": 0.45,
    "hpasmxld": 0.45,
    "cmahostd": 0.45,
    "naviagent": 0.45,
}
_JVMS = ("webAccess", "vmware-webAccess", "java", "dsm_om_connsvc32d")
_STEADY = (
    "vmware-hostd", "vpxa", "webAccess", "vmware-webAccess", "VMap", "aam", "snmpd", "cimserver",
    "sfcbd", "hpasmxld", "cmahostd", "dsm_sa_datamgr32d", "dsm_om_shrsvc32d", "naviagent",
)  # fmt: skip
LARGE_REAL_OF_RAM = 0.3
"""At most this share of the console's RAM is the large consumer's real memory, so that it
fits beside the rest on the smallest (272 MB) consoles."""


def _large(
    rng: random.Random, host: Host, busy: set[str], pattern: Pattern = Pattern.STATIC
) -> tuple[Host, Behaviour]:
    """``host`` (with a Java agent added when that is the one drawn) and its large consumer."""
    names = {p.name for p in host.procs}
    pool = [n for n in _LARGE if n in names and n not in busy]
    if "java" not in names:
        pool.append("java")
    name = rng.choice(pool)
    if name not in names:
        host = replace(host, procs=host.procs + (JAVA_AGENT,))
    size = rng.randint(*LARGE_KB)
    resident = min(_LARGE[name], LARGE_REAL_OF_RAM * host.ram_room_kb / size)
    if pattern is Pattern.GC and name not in _JVMS:
        pattern = Pattern.STATIC
    amount, period, phase = _swing(rng, pattern)
    busy.add(name)
    return host, Behaviour(name, pattern, amount, period, phase, size_kb=size, resident=resident)


def _swing(rng: random.Random, pattern: Pattern) -> tuple[float, float, float]:
    """(amount, period_h, phase_h) of a habit."""
    if pattern is Pattern.DAILY:  # highest at a local hour: business hours, a nightly job
        return rng.uniform(0.08, 0.3), 24.0, rng.uniform(0, 24)
    if pattern is Pattern.WARMUP:  # sometimes a restart of the management agents mid-boot
        restart = rng.uniform(20, 400) if rng.random() < 0.25 else 0.0
        return rng.uniform(0.25, 0.6), rng.uniform(2, 14), restart
    if pattern is Pattern.GC:
        period = rng.uniform(3, 12)
        return rng.uniform(0.05, 0.15), period, rng.uniform(0, period)
    if pattern is Pattern.DRIFT:
        return rng.uniform(0.1, 0.3), rng.uniform(3, 8), 0.0
    return 0.0, 24.0, 0.0


def _bystanders(
    rng: random.Random, host: Host, busy: set[str], patterns: tuple[Pattern, ...], chance: float
) -> list[Behaviour]:
    """Each of ``patterns``, with probability ``chance``, on a steady daemon not yet used."""
    out: list[Behaviour] = []
    names = {p.name for p in host.procs}
    for pattern in patterns:
        pool = [n for n in _STEADY if n in names and n not in busy]
        if pattern is Pattern.GC:
            pool = [n for n in pool if n in _JVMS]
        if not pool or rng.random() >= chance:
            continue
        name = rng.choice(pool)
        busy.add(name)
        out.append(Behaviour(name, pattern, *_swing(rng, pattern)))
    return out


def vary_leak(rng: random.Random, spec: Spec) -> Spec:
    """A leak's bystanders: about half the time a large static consumer that ends larger than
    the leaker at the last summary line; daily cycles and warm-ups."""
    busy = {g.proc for g in spec.growths}
    host = spec.host
    habits: list[Behaviour] = []
    outsize = 0.0
    if rng.random() < 0.7:
        host, large = _large(rng, host, busy)
        habits.append(large)
        if rng.random() < 0.85:
            outsize = rng.uniform(1.05, 1.5)
            if host.swap_mb > 800:
                # a leak fills at least a third of the swap (memory.MIN_LEAK_OF_SWAP): on a
                # large partition the leaker always ends larger, so such a host keeps a
                # common partition (544 MB, the 3.5 installer's, is background, unverified)
                swap = rng.choice((544, 544, 600, 800))
                host = replace(
                    host, swap_mb=swap, swap_total_kb=swap * 1024 - 4 * rng.randint(0, 60)
                )
    habits += _bystanders(rng, host, busy, (Pattern.DAILY, Pattern.WARMUP), 0.45)
    return replace(spec, host=host, behaviours=tuple(habits), outsize=outsize)


def vary_spike(rng: random.Random, spec: Spec) -> Spec:
    """A spike's bystanders: a large consumer, cycles, warm-ups, and often a short drift in
    the last hours, on the large consumer when there is one."""
    busy: set[str] = set()
    host = spec.host
    habits: list[Behaviour] = []
    if rng.random() < 0.6:
        host, large = _large(rng, host, busy, rng.choice((Pattern.STATIC, Pattern.DAILY)))
        habits.append(large)
    if rng.random() < 0.6:
        # at most 30 % of its size (at most half of it real) over 3-8 h, 18 MB/h of real memory
        # at most, while the console is at most 70 % into its swap (the spike builder's
        # pressure): the drift alone would need ten hours or more to fill what was left, so
        # the exhaustion within the hour still came from the unseen spike
        amount, period, _ = _swing(rng, Pattern.DRIFT)
        names = {p.name for p in host.procs}
        pool = [n for n in ("vmware-hostd", "vpxa", "webAccess", "vmware-webAccess")
                if n in names and n not in busy]  # fmt: skip
        if habits:
            habits[0] = replace(
                habits[0], pattern=Pattern.DRIFT, amount=amount, period_h=period, phase_h=0.0
            )
        elif pool:
            name = rng.choice(pool)
            busy.add(name)
            habits.append(Behaviour(name, Pattern.DRIFT, amount, period))
    habits += _bystanders(rng, host, busy, (Pattern.DAILY, Pattern.WARMUP), 0.35)
    return replace(spec, host=host, behaviours=tuple(habits))


CONTENTION_TROUGH = 0.1
"""In contention, the habits' deepest troughs together free at most this share of the swap:
the console stays contended around the clock."""


def vary_contention(rng: random.Random, spec: Spec) -> Spec:
    """Contention's bystanders: a large consumer (steady, cycling, a JVM's GC sawtooth or
    warming up), daily cycles and warm-ups; a daily peak falls near the end (the console gave
    out at its busiest hour)."""
    busy: set[str] = set()
    host = spec.host
    habits: list[Behaviour] = []
    if rng.random() < 0.65:
        pattern = rng.choice((Pattern.STATIC, Pattern.GC, Pattern.GC, Pattern.DAILY,
                              Pattern.WARMUP))  # fmt: skip
        host, large = _large(rng, host, busy, pattern)
        habits.append(large)
    habits += _bystanders(rng, host, busy, (Pattern.DAILY, Pattern.WARMUP, Pattern.GC), 0.5)
    local_end = (spec.end_at + host.tz_min * 60) / 3600.0 % 24.0
    habits = [
        replace(b, phase_h=(local_end + rng.uniform(-3, 3)) % 24.0)
        if b.pattern is Pattern.DAILY
        else b
        for b in habits
    ]
    trough = sum(_real_trough_kb(host, b) for b in habits)
    room = CONTENTION_TROUGH * host.swap_total_kb
    if trough > room:
        habits = [replace(b, amount=b.amount * room / trough) for b in habits]
    return replace(spec, host=host, behaviours=tuple(habits))


def _real_trough_kb(host: Host, b: Behaviour) -> float:
    """The most real memory the habit of ``b`` ever frees below its normal size (a bound)."""
    proc = PROCS.get(b.proc, JAVA_AGENT)
    size = b.size_kb if b.size_kb is not None else proc.kb[1]
    resident = b.resident if b.resident is not None else proc.resident
    return b.amount * size * resident
