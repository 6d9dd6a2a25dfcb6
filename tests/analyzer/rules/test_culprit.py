from __future__ import annotations

from lostbeat.analyzer.result import CauseKind, Origin, RootCause
from lostbeat.analyzer.rules.culprit import resolve_culprit, resolve_token


def test_unique_match_in_ps_gives_full_name_and_origin(make):
    facts = make.facts(processes=(make.ps("vmware-hostd"), make.ps("vpxa")))
    r = resolve_token("vmware-h", facts)
    assert (r.name, r.origin) == ("vmware-hostd", Origin.VMWARE)
    assert r.evidence[0].path == "tmp/ps.4711.txt"


def test_collision_is_resolved_by_the_logged_size(make):
    # vmware-watchdog and vmware-webAccess both log as vmware-w
    lines = [make.hb(1_000_000, [("vmware-w", 61_000), ("vpxa", 20_000)])]
    procs = (make.ps("vmware-watchdog", vsz=3_000), make.ps("vmware-webAccess", vsz=60_500))
    r = resolve_token("vmware-w", make.facts(lines, processes=procs))
    assert r.name == "vmware-webAccess"
    assert "vmware-watchdog" in r.how
    lines = [make.hb(1_000_000, [("vmware-w", 3_100), ("vpxa", 20_000)])]
    assert resolve_token("vmware-w", make.facts(lines, processes=procs)).name == "vmware-watchdog"


def test_third_party_and_interpreters(make):
    facts = make.facts(
        processes=(
            make.ps("cmahealthd", command="/opt/hp/hp-snmp-agents/server/bin/cmahealthd -p 15"),
            make.ps("java", command="/usr/bin/java -Xmx256m -jar /opt/acme/monitor-agent.jar"),
        )
    )
    hp = resolve_token("cmahealt", facts)
    assert (hp.name, hp.origin) == ("cmahealthd", Origin.THIRD_PARTY)
    java = resolve_token("java", facts)
    assert java.name == "monitor-agent"
    assert java.origin is Origin.UNKNOWN


def test_without_ps_the_catalog_resolves_unique_tokens_only(make):
    facts = make.facts()
    assert resolve_token("cimserve", facts).name == "cimserver"
    r = resolve_token("vmware-w", facts)
    assert (r.name, r.origin) == ("vmware-w", Origin.UNKNOWN)


def test_resolve_culprit_names_the_root_cause_and_the_others(make):
    facts = make.facts(processes=(make.ps("cimserver"), make.ps("naviagent")))
    cause = RootCause(CauseKind.LEAK, token="cimserve", others=("naviagen",))
    resolved, resolutions, findings = resolve_culprit(facts, cause)
    assert resolved.process == "cimserver" and resolved.origin is Origin.VMWARE
    assert resolved.others == ("naviagent",)
    assert resolutions[1].origin is Origin.THIRD_PARTY
    assert findings[0].id == "culprit.origin"


def test_comm_cut_to_15_characters_is_the_same_process(make):
    procs = (
        make.ps("vmware-webAcces"),
        make.ps("vmware-webAccess", vsz=70_000),
        make.ps("dsm_om_connsvc3"),
        make.ps("dsm_om_connsvc32d"),
    )
    facts = make.facts(processes=procs)
    assert resolve_token("vmware-w", facts).name == "vmware-webAccess"
    r = resolve_token("dsm_om_c", facts)
    assert (r.name, r.origin) == ("dsm_om_connsvc32d", Origin.THIRD_PARTY)
