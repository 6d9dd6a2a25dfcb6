"""Rules judge the neutral :class:`~lostbeat.analyzer.facts.Facts`, whatever the platform.
Each module holds one rule; RULES lists them in the order the engine runs them. ``@rule``
only attaches metadata (id and doc): the engine calls each rule function directly, with
typed inputs, in the order written in engine.py. No rule imports a platform profile.
"""

from __future__ import annotations

from lostbeat.analyzer.rules import (
    actions,
    coredumps,
    crash,
    culprit,
    known_issues,
    memory,
    root_cause,
    timeline,
)
from lostbeat.analyzer.rules._rule import Rule, rule, rule_of

__all__ = ["RULES", "Rule", "rule"]

RULES: tuple[Rule, ...] = tuple(
    rule_of(fn)
    for fn in (
        timeline.judge_timeline,
        crash.judge_crash,
        memory.judge_memory,
        root_cause.judge_root_cause,
        culprit.resolve_culprit,
        known_issues.match_known_issues,
        coredumps.judge_coredumps,
        actions.plan_actions,
    )
)
