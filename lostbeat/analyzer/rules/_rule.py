"""The ``Rule`` record and the ``@rule`` decorator that attaches it (metadata only).

Rules read the neutral :class:`~lostbeat.analyzer.facts.Facts`, never an artifact: which
artifacts feed a fact is each platform profile's business, so a rule declares none.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

__all__ = ["Rule", "rule", "rule_of"]

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True, slots=True)
class Rule:
    id: str
    doc: str
    module: str


def rule(rule_id: str) -> Callable[[F], F]:
    """Attach a ``Rule`` record to a rule function; nothing is registered anywhere."""

    def wrap(fn: F) -> F:
        fn.__lostbeat_rule__ = Rule(  # type: ignore[attr-defined]
            rule_id, (fn.__doc__ or "").strip(), fn.__module__
        )
        return fn

    return wrap


def rule_of(fn: Callable[..., Any]) -> Rule:
    """The record ``@rule`` attached to ``fn``."""
    record: Rule = fn.__lostbeat_rule__  # type: ignore[attr-defined]
    return record
