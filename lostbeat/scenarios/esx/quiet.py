"""ESX and ESXi evidence with no purple screen in it: vmkernel logs with link flaps, SCSI
aborts, path failures or a NIC transmit watchdog; a management agent (hostd, vpxa) that
crashed and dumped a user-world core, or stalled on a full ramdisk; a host rebooted or shut
down by its user, as ``vmksummary.log`` (ESXi 5 and 7/8 forms) or the ESX 4 syslog shows it.

Every one of them is ``crash.type`` ``none`` and ``crash.class`` ``none``; a user's reboot or
shutdown adds ``crash.reboot`` ``user``. Message wordings follow the public lines'
shapes (docs/reference/esxi-bundles.md); numbers, devices and times are drawn.

Examples:
    >>> import random
    >>> w = user_reboot(random.Random(3))
    >>> w.expect.to_doc()["crash.reboot"], w.expect.crash_type.value
    ('user', 'none')
"""

from __future__ import annotations

import datetime as dt
import random

from lostbeat.analyzer.result import CrashClass, CrashType
from lostbeat.scenarios.esx.cos import volume
from lostbeat.scenarios.esx.panic import world_id
from lostbeat.scenarios.esx.releases import Release, releases
from lostbeat.scenarios.esx.render import prefix
from lostbeat.scenarios.expect import Expect
from lostbeat.scenarios.loose import Written
from lostbeat.scenarios.paste import decorate, text_of

__all__ = [
    "agent_crash",
    "healthy",
    "line_number",
    "no_crash_log",
    "summary_lines",
    "user_reboot",
]


def _naa(rng: random.Random) -> str:
    return f"naa.6{rng.getrandbits(124):031x}"


def line_number(r: Release, key: str, low: int, high: int) -> int:
    """The source line a message carries: fixed for one build, different across builds."""
    return random.Random(f"{r.number}:{key}").randint(low, high)


def healthy(rng: random.Random, r: Release) -> str:
    """One ordinary vmkernel log text of release ``r``."""
    path = f"vmhba{rng.randint(1, 4)}:C0:T{rng.randint(0, 7)}:L{rng.randint(0, 30)}"

    def n(key: str) -> int:
        return line_number(r, key, 900, 6500)

    if not r.iso_logs:
        return rng.choice((
            f"SCSI: {n('scsi')}: vmhba1:0:{rng.randint(0, 9)}:0 status = 2/0 0x6 0x29 0x0",
            f"FS3: {n('fs3')}: Reclaimed heartbeat for volume {volume(rng)}: [Timeout]",
            f"VMNIX: VmkDev: {n('vmkdev')}: dev=vmnic{rng.randint(0, 3)} linkup=1",
            f"World: vm {rng.randint(4100, 9000)}: {n('world')}: Starting world vmm0:vm{rng.randint(1, 60):02} with flags 8",  # noqa: E501
            f"Alloc: vm {rng.randint(4100, 9000)}: {n('alloc')}: Regular swap file bitmap checks out.",  # noqa: E501
        ))  # fmt: skip
    return rng.choice((
        f"ScsiDeviceIO: {n('sdio')}: Cmd(0x{rng.getrandbits(48):x}) 0x1a, CmdSN 0x{rng.getrandbits(12):x} from world 0 to dev \"mpx.vmhba32:C0:T0:L0\" failed H:0x0 D:0x2 P:0x0 Valid sense data: 0x5 0x24 0x0.",  # noqa: E501
        f"NMP: nmp_ResetDeviceLogThrottling:{n('nmp')}: last error status from device {_naa(rng)} repeated {rng.randint(2, 40)} times",  # noqa: E501
        f"Net: {n('net')}: connected vmk{rng.randint(0, 3)} eth0 to vMotion, portID 0x{rng.getrandbits(26):x}",  # noqa: E501
        f"DVFilter: {n('dvf')}: Checking disconnected filters for timeouts",
        f"HBX: {n('hbx')}: 'datastore{rng.randint(1, 9)}': HB at offset {rng.randint(3, 9) * 1048576} - Waiting for timed out HB:",  # noqa: E501
        f"CBT: {n('cbt')}: Created device {rng.getrandbits(20):x}-cbt for cbt driver with filehandle {rng.randint(10**6, 10**8)}",  # noqa: E501
        f"Uplink: {n('uplink')}: Setting speed/duplex to (10000 FULL) on vmnic{rng.randint(0, 5)}.",
        f"Vol3: {n('vol3')}: Couldn't read volume header from {path}: Not supported",
    ))  # fmt: skip


def _trouble(rng: random.Random, r: Release, kind: str) -> list[str]:
    nic = f"vmnic{rng.randint(0, 7)}"
    if kind == "nic_watchdog":
        tree = "src26/vmklinux26" if r.major == 4 else "src_92/vmklinux_92"
        return [f"WARNING: LinNet: netdev_watchdog: NETDEV WATCHDOG: {nic}: transmit timed out",
                f"BUG: warning at vmkdrivers/{tree}/vmware/linux_net.c:{rng.randint(2800, 4200)}/"
                "netdev_watchdog() (inside vmklinux)"]  # fmt: skip
    if kind == "link_flap":
        drv = rng.choice(("igbn", "ixgben", "ntg3", "bnxtnet", "i40en"))
        return [f"{drv}: {drv}_LinkStatusChange:{rng.randint(300, 1900)}: {nic}: link is down",
                f"NetPort: {rng.randint(1500, 2000)}: uplink {nic} is down; failing over",
                f"{drv}: {drv}_LinkStatusChange:{rng.randint(300, 1900)}: {nic}: link is up, "
                f"{rng.choice((1000, 10000, 25000))} Mbps full duplex"]  # fmt: skip
    if kind == "scsi_abort":
        hba = f"vmhba{rng.randint(1, 3)}:0:{rng.randint(0, 12)}:0"
        return [f"SCSI: {rng.randint(3000, 3300)}: {hba} Abort cmd due to timeout, "
                f"s/n={rng.randint(10000, 999999)}, attempt {rng.randint(1, 3)}",
                f"LinSCSI: {rng.randint(3000, 4000)}: Abort {rng.randint(0, 9)}:{rng.randint(0, 9)} "  # noqa: E501
                "succeeded for command on the device"]  # fmt: skip
    path = f"vmhba{rng.randint(1, 4)}:C0:T{rng.randint(0, 7)}:L{rng.randint(0, 30)}"
    return [f"NMP: nmp_ThrottleLogForDevice:{rng.randint(3000, 4000)}: Cmd 0x28 "
            f"(0x{rng.getrandbits(48):x}) to dev \"{_naa(rng)}\" on path \"{path}\" Failed: "
            "H:0x8 D:0x0 P:0x0 Possible sense data: 0x0 0x0 0x0. Act:EVAL"]  # fmt: skip


def _epoch(rng: random.Random, r: Release) -> int:
    day = r.released + dt.timedelta(days=rng.randint(20, 900))
    return int(dt.datetime.combine(day, dt.time(0), dt.UTC).timestamp()) + rng.randrange(86400)


def no_crash_log(rng: random.Random) -> Written:
    """A vmkernel log of a host that is up: warnings, no panic."""
    r = rng.choice(releases())
    kind = rng.choice(("nic_watchdog", "link_flap", "scsi_abort", "path_failure"))
    if kind == "nic_watchdog":
        r = rng.choice(tuple(x for x in releases("4.0", "4.1", "5.0", "5.1", "5.5")))
    host = f"esx{rng.randint(1, 40):02}"
    end = _epoch(rng, r)
    at = float(end - rng.randint(600, 7200))
    uptime = rng.uniform(3600, 300 * 86400)
    lines: list[str] = []
    burst_at = rng.uniform(at, end)
    burst = False
    while at < end:
        at += rng.expovariate(1 / 40.0) + 0.01
        texts = [healthy(rng, r)]
        if not burst and at > burst_at:
            burst = True
            texts = _trouble(rng, r, kind) * rng.randint(1, 4)
        for text in texts:
            at += rng.uniform(0.001, 1.5)
            cpu, world = rng.randrange(16), world_id(rng, r)
            lines.append(prefix(r, at, uptime + at - end, cpu, world, host=host) + text)
    name = "vmkernel.log" if r.iso_logs else "vmkernel"
    forms = ["vmkernel_log_no_crash"] + (["nic_watchdog"] if kind == "nic_watchdog" else [])
    expect = Expect(CrashType.NONE, CrashClass.NONE, known_issues=())
    data = text_of(decorate(lines, rng, allow="iq"), rng, crlf=0.05).encode()
    return Written("esxi" if r.esxi else "esx_classic", ((name, data),), tuple(forms), expect,
                   (("trouble", kind),))  # fmt: skip


def _agent_log(rng: random.Random, r: Release, at: float, agent: str) -> list[str]:
    """The agent's own log at its end: a panic and its backtrace, then the restart banner."""
    tid = f"{rng.getrandbits(32):08X}"
    pid = rng.randint(2099000, 2110000)
    out = []

    def stamp(level: str, sub: str) -> str:
        when = dt.datetime.fromtimestamp(at, dt.UTC)
        iso = f"{when:%Y-%m-%dT%H:%M:%S}.{rng.randint(0, 999):03}Z"
        if r.major >= 7:
            return f"{iso} {level} {agent}[{pid}] [Originator@6876 sub={sub}]"
        return f"{iso} [{tid} {level} '{sub}']"

    out.append(f"{stamp('warning', 'Default')} Unable to allocate memory for the request")
    out.append(f"{stamp('panic', 'Default')} Panic: Memory exceeds hard limit. Panic")
    out.append(f"{stamp('panic', 'Default')} Backtrace:")
    out.append(f"--> [backtrace begin] product: VMware ESX, version: {r.version}, build: "
               f"build-{r.number}, tag: {agent}, cpu: x86, os: esx, buildType: release")  # fmt: skip # noqa: E501
    for i in range(rng.randint(4, 9)):
        lib = rng.choice(("libvmacore.so", "libc.so.6", f"{agent}", "libvim-types.so"))
        out.append(f"--> backtrace[{i:02}] {lib}[0x{rng.getrandbits(28):08x}]")
    out.append("--> [backtrace end]")
    return out


def agent_crash(rng: random.Random) -> Written:
    """hostd or vpxa dumped a user-world core (or hostd stalled on a full ramdisk): the host
    stayed up."""
    r = rng.choice(releases("4.1", "5.0", "5.1", "5.5", "6.0", "6.5", "6.7", "7.0", "8.0"))
    agent = rng.choice(("hostd", "hostd", "vpxa"))
    worker = f"{agent}-worker"
    end = _epoch(rng, r)
    host = f"esx{rng.randint(1, 40):02}"
    uptime = rng.uniform(86400, 200 * 86400)
    ramdisk = agent == "hostd" and r.major >= 5 and rng.random() < 0.4
    cartel, world = rng.randint(30000, 2100000), rng.randint(30000, 2100000)
    if r.native_drivers:  # the 6.5+ wording (KB 367598, KB 433552)
        vmk = [f"User: {rng.randint(3000, 3200)}: {worker}: wantCoreDump:{worker} signal:6 "
               "exitCode:0 coredump:enabled",
               f"UserDump: {rng.randint(3000, 3200)}: {worker}: Dumping cartel {cartel} (from "
               f"world {world}) to file /var/core/{worker}-zdump.00{rng.randint(0, 3)} ...",
               f"UserDump: {rng.randint(3100, 3300)}: {worker}: Userworld({worker}) coredump complete."]  # fmt: skip # noqa: E501
    else:
        vmk = [f"User: {rng.randint(2400, 2900)}: wantCoreDump : {worker} -enabled : 1",
               f"UserDump: {rng.randint(1400, 1900)}: Dumping cartel {cartel} (from world "
               f"{world}) to file /var/core/{worker}-zdump.000 ...",
               f"UserDump: {rng.randint(1500, 2000)}: Userworld coredump complete."]  # fmt: skip
    rows: list[tuple[float, str]] = []
    at = float(end - rng.randint(300, 3600))
    while at < end + 600:
        at += rng.expovariate(1 / 60.0)
        other = world_id(rng, r)
        rows.append((at, prefix(r, at, uptime + at - end, rng.randrange(16), other, host=host)
                     + healthy(rng, r)))  # fmt: skip
    for i, text in enumerate(vmk):
        t = end + i * rng.uniform(0.1, 30)
        rows.append((t, prefix(r, t, uptime + t - end, rng.randrange(16), world, host=host) + text))
    lines = [text for _, text in sorted(rows)]
    files = [("vmkernel.log" if r.iso_logs else "messages",
              text_of(decorate(lines, rng, allow="iq"), rng, crlf=0).encode())]  # fmt: skip
    forms = ["agent_crash", "vmkernel_log_no_crash"]
    agent_lines = _agent_log(rng, r, end - 1.0, agent)
    if ramdisk:
        forms.append("ramdisk_full")
        when = dt.datetime.fromtimestamp(end - 60, dt.UTC)
        ticket = (
            f"vmtck-{rng.getrandbits(32):08x}-{rng.getrandbits(16):04x}-{rng.getrandbits(8):02x}"
        )
        agent_lines.insert(
            0,
            f"{when:%Y-%m-%dT%H:%M:%S}.{rng.randint(0, 999):03}Z [{rng.getrandbits(32):08X} info 'ha-eventmgr'] Event {rng.randint(900, 20000)} : The file table of the ramdisk 'root' is full.  As a result, the file /var/run/vmware/tickets/{ticket} could not be created by the application '{worker}'.",  # noqa: E501
        )
    files.append(
        (f"{agent}.log", text_of(decorate(agent_lines, rng, allow="i"), rng, crlf=0).encode())
    )
    if rng.random() < 0.5:
        files.append(("vmware_-vl.txt", f"{r.vmware_v()}\n{r.vmware_l()}\n".encode()))
    text = "\n".join(d.decode() for _, d in files)
    build = r.number if f"build-{r.number}" in text else None
    # KB 2040707's full ramdisk is ESXi 5.1's before Update 1: where no build is shown, the
    # release cannot rule it out
    known = (
        ("2040707",)
        if ramdisk and (build is None or r.family == "5.1" and r.number < 1065491)
        else ()
    )
    expect = Expect(CrashType.NONE, CrashClass.NONE, build=build,
                    release=r.release if build else None, known_issues=known)  # fmt: skip
    return Written("esxi" if r.esxi else "esx_classic", tuple(files), tuple(forms), expect,
                   (("agent", agent),))  # fmt: skip


def summary_lines(rng: random.Random, r: Release, *, start: int, end: int) -> list[str]:
    """``vmksummary.log`` heartbeats of an ESXi host, hourly from ``start`` to ``end``."""
    out = []
    pid = rng.randint(100000, 9000000)
    hour = start - start % 3600 + 3600
    vms = rng.randint(0, 60)
    while hour < end:
        up = hour - start
        when = dt.datetime.fromtimestamp(hour, dt.UTC)
        ms = f".{rng.randint(0, 999):03}" if r.major >= 7 else ""
        tag = f"heartbeat[{pid}]" if r.major >= 7 else "heartbeat"
        top = " ".join(f"[{rng.randint(2000, 2200000)} {name} {rng.randint(4000, 900000)}kB]"
                       for name in rng.sample(("hostd-worker", "vpxa-worker", "vmx", "sfcb-pycim",
                                               "rhttpproxy", "vmsyslogd"), 3))  # fmt: skip
        out.append(f"{when:%Y-%m-%dT%H:%M:%S}{ms}Z {tag}: up {up // 86400}d{up % 86400 // 3600}h"
                   f"{up % 3600 // 60}m{up % 60}s, {vms} VMs; [{top}] []")  # fmt: skip
        hour += 3600
    return out


def user_reboot(rng: random.Random) -> Written:
    """A reboot or shutdown its user asked for, in ESXi 5's or 7/8's ``vmksummary.log``."""
    r = rng.choice(releases("5.0", "5.1", "5.5", "6.0", "6.5", "7.0", "8.0"))
    end = _epoch(rng, r)
    lines = summary_lines(rng, r, start=end - rng.randint(2, 40) * 86400, end=end)
    lines = lines[-rng.randint(2, 30) :]
    action = rng.choice(("rebooting", "rebooting", "halting", "powering off"))
    pid = f"[{rng.randint(10000, 999999)}]" if r.major >= 7 else ""
    ms = f".{rng.randint(0, 999):03}" if r.major >= 7 else ""
    stop = dt.datetime.fromtimestamp(end, dt.UTC)
    back = dt.datetime.fromtimestamp(end + rng.randint(120, 3 * 86400), dt.UTC)
    lines.append(f"{stop:%Y-%m-%dT%H:%M:%S}{ms}Z bootstop{pid}: Host is {action}")
    booted = (
        "Host has booted" if r.major >= 7 and rng.random() < 0.5 else "bootstop: Host has booted"
    )
    lines.append(f"{back:%Y-%m-%dT%H:%M:%S}{ms}Z {booted}")
    if r.major == 6 and rng.random() < 0.5:
        lines.insert(-1, f"{back:%Y-%m-%dT%H:%M:%S}Z mark: storage-path-claim-completed")
    data = text_of(decorate(lines, rng, allow="ibq"), rng, crlf=0.05).encode()
    expect = Expect(CrashType.NONE, CrashClass.NONE, reboot="user", known_issues=())
    return Written("esxi", (("vmksummary.log", data),),
                   ("vmksummary_user_reboot", "vmksummary_heartbeat"), expect,
                   (("action", action),))  # fmt: skip
