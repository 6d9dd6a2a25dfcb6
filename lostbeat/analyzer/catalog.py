"""Who ships a Service Console process: VMware, a third party, or unknown.

Every row gives its source (esx-artifacts.md §6-§7 and the KBs cited there). Rows marked
``verified=False`` rest on background knowledge no source confirmed; they are still the best
guess a support engineer would make, and the report says "unverified" for them.

>>> lookup("vmware-hostd").origin
<Origin.VMWARE: 'vmware'>
>>> lookup("cmahealthd").vendor
'HP'
>>> candidates_for_token("vmware-w")
('vmware-watchdog', 'vmware-webAccess')
"""

from __future__ import annotations

from dataclasses import dataclass

from lostbeat.analyzer.result import Origin

__all__ = ["CATALOG", "KnownProcess", "candidates_for_token", "lookup", "token_of"]

TOKEN_LEN = 8  # vmksummary cuts names to 8 characters (§1.2, derived from ps fname)


@dataclass(frozen=True, slots=True)
class KnownProcess:
    name: str
    origin: Origin
    vendor: str
    role: str
    source: str
    verified: bool = True


def _v(name: str, role: str, source: str, *, verified: bool = True) -> KnownProcess:
    return KnownProcess(name, Origin.VMWARE, "VMware", role, source, verified)


def _t(name: str, vendor: str, role: str, source: str, *, verified: bool = False) -> KnownProcess:
    return KnownProcess(name, Origin.THIRD_PARTY, vendor, role, source, verified)


_KB308590 = "KB 308590 (seed article)"
_KB1009016 = "KB 1009016 example line"
_REF7 = "esx-artifacts.md §7"

CATALOG: tuple[KnownProcess, ...] = (
    _v("vmnixhbd", "Service Console heartbeat daemon", _KB308590),
    _v("vmware-hostd", "host management agent (hostd)", _KB308590),
    _v("vpxa", "vCenter agent", _KB1009016),
    _v("webAccess", "browser-based management (Tomcat)", _KB308590),
    _v("cimserver", "Pegasus CIM server (ESX 3.5)", "KB 1009607"),
    _v("sfcbd", "SFCB CIM broker (ESX 4.x)", "KB 1019238 example line"),
    _v("sfcb-vmware_base", "SFCB provider (ESX 4.x)", _REF7, verified=False),
    # VMap belongs to the HA agent: background knowledge, unverified (§1.2, §6)
    _v("VMap", "VMware HA agent (AAM)", _KB308590, verified=False),
    _v("aam", "VMware HA agent (AAM)", "vm-support /opt/LGTOaam512 (§7)", verified=False),
    _v("ftbb", "VMware HA agent helper", _REF7, verified=False),
    _v("vmware-vmx", "virtual machine process", _KB1009016),
    _v("vmware-vmkauthd", "VMkernel authentication daemon", _REF7, verified=False),
    _v("vmware-authd", "authentication daemon (xinetd)", _REF7),
    _v("vmware-watchdog", "service watchdog", _REF7, verified=False),
    _v("vmware-webAccess", "web access service wrapper", _REF7, verified=False),
    _v("vmkload_app", "VM proxy loader", _REF7),
    _v("vmkiscsid", "software iSCSI daemon", _REF7),
    _v("vmklogger", "VMkernel log forwarder", _REF7, verified=False),
    _v("openwsmand", "WS-Management daemon", _REF7, verified=False),
    _v("slpd", "service location daemon", _REF7, verified=False),
    _v("esxupdate", "patch installer", _REF7),
    _v("vmware-vimdump", "vim state dumper", _REF7),
    _v("snmpd", "SNMP agent (shipped with ESX)", "KB 308590 action plan"),
    # HP Insight Management Agents (§6: /opt/hp/hp-snmp-agents/server/bin/)
    _t(
        "cmahealthd", "HP", "Insight System Health agent", "HP Insight agents HOW TO", verified=True
    ),
    _t("cmaeventd", "HP", "Insight event agent", _REF7),
    _t("cmathreshd", "HP", "Insight threshold agent", _REF7),
    _t("cmastdeqd", "HP", "Insight standard equipment agent", _REF7),
    _t("cmahostd", "HP", "Insight host agent", "vbrownbag 2008 (§6)", verified=True),
    _t("cmafcad", "HP", "Insight FC adapter agent", "vbrownbag 2008 (§6)", verified=True),
    _t("cmanicd", "HP", "Insight NIC agent", _REF7),
    _t("cmaidad", "HP", "Insight IDE agent", _REF7),
    _t("cmapeerd", "HP", "Insight peer agent", _REF7),
    _t("hpasmd", "HP", "Advanced Server Management daemon", _REF7),
    _t("hpasmlited", "HP", "ASM lite daemon", _REF7),
    _t("hpasmxld", "HP", "ASM XL daemon", _REF7),
    _t("hpsmhd", "HP", "System Management Homepage", _REF7),
    _t("dsm_sa_datamgr32d", "Dell", "OpenManage data manager", _REF7),
    _t("dsm_sa_eventmgr32d", "Dell", "OpenManage event manager", _REF7),
    _t("dsm_sa_snmp32d", "Dell", "OpenManage SNMP agent", _REF7),
    _t("dsm_om_connsvc32d", "Dell", "OpenManage web server", _REF7),
    _t("dsm_om_shrsvc32d", "Dell", "OpenManage shared services", _REF7),
    _t("IBMDirector", "IBM", "IBM Director agent", _REF7),
    _t("tier1slp", "IBM", "IBM Director SLP agent", _REF7),
    _t("cimlistener", "IBM", "IBM Director CIM listener", _REF7),
    _t("naviagent", "EMC", "Navisphere host agent", _REF7),
    _t("naviagentcli", "EMC", "Navisphere host agent CLI", _REF7),
    _t("PowerPath", "EMC", "PowerPath multipathing", _REF7),
    _t("emcpmgr", "EMC", "PowerPath manager", _REF7),
    _t("nsrexecd", "EMC Legato", "NetWorker backup client", _REF7),
    _t("bpcd", "Symantec", "NetBackup client", _REF7),
    _t("vnetd", "Symantec", "NetBackup network daemon", _REF7),
    _t("dsmc", "IBM", "Tivoli Storage Manager client", _REF7),
    _t("dsmcad", "IBM", "Tivoli Storage Manager scheduler", _REF7),
    _t("beremote", "Symantec", "Backup Exec remote agent", _REF7),
    _t("cvd", "CommVault", "CommVault client daemon", _REF7),
    _t("ossec-agentd", "OSSEC", "host intrusion detection agent", _REF7),
    _t("xymonclient", "Xymon", "monitoring client", _REF7),
    _t("nrpe", "Nagios", "Nagios remote plugin executor", _REF7),
    _t("zabbix_agentd", "Zabbix", "monitoring agent", _REF7),
)

_BY_NAME = {p.name: p for p in CATALOG}
_BY_LOWER = {p.name.lower(): p for p in CATALOG}


def token_of(name: str) -> str:
    """The vmksummary token of a process name: its first 8 characters."""
    return name[:TOKEN_LEN]


def lookup(name: str) -> KnownProcess | None:
    """The catalog row of a full process name (exact, then case-insensitive)."""
    return _BY_NAME.get(name) or _BY_LOWER.get(name.lower())


def candidates_for_token(token: str) -> tuple[str, ...]:
    """Catalog names whose 8-character token is ``token``, sorted."""
    return tuple(sorted(p.name for p in CATALOG if token_of(p.name) == token))
