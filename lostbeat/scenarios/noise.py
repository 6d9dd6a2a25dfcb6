"""Unrelated but realistic bundle content: COS syslog, the live VMkernel log since the reboot,
hostd's log, the package list and the small command outputs vm-support always collects
(esx-artifacts.md §3.2). They carry look-alikes on purpose: ``messages`` repeats the summary
lines (KB 1019238 quotes them from there), the VMkernel log has VMFS "heartbeat" lines, and
a few PCPU heartbeat warnings may appear (KB 430676: not the COS heartbeat).

Examples:
    >>> import random
    >>> text = rpm_list(random.Random(0), family="3.5", vendor="HP")
    >>> "hp-snmp-agents" in text and "VMware-esx" in text
    True
"""

from __future__ import annotations

import random

from lostbeat.scenarios.screens import uptime_text
from lostbeat.scenarios.summary import local_time, syslog_stamp

__all__ = ["hostd_log", "messages", "rpm_list", "vmkernel_live"]

_MESSAGES = (
    "crond[{pid}]: (root) CMD (run-parts /etc/cron.hourly)",
    "crond[{pid}]: (root) CMD (/usr/sbin/vmware-vimdump > /dev/null 2>&1)",
    "sshd[{pid}]: Accepted password for root from 10.{a}.{b}.{c} port {port} ssh2",
    "sshd(pam_unix)[{pid}]: session opened for user root by (uid=0)",
    "sshd(pam_unix)[{pid}]: session closed for user root",
    "ntpd[{pid}]: synchronized to 10.{a}.{b}.1, stratum 3",
    "ntpd[{pid}]: time reset +0.{port} s",
    "xinetd[{pid}]: START: vmware-authd pid={port} from=10.{a}.{b}.{c}",
    "xinetd[{pid}]: EXIT: vmware-authd status=0 pid={port} duration=1(sec)",
    "snmpd[{pid}]: Connection from UDP: [10.{a}.{b}.{c}]:{port}",
    "VMware[init]: + password validation started",
    "kernel: VMNIX: VmkDev: 2122: dev=vmnic0 linkup=1",
    "logger: vmware-watchdog: hostd is running",
)

_HOSTD = (
    "[{ts} 'App' {tid} info] Current working directory: /var/log/vmware",
    "[{ts} 'Vmsvc' {tid} info] Create VM: /vmfs/volumes/{ds}/vm{n:02}/vm{n:02}.vmx",
    "[{ts} 'ha-eventmgr' {tid} info] Event {n}: User root@127.0.0.1 logged in",
    "[{ts} 'TaskManager' {tid} info] Task Created : haTask-ha-host-vim.HostSystem.retrieveInternalCapability-{n}",  # noqa: E501
    "[{ts} 'TaskManager' {tid} info] Task Completed : haTask-ha-folder-vm-vim.Folder.createVm-{n}",
    "[{ts} 'Statssvc' {tid} info] Refreshing stats at interval 20",
    "[{ts} 'vm:/vmfs/volumes/{ds}/vm{n:02}/vm{n:02}.vmx' {tid} info] State Transition (VM_STATE_OFF -> VM_STATE_POWERING_ON)",  # noqa: E501
    "[{ts} 'Libs' {tid} warning] SSL Handshake on client connection failed: SSL Exception: The SSL handshake timed out local: 127.0.0.1:443 peer: 10.{a}.{b}.{c}:{port}",  # noqa: E501
    "[{ts} 'Proxysvc' {tid} verbose] Connection to localhost:8309 closed",
)


def _fill(rng: random.Random, template: str, **extra: object) -> str:
    return template.format(
        pid=rng.randint(1000, 30000),
        a=rng.randint(1, 250),
        b=rng.randint(0, 250),
        c=rng.randint(2, 250),
        port=rng.randint(1024, 65000),
        n=rng.randint(1, 99),
        **extra,
    )


def messages(
    rng: random.Random,
    summary: list[tuple[int, str]],
    *,
    host: str,
    tz_min: int,
    pad_day: bool,
    start: int,
    stop: int,
    quiet: tuple[int, int],
) -> str:
    """``var/log/messages``: syslog noise between ``start`` and ``stop`` (none in ``quiet``)
    with the summary lines of that window (epoch, text) mixed in."""
    rows = [(epoch, text) for epoch, text in summary if start <= epoch <= stop]
    t = start
    while t < stop:
        t += int(rng.expovariate(1 / 900.0)) + 1
        if quiet[0] <= t < quiet[1]:
            continue
        stamp = syslog_stamp(t, tz_min=tz_min, pad_day=pad_day)
        rows.append((t, f"{stamp} {host} {_fill(rng, rng.choice(_MESSAGES))}"))
    rows.sort(key=lambda r: r[0])
    return "".join(f"{text}\n" for _, text in rows)


def vmkernel_live(
    rng: random.Random,
    *,
    host: str,
    tz_min: int,
    pad_day: bool,
    vmk_load: int,
    stop: int,
    volume: str,
    pcpu_warning: bool,
) -> tuple[str, str]:
    """``var/log/vmkernel`` and ``var/log/vmkwarning`` since the VMkernel loaded."""
    log, warn = [], []
    t = vmk_load + rng.uniform(2, 10)
    boot = [
        "Init: 1054: Initializing VMkernel",
        "Mod: 936: Starting load for module: vmklinux",
        "Mod: 1212: Initialization for vmklinux succeeded",
        "VMNIX: VmkDev: 2122: dev=vmnic0 linkup=1",
        "LVM: 5579: Device vmhba1:0:0:3 detected to be a snapshot",
    ]
    steady = (
        f"FS3: 4828: Reclaimed heartbeat for volume {volume}: [Timeout]",
        "Vmxnet: 3183: vmnic0: link up",
        f"SCSI: 8043: vmhba1:0:{rng.randint(0, 9)}:0 status = 2/0 0x6 0x29 0x0",
        f"World: vm {rng.randint(1100, 1300)}: 900: Starting world vmm0:vm01 with flags 8",
        "Alloc: vm 1133: 12133: Regular swap file bitmap checks out.",
    )
    while t < stop:
        cpu = rng.randrange(4)
        text = boot.pop(0) if boot else rng.choice(steady)
        prefix = f"{syslog_stamp(t, tz_min=tz_min, pad_day=pad_day)} {host} vmkernel:"
        line = f"{prefix} {uptime_text(t - vmk_load)} cpu{cpu}:{rng.randint(1024, 1300)}){text}"
        log.append(line)
        if pcpu_warning and rng.random() < 0.02:
            w = (
                f"{prefix} {uptime_text(t - vmk_load)} cpu0:1024)WARNING: Heartbeat: 961: "
                f"PCPU {rng.randint(1, 3)} didn't have a heartbeat for {rng.randint(7, 12)} "
                "seconds. *may* be locked up."
            )
            log.append(w)
            warn.append(w)
        t += rng.expovariate(1 / 400.0) + 1 if not boot else rng.uniform(0.2, 3)
    return "".join(f"{x}\n" for x in log), "".join(f"{x}\n" for x in warn)


def hostd_log(rng: random.Random, *, tz_min: int, start: int, stop: int, datastore: str) -> str:
    """``var/log/vmware/hostd.log`` since the reboot."""
    rows = []
    t = float(start)
    tid = rng.randint(3076000000, 3077000000)
    while t < stop:
        clock = local_time(t, tz_min)
        ts = f"{clock:%Y-%m-%d %H:%M:%S}.{int(t * 1000) % 1000:03}"
        rows.append(_fill(rng, rng.choice(_HOSTD), ts=ts, tid=tid, ds=datastore))
        t += rng.expovariate(1 / 240.0) + 0.5
    return "".join(f"{x}\n" for x in rows)


def rpm_list(
    rng: random.Random, *, family: str, vendor: str | None, extra: tuple[str, ...] = ()
) -> str:
    """``rpm -qa`` (tmp/rpm.<pid>.txt): VMware's packages tell VMware's daemons from a
    vendor's (§7); ``extra`` adds other agents' packages."""
    v = "3.5.0" if family == "3.5" else f"{family}.0"
    pkgs = [
        f"VMware-esx-{v}-{rng.randint(60000, 99999)}",
        f"VMware-esx-apps-{v}-{rng.randint(60000, 99999)}",
        f"VMware-hostd-esx-{v}-{rng.randint(60000, 99999)}",
        f"VMware-esx-vmx-{v}-{rng.randint(60000, 99999)}",
        "VMware-vpxa-2.5.0-119598" if family == "3.5" else "VMware-vpxa-4.0.0-208111",
        "VMware-esx-pegasus-2.5-84374" if family == "3.5" else "VMware-esx-sfcb-4.0.0-208167",
        "glibc-2.3.4-2.41",
        "openssh-server-3.9p1-11.el4_7",
        "net-snmp-5.1.2-11.el4_6.11.2",
        "procps-3.2.3-8.17" if family == "3.5" else "procps-3.2.7-11.1.el5",
        "psmisc-21.4-4.1",
        "vixie-cron-4.1-44.EL4",
        "logrotate-3.7.1-10.RHEL4",
    ]
    if vendor == "HP":
        pkgs += ["hp-snmp-agents-8.2.0-164.rhel4", "hp-health-8.2.0-1412.rhel4", "hpacucli-8.20-18"]
    elif vendor == "Dell":
        pkgs += ["srvadmin-omacore-5.5.0-364", "srvadmin-deng-5.5.0-364", "srvadmin-iws-5.5.0-364"]
    elif vendor == "EMC":
        pkgs += ["naviagentcli-6.26.5.0.95-1"]
    pkgs += extra
    rng.shuffle(pkgs)
    return "".join(f"{p}\n" for p in pkgs)


SYSLOG_CONF = """# Log all kernel messages to the console.
#kern.*                                                 /dev/console
*.info;mail.none;authpriv.none;cron.none;local6.none    /var/log/messages
authpriv.*                                              /var/log/secure
cron.*                                                  /var/log/cron
local4.*                                                /var/log/vmkernel
local4.warning                                          /var/log/vmkwarning
local6.*                                                /var/log/vmksummary
"""


def cron_log(rng: random.Random, *, host: str, tz_min: int, pad_day: bool, start: int,
             stop: int, quiet: tuple[int, int]) -> str:  # fmt: skip
    """``var/log/cron``: the hourly run-parts that also writes the vmksummary line."""
    rows = []
    hour = ((start + tz_min * 60) // 3600 + 1) * 3600 + 60 - tz_min * 60  # local HH:01
    while hour < stop:
        if quiet[0] <= hour < quiet[1]:
            hour += 3600
            continue
        stamp = syslog_stamp(hour, tz_min=tz_min, pad_day=pad_day)
        rows.append(f"{stamp} {host} crond[{rng.randint(2000, 32000)}]: (root) CMD "
                    "(run-parts /etc/cron.hourly)")  # fmt: skip
        hour += 3600
    return "".join(f"{x}\n" for x in rows)


def df_output(rng: random.Random, *, datastore: str) -> str:
    """``df -al`` (tmp/df.<pid>.txt)."""
    root_used = rng.randint(1200000, 3200000)
    return (
        "Filesystem           1K-blocks      Used Available Use% Mounted on\n"
        f"/dev/sda2              5036316   {root_used:>7}   {5036316 - root_used - 255832:>7}  "
        f"{100 * root_used // 5036316:>2}% /\n"
        "/dev/sda1               101089     24290     71580  26% /boot\n"
        "none                    401788         0    401788   0% /dev/shm\n"
        f"/dev/sda6              2016016    {rng.randint(60000, 900000):>6}   1400000  20% "
        "/var/log\n"
        "/vmfs/devices        1757273200         0 1757273200   0% /vmfs/devices\n"
        f"/vmfs/volumes/{datastore} 285474816 {rng.randint(10**7, 2 * 10**8)} 100000000  70% "
        f"/vmfs/volumes/{datastore}\n"
    )
