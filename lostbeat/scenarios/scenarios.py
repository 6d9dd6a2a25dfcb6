"""The scenario table: each name, its one-line description, and how it draws a :class:`Spec`.

A builder draws everything from the incident's random source: the host (``host.py``), when
the incident happens, how long the host had been up, which process leaks and how, and how
much history the logs kept. Difficulty comes only from what real hosts vary; no builder
tunes its cases to an analyzer.

Examples:
    >>> "vmware-leak" in SCENARIOS and "rotated-year-boundary" in SCENARIOS
    True
    >>> import random
    >>> spec = BUILDERS["cimserver-40"](random.Random(5), 5)
    >>> spec.host.build.family, spec.growths[0].proc
    ('4.0', 'cimserver')
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable
from dataclasses import replace

from lostbeat.scenarios.catalog import BUILDS, PROCS
from lostbeat.scenarios.host import Host, invalid_core_file, sample_host
from lostbeat.scenarios.model import Origin
from lostbeat.scenarios.spec import End, Growth, Load, Spec
from lostbeat.scenarios.variation import vary_contention, vary_leak, vary_spike

__all__ = ["BUILDERS", "SCENARIOS"]

Builder = Callable[[random.Random, int], Spec]
_UNTIL = dt.date(2013, 6, 30)

_VMWARE_LEAKERS = (
    "vmware-hostd", "vpxa", "webAccess", "vmware-webAccess", "VMap", "aam", "snmpd", "sfcbd",
    "openwsmand",
)  # fmt: skip


def _epoch(rng: random.Random, host: Host, *, january: bool = False) -> int:
    """A moment (UTC epoch) after the host's build came out, local time drawn."""
    first = host.build.released + dt.timedelta(days=20)
    last = max(first + dt.timedelta(days=30), min(_UNTIL, first + dt.timedelta(days=700)))
    day = first + dt.timedelta(days=rng.randrange((last - first).days))
    if january:  # early January: the history runs back into December
        day = dt.date(day.year + (day.month > 1), 1, rng.randint(2, 20))
    local = dt.datetime.combine(day, dt.time(rng.randrange(24), rng.randrange(60)), dt.UTC)
    return int(local.timestamp()) - host.tz_min * 60 + rng.randrange(60)


def _usual_load(rng: random.Random, host: Host, *, cap: float = 0.35) -> float:
    """A normal day's load (``Spec.pressure``): RAM partly used, or a few hundred MB swapped
    (KB 1009016's healthy host had 253 MB of swap in use)."""
    if rng.random() < 0.35:
        return -rng.uniform(0.05, 0.5)
    return min(cap, rng.uniform(0, 450) / host.swap_mb)


def _leak_hours(rng: random.Random, low: float = 18.0, high: float = 700.0) -> float:
    """Log-uniform between ``low`` and ``high`` hours (as leak lengths and uptimes spread)."""
    return float(low * (high / low) ** rng.random())


def _growth(rng: random.Random, proc: str, *, hours: float, share: float = 1.0) -> Growth:
    shape = rng.choice((1.0, 1.0, 1.0, rng.uniform(0.75, 0.95), rng.uniform(1.05, 1.4)))
    step = rng.choice((0, 0, 0, 0, 2, 3, 6)) if hours > 40 else 0
    return Growth(proc, share, hours=hours, shape=shape, step_h=step)


def _leaker(rng: random.Random, host: Host, *, third_party: bool | None = None) -> str:
    names = [p.name for p in host.procs]
    vmware = [n for n in _VMWARE_LEAKERS if n in names]
    vendor = [p.name for p in host.procs if p.origin is Origin.THIRD_PARTY]
    if third_party or (third_party is None and vendor and rng.random() < 0.4):
        return rng.choice(vendor)
    return rng.choice(vmware)


def _common(
    rng: random.Random,
    host: Host,
    end: End,
    load: Load,
    *,
    boot_h: float | None = None,
    growths: tuple[Growth, ...] = (),
    pressure: float | None = None,
    earlier: tuple[tuple[float, End], ...] | None = None,
) -> Spec:
    """A spec with the usual variation: uptime, earlier boots, retention, gaps, downtime."""
    if earlier is None:
        earlier = tuple(
            (rng.uniform(24, 900), rng.choice((End.REBOOT, End.REBOOT, End.HALT)))
            for _ in range(rng.choice((0, 0, 1, 2)))
        )
    return Spec(
        host=host,
        end=end,
        load=load,
        end_at=_epoch(rng, host),
        boot_h=rng.uniform(30, 2400) if boot_h is None else boot_h,
        growths=growths,
        pressure=_usual_load(rng, host) if pressure is None else pressure,
        earlier=earlier,
        retained_h=rng.uniform(150, 840),
        silent_h=rng.choice((0.0, 0.0, rng.uniform(0.1, 2.2))) if load is not Load.SPIKE else 0.0,
        down_s=rng.randint(900, 6 * 3600) if end.crashed else rng.randint(100, 240),
        post_h=rng.choice((rng.uniform(0.2, 0.9), rng.uniform(1, 30))),
        missing=rng.choice((0.0, 0.01, 0.03)),
    )


def _leak_spec(rng: random.Random, host: Host, proc: str) -> Spec:
    hours = _leak_hours(rng)
    spec = _common(
        rng, host, End.LOST_HEARTBEAT, Load.LEAK,
        growths=(_growth(rng, proc, hours=hours),),
        boot_h=rng.uniform(hours * 0.8, hours + 2400) if hours > 30 else rng.uniform(40, 2400),
    )  # fmt: skip
    return vary_leak(rng, spec)


def _vmware_leak(rng: random.Random, seed: int) -> Spec:
    if seed == 0:
        return _article()
    host = sample_host(rng)
    return _leak_spec(rng, host, _leaker(rng, host, third_party=False))


def _article() -> Spec:
    """KB 308590's incident: VMap (HA) leaking on 3.5 Update 4 with 73 VMs."""
    rng = random.Random("vmware-leak:article")
    host = sample_host(rng, builds=(153875,), vendor=None)
    procs = tuple(p for p in host.procs if p.name not in ("vmware-webAccess", "VMap", "aam"))
    host = replace(
        host,
        name="esxhostname",
        tz_min=-300,
        cos_ram_mb=800,
        mem_total_kb=799732,
        swap_mb=541,
        swap_total_kb=554168,
        vms=73,
        procs=procs + (PROCS["webAccess"], PROCS["VMap"], PROCS["aam"]),
        datastore="4533e089-1dfcdd21-f1d3-001a140ebdca",
    )
    host = replace(host, core_file=replace(host.core_file, value=(
        "/vmfs/volumes/4533e089-1dfcdd21-f1d3-001a140ebdca/cos-core-esxhostname")))  # fmt: skip
    end = 1258105080  # 04:38 EST: 37 minutes after the last summary line
    return Spec(
        host=host, end=End.LOST_HEARTBEAT, load=Load.LEAK, end_at=end,
        boot_h=(end - 1246303989) / 3600, growths=(Growth("VMap", hours=203.0),),
        retained_h=600.0, down_s=0, post_h=1.0, missing=0.0, article=True,
    )  # fmt: skip


def _cimserver_35(rng: random.Random, seed: int) -> Spec:
    host = sample_host(rng, builds=tuple(b for b, v in BUILDS.items() if v.pegasus_leak))
    return _leak_spec(rng, host, "cimserver")


def _cimserver_40(rng: random.Random, seed: int) -> Spec:
    host = sample_host(rng, builds=(164009, 208167))
    host = replace(host, procs=host.procs + (PROCS["cimserver"],))
    return _leak_spec(rng, host, "cimserver")


def _third_party_leak(rng: random.Random, seed: int) -> Spec:
    host = sample_host(rng, vendor=rng.choice(("HP", "Dell", "EMC")))
    return _leak_spec(rng, host, _leaker(rng, host, third_party=True))


def _sawtooth(rng: random.Random, seed: int) -> Spec:
    host = sample_host(rng)
    final = _leak_hours(rng, 30, 300)
    daily = rng.random() < 0.4  # the daily restart KB 1009607 suggests, then it stopped
    cycles = tuple(
        24.0 if daily else rng.uniform(final * 0.25, final * 0.75) for _ in range(rng.randint(2, 5))
    )
    final = max(final, 1.4 * max(cycles))
    growth = Growth(_leaker(rng, host), hours=final, cycles_h=cycles)
    spec = _common(rng, host, End.LOST_HEARTBEAT, Load.LEAK, growths=(growth,),
                   boot_h=final + sum(cycles) + rng.uniform(6, 400))  # fmt: skip
    # the logs still hold at least the last restart
    spec = replace(spec, retained_h=max(spec.retained_h, final + cycles[-1] + 12))
    return vary_leak(rng, spec)


def _two_leakers(rng: random.Random, seed: int) -> Spec:
    host = sample_host(rng)
    first = _leaker(rng, host)
    second = _leaker(rng, host)
    while second == first:
        second = _leaker(rng, host)
    share = rng.uniform(0.62, 0.78)
    hours = _leak_hours(rng, 24, 500)
    # linear and smooth, so the primary is unambiguous: it leaks more KB, and faster
    growths = (
        Growth(first, share, hours=hours),
        Growth(second, 1 - share, hours=hours * rng.uniform(1.0, 1.6)),
    )
    spec = _common(rng, host, End.LOST_HEARTBEAT, Load.LEAK, growths=growths,
                   boot_h=hours * 1.6 + rng.uniform(6, 900))  # fmt: skip
    return vary_leak(rng, spec)


def _spike(rng: random.Random, seed: int) -> Spec:
    host = sample_host(rng)
    # swap use at the last summary anywhere from none to 70 % (66 % before noise and drift)
    load = -rng.uniform(0.05, 0.5) if rng.random() < 0.2 else rng.uniform(0.0, 0.66)
    spec = _common(rng, host, End.LOST_HEARTBEAT, Load.SPIKE, pressure=load,
                   boot_h=rng.uniform(14, 2400))  # fmt: skip
    minute = (spec.end_at + host.tz_min * 60) // 60 % 60
    spec = replace(spec, end_at=spec.end_at + (rng.randint(6, 56) - minute) * 60)
    return vary_spike(rng, spec)


def _contention(rng: random.Random, seed: int) -> Spec:
    host = sample_host(rng, ram_mb=(272, 400), vendor=rng.choice(("HP", "Dell", None)),
                       vms=(20, 90))  # fmt: skip
    swap = rng.choice((544, 544, 600, 800))  # a big swap partition is not what contends
    host = replace(host, swap_mb=swap, swap_total_kb=swap * 1024 - 4 * rng.randint(0, 60))
    spec = _common(rng, host, End.LOST_HEARTBEAT, Load.CONTENTION,
                   pressure=rng.uniform(0.86, 0.98), boot_h=_leak_hours(rng, 30, 1500))  # fmt: skip
    return vary_contention(rng, spec)


def _no_core_file(rng: random.Random, seed: int) -> Spec:
    host = invalid_core_file(rng, sample_host(rng))
    return _leak_spec(rng, host, _leaker(rng, host))


def _normal(rng: random.Random, end: End) -> Spec:
    """A host with no memory trouble (sometimes a slow, harmless growth) that ends as ``end``."""
    host = sample_host(rng)
    growths: tuple[Growth, ...] = ()
    if rng.random() < 0.3:
        growths = (_growth(rng, _leaker(rng, host), hours=_leak_hours(rng, 40, 400), share=0.3),)
    return _common(rng, host, end, Load.NORMAL, growths=growths)


def _cos_oops(rng: random.Random, seed: int) -> Spec:
    return _normal(rng, End.COS_OOPS)


def _cos_panic(rng: random.Random, seed: int) -> Spec:
    return _normal(rng, End.COS_PANIC)


def _vmkernel_psod(rng: random.Random, seed: int) -> Spec:
    variant = rng.choice(("pcpu_lockup", "pf_exception", "not_implemented"))
    spec = _normal(rng, End.VMKERNEL)
    return replace(spec, variant=variant, boot_failure=variant == "not_implemented")


def _clean_reboot(rng: random.Random, seed: int) -> Spec:
    return _normal(rng, End.REBOOT)


def _clean_halt(rng: random.Random, seed: int) -> Spec:
    spec = _normal(rng, End.HALT)
    return replace(spec, down_s=rng.randint(600, 3 * 86400))


def _too_little_history(rng: random.Random, seed: int) -> Spec:
    host = sample_host(rng)
    return _common(
        rng, host, End.LOST_HEARTBEAT, Load.SPIKE, pressure=_usual_load(rng, host, cap=0.9),
        boot_h=rng.uniform(1.3, 4.8),
        earlier=((rng.uniform(48, 900), rng.choice((End.REBOOT, End.HALT))),),
    )  # fmt: skip


def _rotated_year_boundary(rng: random.Random, seed: int) -> Spec:
    host = sample_host(rng, families=("3.5", "4.0"))
    spec = _leak_spec(rng, host, _leaker(rng, host))
    end = _epoch(rng, host, january=True)
    return replace(spec, end_at=end, retained_h=rng.uniform(600, 840),
                   boot_h=max(spec.boot_h, rng.uniform(400, 2000)))  # fmt: skip


SCENARIO_TABLE: tuple[tuple[str, str, Builder], ...] = (
    ("vmware-leak", "a VMware daemon leaks until the COS starves (seed 0: KB 308590's VMap "
     "figures)", _vmware_leak),
    ("cimserver-35", "Pegasus cimserver leak on ESX 3.5 Update 2-5 (known issue KB 1009607)",
     _cimserver_35),
    ("cimserver-40", "the same cimserver growth on ESX 4.0, where KB 1009607 does not apply",
     _cimserver_40),
    ("third-party-leak", "an HP, Dell or EMC management agent leaks", _third_party_leak),
    ("sawtooth", "a leaker restarted now and then (drops), until a cycle runs out of memory",
     _sawtooth),
    ("two-leakers", "two processes leak at once; the primary leaks more, and faster",
     _two_leakers),
    ("spike", "no steady growth in the hourly record (cycles, a short drift at most), memory "
     "exhausted within the last hour", _spike),
    ("contention", "small console, high use spread over many consumers that cycle but never "
     "grow", _contention),
    ("no-core-file", "a leak on a host whose Misc.CosCorefile is unset, empty or not on VMFS",
     _no_core_file),
    ("cos-oops", "Service Console kernel Oops: a crash, not a lost heartbeat", _cos_oops),
    ("cos-panic", "Service Console panic: a crash, not a lost heartbeat", _cos_panic),
    ("vmkernel-psod", "VMkernel PSOD: PCPU lockup, #PF exception or NOT_IMPLEMENTED at boot",
     _vmkernel_psod),
    ("clean-reboot", "a deliberate reboot: no crash", _clean_reboot),
    ("clean-halt", "a deliberate shutdown and later power-on: no crash", _clean_halt),
    ("too-little-history", "lost heartbeat a few hours after a reboot: too little history",
     _too_little_history),
    ("rotated-year-boundary", "a leak whose history spans December to January over rotated "
     "and gzipped logs", _rotated_year_boundary),
)  # fmt: skip

SCENARIOS: dict[str, str] = {name: text for name, text, _ in SCENARIO_TABLE}
BUILDERS: dict[str, Builder] = {name: build for name, _, build in SCENARIO_TABLE}
