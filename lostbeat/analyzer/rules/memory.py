"""Memory at the last record before the end, against the domain's size.

The article's arithmetic: vmksummary's swap field (bytes) against ``SwapTotal`` of
``/proc/meminfo`` (567468032 bytes of 554168 kB is 100 %), and the top consumer (KB) against
``MemTotal`` (586196 KB of 799732 kB is 73 %). On Linux the domain is the watched cgroup's
limit (or the host's memory), and the record the last sample or the capture.
"""

from __future__ import annotations

from dataclasses import dataclass

from lostbeat.analyzer.facts import Facts
from lostbeat.analyzer.findings import Evidence, Finding, Severity
from lostbeat.analyzer.result import Memory
from lostbeat.analyzer.rules._rule import rule
from lostbeat.analyzer.units import percent, size_bytes, size_kb

__all__ = ["RAM_DANGER", "SWAP_DANGER", "MemoryJudgement", "judge_memory"]

SWAP_DANGER = 80.0
"""Percent of SwapTotal in use past which the domain is close to exhaustion."""
RAM_DANGER = 50.0
"""Percent of the domain's memory held by one process past which it dominates."""


@dataclass(frozen=True, slots=True)
class MemoryJudgement:
    memory: Memory
    findings: tuple[Finding, ...]


def _pct(part: float | None, whole: float | None) -> float | None:
    if part is None or not whole:
        return None
    return round(100.0 * part / whole, 1)


@rule("memory")
def judge_memory(facts: Facts) -> MemoryJudgement:
    """Swap and top consumer at the last record, and when each crossed its danger line."""
    hist, dom = facts.history, facts.domain
    size = dom.size_kb
    mem_total = int(size * 1024) if size is not None else None
    swap_total = int(dom.swap_total_kb * 1024) if dom.swap_total_kb is not None else None
    end = hist.end
    if end is None:
        return MemoryJudgement(Memory(mem_total_bytes=mem_total, swap_total_bytes=swap_total), ())
    at_end = [(s, s.points[-1][1]) for s in hist.series if s.points and s.points[-1][0] >= end - 1]
    top = max(at_end, key=lambda item: item[1]) if at_end else None
    swap_used = next((b for t, b in reversed(hist.swap) if t <= end), None)
    swap_danger_at = next(
        (t for t, b in hist.swap if (p := _pct(b, swap_total)) is not None and p >= SWAP_DANGER),
        None,
    )
    ram_danger_at = min(
        (
            t
            for s in hist.series
            for t, kb in s.points
            if (p := _pct(kb, size)) is not None and p >= RAM_DANGER
        ),
        default=None,
    )
    memory = Memory(
        at=end,
        swap_used_bytes=swap_used,
        swap_total_bytes=swap_total,
        swap_used_percent=_pct(swap_used, swap_total),
        mem_total_bytes=mem_total,
        top_process=top[0].token if top else None,
        top_process_kb=int(top[1]) if top else None,
        top_process_ram_percent=_pct(top[1], size) if top else None,
        swap_danger_at=swap_danger_at,
        ram_danger_at=ram_danger_at,
    )
    evidence = hist.last_evidence + dom.evidence
    if top is not None and top[0].evidence:
        evidence += (top[0].evidence[-1],)
    unique = tuple(dict.fromkeys(evidence))  # the same line shown once
    return MemoryJudgement(memory, (_finding(memory, facts, unique),))


def _finding(memory: Memory, facts: Facts, evidence: tuple[Evidence, ...]) -> Finding:
    parts = []
    if memory.swap_total_bytes == 0:
        parts.append("no swap configured")
    elif memory.swap_used_bytes is not None:
        total = f" of {size_bytes(memory.swap_total_bytes)}" if memory.swap_total_bytes else ""
        pct = (
            f" ({percent(memory.swap_used_percent)})"
            if memory.swap_used_percent is not None
            else ""
        )
        parts.append(f"swap used {size_bytes(memory.swap_used_bytes)}{total}{pct}")
    if memory.top_process and memory.top_process_kb is not None:
        share = (
            f" = {percent(memory.top_process_ram_percent)} of {size_bytes(memory.mem_total_bytes)}"
            f" of {facts.words.domain}"
            if memory.top_process_ram_percent is not None and memory.mem_total_bytes
            else ""
        )
        parts.append(f"top consumer {memory.top_process} {size_kb(memory.top_process_kb)}{share}")
    high = (memory.swap_used_percent or 0) >= SWAP_DANGER or (
        memory.top_process_ram_percent or 0
    ) >= RAM_DANGER
    record = facts.words.record
    return Finding(
        "memory.last_summary",
        Severity.WARNING if high else Severity.INFO,
        f"Memory at the last {record}" + (" was near exhaustion" if high else ""),
        "; ".join(parts),
        evidence,
    )
