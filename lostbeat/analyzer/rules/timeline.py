"""Timeline: how each boot ended, and the events worth a line, from the platform's boots.

A boot that ended without a clean stop is a crash when the evidence recorded one, an unclean
restart (a reset or a power loss) when it did not; clean reboots and halts are said to be so.
"""

from __future__ import annotations

from dataclasses import dataclass

from lostbeat.analyzer.facts import BootEnd, Facts
from lostbeat.analyzer.findings import Evidence, Finding, Severity
from lostbeat.analyzer.result import TimelineEvent
from lostbeat.analyzer.rules._rule import rule

__all__ = ["Timeline", "judge_timeline"]


@dataclass(frozen=True, slots=True)
class Timeline:
    events: tuple[TimelineEvent, ...]
    findings: tuple[Finding, ...]


@rule("timeline")
def judge_timeline(facts: Facts) -> Timeline:
    """Say how each boot ended: crash, unclean restart, clean reboot or halt."""
    findings: list[Finding] = []
    for boot in facts.boots:
        where = f" in {boot.source}" if boot.source else ""
        if boot.end in (BootEnd.CRASH, BootEnd.UNCLEAN):
            last: tuple[Evidence, ...] = (boot.last_evidence,) if boot.last_evidence else ()
            crash = boot.end is BootEnd.CRASH
            findings.append(
                Finding(
                    f"timeline.{boot.end.value}",
                    Severity.CRITICAL if crash else Severity.WARNING,
                    ("Crash" if crash else "Unclean restart") + where,
                    boot.detail,
                    last + boot.end_evidence,
                )
            )
        elif boot.end in (BootEnd.REBOOT, BootEnd.HALT) and boot.end_evidence:
            findings.append(
                Finding(
                    f"timeline.{boot.end.value}",
                    Severity.INFO,
                    f"Clean {boot.end.value}{where}",
                    boot.end_evidence[0].text.strip(),
                    boot.end_evidence,
                )
            )
    return Timeline(facts.events, tuple(findings))
