"""The evidence for support: the core dumps the platform leaves, and the settings they need.

The article: the VMkernel zdump and the COS core must both be checked for, in every place
they may have been moved to, and ``Misc.CosCoreFile`` must be valid for the COS core to be
written. Each profile lists its own dumps (a Linux capture's cores of the top consumers) and
settings; this rule says which are there and which are missing after a crash.
"""

from __future__ import annotations

from dataclasses import dataclass

from lostbeat.analyzer.facts import Facts
from lostbeat.analyzer.findings import Finding, Severity
from lostbeat.analyzer.result import Coredumps, CrashType, DumpList, Setting
from lostbeat.analyzer.rules._rule import rule

__all__ = ["CoredumpJudgement", "judge_coredumps"]


@dataclass(frozen=True, slots=True)
class CoredumpJudgement:
    coredumps: Coredumps
    findings: tuple[Finding, ...]


@rule("coredumps")
def judge_coredumps(facts: Facts) -> CoredumpJudgement:
    """Which dumps are there, which a crash should have left, and which settings are invalid."""
    crashed = facts.crash.type is not CrashType.NONE
    findings: list[Finding] = []
    settings_ev = tuple(e for s in facts.settings for e in s.evidence)
    for dumps in facts.dumps:
        if dumps.paths:
            findings.append(
                Finding(
                    f"coredumps.{dumps.key}",
                    Severity.INFO,
                    f"{dumps.label[0].upper()}{dumps.label[1:]} present ({len(dumps.paths)})",
                    ", ".join(dumps.paths),
                )
            )
        elif crashed and dumps.expected:
            findings.append(
                Finding(
                    f"coredumps.{dumps.key}_missing",
                    Severity.WARNING,
                    dumps.missing,
                    dumps.advice,
                    settings_ev,
                )
            )
    for setting in facts.settings:
        if setting.valid is False:
            shown = f"'{setting.value}'" if setting.value else "not set"
            findings.append(
                Finding(
                    f"coredumps.{setting.key}_invalid",
                    Severity.WARNING,
                    f"{setting.label} is {shown}",
                    setting.requirement,
                    setting.evidence,
                )
            )
    by_key = {d.key: d.paths for d in facts.dumps}
    core_file = next((s for s in facts.settings if s.key == "cos_core_file"), None)
    cores = Coredumps(
        vmkernel=by_key.get("vmkernel", ()),
        cos=by_key.get("cos", ()),
        cos_core_file=core_file.value if core_file else None,
        cos_core_file_valid=core_file.valid if core_file else None,
        dumps=tuple(DumpList(d.key, d.label, d.paths) for d in facts.dumps),
        settings=tuple(Setting(s.key, s.label, s.value, s.valid) for s in facts.settings),
    )
    return CoredumpJudgement(cores, tuple(findings))
