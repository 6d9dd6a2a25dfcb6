"""Timeline: boots, clean reboots and halts, and crashes, from vmksummary.

A crash shows in vmksummary as the last hourly line, a gap, then ``Starting system...`` and
``VMkernel error`` with no ``Rebooting``/``Halting`` before it (KB 1019238, esx-artifacts.md
§1.3). A fall of the VMkernel uptime between two hourly lines is a boot whose lines are lost.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from lostbeat.analyzer.facts import HostFacts
from lostbeat.analyzer.findings import Finding, Severity
from lostbeat.analyzer.parsers.vmksummary import LineKind, SummaryLine
from lostbeat.analyzer.result import TimelineEvent
from lostbeat.analyzer.rules._rule import rule

__all__ = ["Boot", "BootEnd", "Timeline", "judge_timeline"]


class BootEnd(StrEnum):
    CRASH = "crash"  # Starting system without a clean stop, VMkernel error after it
    UNCLEAN = "unclean"  # Starting system without a clean stop and no VMkernel error
    REBOOT = "reboot"
    HALT = "halt"
    OPEN = "open"  # still running when the bundle was taken


@dataclass(frozen=True, slots=True)
class Boot:
    lines: tuple[SummaryLine, ...]
    """The hourly heartbeat lines of this boot."""
    started_at: float | None
    end: BootEnd
    ended_at: float | None
    """Epoch of the next ``Starting system...`` (or of the clean stop)."""
    end_lines: tuple[SummaryLine, ...] = ()


@dataclass(frozen=True, slots=True)
class Timeline:
    boots: tuple[Boot, ...]
    events: tuple[TimelineEvent, ...]
    findings: tuple[Finding, ...]

    @property
    def incident(self) -> Boot | None:
        """The boot that ended in the last crash (or unclean stop), else the last boot."""
        for boot in reversed(self.boots):
            if boot.end in (BootEnd.CRASH, BootEnd.UNCLEAN):
                return boot
        return self.boots[-1] if self.boots else None

    @property
    def crashed(self) -> bool:
        return any(b.end in (BootEnd.CRASH, BootEnd.UNCLEAN) for b in self.boots)


def _epoch(line: SummaryLine) -> float | None:
    return float(line.epoch) if line.epoch is not None else None


def _split(lines: tuple[SummaryLine, ...]) -> list[Boot]:
    boots: list[Boot] = []
    current: list[SummaryLine] = []
    started: float | None = None
    clean: SummaryLine | None = None
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.kind is LineKind.HEARTBEAT:
            prev = current[-1] if current else None
            if (
                prev is not None
                and prev.vmk_uptime_s is not None
                and line.vmk_uptime_s is not None
                and line.vmk_uptime_s + 60 < prev.vmk_uptime_s
            ):
                # uptime fell with no Starting line: a boot whose lines are lost
                boots.append(Boot(tuple(current), started, BootEnd.UNCLEAN, None))
                current, started, clean = [], None, None
            current.append(line)
        elif line.kind in (LineKind.REBOOTING, LineKind.HALTING):
            clean = line
        elif line.kind is LineKind.STARTING:
            follow = lines[i + 1 : i + 4]
            error = next((f for f in follow if f.kind is LineKind.VMKERNEL_ERROR), None)
            if clean is not None:
                end = BootEnd.REBOOT if clean.kind is LineKind.REBOOTING else BootEnd.HALT
                end_lines: tuple[SummaryLine, ...] = (clean, line)
            else:
                end = BootEnd.CRASH if error is not None else BootEnd.UNCLEAN
                end_lines = (line, error) if error is not None else (line,)
            if current or boots or started is not None:
                boots.append(Boot(tuple(current), started, end, _epoch(line), end_lines))
            current, started, clean = [], _epoch(line), None
        i += 1
    boots.append(Boot(tuple(current), started, BootEnd.OPEN, None))
    return [b for b in boots if b.lines or b.end is not BootEnd.OPEN or b.started_at is not None]


@rule("timeline", artifacts=("vmksummary",))
def judge_timeline(facts: HostFacts) -> Timeline:
    """Split the vmksummary history into boots and say how each one ended."""
    boots = tuple(_split(facts.summary))
    events: list[TimelineEvent] = []
    findings: list[Finding] = []
    kinds = {
        LineKind.STARTING: "boot",
        LineKind.REBOOTING: "reboot",
        LineKind.HALTING: "halt",
        LineKind.VMKERNEL_ERROR: "vmkernel_error",
    }
    for line in facts.summary:
        kind = kinds.get(line.kind)
        if kind is not None:
            events.append(TimelineEvent(kind, _epoch(line), line.evidence.text, line.evidence))
    beats = [ln for ln in facts.summary if ln.kind is LineKind.HEARTBEAT]
    if beats:
        events.insert(
            0,
            TimelineEvent(
                "first_summary", _epoch(beats[0]), "first hourly summary", beats[0].evidence
            ),
        )
        events.append(
            TimelineEvent(
                "last_summary", _epoch(beats[-1]), "last hourly summary", beats[-1].evidence
            )
        )
    for boot in boots:
        if boot.end in (BootEnd.CRASH, BootEnd.UNCLEAN):
            last = boot.lines[-1] if boot.lines else None
            detail = "no Rebooting/Halting line before Starting system"
            if boot.end is BootEnd.CRASH:
                detail += ", then VMkernel error: the host crashed (purple screen)"
            else:
                detail += " and no VMkernel error: a reset or power loss"
            evidence = tuple(ln.evidence for ln in ((last,) if last else ()) + boot.end_lines)
            findings.append(
                Finding(
                    f"timeline.{boot.end.value}",
                    Severity.CRITICAL if boot.end is BootEnd.CRASH else Severity.WARNING,
                    "Crash in vmksummary"
                    if boot.end is BootEnd.CRASH
                    else "Unclean restart in vmksummary",
                    detail,
                    evidence,
                )
            )
        elif boot.end in (BootEnd.REBOOT, BootEnd.HALT):
            findings.append(
                Finding(
                    f"timeline.{boot.end.value}",
                    Severity.INFO,
                    f"Clean {boot.end.value} in vmksummary",
                    f"{boot.end_lines[0].evidence.text.strip()}",
                    tuple(ln.evidence for ln in boot.end_lines),
                )
            )
    events.sort(key=lambda e: (e.at is None, e.at or 0.0))
    return Timeline(boots, tuple(events), tuple(findings))
