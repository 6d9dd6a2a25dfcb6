"""The Linux incidents a support tool's archive collects: a sosreport (``.tar.xz`` or
``.tar.gz``) or SUSE's supportconfig (``.txz``), after an OOM kill (the victim the grower or
a bystander), a hang on storage or a panic with nothing left to kill; sar's memory history
inside."""

from __future__ import annotations

import random
from dataclasses import dataclass, replace

from lostbeat.analyzer.result import CauseKind, CrashClass, CrashType
from lostbeat.scenarios.expect import Expect
from lostbeat.scenarios.linux import hang
from lostbeat.scenarios.linux.frame import Msg, services
from lostbeat.scenarios.linux.host import Host, grown, incident_time, sample_host, workload
from lostbeat.scenarios.linux.oom import report
from lostbeat.scenarios.linux.scc import supportconfig_files
from lostbeat.scenarios.linux.sos import sosreport_files
from lostbeat.scenarios.loose import Written, tar_bytes

__all__ = ["sosreport", "supportconfig"]

_MEMORY = CrashClass.MEMORY_EXHAUSTION


@dataclass(frozen=True, slots=True)
class _Reported:
    """An incident on a host, as a support tool's archive collects it."""

    h: Host
    t: float
    shape: str
    kind: str
    msgs: list[Msg]
    expect: Expect
    killed: int | None


def _reported(rng: random.Random) -> _Reported:
    h = sample_host(rng, gens=("3.10", "4.18", "5.14", "4.15", "5.4", "5.15", "6.1", "6.8"))
    t = incident_time(rng) + 86400
    shape = rng.choice(("leak", "spike"))
    kind = rng.choice(("oom", "oom", "bystander", "hung", "panic"))
    h, grower = grown(rng, h, share=rng.uniform(0.75, 0.93))
    if kind == "bystander":  # the grower is protected; the kernel kills the next largest
        shape = "leak"
        grower = replace(grower, adj=rng.choice((-1000, -999, -950)), swapents=0)
        other = workload(rng, h, exclude=(grower.name,))
        other = replace(other, rss=int(h.ram_pages * rng.uniform(0.03, 0.06)))
        h = replace(
            h, procs=tuple(grower if p.pid == grower.pid else p for p in h.procs) + (other,)
        )
        r = report(rng, h, t, tasks=h.procs, trigger=grower)
        assert r.victim is not None and r.victim.name != grower.name
        msgs = list(r.msgs)
        expect = Expect(CrashType.OOM_KILL, _MEMORY, killer="kernel", victim=r.victim.name,
                        victim_was_grower=False, root_cause_kind=CauseKind.LEAK,
                        root_cause_process=grower.name)  # fmt: skip
    elif kind == "hung":
        e = hang.hung_task(rng, h, t, wait="storage")
        msgs, expect, shape = list(e.msgs), e.expect, "none"
    elif kind == "panic":
        h = replace(h, procs=tuple(replace(p, adj=-1000) for p in h.procs))
        r = report(rng, h, t, tasks=h.procs, trigger=grower)
        msgs = list(r.msgs)
        expect = Expect(CrashType.KERNEL_PANIC, _MEMORY, root_cause_kind=CauseKind(shape))
    else:
        r = report(rng, h, t, tasks=h.procs, trigger=grower)
        assert r.victim is not None
        msgs = list(r.msgs)
        expect = Expect(CrashType.OOM_KILL, _MEMORY, killer="kernel", victim=r.victim.name,
                        root_cause_kind=CauseKind(shape))  # fmt: skip
    msgs += services(rng, h, start=t - 3600, end=t + 600, rate_s=30)
    killed = r.victim.pid if kind in ("oom", "bystander") and r.victim is not None else None
    return _Reported(h, t, shape, kind, msgs, expect, killed)


def sosreport(rng: random.Random) -> Written:
    i = _reported(rng)
    collected = i.t + rng.uniform(600, 3 * 86400)
    top, files = sosreport_files(rng, i.h, i.msgs, collected=collected, shape=i.shape,
                                 rebooted=i.kind == "panic", killed=i.killed)  # fmt: skip
    xz = rng.random() < 0.65
    data = tar_bytes(top, files, mtime=int(i.h.boot + i.t), compression="xz" if xz else "gz")
    name = f"{top}.tar.{'xz' if xz else 'gz'}"
    return Written("linux", ((name, data),), ("sosreport", "sar"), i.expect,
                   (("kernel", i.h.kernel.release), ("incident", i.kind)))  # fmt: skip


def supportconfig(rng: random.Random) -> Written:
    i = _reported(rng)
    top, files = supportconfig_files(rng, i.h, i.msgs,
                                     collected=i.t + rng.uniform(600, 3 * 86400),
                                     shape=i.shape, rebooted=i.kind == "panic")  # fmt: skip
    data = tar_bytes(top, files, mtime=int(i.h.boot + i.t), compression="xz")
    return Written("linux", ((f"{top}.txz", data),), ("supportconfig", "sar"), i.expect,
                   (("kernel", i.h.kernel.release), ("incident", i.kind)))  # fmt: skip
