"""What crashed, in the platform's words: the crash finding the verdict leads with.

The platform profile has classified the crash and placed it in time; this rule says it, with
the build, the VMs affected and the alert's ``comm=``, which the article warns is the process
current at the check and not the cause.
"""

from __future__ import annotations

from lostbeat.analyzer.facts import Facts
from lostbeat.analyzer.findings import Finding, Severity
from lostbeat.analyzer.result import CrashType
from lostbeat.analyzer.rules._rule import rule
from lostbeat.analyzer.units import duration

__all__ = ["judge_crash"]


def _title(crash_type: CrashType, domain: str) -> str:
    return {
        CrashType.LOST_HEARTBEAT: f"Lost heartbeat: {domain} stopped answering",
        CrashType.COS_OOPS: "Service Console Oops (not a lost heartbeat)",
        CrashType.COS_PANIC: "Service Console panic (not a lost heartbeat)",
        CrashType.VMKERNEL: "VMkernel purple screen (not a lost heartbeat)",
        CrashType.UNKNOWN: "A crash whose screen is not in the inputs",
        CrashType.NONE: "No crash in the history",
    }.get(crash_type, crash_type.value.replace("_", " "))


@rule("crash")
def judge_crash(facts: Facts) -> tuple[Finding, ...]:
    """The crash finding: what crashed, on which build, and what the alert named."""
    crash = facts.crash
    detail = []
    if crash.message:
        detail.append(f"message: {crash.message}")
    if crash.release:
        verified = facts.release is None or facts.release.verified
        note = "" if verified else " (build table entry unverified)"
        build = f"build {crash.build} = " if crash.build is not None else ""
        detail.append(f"{build}{crash.release}{note}")
    if crash.heartbeat_stopped_at is not None and crash.crashed_at is not None:
        silence = (crash.crashed_at - crash.heartbeat_stopped_at) / 3600.0
        detail.append(f"the last heartbeat came {duration(silence)} before the end")
    if crash.vms_affected is not None:
        detail.append(f"{crash.vms_affected} VMs were running")
    if crash.alert_comm:
        detail.append(
            f"the alert names comm={crash.alert_comm}: the process current at the check, "
            "not the cause (the alert does not show the cause)"
        )
    severity = Severity.INFO if crash.type is CrashType.NONE else Severity.CRITICAL
    return (
        Finding(
            f"crash.{crash.type.value}",
            severity,
            _title(crash.type, facts.words.domain),
            "; ".join(detail),
            crash.evidence,
        ),
    )
