"""The ground truth of a generated incident, and the case a generation returns.

``truth.json`` is :meth:`Truth.to_json` of the :class:`Truth` below; its vocabulary is the
analyzer's (``lostbeat.analyzer.result``: :class:`CrashType`, :class:`CauseKind`,
:class:`Origin`) so a benchmark compares values, not spellings.

Examples:
    >>> t = Truth(scenario="clean-halt", seed=3, crash_type=CrashType.NONE,
    ...           root_cause_kind=CauseKind.NOT_MEMORY, build=208167, release="ESX 4.0 Update 1",
    ...           cos_ram_mb=300, swap_mb=600, cos_core_file_valid=True)
    >>> Truth.from_json(t.to_json()) == t
    True
    >>> json.loads(t.to_json())["crash_type"]
    'none'
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lostbeat.analyzer.result import CauseKind, CrashType, Origin
from lostbeat.errors import ParseError

__all__ = ["CauseKind", "CrashType", "GeneratedCase", "Origin", "Truth"]


@dataclass(frozen=True, slots=True)
class Truth:
    """What really happened on the generated host (the answer key)."""

    scenario: str
    seed: int
    crash_type: CrashType
    root_cause_kind: CauseKind
    build: int
    release: str
    cos_ram_mb: int
    swap_mb: int
    cos_core_file_valid: bool
    culprit: str | None = None
    """Full process name of the primary culprit, or None (spike, contention, no leak)."""
    culprits: tuple[str, ...] = ()
    """Every leaker, primary first."""
    origin: Origin | None = None
    known_issues: tuple[str, ...] = ()
    action_kbs: tuple[str, ...] = ()
    """Sorted KB ids of the action plan."""
    host: str = ""
    crashed_at: float | None = None
    """Epoch of the purple screen, or None without a crash."""

    def to_json(self) -> str:
        """The ``truth.json`` document (indented, stable key order)."""
        doc: dict[str, Any] = {
            "scenario": self.scenario,
            "seed": self.seed,
            "crash_type": self.crash_type.value,
            "root_cause_kind": self.root_cause_kind.value,
            "culprit": self.culprit,
            "culprits": list(self.culprits),
            "origin": None if self.origin is None else self.origin.value,
            "known_issues": list(self.known_issues),
            "action_kbs": list(self.action_kbs),
            "build": self.build,
            "release": self.release,
            "cos_ram_mb": self.cos_ram_mb,
            "swap_mb": self.swap_mb,
            "cos_core_file_valid": self.cos_core_file_valid,
            "host": self.host,
            "crashed_at": self.crashed_at,
        }
        return json.dumps(doc, indent=2) + "\n"

    @classmethod
    def from_json(cls, text: str, *, path: str = "truth.json") -> Truth:
        """Read a ``truth.json`` document.

        Raises:
            ParseError: not JSON, or a field is missing or of the wrong kind.
        """
        try:
            doc = json.loads(text)
            origin = doc["origin"]
            crashed_at = doc.get("crashed_at")
            return cls(
                scenario=str(doc["scenario"]),
                seed=int(doc["seed"]),
                crash_type=CrashType(doc["crash_type"]),
                root_cause_kind=CauseKind(doc["root_cause_kind"]),
                culprit=doc["culprit"],
                culprits=tuple(str(c) for c in doc["culprits"]),
                origin=None if origin is None else Origin(origin),
                known_issues=tuple(str(k) for k in doc["known_issues"]),
                action_kbs=tuple(str(k) for k in doc["action_kbs"]),
                build=int(doc["build"]),
                release=str(doc["release"]),
                cos_ram_mb=int(doc["cos_ram_mb"]),
                swap_mb=int(doc["swap_mb"]),
                cos_core_file_valid=bool(doc["cos_core_file_valid"]),
                host=str(doc.get("host", "")),
                crashed_at=None if crashed_at is None else float(crashed_at),
            )
        except (ValueError, KeyError, TypeError) as err:
            raise ParseError(f"expected a lostbeat truth document ({err})", path=path) from err


@dataclass(frozen=True, slots=True)
class GeneratedCase:
    """One generated incident on disk."""

    bundle: Path
    """The vm-support ``.tgz``."""
    truth: Truth
    truth_path: Path
    extras: tuple[Path, ...] = ()
    """Loose files a support engineer would hand over too (a transcribed ``psod.txt``)."""
