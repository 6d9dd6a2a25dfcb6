"""ESXi 5.0-8.0 vm-support bundles (docs/reference/esxi-bundles.md): after a purple screen, or
of a host that did not crash.

Layout: one top folder ``esx-<host>-<YYYY-MM-DD>--<HH.MM>`` (``-<pid>`` after it from 6.5,
unverified) with ``etc/vmware/vm-support/`` (B1's marker), ``commands/vmware_-vl.txt``,
``commands/uname_-a.txt``, ``commands/localcli_software-vib-get.txt``,
``commands/esxcfg-info_-a.txt`` split into ``.FRAG-NNNNN`` pieces, the logs in ``var/log/``
(5.x-6.0) or ``var/run/log/`` (6.5 on; "derived" in the reference), rotated as
``vmkernel.N.gz``, sometimes the live ``vmkernel.log`` split in fragments too,
``vmksummary.log`` in the release's form, and after a crash ``var/core/vmkernel-zdump.1``,
whose readable part is the log that ends in the panic (B1 reads it as text) and, on 8.0
Update 3, ``var/run/log/LogEFI.log``.

Examples:
    >>> import random
    >>> w = esxi_bundle(random.Random(2), crashed=True)
    >>> w.files[0][0].startswith("esx-") and w.files[0][0].endswith(".tgz")
    True
    >>> w.expect.crash_type.value
    'vmkernel'
"""

from __future__ import annotations

import datetime as dt
import gzip
import random

from lostbeat.analyzer.result import CrashClass, CrashType
from lostbeat.scenarios.esx.forms import settle
from lostbeat.scenarios.esx.known import SIGNATURES, known_panic
from lostbeat.scenarios.esx.panic import Panic, draw, world_id
from lostbeat.scenarios.esx.parts import DRIVERS
from lostbeat.scenarios.esx.quiet import healthy, summary_lines
from lostbeat.scenarios.esx.releases import Release, releases
from lostbeat.scenarios.esx.render import logefi, prefix, vmkernel_log
from lostbeat.scenarios.expect import Expect
from lostbeat.scenarios.loose import Written, tar_bytes

__all__ = ["esxi_bundle", "fragments"]


def fragments(path: str, data: bytes, rng: random.Random) -> dict[str, bytes]:
    """``data`` cut at arbitrary bytes into ``path.FRAG-00000``, ``path.FRAG-00001``..."""
    cuts = sorted(rng.sample(range(1, len(data)), min(len(data) - 1, rng.randint(1, 3))))
    pieces = [data[a:b] for a, b in zip([0, *cuts], [*cuts, len(data)], strict=True)]
    return {f"{path}.FRAG-{i:05}": piece for i, piece in enumerate(pieces)}


def _log(rng: random.Random, r: Release, *, start: float, end: float, host: str) -> list[str]:
    out = []
    at = start
    while at < end:
        at += rng.expovariate(1 / 300.0) + 0.01
        cpu, world = rng.randrange(16), world_id(rng, r)
        out.append(prefix(r, at, at - start + 30, cpu, world, host=host) + healthy(rng, r))
    return out


def _text(lines: list[str]) -> bytes:
    return "".join(f"{ln}\n" for ln in lines).encode()


def _panic(rng: random.Random) -> Panic:
    if rng.random() < 0.25:
        kb = rng.choice([k for k, (builds, _) in SIGNATURES.items() if max(builds) > 400000])
        return known_panic(rng, kb)
    kind = rng.choice(("exception", "lockup", "another_cpu", "module", "driver", "driver", "mce",
                       "nmi", "assert", "heap"))  # fmt: skip
    r = rng.choice(releases("5.0", "5.1", "5.5", "6.0", "6.5", "6.7", "7.0", "8.0"))
    return draw(rng, kind, r)


def esxi_bundle(rng: random.Random, *, crashed: bool) -> Written:
    """A vm-support bundle of an ESXi 5-8 host, after a purple screen when ``crashed``."""
    p = _panic(rng) if crashed else None
    r = p.release if p else rng.choice(releases("5.0", "5.1", "5.5", "6.0", "6.5", "7.0", "8.0"))
    host = f"esxi-{rng.choice(('prod', 'lab', 'dmz', 'vdi'))}{rng.randint(1, 60):02}"
    day = r.released + dt.timedelta(days=rng.randint(30, 700))
    crash_at = int(dt.datetime.combine(day, dt.time(0), dt.UTC).timestamp()) + rng.randrange(86400)
    boot = crash_at - int(p.uptime_s if p else rng.uniform(3 * 86400, 90 * 86400))
    restart = crash_at + rng.randint(240, 4 * 3600)
    collected = restart + rng.randint(1800, 3 * 86400)
    logdir = "var/log" if r.major < 6 or r.family == "6.0" else "var/run/log"
    files: dict[str, bytes] = {}
    expect: Expect
    forms = ["vm_support_bundle"]
    summary = summary_lines(rng, r, start=boot, end=crash_at)[-rng.randint(24, 400) :]
    when = dt.datetime.fromtimestamp(restart, dt.UTC)
    ms = f".{rng.randint(0, 999):03}" if r.major >= 7 else ""
    if p is None:
        action = rng.choice(("rebooting", "halting"))
        pid = f"[{rng.randint(10000, 999999)}]" if r.major >= 7 else ""
        stop = dt.datetime.fromtimestamp(crash_at, dt.UTC)
        summary.append(f"{stop:%Y-%m-%dT%H:%M:%S}{ms}Z bootstop{pid}: Host is {action}")
        expect = Expect(CrashType.NONE, CrashClass.NONE, build=r.number, release=r.release,
                        reboot="user", known_issues=())  # fmt: skip
        forms.append("vmksummary_user_reboot")
    summary.append(f"{when:%Y-%m-%dT%H:%M:%S}{ms}Z bootstop: Host has booted")
    summary += summary_lines(rng, r, start=restart, end=collected)
    files[f"{logdir}/vmksummary.log"] = _text(summary)
    current = _log(rng, r, start=restart + 20, end=collected, host=host)
    before = _log(rng, r, start=max(boot, crash_at - 6 * 3600), end=crash_at - 60, host=host)
    if p is not None:
        panic_log = [ln.text for ln in vmkernel_log(p, rng, end=crash_at, host=host, noise=[])]
        zdump = b"\x00\x01VMKDUMP" + rng.randbytes(rng.randint(2048, 8192))
        zdump += _text(before[-40:] + panic_log) + b"Coredump to disk complete\x00"
        zdump += rng.randbytes(rng.randint(1024, 4096))
        files["var/core/vmkernel-zdump.1"] = zdump
        before += panic_log[: len(p.warnings)]
        warnings = [ln for ln in before if "WARNING" in ln or "ALERT" in ln]
        files[f"{logdir}/vmkwarning.log"] = _text(warnings)
        if r.syslog_header:
            files["var/run/log/LogEFI.log"] = _text(
                [ln.text for ln in logefi(p, rng, end=crash_at)]
            )
        forms += ["vmkernel_log_crash", "zdump_log"]
    rotated = gzip.compress(_text(before), 6, mtime=restart)
    files[f"{logdir}/vmkernel.{rng.randint(0, 2)}.gz"] = rotated
    live = _text(current)
    if rng.random() < 0.3:
        files.update(fragments(f"{logdir}/vmkernel.log", live, rng))
    else:
        files[f"{logdir}/vmkernel.log"] = live
    files[f"{logdir}/hostd.log"] = _text(
        [
            f"{dt.datetime.fromtimestamp(restart + 60 * i, dt.UTC):%Y-%m-%dT%H:%M:%S}.{rng.randint(0, 999):03}Z info hostd[{rng.randint(2099000, 2100000)}] [Originator@6876 sub=Vimsvc.TaskManager] Task Completed : haTask-ha-host-vim.HostSystem.retrieveInternalCapability-{rng.randint(100, 9999)}"  # noqa: E501
            for i in range(rng.randint(5, 40))
        ]
    )
    files["commands/vmware_-vl.txt"] = f"{r.vmware_v()}\n{r.vmware_l()}\n".encode()
    files["commands/uname_-a.txt"] = (f"VMkernel {host} {r.version} #1 SMP Release build-{r.number} "  # noqa: E501
                                      f"{r.released:%b %d %Y} 12:00:00 x86_64 x86_64 x86_64 ESXi\n").encode()  # fmt: skip # noqa: E501
    vibs = ["esx-base", "vsan", "esx-ui", "vmkusb", "ntg3", "nvme-pcie"]
    if p is not None and p.module in DRIVERS:
        vibs.append(p.module)
    files["commands/localcli_software-vib-get.txt"] = "".join(
        f"VMware_bootbank_{v}_{r.version}-0.0.{r.number}\n   Name: {v}\n   Version: "
        f"{r.version}-0.0.{r.number}\n   Vendor: VMware\n\n"
        for v in vibs
    ).encode()
    info = "".join(f"|----{k}.............................{rng.getrandbits(32)}\n"
                   for k in ("Host Name", "Boot Time", "Uptime", "Memory Size", "CPU Cores") * 60)  # fmt: skip # noqa: E501
    files.update(fragments("commands/esxcfg-info_-a.txt", info.encode(), rng))
    files["etc/vmware/vm-support/vm-support.conf"] = b"# vm-support manifest defaults\n"
    files["etc/vmware/esx.conf"] = (f'/adv/Misc/HostName = "{host}"\n'
                                    f'/resourceGroups/version = "{r.version}"\n').encode()  # fmt: skip # noqa: E501
    files["action.log"] = f"vm-support collected on {host} at {collected}\n".encode()
    if p is not None:
        text = "\n".join(
            d.decode(errors="replace") for path, d in files.items() if not path.endswith(".gz")
        )
        text += "\n" + gzip.decompress(rotated).decode()
        expect = settle(p, text)
    stamp = dt.datetime.fromtimestamp(collected, dt.UTC)
    top = f"esx-{host}-{stamp:%Y-%m-%d--%H.%M}"
    if r.native_drivers:
        top += f"-{rng.randint(2100000, 2200000)}"
    data = tar_bytes(top, files, mtime=collected)
    detail = (("kind", p.kind), ("build", str(r.number))) if p else (("build", str(r.number)),)
    return Written("esxi", ((f"{top}.tgz", data),), tuple(forms), expect, detail)
