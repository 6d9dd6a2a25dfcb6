"""The hourly summary log (ESX's ``vmksummary``, and the one ``lostbeat record`` writes in the
same format): boots, how each ended, and each top consumer's hourly series.

A crash shows as the last hourly line, a gap, then ``Starting system...`` and ``VMkernel
error`` with no ``Rebooting``/``Halting`` before it (KB 1019238, docs/reference/esx-artifacts.md
§1.3). A fall of the uptime between two hourly lines is a boot whose lines are lost.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from lostbeat.analyzer.facts import Boot, BootEnd, Measure, Sampling, Series
from lostbeat.analyzer.findings import Evidence
from lostbeat.analyzer.parsers.vmksummary import LineKind, SummaryLine, VmkSummary
from lostbeat.analyzer.result import TimelineEvent

__all__ = [
    "HOURLY",
    "SummaryBoot",
    "events",
    "hourly_series",
    "incident",
    "merge_summaries",
    "split_boots",
    "swap_points",
]

HOURLY = Sampling(
    resolution_s=3600.0,
    min_samples=6,  # hourly lines in the crashed boot before any verdict on memory
    min_span_s=4 * 3600.0,
    jump_steps=1,
    shows_jumps=False,  # a spike within the hour is invisible to an hourly log (KB 308590)
    measure=Measure.VIRTUAL,  # KB 308590: "the amount of virtual memory (measured in KB)"
    unit="hourly points",
    name_cut=8,  # §1.2: names are cut to 8 characters (ps fname)
)


@dataclass(frozen=True, slots=True)
class SummaryBoot:
    """A boot and its hourly heartbeat lines."""

    boot: Boot
    lines: tuple[SummaryLine, ...]


def _rotation(path: str) -> int:
    """Rotation number of a log path: ``vmksummary`` 0, ``vmksummary.2.gz`` 2."""
    parts = path.rsplit("/", 1)[-1].split(".")
    for part in parts[1:]:
        if part.isdigit():
            return int(part)
    return 0


def merge_summaries(files: Iterable[VmkSummary]) -> tuple[SummaryLine, ...]:
    """All lines of all files, oldest first, duplicates (overlapping rotations) dropped.

    The epoch in parentheses orders lines across files and across a year boundary (syslog
    stamps carry no year). A line without an epoch keeps its place after the line before it.
    Files are first put oldest-rotation first, so that order also holds without epochs.
    """
    ordered = sorted(files, key=lambda f: -_rotation(f.lines[0].evidence.path) if f.lines else 0)
    keyed: list[tuple[float, int, SummaryLine]] = []
    seen: set[tuple[int | None, str, str]] = set()
    last = float("-inf")
    for index, line in enumerate(ln for f in ordered for ln in f.lines):
        ident = (line.epoch, line.kind.value, line.evidence.text.strip())
        if line.epoch is not None and ident in seen:
            continue
        seen.add(ident)
        if line.epoch is not None:
            last = float(line.epoch)
        keyed.append((last, index, line))
    keyed.sort(key=lambda item: (item[0], item[1]))
    return tuple(line for _, _, line in keyed)


def _epoch(line: SummaryLine) -> float | None:
    return float(line.epoch) if line.epoch is not None else None


def _detail(end: BootEnd) -> str:
    if end is BootEnd.CRASH:
        return (
            "no Rebooting/Halting line before Starting system, then VMkernel error: the host "
            "crashed (purple screen)"
        )
    if end is BootEnd.UNCLEAN:
        return (
            "no Rebooting/Halting line before Starting system and no VMkernel error: a reset "
            "or power loss"
        )
    return ""


def _boot(
    lines: list[SummaryLine],
    started: float | None,
    end: BootEnd,
    ended: float | None,
    end_lines: tuple[SummaryLine, ...] = (),
) -> SummaryBoot:
    boot = Boot(
        started_at=started,
        end=end,
        ended_at=ended,
        end_evidence=tuple(ln.evidence for ln in end_lines),
        last_evidence=lines[-1].evidence if lines else None,
        samples=len(lines),
        source="vmksummary",
        detail=_detail(end),
    )
    return SummaryBoot(boot, tuple(lines))


def split_boots(lines: Sequence[SummaryLine]) -> tuple[SummaryBoot, ...]:
    """The boots of a merged summary, each with how it ended."""
    boots: list[SummaryBoot] = []
    current: list[SummaryLine] = []
    started: float | None = None
    clean: SummaryLine | None = None
    for i, line in enumerate(lines):
        if line.kind is LineKind.HEARTBEAT:
            prev = current[-1] if current else None
            if (
                prev is not None
                and prev.vmk_uptime_s is not None
                and line.vmk_uptime_s is not None
                and line.vmk_uptime_s + 60 < prev.vmk_uptime_s
            ):
                # uptime fell with no Starting line: a boot whose lines are lost
                boots.append(_boot(current, started, BootEnd.UNCLEAN, None))
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
                boots.append(_boot(current, started, end, _epoch(line), end_lines))
            current, started, clean = [], _epoch(line), None
    boots.append(_boot(current, started, BootEnd.OPEN, None))
    return tuple(
        b
        for b in boots
        if b.lines or b.boot.end is not BootEnd.OPEN or b.boot.started_at is not None
    )


def incident(boots: Sequence[SummaryBoot]) -> SummaryBoot | None:
    """The boot that ended in the last crash (or unclean stop), else the last boot."""
    for boot in reversed(boots):
        if boot.boot.end in (BootEnd.CRASH, BootEnd.UNCLEAN):
            return boot
    return boots[-1] if boots else None


_EVENT_KINDS = {
    LineKind.STARTING: "boot",
    LineKind.REBOOTING: "reboot",
    LineKind.HALTING: "halt",
    LineKind.VMKERNEL_ERROR: "vmkernel_error",
}


def events(lines: Sequence[SummaryLine]) -> tuple[TimelineEvent, ...]:
    """Boots, clean stops and crashes, and the first and last hourly summary, in time order."""
    out: list[TimelineEvent] = []
    for line in lines:
        kind = _EVENT_KINDS.get(line.kind)
        if kind is not None:
            out.append(TimelineEvent(kind, _epoch(line), line.evidence.text, line.evidence))
    beats = [ln for ln in lines if ln.kind is LineKind.HEARTBEAT]
    if beats:
        first, last = beats[0], beats[-1]
        out.insert(
            0, TimelineEvent("first_summary", _epoch(first), "first hourly summary", first.evidence)
        )
        out.append(
            TimelineEvent("last_summary", _epoch(last), "last hourly summary", last.evidence)
        )
    out.sort(key=lambda e: (e.at is None, e.at or 0.0))
    return tuple(out)


def hourly_series(lines: Iterable[SummaryLine]) -> tuple[Series, ...]:
    """Each top-three token's (epoch, KB) points and the lines that show it."""
    points: dict[str, list[tuple[float, float]]] = defaultdict(list)
    evidence: dict[str, list[Evidence]] = defaultdict(list)
    for line in lines:
        if line.epoch is None or line.kind is not LineKind.HEARTBEAT:
            continue
        for consumer in line.top:
            points[consumer.token].append((float(line.epoch), float(consumer.kb)))
            evidence[consumer.token].append(line.evidence)
    return tuple(
        Series(token, token, tuple(pts), evidence=tuple(evidence[token]))
        for token, pts in points.items()
    )


def swap_points(lines: Iterable[SummaryLine]) -> tuple[tuple[float, int], ...]:
    """(epoch, swap used bytes) of every hourly line that has both."""
    return tuple(
        (float(ln.epoch), ln.swap_used_bytes)
        for ln in lines
        if ln.kind is LineKind.HEARTBEAT and ln.epoch is not None and ln.swap_used_bytes is not None
    )
