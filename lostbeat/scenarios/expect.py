"""The answer key in the real corpora's vocabulary (``tests/corpus/real*/README.md``).

Every generated incident's ``truth.json`` carries an ``expect`` object whose keys are those of
the real corpora's ``case.json``: ``crash.type``, ``crash.class``, ``crash.suspect_module``,
``crash.build``, ``crash.release``, ``known_issues``, ``crash.reboot``, ``crash.killer``,
``crash.victim``, ``victim_was_grower``, ``root_cause.kind``, ``root_cause.process``,
``incidents``. A key is present only where what was written settles it: a build that the
files do not show, or a cause the evidence cannot tell, is left out, as in the corpora.

Examples:
    >>> e = Expect(CrashType.VMKERNEL, CrashClass.DRIVER, suspect_module="i40en")
    >>> e.to_doc()
    {'crash.type': 'vmkernel', 'crash.class': 'driver', 'crash.suspect_module': 'i40en'}
    >>> Expect.from_doc(e.to_doc()) == e
    True
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from lostbeat.analyzer.result import CauseKind, CrashClass, CrashType

__all__ = ["KEYS", "Expect"]

KEYS: dict[str, str] = {
    "crash_type": "crash.type",
    "crash_class": "crash.class",
    "suspect_module": "crash.suspect_module",
    "build": "crash.build",
    "release": "crash.release",
    "known_issues": "known_issues",
    "reboot": "crash.reboot",
    "killer": "crash.killer",
    "victim": "crash.victim",
    "victim_was_grower": "victim_was_grower",
    "root_cause_kind": "root_cause.kind",
    "root_cause_process": "root_cause.process",
    "incidents": "incidents",
}
"""Attribute -> key of the corpora's ``expect``."""


@dataclass(frozen=True, slots=True)
class Expect:
    """What an analysis of the written files must find; ``None`` is "not settled"."""

    crash_type: CrashType
    crash_class: CrashClass | None = None
    suspect_module: str | None = None
    build: int | None = None
    release: str | None = None
    """As the corpora write it: ``ESXi 7.0 U1``, ``ESX 4.0 U1``, ``ESXi 8.0b``."""
    known_issues: tuple[str, ...] | None = None
    """KB numbers; an empty tuple says that no known issue applies."""
    reboot: str | None = None
    """``user`` for a user-initiated reboot or shutdown."""
    killer: str | None = None
    victim: str | None = None
    victim_was_grower: bool | None = None
    root_cause_kind: CauseKind | None = None
    root_cause_process: str | None = None
    incidents: int | None = None
    """Separate incidents in the log, when more than one."""

    def to_doc(self) -> dict[str, Any]:
        """The ``expect`` object: only the keys that are set, in the corpora's order."""
        doc: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if value is None:
                continue
            if isinstance(value, tuple):
                value = list(value)
            elif isinstance(value, CrashType | CrashClass | CauseKind):
                value = value.value
            doc[KEYS[f.name]] = value
        return doc

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> Expect:
        """Read an ``expect`` object back.

        Raises:
            KeyError, ValueError, TypeError: a key is unknown or a value of the wrong kind.
        """
        attrs = {attr: doc[key] for attr, key in KEYS.items() if key in doc}
        unknown = set(doc) - set(KEYS.values())
        if unknown:
            raise KeyError(f"unknown expect key(s) {sorted(unknown)}")
        out: dict[str, Any] = dict(attrs)
        out["crash_type"] = CrashType(attrs["crash_type"])
        if "crash_class" in attrs:
            out["crash_class"] = CrashClass(attrs["crash_class"])
        if "root_cause_kind" in attrs:
            out["root_cause_kind"] = CauseKind(attrs["root_cause_kind"])
        if "known_issues" in attrs:
            out["known_issues"] = tuple(str(k) for k in attrs["known_issues"])
        for key in ("build", "incidents"):
            if key in attrs and not isinstance(attrs[key], int):
                raise TypeError(f"{KEYS[key]} must be an integer")
        return cls(**out)
