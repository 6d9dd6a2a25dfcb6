"""Every file of one incident's bundle, and the loose ``psod.txt``, from its spec and timeline.

Layout (esx-artifacts.md §3, §5): ``var/log/vmksummary*``, ``var/log/messages``,
``var/log/vmkernel``, ``var/log/vmkwarning``, ``var/log/vmware/hostd.log``, ``proc/meminfo``,
``proc/vmware/version``, ``etc/vmware/esx.conf``, ``etc/vmware-release``, ``etc/logrotate*``,
``tmp/{vmware,ps,pstree,top,rpm}.<pid>.txt``; after a crash ``root/vmkernel-zdump-MMDDYY.HH.MM.1``
(or ``var/core/`` when the move failed), usually ``root/vmkernel-log.1`` (its ``vmkdump -l``
extract), and the COS core ``root/old_cores/<basename>.<pid>.core.gz`` (or ``var/core/``) when
Misc.CosCorefile is valid.
"""

from __future__ import annotations

import gzip
import random
import re
from dataclasses import dataclass

from lostbeat.scenarios import noise, sysfiles
from lostbeat.scenarios.screens import Crash, crash_screen
from lostbeat.scenarios.simulate import Timeline
from lostbeat.scenarios.spec import End, Load, Spec
from lostbeat.scenarios.summary import LOGROTATE, local_time, rotate, summary_line

__all__ = ["Assembled", "assemble"]

_SCREEN_KIND = {
    End.LOST_HEARTBEAT: "lost_heartbeat",
    End.COS_OOPS: "cos_oops",
    End.COS_PANIC: "cos_panic",
}
_BYSTANDERS = ("vmware-hostd", "vpxa", "crond", "syslogd", "sshd", "kjournald", "snmpd")
_SPIKERS = ("vmware-vimdump", "esxcfg-info", "perl", "python", "esxupdate", "find")


@dataclass(frozen=True, slots=True)
class Assembled:
    top_dir: str
    archive_name: str
    files: dict[str, bytes]
    """Bundle-relative path -> content."""
    extras: dict[str, bytes]
    """Loose files beside the bundle."""
    collected: int


def _alerts(spec: Spec, tl: Timeline, rng: random.Random) -> tuple[tuple[int, str, int], ...]:
    """``(t, comm, pid)`` of each HB alert: whatever ran when the VMkernel looked (§2.2)."""
    before = {r.proc.name: r for r in tl.before}
    pool: list[tuple[str, int]] = [("vmnixhbd", before["vmnixhbd"].pid)] * 3
    pool += [("kswapd", before["kswapd"].pid)] * 2
    pool += [(n[: sysfiles.COMM_LEN], before[n].pid) for n in _BYSTANDERS if n in before]
    pool += [(g.proc[: sysfiles.COMM_LEN], before[g.proc].pid) for g in spec.growths] * 2
    if spec.load is Load.SPIKE:
        pool += [(rng.choice(_SPIKERS), rng.randint(4000, 32000))] * 2
    if spec.article:  # KB 308590's screen
        return ((29, "vmnixhbd", 20), (30, "VMap", 9173))
    first = rng.choice((1, rng.randint(2, 27), rng.randint(20, 28)))
    return tuple((t, *rng.choice(pool)) for t in range(first, 31))


_BOILERPLATE = re.compile(r"^(frame=|es=|eax=|ebp=|\*?\d+:\d+/|0x[0-9a-f]+:\[|<4>|Stack trace)")


def _psod_text(screen: list[str], rng: random.Random) -> bytes:
    """A support engineer's transcription: sometimes indented, wrapped, CRLF, or without the
    boilerplate (registers, worlds, backtrace) when typed from a photo."""
    lines = list(screen)
    if rng.random() < 0.3:
        lines = [ln for ln in lines if not _BOILERPLATE.match(ln)]
    if rng.random() < 0.25:
        wrapped: list[str] = []
        for ln in lines:
            while len(ln) > 78 and " " in ln[:78]:
                cut = ln.rindex(" ", 0, 78)
                wrapped.append(ln[:cut])
                ln = ln[cut + 1 :]
            wrapped.append(ln)
        lines = wrapped
    indent = "    " if rng.random() < 0.25 else ""
    newline = "\r\n" if rng.random() < 0.25 else "\n"
    return "".join(f"{indent}{ln}{newline}" for ln in lines).encode()


def _crash_files(
    spec: Spec, tl: Timeline, rng: random.Random, pid: int
) -> tuple[dict[str, bytes], dict[str, bytes]]:
    files: dict[str, bytes] = {}
    extras: dict[str, bytes] = {}
    assert tl.crash_at is not None
    host = spec.host
    core = host.core_file
    kind = spec.variant if spec.end is End.VMKERNEL else _SCREEN_KIND[spec.end]
    target = (core.value or "").removeprefix("/vmfs") if core.valid else None
    bystander = rng.choice(("crond", "sshd", "klogd"))
    oops = next(r for r in tl.before if r.proc.name == bystander)
    crash = Crash(
        kind=kind,
        build=host.build.number,
        family=host.build.family,
        at_uptime=tl.crash_at - tl.crash_vmk_load + rng.uniform(0, 0.999),
        pcpus=host.pcpus,
        alerts=_alerts(spec, tl, rng) if spec.end is End.LOST_HEARTBEAT else (),
        core_target=target,
        oops_process=(rng.choice(("esxcfg-rescan", oops.proc.name)), oops.pid),
    )
    shown = crash_screen(crash, rng, span_s=rng.uniform(1800, 7200), volume=host.datastore)
    restart = local_time(tl.restart, host.tz_min)
    zdump = f"vmkernel-zdump-{restart:%m%d%y.%H.%M}.1"
    zdir = "root" if rng.random() < 0.85 or spec.article else "var/core"
    files[f"{zdir}/{zdump}"] = b"\x00VMKDUMP\x01" + rng.randbytes(rng.randint(4096, 12288))
    where = rng.choice(("both", "both", "both", "log", "log", "psod", "psod"))
    if spec.article:
        where = "both"
    if where in ("both", "log"):
        files["root/vmkernel-log.1"] = "".join(f"{ln}\n" for ln in shown.log).encode()
    if where in ("both", "psod"):
        extras["psod.txt"] = _psod_text(shown.screen, rng)
    if core.valid and spec.end is not End.VMKERNEL and (rng.random() < 0.92 or spec.article):
        name = f"{(core.value or '').rsplit('/', 1)[-1]}.{pid}.core.gz"
        cdir = "root/old_cores" if rng.random() < 0.75 or spec.article else "var/core"
        body = gzip.compress(b"\x7fELF" + rng.randbytes(rng.randint(2048, 6144)), 6, mtime=0)
        files[f"{cdir}/{name}"] = body
    return files, extras


def _used_kb(tl: Timeline, spec: Spec) -> int:
    """Service Console memory in use at collection, after the reboot."""
    host = spec.host
    used = host.kernel_kb + sum(r.rss_kb for r in tl.running) + host.vm_cost_kb * tl.vms_now
    return min(int(host.mem_total_kb * 0.96), used)


def assemble(spec: Spec, tl: Timeline, rng: random.Random) -> Assembled:
    """All the bundle's files for ``spec`` played out as ``tl``."""
    host = spec.host
    pid = 123 if spec.article else rng.randint(2000, 32000)
    stamp = local_time(tl.collected, host.tz_min)
    date = f"{stamp:%Y-%m-%d--%H.%M}"
    name, tz, pad = host.name, host.tz_min, host.pad_day
    summary = [(ln.epoch, summary_line(ln, host=name, tz_min=tz, pad_day=pad)) for ln in tl.lines]
    files = rotate(summary, tz_min=tz, weekday=6)
    window = tl.collected - rng.randint(2, 5) * 86400
    files["var/log/messages"] = noise.messages(
        rng,
        summary,
        host=name,
        tz_min=tz,
        pad_day=pad,
        start=window,
        stop=tl.collected,
        quiet=(tl.quiet_from, tl.restart),
    ).encode()
    live, warn = noise.vmkernel_live(
        rng, host=name, tz_min=tz, pad_day=pad, vmk_load=tl.vmk_load, stop=tl.collected,
        volume=host.datastore, pcpu_warning=rng.random() < 0.15,
    )  # fmt: skip
    files["var/log/vmkernel"] = live.encode()
    files["var/log/cron"] = noise.cron_log(
        rng,
        host=name,
        tz_min=tz,
        pad_day=pad,
        start=window,
        stop=tl.collected,
        quiet=(tl.quiet_from, tl.restart),
    ).encode()
    files["etc/syslog.conf"] = noise.SYSLOG_CONF.encode()
    files[f"tmp/df.{pid}.txt"] = noise.df_output(rng, datastore=host.datastore).encode()
    files["var/log/vmkwarning"] = warn.encode()
    files["var/log/vmware/hostd.log"] = noise.hostd_log(
        rng, tz_min=host.tz_min, start=tl.vmk_load + 60, stop=tl.collected,
        datastore=host.datastore,
    ).encode()  # fmt: skip
    running = list(tl.running)
    used = _used_kb(tl, spec)
    version = host.build.version
    files["proc/meminfo"] = sysfiles.meminfo(
        host.mem_total_kb, host.swap_total_kb, used_kb=used, family=host.build.family
    ).encode()
    files["proc/uptime"] = f"{tl.collected - tl.cos_boot}.{rng.randint(10, 99)} 0.00\n".encode()
    files["proc/vmware/version"] = sysfiles.proc_version(host.build).encode()
    files["etc/vmware/esx.conf"] = sysfiles.esx_conf(host, rng).encode()
    files["etc/vmware-release"] = sysfiles.release_file(version).encode()
    files["etc/logrotate.conf"] = b"weekly\nrotate 4\ncreate\ninclude /etc/logrotate.d\n"
    files["etc/logrotate.d/vmksummary"] = LOGROTATE.encode()
    files[f"tmp/vmware.{pid}.txt"] = sysfiles.vmware_version(host.build.number, version).encode()
    files[f"tmp/ps.{pid}.txt"] = sysfiles.ps(
        running, mem_total_kb=host.mem_total_kb, tz_min=host.tz_min
    ).encode()
    files[f"tmp/pstree.{pid}.txt"] = sysfiles.pstree(running).encode()
    files[f"tmp/top.{pid}.txt"] = sysfiles.top(
        running, host=host, at=tl.collected, up_s=tl.collected - tl.cos_boot, used_kb=used, rng=rng
    ).encode()
    files[f"tmp/rpm.{pid}.txt"] = noise.rpm_list(
        rng, family=host.build.family, vendor=host.vendor,
        extra=tuple(p.package for p in host.procs if p.package),
    ).encode()  # fmt: skip
    files[f"tmp/vm-support.{pid}.log"] = (
        f"VMware ESX Support Script 1.30\nPreparing files: {date}\n"
        "NOTE: All cores archived from /root into /root/old_cores.\n"
    ).encode()
    extras: dict[str, bytes] = {}
    if tl.crash_at is not None:
        crash_files, extras = _crash_files(spec, tl, rng, pid)
        files.update(crash_files)
    return Assembled(
        top_dir=f"vm-support-{host.name}-{date}.{pid}",
        archive_name=f"esx-{date}.{pid}.tgz",
        files=files,
        extras=extras,
        collected=tl.collected,
    )
