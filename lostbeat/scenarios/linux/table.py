"""The Linux scenarios: each name, its description and its builder.

A builder draws a host (``host.py``), plays the incident out as kernel messages (``oom.py``,
``hang.py``) or a tool's output (``killers.py``), mixes in other services' lines, and writes
it in one of the forms people post (``frame.py``): raw or ``-T`` dmesg, journalctl's outputs,
syslog files, a serial console, cut or wrapped, indented or quoted; or as a sosreport
(``sos.py``). The answer key comes from what was played out.

Examples:
    >>> import random
    >>> w = LINUX_BUILDERS["linux-oom-global"](random.Random(3))
    >>> w.expect.crash_type.value, w.expect.killer
    ('oom_kill', 'kernel')
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import replace

from lostbeat.analyzer.result import CrashClass, CrashType
from lostbeat.scenarios.expect import Expect
from lostbeat.scenarios.linux import hang, killers
from lostbeat.scenarios.linux.frame import FORMS, Msg, chop, render, services, wrap
from lostbeat.scenarios.linux.host import GENS, Host, Proc, sample_host, workload
from lostbeat.scenarios.linux.host import grown as _big
from lostbeat.scenarios.linux.host import incident_time as _when
from lostbeat.scenarios.linux.oom import report
from lostbeat.scenarios.linux.reports import sosreport, supportconfig
from lostbeat.scenarios.loose import Written
from lostbeat.scenarios.paste import decorate, text_of

__all__ = ["LINUX_BUILDERS", "LINUX_SCENARIOS"]

Builder = Callable[[random.Random], Written]
_MEMORY = CrashClass.MEMORY_EXHAUSTION
_NAMES = {
    "dmesg": "dmesg.txt", "dmesg-T": "dmesg.txt", "journal-short": "journal.txt",
    "journal-short-precise": "journal.txt", "journal-short-iso": "journal.txt",
    "journal-json": "journal.json", "journal-export": "journal.export",
    "syslog-messages": "messages", "syslog-kernlog": "kern.log", "serial-console": "console.log",
}  # fmt: skip


def _serial(lines: list[str], rng: random.Random, h: Host) -> list[str]:
    """A console capture: a prompt glued before a line, stamps off, or lines padded."""
    out = list(lines)
    if rng.random() < 0.25:
        out = [ln.split("] ", 1)[1] if ln.startswith("[") and "] " in ln else ln for ln in out]
    if out and rng.random() < 0.4:
        i = rng.randrange(len(out))
        out[i] = f"{h.name} login: {out[i]}"
    if rng.random() < 0.2:
        out = [ln.ljust(80) if len(ln) < 80 else ln for ln in out]
    return out


def _write(
    rng: random.Random,
    h: Host,
    msgs: list[Msg],
    expect: Expect,
    *,
    forms: tuple[str, ...] = FORMS,
    detail: tuple[tuple[str, str], ...] = (),
) -> Written:
    """``msgs`` written in one of ``forms``, with other services' lines and a paste's damage."""
    form = rng.choice(forms)
    msgs = sorted(msgs, key=lambda m: m.t)
    shown = list(msgs)
    tags = [form]
    if form not in ("dmesg", "dmesg-T") and rng.random() < 0.6:
        first, last = msgs[0].t - rng.uniform(30, 900), msgs[-1].t + rng.uniform(5, 300)
        shown = sorted(msgs + services(rng, h, start=first, end=last, rate_s=rng.choice((5, 20, 60))),  # noqa: E501
                       key=lambda m: m.t)  # fmt: skip
        tags.append("interleaved")
    lines = render(shown, h, form, rng)
    if form == "serial-console":
        lines = _serial(lines, rng, h)
    elif form.startswith("journal-short") and rng.random() < 0.35:
        lines = chop(lines, rng)
        tags.append("cut-lines")
    if form not in ("journal-json", "journal-export"):
        if rng.random() < 0.08:
            lines = wrap(lines, rng)
            tags.append("wrapped")
        lines = decorate(lines, rng, allow="iqnp")
    data = text_of(lines, rng, crlf=0.03).encode()
    detail = (("kernel", h.kernel.release), *detail)
    return Written("linux", ((_NAMES[form], data),), tuple(tags), expect, detail)


def _oom_global(rng: random.Random) -> Written:
    h = sample_host(rng)
    h, grower = _big(rng, h, share=rng.uniform(0.7, 0.93))
    trigger = rng.choice((grower, grower, rng.choice(h.procs)))
    r = report(rng, h, _when(rng), tasks=h.procs, trigger=trigger)
    assert r.victim is not None
    expect = Expect(CrashType.OOM_KILL, _MEMORY, killer="kernel", victim=r.victim.name)
    return _write(rng, h, list(r.msgs), expect, detail=(("victim_pid", str(r.victim.pid)),))


def _memcg_path(rng: random.Random, h: Host, p: Proc) -> str:
    cid = f"{rng.getrandbits(256):064x}"
    if not h.kernel.at_least(4, 19):
        return rng.choice((f"/docker/{cid}", f"/system.slice/{p.unit}"))
    pod = f"{rng.getrandbits(32):08x}-{rng.getrandbits(16):04x}-{rng.getrandbits(16):04x}-{rng.getrandbits(16):04x}-{rng.getrandbits(48):012x}"  # noqa: E501
    return rng.choice((f"/kubepods/burstable/pod{pod}/{cid}", f"/system.slice/docker-{cid}.scope",
                       f"/system.slice/{p.unit}"))  # fmt: skip


def _oom_cgroup(rng: random.Random) -> Written:
    h = sample_host(rng)
    p = workload(rng, h)
    limit = rng.choice((65536, 131072, 262144, 524288, 1048576))  # 256 MiB to 4 GiB in pages
    p = replace(p, rss=limit - rng.randint(200, 3000), total_vm=int(limit * rng.uniform(1.1, 2)))
    helper = Proc(p.pid + rng.randint(1, 40), p.uid, rng.choice(("sh", "bash", "tini")),
                  rng.randint(50, 400), rng.randint(1000, 3000), unit=p.unit)  # fmt: skip
    immune = rng.random() < 0.25  # every task OOM-immune: nothing to kill (systemd#40208)
    if immune:
        p, helper = replace(p, adj=-1000), replace(helper, adj=-1000)
    tasks = tuple(sorted((p, helper), key=lambda x: x.pid))
    path = _memcg_path(rng, h, p)
    r = report(rng, h, _when(rng), tasks=tasks, trigger=p, memcg=path, limit_pages=limit)
    if r.victim is None:  # the group at its limit, its tasks waiting: a memory cgroup OOM
        expect = Expect(CrashType.CGROUP_OOM, _MEMORY, killer="kernel")
    else:
        expect = Expect(CrashType.OOM_KILL, _MEMORY, killer="kernel", victim=r.victim.name)
    return _write(rng, h, list(r.msgs), expect, detail=(("memcg", path), ("immune", str(immune))))


def _oom_series(rng: random.Random, *, bystander: bool) -> Written:
    """Several OOM reports in one log; the grower grows from one to the next. A bystander
    series protects the grower (``OOMScoreAdjust=-900``) or kills the allocating task, so
    others die; otherwise the grower itself is killed, restarted and killed again."""
    h = sample_host(rng, gens=GENS[2:])
    h, grower = _big(rng, h, share=rng.uniform(0.35, 0.5))
    allocating = bystander and rng.random() < 0.4
    if bystander and not allocating:
        # protected well below any bystander (OOMScoreAdjust=-950 and less, nothing swapped)
        grower = replace(grower, adj=rng.choice((-1000, -999, -950)), swapents=0)
        h = replace(h, procs=tuple(grower if p.pid == grower.pid else p for p in h.procs))
    count = rng.randint(2, 4)
    msgs: list[Msg] = []
    t = _when(rng)
    victims: list[Proc] = []
    for i in range(count):
        share = 0.5 + 0.42 * (i + 1) / count
        grower = replace(grower, rss=int(h.ram_pages * share))
        others = tuple(p for p in h.procs if p.pid != grower.pid)
        if bystander:
            # ordinary tasks, some sized to outrank a protected grower
            extra = workload(rng, replace(h, procs=others + (grower,)), exclude=(grower.name,))
            extra = replace(
                extra,
                rss=int(h.ram_pages * rng.uniform(0.03, 0.09)),
                adj=rng.choice((0, 0, 200, 500)),
            )
            others = (*others, extra)
        tasks = tuple(sorted((*others, grower), key=lambda p: p.pid))
        trigger = rng.choice([p for p in others if p.rss > 100]) if allocating else grower
        r = report(rng, h, t, tasks=tasks, trigger=trigger, allocating=allocating)
        assert r.victim is not None
        victims.append(r.victim)
        msgs += r.msgs
        h = replace(h, procs=tuple(p for p in tasks if p.pid != r.victim.pid))
        if r.victim.pid == grower.pid:  # restarted by its service manager
            grower = replace(grower, pid=grower.pid + rng.randint(100, 4000))
            msgs.append(
                Msg(
                    t + rng.uniform(1, 5),
                    f"{grower.unit}: Main process exited, code=killed, status=9/KILL",
                    "systemd",
                    1,
                )
            )
        h = replace(
            h, procs=(*h.procs, grower) if grower.pid not in {p.pid for p in h.procs} else h.procs
        )
        t += rng.uniform(600, 6 * 3600)
    last = victims[-1]
    assert (last.name == grower.name) is not bystander, (last, grower)
    expect = Expect(CrashType.OOM_KILL, _MEMORY, killer="kernel", victim=last.name,
                    victim_was_grower=last.name == grower.name, root_cause_process=grower.name,
                    incidents=count)  # fmt: skip
    detail = (("grower", grower.name), ("victims", ",".join(v.name for v in victims)))
    return _write(rng, h, msgs, expect, forms=FORMS[:8], detail=detail)


def _hung(rng: random.Random, *, reclaim: bool) -> Written:
    h = sample_host(rng)
    t = _when(rng)
    msgs: list[Msg] = []
    incidents = None
    if reclaim:
        if rng.random() < 0.4:  # the OOM killer was busy just before
            h, grower = _big(rng, h, share=rng.uniform(0.8, 0.95))
            msgs += report(rng, h, t - rng.uniform(20, 200), tasks=h.procs, trigger=grower).msgs
            incidents = 2
        e = hang.hung_task(rng, h, t, wait="reclaim")
    else:
        e = hang.hung_task(rng, h, t, wait=rng.choice(("storage", "storage", "nfs", "iscsi")))
    msgs += e.msgs
    return _write(rng, h, msgs, replace(e.expect, incidents=incidents))


def _lockup(rng: random.Random, kind: str) -> Written:
    h = sample_host(rng)
    t = _when(rng)
    if kind == "soft":
        e = hang.soft_lockup(rng, h, t, where=rng.choice(("kswapd", "kswapd", "spin", "driver")))
    elif kind == "hard":
        e = hang.hard_lockup(rng, h, t)
    else:
        e = hang.rcu_stall(rng, h, t)
    return _write(rng, h, list(e.msgs), e.expect)


def _panic(rng: random.Random) -> Written:
    h = sample_host(rng)
    t = _when(rng)
    kind = rng.choice(("no_killable", "no_killable", "panic_on_oom", "hung", "soft", "hard"))
    if kind in ("no_killable", "panic_on_oom"):
        protected = (
            tuple(replace(p, adj=-1000) for p in h.procs) if kind == "no_killable" else h.procs
        )
        h = replace(h, procs=protected)
        trigger = rng.choice(h.procs)
        r = report(rng, h, t, tasks=h.procs, trigger=trigger, panic_on_oom=kind == "panic_on_oom")
        msgs, expect = list(r.msgs), Expect(CrashType.KERNEL_PANIC, _MEMORY)
    elif kind == "hung":
        e = hang.hung_task(rng, h, t, wait=rng.choice(("storage", "reclaim")), panic=True)
        msgs, expect = list(e.msgs), e.expect
    elif kind == "soft":
        e = hang.soft_lockup(rng, h, t, where=rng.choice(("kswapd", "spin")), panic=True)
        msgs, expect = list(e.msgs), e.expect
    else:
        e = hang.hard_lockup(rng, h, t, panic=True)
        msgs, expect = list(e.msgs), e.expect
    forms = ("serial-console", "serial-console", "dmesg", "journal-short", "syslog-kernlog")
    return _write(rng, h, msgs, expect, forms=forms, detail=(("panic", kind),))


def _earlyoom(rng: random.Random) -> Written:
    h = sample_host(rng, gens=GENS[5:])
    h, grower = _big(rng, h, share=rng.uniform(0.6, 0.9))
    journal = rng.random() < 0.5
    lines, expect = killers.earlyoom(rng, grower.name, grower.pid, journal=journal,
                                     start=int(h.boot + _when(rng)))  # fmt: skip
    form = "journal-short" if journal else "earlyoom-stdout"
    data = text_of(decorate(lines, rng, allow="iqn"), rng, crlf=0.03).encode()
    name = "journal.txt" if journal else "earlyoom.log"
    return Written("linux", ((name, data),), (form,), expect)


def _oomd(rng: random.Random) -> Written:
    h = sample_host(rng, gens=GENS[-5:])
    lines, expect = killers.oomd(rng, host=h.name, start=int(h.boot + _when(rng)))
    tags = ["journal-short"]
    if rng.random() < 0.3:
        lines = chop(lines, rng)
        tags.append("cut-lines")
    data = text_of(decorate(lines, rng, allow="iq"), rng, crlf=0.03).encode()
    return Written("linux", (("journal.txt", data),), tuple(tags), expect)


def _nohang(rng: random.Random) -> Written:
    h = sample_host(rng, gens=GENS[5:])
    h, grower = _big(rng, h, share=rng.uniform(0.6, 0.9))
    lines, expect = killers.nohang(rng, grower.name, grower.pid, start=int(h.boot + _when(rng)))
    form = "nohang-logfile" if lines[0][:2].isdigit() else "nohang-stdout"
    data = text_of(decorate(lines, rng, allow="iq"), rng, crlf=0.03).encode()
    return Written("linux", (("nohang.log", data),), (form,), expect)


def _kubernetes(rng: random.Random) -> Written:
    h = sample_host(rng, gens=GENS[7:])
    name, lines, expect = killers.kubectl(rng, start=int(h.boot + _when(rng)))
    data = text_of(decorate(lines, rng, allow="iq"), rng, crlf=0.03).encode()
    return Written("linux", ((name, data),), ("kubectl",), expect)


def _no_crash(rng: random.Random) -> Written:
    h = sample_host(rng)
    k = h.kernel
    texts = [f"Linux version {k.release} (builder@buildhost) #1 SMP",
             f"Memory: {h.ram_mb * 1000}K/{h.ram_mb * 1024}K available ({rng.randint(9000, 20000)}K kernel code)",  # noqa: E501
             "rcu: Hierarchical RCU implementation." if k.at_least(5, 0) else "Hierarchical RCU implementation.",  # noqa: E501
             "Freeing unused kernel image (initmem) memory: 2788K",
             f"Adding {h.swap_mb * 1024}k swap on /dev/mapper/swap.  Priority:-2 extents:1 across:{h.swap_mb * 1024}k SSFS",  # noqa: E501
             "EXT4-fs (sda1): mounted filesystem with ordered data mode. Opts: (null)",
             "e1000e 0000:00:1f.6 eth0: NIC Link is Up 1000 Mbps Full Duplex, Flow Control: None"]  # fmt: skip # noqa: E501
    msgs = [Msg(0.5 + i * rng.uniform(0.01, 3), t) for i, t in enumerate(texts)]
    msgs.append(
        Msg(rng.uniform(5, 30), "Started Userspace Out-Of-Memory (OOM) Killer.", "systemd", 1)
    )
    expect = Expect(CrashType.NONE, CrashClass.NONE)
    return _write(rng, h, msgs, expect)


LINUX_TABLE: tuple[tuple[str, str, Builder], ...] = (
    ("linux-oom-global", "the kernel's OOM killer on the whole host, kernels 2.6.32 to 6.12, in "
     "every log form (dmesg, journalctl outputs, syslog, console)", _oom_global),
    ("linux-oom-cgroup", "a memory cgroup's OOM (docker, kubepods, a systemd service) at its "
     "limit", _oom_cgroup),
    ("linux-oom-bystander", "several OOM kills in one log: the grower is protected or the "
     "allocating task is killed, so bystanders die", lambda rng: _oom_series(rng, bystander=True)),
    ("linux-oom-repeat", "several OOM kills in one log of the same grower, restarted each time",
     lambda rng: _oom_series(rng, bystander=False)),
    ("linux-hung-storage", "a hung task waiting on a journal commit, NFS or iSCSI: not memory",
     lambda rng: _hung(rng, reclaim=False)),
    ("linux-hung-reclaim", "a hung task in direct reclaim, sometimes right after an OOM kill: "
     "memory", lambda rng: _hung(rng, reclaim=True)),
    ("linux-soft-lockup", "a soft lockup in kswapd (memory), a core spinlock or a driver's poll "
     "loop", lambda rng: _lockup(rng, "soft")),
    ("linux-hard-lockup", "an NMI watchdog hard lockup", lambda rng: _lockup(rng, "hard")),
    ("linux-rcu-stall", "an RCU CPU stall, some with the kthread starvation lines that predict "
     "an OOM", lambda rng: _lockup(rng, "rcu")),
    ("linux-panic", "a kernel panic: no killable processes, panic_on_oom, hung_task, softlockup "
     "or hard lockup panic", _panic),
    ("linux-earlyoom", "earlyoom's kill, in four eras' wording, its output or the journal",
     _earlyoom),
    ("linux-systemd-oomd", "systemd-oomd kills a scope or service on memory pressure or swap",
     _oomd),
    ("linux-nohang", "nohang's corrective action, its output or its log file", _nohang),
    ("linux-kubernetes", "a container OOMKilled (kubectl describe pod, get pods, -o yaml) or a "
     "node's SystemOOM events", _kubernetes),
    ("linux-sosreport", "a sosreport (.tar.xz or .tar.gz) after an OOM kill, a hang or a panic, "
     "with sar memory history", sosreport),
    ("linux-supportconfig", "a SUSE supportconfig (.txz) after an OOM kill, a hang or a panic, "
     "with sar memory history", supportconfig),
    ("linux-no-crash", "a boot log full of memory and OOM words, and no incident", _no_crash),
)  # fmt: skip

LINUX_SCENARIOS: dict[str, str] = {name: text for name, text, _ in LINUX_TABLE}
LINUX_BUILDERS: dict[str, Builder] = {name: build for name, _, build in LINUX_TABLE}
