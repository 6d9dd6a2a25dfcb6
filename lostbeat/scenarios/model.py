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

from lostbeat.analyzer.result import CauseKind, CrashClass, CrashType, Origin
from lostbeat.errors import ParseError
from lostbeat.scenarios.expect import Expect

__all__ = [
    "CaseTruth",
    "CauseKind",
    "CrashClass",
    "CrashType",
    "Expect",
    "GeneratedCase",
    "Origin",
    "Truth",
    "corpus_release",
]


def corpus_release(name: str) -> str:
    """A release as the real corpora write it: ``ESX 4.0 Update 1`` -> ``ESX 4.0 U1``.

    >>> corpus_release("ESX 4.1 Update 3"), corpus_release("ESXi 8.0b")
    ('ESX 4.1 U3', 'ESXi 8.0b')
    """
    return name.replace(" Update ", " U")


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
    crash_class: CrashClass | None = None
    """What kind of fault, where the bundle settles it (written in ``expect`` only)."""

    @property
    def expect(self) -> Expect:
        """The answer key in the corpora's vocabulary. ESX 3.x builds have no verified
        release name (docs/reference/esx-builds.md), so only 4.x incidents name one."""
        release = None if self.release.startswith("ESX 3") else corpus_release(self.release)
        return Expect(
            crash_type=self.crash_type,
            crash_class=self.crash_class,
            build=self.build,
            release=release,
            known_issues=self.known_issues,
            root_cause_kind=self.root_cause_kind,
            root_cause_process=self.culprit,
        )

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
            "expect": self.expect.to_doc(),
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
            crash_class = doc.get("expect", {}).get("crash.class")
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
                crash_class=None if crash_class is None else CrashClass(crash_class),
            )
        except (ValueError, KeyError, TypeError) as err:
            raise ParseError(f"expected a lostbeat truth document ({err})", path=path) from err


@dataclass(frozen=True, slots=True)
class CaseTruth:
    """The answer key of an incident written as loose files or a bundle other than ESX
    3.x/4.x's (the ESX forms and Linux scenarios): what was written, and what it settles.

    Examples:
        >>> t = CaseTruth("linux-oom-global", 4, "linux", ("dmesg",), ("dmesg.txt",),
        ...               Expect(CrashType.OOM_KILL, killer="kernel", victim="java"),
        ...               (("kernel", "5.15.0-91-generic"),))
        >>> CaseTruth.from_json(t.to_json()) == t
        True
    """

    scenario: str
    seed: int
    platform: str
    """``esx_classic``, ``esxi`` or ``linux``."""
    forms: tuple[str, ...]
    """The artifact forms written, in the corpora's vocabulary."""
    inputs: tuple[str, ...]
    """File names written beside ``truth.json``, the main input first."""
    expect: Expect
    detail: tuple[tuple[str, str], ...] = ()
    """Facts behind the answer that a test can check against the files (a pid, a kernel)."""

    def to_json(self) -> str:
        doc = {
            "scenario": self.scenario,
            "seed": self.seed,
            "platform": self.platform,
            "forms": list(self.forms),
            "inputs": list(self.inputs),
            "expect": self.expect.to_doc(),
            "detail": dict(self.detail),
        }
        return json.dumps(doc, indent=2) + "\n"

    @classmethod
    def from_json(cls, text: str, *, path: str = "truth.json") -> CaseTruth:
        """Read the document back.

        Raises:
            ParseError: not JSON, or a field is missing or of the wrong kind.
        """
        try:
            doc = json.loads(text)
            return cls(
                scenario=str(doc["scenario"]),
                seed=int(doc["seed"]),
                platform=str(doc["platform"]),
                forms=tuple(str(f) for f in doc["forms"]),
                inputs=tuple(str(f) for f in doc["inputs"]),
                expect=Expect.from_doc(doc["expect"]),
                detail=tuple((str(k), str(v)) for k, v in doc["detail"].items()),
            )
        except (ValueError, KeyError, TypeError, AttributeError) as err:
            raise ParseError(f"expected a lostbeat truth document ({err})", path=path) from err


@dataclass(frozen=True, slots=True)
class GeneratedCase:
    """One generated incident on disk."""

    bundle: Path
    """The main input: the vm-support ``.tgz``, a sosreport, or the one log or screen."""
    truth: Truth | CaseTruth
    truth_path: Path
    extras: tuple[Path, ...] = ()
    """Loose files a support engineer would hand over too (a transcribed ``psod.txt``)."""

    @property
    def expect(self) -> Expect:
        return self.truth.expect
