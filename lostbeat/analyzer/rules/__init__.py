"""Rules judge HostFacts. Each module holds one rule; RULES lists them in the order the engine
runs them. ``@rule`` only attaches metadata (id, the artifacts it reads, its doc): the engine
calls each rule function directly, with typed inputs, in the order written in engine.py.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

__all__ = ["RULES", "Rule", "rule"]

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True, slots=True)
class Rule:
    id: str
    artifacts: tuple[str, ...]
    doc: str
    module: str


def rule(rule_id: str, *, artifacts: tuple[str, ...]) -> Callable[[F], F]:
    """Attach metadata to a rule function (no registration side effects beyond the record)."""

    def wrap(fn: F) -> F:
        fn.__lostbeat_rule__ = Rule(  # type: ignore[attr-defined]
            rule_id, artifacts, (fn.__doc__ or "").strip(), fn.__module__
        )
        return fn

    return wrap


def _collect() -> tuple[Rule, ...]:
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

    fns: tuple[Callable[..., Any], ...] = (
        timeline.judge_timeline,
        crash.judge_crash,
        memory.judge_memory,
        root_cause.judge_root_cause,
        culprit.resolve_culprit,
        known_issues.match_known_issues,
        coredumps.judge_coredumps,
        actions.plan_actions,
    )
    return tuple(fn.__lostbeat_rule__ for fn in fns)  # type: ignore[attr-defined]


def __getattr__(name: str) -> tuple[Rule, ...]:
    if name == "RULES":
        return _collect()
    raise AttributeError(name)
