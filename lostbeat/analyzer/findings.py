"""Findings and the evidence behind them: what every rule emits and every report shows."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

__all__ = ["Evidence", "Finding", "Severity"]


class Severity(StrEnum):
    CRITICAL = "critical"
    WARNING = "warning"
    INFO = "info"


@dataclass(frozen=True, slots=True)
class Evidence:
    """One line of one input that a finding rests on.

    >>> Evidence("var/log/vmksummary", 12, "hb: vmk loaded").where
    'var/log/vmksummary:12'
    """

    path: str
    line_no: int | None
    text: str

    @property
    def where(self) -> str:
        return f"{self.path}:{self.line_no}" if self.line_no is not None else self.path


@dataclass(frozen=True, slots=True)
class Finding:
    """A judgement with its evidence; ``id`` is the rule's id plus a suffix."""

    id: str
    severity: Severity
    title: str
    detail: str = ""
    evidence: tuple[Evidence, ...] = ()
