"""Memory at the last hourly summary before the crash, against the Service Console's size.

The article's arithmetic: vmksummary's swap field (bytes) against ``SwapTotal`` of
``/proc/meminfo`` (567468032 bytes of 554168 kB is 100 %), and the top consumer (KB of virtual
memory) against ``MemTotal`` (586196 KB of 799732 kB is 73 %). meminfo is read after the reboot,
so its totals are the configured sizes, not the state at the crash.
"""

from __future__ import annotations

from dataclasses import dataclass

from lostbeat.analyzer.facts import HostFacts
from lostbeat.analyzer.findings import Evidence, Finding, Severity
from lostbeat.analyzer.parsers.vmksummary import SummaryLine
from lostbeat.analyzer.result import Memory
from lostbeat.analyzer.rules._rule import rule
from lostbeat.analyzer.rules.timeline import Timeline

__all__ = ["RAM_DANGER", "SWAP_DANGER", "MemoryJudgement", "judge_memory"]

SWAP_DANGER = 80.0
"""Percent of SwapTotal in use past which the console is close to exhaustion."""
RAM_DANGER = 50.0
"""Percent of MemTotal held by one process past which it dominates the console."""


@dataclass(frozen=True, slots=True)
class MemoryJudgement:
    memory: Memory
    last: SummaryLine | None
    findings: tuple[Finding, ...]


def _pct(part: float | None, whole: float | None) -> float | None:
    if part is None or not whole:
        return None
    return round(100.0 * part / whole, 1)


@rule("memory", artifacts=("vmksummary", "meminfo"))
def judge_memory(facts: HostFacts, timeline: Timeline) -> MemoryJudgement:
    """Swap and top consumer at the last summary, and when each crossed its danger line."""
    incident = timeline.incident
    lines = incident.lines if incident else ()
    last = lines[-1] if lines else None
    mem_total = facts.meminfo.total if facts.meminfo else None
    swap_total = facts.meminfo.swap_total if facts.meminfo else None
    if last is None and facts.captures:
        return _from_capture(facts)
    if last is None:
        return MemoryJudgement(
            Memory(mem_total_bytes=mem_total, swap_total_bytes=swap_total), None, ()
        )
    top = max(last.top, key=lambda c: c.kb) if last.top else None
    swap_danger_at = next(
        (
            float(ln.epoch)
            for ln in lines
            if ln.epoch is not None
            and (p := _pct(ln.swap_used_bytes, swap_total)) is not None
            and p >= SWAP_DANGER
        ),
        None,
    )
    ram_danger_at = next(
        (
            float(ln.epoch)
            for ln in lines
            if ln.epoch is not None
            and ln.top
            and (p := _pct(max(c.kb for c in ln.top) * 1024, mem_total)) is not None
            and p >= RAM_DANGER
        ),
        None,
    )
    memory = Memory(
        at=float(last.epoch) if last.epoch is not None else None,
        swap_used_bytes=last.swap_used_bytes,
        swap_total_bytes=swap_total,
        swap_used_percent=_pct(last.swap_used_bytes, swap_total),
        mem_total_bytes=mem_total,
        top_process=top.token if top else None,
        top_process_kb=top.kb if top else None,
        top_process_ram_percent=_pct(top.kb * 1024 if top else None, mem_total),
        swap_danger_at=swap_danger_at,
        ram_danger_at=ram_danger_at,
    )
    return MemoryJudgement(memory, last, tuple(_findings(memory, last, facts)))


def _from_capture(facts: HostFacts) -> MemoryJudgement:
    """Memory as the monitor's screen showed it when it declared the loss."""
    cap = facts.captures[0]
    domain = facts.domain_kb
    top = max(cap.top, key=lambda p: (p.rss_kb or 0) + (p.swap_kb or 0)) if cap.top else None
    top_kb = (top.rss_kb or 0) + (top.swap_kb or 0) if top else None
    swap_used = cap.swap_used_kb * 1024 if cap.swap_used_kb is not None else None
    swap_total = cap.swap_total_kb * 1024 if cap.swap_total_kb is not None else None
    memory = Memory(
        at=cap.declared_at,
        swap_used_bytes=swap_used,
        swap_total_bytes=swap_total,
        swap_used_percent=_pct(swap_used, swap_total),
        mem_total_bytes=int(domain * 1024) if domain else None,
        top_process=top.comm if top else None,
        top_process_kb=top_kb,
        top_process_ram_percent=_pct(top_kb, domain),
    )
    detail = (
        f"top consumer {top.comm} {top_kb / 1024:.0f} MB = "
        f"{memory.top_process_ram_percent or 0:.0f} % of the watched domain"
        if top and top_kb is not None
        else "no consumer listed"
    )
    evidence = cap.evidence + ((top.evidence,) if top else ())
    return MemoryJudgement(
        memory,
        None,
        (
            Finding(
                "memory.capture",
                Severity.WARNING,
                "Memory when the loss was declared",
                detail,
                evidence,
            ),
        ),
    )


def _findings(memory: Memory, last: SummaryLine, facts: HostFacts) -> list[Finding]:
    evidence: list[Evidence] = [last.evidence]
    if facts.meminfo is not None:
        evidence.extend(facts.meminfo.evidence)
    parts = []
    if memory.swap_used_bytes is not None:
        mb = memory.swap_used_bytes / 2**20
        total = f" of {memory.swap_total_bytes / 2**20:.0f} MB" if memory.swap_total_bytes else ""
        pct = f" ({memory.swap_used_percent:.0f} %)" if memory.swap_used_percent is not None else ""
        parts.append(f"swap used {mb:.0f} MB{total}{pct}")
    if memory.top_process and memory.top_process_kb is not None:
        ram = (
            f" = {memory.top_process_ram_percent:.0f} % of {memory.mem_total_bytes / 2**20:.0f} MB"
            " RAM"
            if memory.top_process_ram_percent is not None and memory.mem_total_bytes
            else ""
        )
        parts.append(
            f"top consumer {memory.top_process} {memory.top_process_kb / 1024:.0f} MB{ram}"
        )
    high = (memory.swap_used_percent or 0) >= SWAP_DANGER or (
        memory.top_process_ram_percent or 0
    ) >= RAM_DANGER
    return [
        Finding(
            "memory.last_summary",
            Severity.WARNING if high else Severity.INFO,
            "Memory at the last hourly summary" + (" was near exhaustion" if high else ""),
            "; ".join(parts),
            tuple(evidence),
        )
    ]
