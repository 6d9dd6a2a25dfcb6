"""The generator's own tables: Service Console processes, ESX builds, host names, time zones.

Kept apart from the analyzer's catalog on purpose: a generator that shared the analyzer's
tables could not catch their mistakes. Sizes are the ``vmksummary`` values (KB); the real
ones seen in KB examples are in esx-artifacts.md §6 (hostd 59 580-82 812, vpxa 16 504-54 148,
webAccess 14 548-27 332, sfcbd 3 524-12 600). Everything else is a plausible guess and is
marked so.

Examples:
    >>> PROCS["vmware-watchdog"].token, PROCS["vmware-webAccess"].token
    ('vmware-w', 'vmware-w')
    >>> BUILDS[153875].release
    'ESX 3.5 Update 4'
    >>> sorted(b.number for b in BUILDS.values() if b.pegasus_leak)
    [110268, 123630, 153875, 207095]
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from lostbeat.analyzer.result import Origin

__all__ = [
    "BUILDS",
    "DELL",
    "EMC",
    "HOST_NAMES",
    "HP",
    "JAVA_AGENT",
    "PROCS",
    "SYSTEM",
    "TIME_ZONES",
    "VMX",
    "WEB_WATCHDOG",
    "Build",
    "Proc",
    "vmware_procs",
]

TOKEN_LEN = 8  # vmksummary names are ps ``fname``: 8 characters (esx-artifacts.md §1.2)


@dataclass(frozen=True, slots=True)
class Proc:
    """One kind of Service Console process."""

    name: str
    """Executable base name, as ``ps`` and ``pstree`` print it."""
    command: str
    """``ps -auxwww`` command column (full command line)."""
    origin: Origin
    kb: tuple[int, int]
    """Normal ``vmksummary`` value (KB): low, high."""
    resident: float = 0.6
    """Share of the value that is real memory demand (the rest is never touched)."""
    count: int = 1
    user: str = "root"
    kernel: bool = False
    """A kernel thread: ``[name]`` in ps, no memory, never in the summary."""
    package: str | None = None
    """Its ``rpm -qa`` line when no vendor's package list brings it."""

    @property
    def token(self) -> str:
        return self.name[:TOKEN_LEN]


def _v(
    name: str,
    command: str,
    kb: tuple[int, int],
    *,
    resident: float = 0.6,
    count: int = 1,
    user: str = "root",
) -> Proc:
    return Proc(name, command, Origin.VMWARE, kb, resident, count, user)


def _t(name: str, command: str, kb: tuple[int, int], *, resident: float = 0.6) -> Proc:
    return Proc(name, command, Origin.THIRD_PARTY, kb, resident)


def _k(name: str) -> Proc:
    return Proc(name, f"[{name}]", Origin.VMWARE, (0, 0), 0.0, kernel=True)


_SYSTEM = (
    _k("keventd"),
    _k("ksoftirqd/0"),
    _k("kswapd"),
    _k("bdflush"),
    _k("kupdated"),
    _k("vmnixhbd"),  # the heartbeat daemon (KB 308590); pid 20 in the KB screen
    _k("kjournald"),
    Proc("init", "init", Origin.VMWARE, (1500, 1600), 0.3),
    Proc("syslogd", "syslogd -m 0", Origin.VMWARE, (1600, 1700), 0.4),
    Proc("klogd", "klogd -x", Origin.VMWARE, (1500, 1600), 0.3),
    Proc("portmap", "portmap", Origin.VMWARE, (1700, 1800), 0.3, user="rpc"),
    Proc("sshd", "/usr/sbin/sshd", Origin.VMWARE, (3900, 4300), 0.3),
    Proc("xinetd", "xinetd -stayalive -pidfile /var/run/xinetd.pid", Origin.VMWARE, (2000, 2200)),
    Proc("ntpd", "ntpd -U ntp -p /var/run/ntpd.pid", Origin.VMWARE, (2900, 3300), 0.5, user="ntp"),
    Proc("crond", "crond", Origin.VMWARE, (1700, 1900), 0.4),
    Proc("mingetty", "/sbin/mingetty tty2", Origin.VMWARE, (1400, 1500), 0.3, count=5),
)

# [BACKGROUND - unverified] paths and arguments; the names are §7's.
_VMWARE = (
    _v("vmklogger", "/usr/sbin/vmklogger", (1500, 2600), resident=0.5),
    _v("vmkiscsid", "/usr/sbin/vmkiscsid", (2000, 4200), resident=0.5),
    _v(
        "vmware-watchdog",
        "/bin/sh /usr/bin/vmware-watchdog -s hostd -u 60 -q 5 /usr/sbin/vmware-hostd -u",
        (2200, 4600),
        resident=0.3,
    ),
    _v("vmware-hostd", "/usr/lib/vmware/hostd/vmware-hostd -u", (55000, 95000), resident=0.8),
    _v("vpxa", "/opt/vmware/vpxa/vpx/vpxa", (15000, 55000), resident=0.75),
    _v(
        "webAccess",
        "webAccess -Xms64m -Xmx256m -Dcatalina.base=/usr/lib/vmware/webAccess/tomcat",
        (14000, 30000),
        resident=0.7,
        user="vimuser",
    ),
    _v(
        "vmware-webAccess",
        "/usr/lib/vmware/webAccess/java/jre1.5.0_15/bin/vmware-webAccess -server -Xmx256m",
        (16000, 32000),
        resident=0.7,
        user="vimuser",
    ),
    _v("cimserver", "/var/pegasus/bin/cimserver", (18000, 42000), resident=0.7),
    _v("snmpd", "/usr/sbin/snmpd -s -l /dev/null -p /var/run/snmpd -a", (5500, 12000)),
    _v("VMap", "/opt/LGTOaam512/bin/VMap", (22000, 52000), resident=0.7),
    _v("aam", "/opt/LGTOaam512/bin/aam -d /var/log/vmware/aam", (14000, 36000), resident=0.6),
    _v("sfcbd", "/sbin/sfcbd", (3500, 12600), resident=0.6, count=4),
    _v("openwsmand", "/sbin/openwsmand --ssl", (5000, 9000), resident=0.6),
    _v("slpd", "/usr/sbin/slpd", (2300, 3200), resident=0.5),
    _v("vmware-vmkauthd", "/usr/lib/vmware/bin/vmware-vmkauthd", (2600, 4200), resident=0.5),
)

# [BACKGROUND - unverified] except HP's /opt/hp/hp-snmp-agents/server/bin/ (§6, HP HOW TO).
_HP_BIN = "/opt/hp/hp-snmp-agents/server/bin"
HP = (
    _t("hpasmxld", "/opt/hp/hp-health/bin/hpasmxld -f /dev/hpilo", (9000, 21000), resident=0.6),
    _t("cmahealthd", f"{_HP_BIN}/cmahealthd -p 15 -s OK", (4000, 14000)),
    _t("cmaeventd", f"{_HP_BIN}/cmaeventd -p 30 -s OK", (3000, 9000)),
    _t("cmahostd", f"{_HP_BIN}/cmahostd -p 15 -s OK", (4000, 18000)),
    _t("cmathreshd", f"{_HP_BIN}/cmathreshd -p 5 -s OK", (3000, 8000)),
    _t("cmastdeqd", f"{_HP_BIN}/cmastdeqd --trace=0", (3000, 9000)),
    _t("cmanicd", "/opt/hp/hp-snmp-agents/nic/bin/cmanicd -p 30", (3000, 8000)),
    _t("cmafcad", "/opt/hp/hp-snmp-agents/storage/bin/cmafcad -p 30", (3000, 8000)),
)
_DELL_BIN = "/opt/dell/srvadmin/dataeng/bin"
DELL = (
    _t("dsm_sa_datamgr32d", f"{_DELL_BIN}/dsm_sa_datamgr32d", (38000, 90000), resident=0.6),
    _t("dsm_sa_eventmgr32d", f"{_DELL_BIN}/dsm_sa_eventmgr32d", (8000, 20000)),
    _t("dsm_sa_snmp32d", f"{_DELL_BIN}/dsm_sa_snmp32d", (6000, 12000)),
    _t("dsm_om_shrsvc32d", "/opt/dell/srvadmin/oma/bin/dsm_om_shrsvc32d", (12000, 25000)),
    # a JVM: a large value, little of it real memory
    _t(
        "dsm_om_connsvc32d",
        "/opt/dell/srvadmin/iws/bin/linux/dsm_om_connsvc32d -run",
        (150000, 380000),
        resident=0.25,
    ),
)
EMC = (
    _t(
        "naviagent",
        "/opt/Navisphere/bin/naviagent -f /etc/Navisphere/agent.config",
        (9000, 35000),
        resident=0.7,
    ),
)

# [BACKGROUND - unverified] a Java management agent, the "third party software with a large
# memory footprint" of KB 308590; §7 lists ``java`` as a name only ``ps`` can resolve. Its
# path, options and package are plausible, not sourced.
JAVA_AGENT = Proc(
    "java",
    "/opt/ibm/director/jre/bin/java -Xms64m -Xmx256m -jar /opt/ibm/director/lib/twgagent.jar",
    Origin.THIRD_PARTY,
    (150000, 350000),
    0.3,
    package="IBMDirectorAgent-5.20.3-1",
)

WEB_WATCHDOG = _v(
    "vmware-watchdog",
    "/bin/sh /usr/bin/vmware-watchdog -s webAccess -u 60 -q 5 /usr/sbin/vmware-webAccess",
    (2200, 4600),
    resident=0.3,
)
PROCS: dict[str, Proc] = {p.name: p for p in (*_SYSTEM, *_VMWARE, *HP, *DELL, *EMC)}
VMX = _v(
    "vmware-vmx",
    "/usr/lib/vmware/bin/vmware-vmx -ssched.group=host/user -@ pipe=",
    (5000, 12000),
    resident=0.3,
)
SYSTEM = _SYSTEM


def vmware_procs(family: str, *, webaccess: str, ha: bool, snmp: bool) -> tuple[Proc, ...]:
    """The VMware-shipped daemons of a host of release ``family`` ("3.5", "4.0", "4.1").

    Args:
        family: the release line.
        webaccess: "webAccess" or "vmware-webAccess" (4.1 has none; either name is accepted).
        ha: whether the HA agent (VMap, aam) runs.
        snmp: whether snmpd runs.
    """
    names = ["vmklogger", "vmkiscsid", "vmware-watchdog", "vmware-hostd", "vpxa"]
    if family != "4.1":
        names.append(webaccess)
    names += ["cimserver"] if family == "3.5" else ["sfcbd", "openwsmand", "slpd"]
    names += ["VMap", "aam"] if ha else []
    names += ["snmpd"] if snmp else []
    names.append("vmware-vmkauthd")
    procs = tuple(PROCS[n] for n in names)
    if webaccess == "vmware-webAccess":  # one watchdog per service: all print `vmware-w`
        procs += (WEB_WATCHDOG,)
    return procs


@dataclass(frozen=True, slots=True)
class Build:
    number: int
    release: str
    version: str
    """``vmware -v`` version: "3.5.0", "4.0.0"."""
    family: str
    released: dt.date
    """First day an incident on this build can happen (release date; 3.5 dates unverified)."""
    pegasus_leak: bool = False
    """KB 1009607 (Pegasus cimserver leak) applies: ESX 3.5 Update 2 to Update 5 only."""

    @property
    def low_memory_boot(self) -> bool:
        """KB 1016239 (the VMkernel cannot reserve its low memory at boot, ``NOT_IMPLEMENTED
        ... util.c:83``) applies: the article names ESX 3.5 and ESX 4.0."""
        return self.family in ("3.5", "4.0")


# Builds per esx-artifacts.md §3.4: the 3.5 rows are BACKGROUND - unverified, the 4.x rows come
# from a community list; the 4.1 GA and U1 rows are left out (conflicting numbers, open).
BUILDS: dict[int, Build] = {
    b.number: b
    for b in (
        Build(64607, "ESX 3.5", "3.5.0", "3.5", dt.date(2007, 12, 10)),
        Build(82663, "ESX 3.5 Update 1", "3.5.0", "3.5", dt.date(2008, 4, 10)),
        Build(110268, "ESX 3.5 Update 2", "3.5.0", "3.5", dt.date(2008, 7, 25), True),
        Build(123630, "ESX 3.5 Update 3", "3.5.0", "3.5", dt.date(2008, 11, 6), True),
        Build(153875, "ESX 3.5 Update 4", "3.5.0", "3.5", dt.date(2009, 3, 30), True),
        Build(207095, "ESX 3.5 Update 5", "3.5.0", "3.5", dt.date(2009, 12, 3), True),
        Build(164009, "ESX 4.0", "4.0.0", "4.0", dt.date(2009, 5, 21)),
        Build(208167, "ESX 4.0 Update 1", "4.0.0", "4.0", dt.date(2009, 11, 19)),
        Build(502767, "ESX 4.1 Update 2", "4.1.0", "4.1", dt.date(2011, 10, 27)),
        Build(800380, "ESX 4.1 Update 3", "4.1.0", "4.1", dt.date(2012, 8, 30)),
    )
}

HOST_NAMES = (
    "esx01", "esx02", "esx07", "esx12", "esxprod03", "esxprod11", "vmhost-a4", "vmhost-b2",
    "esx-lon-03", "esx-nyc-14", "esx-fra-02", "esx-sgp-01", "esx35-dmz1", "esx4-lab2",
    "vsphere5", "ukvm021", "dcesx009", "hq-esx-17", "esxdr02", "blade13-esx",
)  # fmt: skip

# (label, minutes east of UTC): the syslog stamps are local, the epochs UTC (§1.2)
TIME_ZONES = (
    ("EST", -300), ("CST", -360), ("MST", -420), ("PST", -480), ("UTC", 0), ("GMT", 0),
    ("CET", 60), ("EET", 120), ("MSK", 180), ("IST", 330), ("SGT", 480), ("JST", 540),
    ("AEST", 600), ("BRT", -180),
)  # fmt: skip
