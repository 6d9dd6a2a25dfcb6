"""Platform profiles: each recognises its own inputs, and a new platform is a new profile.

The toy profile below is a platform the analyzer has never heard of. Its facts go through the
same rules, unchanged, and come out in its own words with its own plan: adding a platform
touches no rule.
"""

from __future__ import annotations

from lostbeat.analyzer.engine import judge
from lostbeat.analyzer.facts import (
    Domain,
    DumpSet,
    Facts,
    Measure,
    MemoryHistory,
    PlanBook,
    Pressure,
    Sampling,
    Series,
)
from lostbeat.analyzer.findings import Evidence
from lostbeat.analyzer.parsers.capture import LinuxScreen
from lostbeat.analyzer.parsers.version import VersionInfo
from lostbeat.analyzer.platforms import PROFILES, Artifact, Parsed, choose
from lostbeat.analyzer.result import Action, CauseKind, Crash, CrashClass, CrashType, Platform

T0 = 1_800_000_000.0


class Toybox:
    """A made-up appliance whose watchdog logs every process once a minute."""

    name = "toybox"
    artifacts = {"toybox_log": Artifact(("var/toybox/*.log",), many=True, content=True, doc="x")}

    def recognise(self, parsed: Parsed) -> int:
        return 99 if parsed.host == "toy-1" else 0

    def facts(self, parsed: Parsed) -> Facts:
        minute = Sampling(60.0, 10, 600.0, 2, True, Measure.RESIDENT, "minutes")
        grower = tuple((T0 + 60 * i, 10_000.0 + 2_000 * i) for i in range(60))
        steady = tuple((T0 + 60 * i, 30_000.0) for i in range(60))
        ev = Evidence("var/toybox/watch.log", 60, "grower 128000")
        history = MemoryHistory(
            sampling=minute,
            series=(
                Series("grower", "grower", grower, "grower", 77, "/bin/grower -v", "grow.unit"),
                Series("steady", "steady", steady, "steady", 78),
            ),
            samples=60,
            end=grower[-1][0],
            pressure=Pressure(ram_used_percent=40.0),
            last_evidence=(ev,),
        )
        return Facts(
            words=Platform("toybox", "Toybox", "the toy's arena", "arena", "toyd", "minute"),
            crash=Crash(
                CrashType.LOST_HEARTBEAT,
                crashed_at=grower[-1][0] + 30,
                class_=CrashClass.MEMORY_EXHAUSTION,
            ),
            history=history,
            host=parsed.host,
            domain=Domain(limit_kb=160_000.0, exhausted_at=grower[-1][0]),
            dumps=(DumpSet("toy", "toy dumps", (), expected=True, missing="No toy dump"),),
            plan=PlanBook(disable_leaker=Action("T-1", "Unplug {name} from the arena")),
        )


def test_a_new_platform_runs_through_the_rules_unchanged() -> None:
    toy = Toybox()
    parsed = Parsed(host="toy-1")
    profile = choose(parsed, (toy, *PROFILES))
    assert profile is toy
    result = judge(profile.facts(parsed))
    cause = result.root_cause
    assert (cause.kind, cause.process, cause.pid, cause.unit) == (
        CauseKind.LEAK,
        "grower",
        77,
        "grow.unit",
    )
    assert cause.exhaustion_at is not None and cause.exhaustion_at <= result.crash.crashed_at
    assert [(a.kb, a.text) for a in result.actions] == [
        ("T-1", "Unplug grower (pid 77) from the arena")
    ]
    titles = [f.title for f in result.findings]
    assert "Lost heartbeat: the toy's arena stopped answering" in titles
    assert "No toy dump" in titles
    assert result.platform.name == "toybox"


def _version(text: str, version: str) -> VersionInfo:
    return VersionInfo(text, version, None, None, Evidence("tmp/vmware.1.txt", 1, text))


def _capture() -> LinuxScreen:
    return LinuxScreen("web1", "6.1", T0, None, "lostbeat-hbd", 1, 5, 5.0, None, 0, 0, None, (), ())


def test_each_profile_recognises_its_own_inputs() -> None:
    assert choose(Parsed()).name == "esx_classic"  # nothing to go by: the seed's platform
    esx35 = Parsed(versions=[_version("VMware ESX Server", "3.5.0")])
    assert choose(esx35).name == "esx_classic"
    esxi = Parsed(versions=[_version("VMware ESXi", "6.7.0")])
    assert choose(esxi).name == "esxi"
    assert choose(Parsed(captures=[_capture()])).name == "linux"


def test_every_profile_owns_its_artifacts_and_words() -> None:
    for profile in PROFILES:
        assert profile.artifacts, profile.name
        words = profile.facts(Parsed()).words
        assert words.name == profile.name and words.domain and words.record
