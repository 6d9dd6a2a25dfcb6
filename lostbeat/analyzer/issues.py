"""Known issues as data: a documented issue, the releases it affects, and the lines that show it.

A platform lists its known issues (``Facts.known_issues``); one neutral matcher reads them all.
An issue is found when its signature appears in the incident's lines (``Facts.signs``: the
screens' lines, the logs' crash, warning and last lines), on a release it affects, for a crash
of a kind it explains; or, for a leak it documents, when its process is the one to blame.
A signature is a set of alternatives, each a group of patterns that must all appear (in any
of the lines, in any order): a plain substring, or a regular expression written ``re:...``.
Nothing here knows a platform: the rows carry the knowledge.

Examples:
    >>> signs = Signs((Evidence("s", 1, "cpu0:1)[0x42]VmMemCowHintUpdatePost@vmkernel#nover"),))
    >>> issue = KnownIssue("318512", "COW hint race", "Disable TPS", "KB 318512",
    ...                    signatures=(("VmMemCowHintUpdatePost@vmkernel",),))
    >>> [e.line_no for e in issue.found_in(signs)]
    [1]
    >>> Affects((7, 0), "ESXi", first_build=18644231, fixed_build=21424296).holds(
    ...     ReleaseInfo("ESXi 7.0 Update 3c", "ESXi", (7, 0), 3, True, 19193900))
    True
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass, field

from lostbeat.analyzer.findings import Evidence
from lostbeat.analyzer.result import CauseKind, Crash, CrashClass, CrashType

__all__ = ["AT_BOOT_S", "Affects", "KnownIssue", "ReleaseInfo", "Signs", "pattern", "signed"]

AT_BOOT_S = 900.0
"""A crash within this much VMkernel uptime happened while the host was booting."""


@dataclass(frozen=True, slots=True)
class ReleaseInfo:
    """A product release: ``ESX 3.5 Update 4`` is product ESX, line (3, 5), update 4."""

    name: str
    product: str
    line: tuple[int, int]
    update: int
    verified: bool
    build: int | None = None
    """The host's build, when the release was read from one."""


@dataclass(frozen=True, slots=True)
class Affects:
    """One range of releases an issue affects: a product line, from an update or build, up to
    the build that fixed it (``fixed_build`` is the first one without the issue)."""

    line: tuple[int, int]
    product: str | None = None
    """``ESX``, ``ESXi``; ``None`` for both (ESX/ESXi 4.x)."""
    first_update: int = 0
    last_update: int | None = None
    first_build: int | None = None
    fixed_build: int | None = None

    def holds(self, release: ReleaseInfo) -> bool:
        """Whether ``release`` (with its build, where known) is in the range."""
        if (self.product and release.product != self.product) or release.line != self.line:
            return False
        if release.update < self.first_update:
            return False
        if self.last_update is not None and release.update > self.last_update:
            return False
        build = release.build
        if build is not None and self.first_build is not None and build < self.first_build:
            return False
        return not (
            build is not None and self.fixed_build is not None and build >= self.fixed_build
        )

    def __str__(self) -> str:
        text = f"{self.product or 'ESX/ESXi'} {self.line[0]}.{self.line[1]}"
        if self.last_update is not None:
            text += f" Update {self.first_update} to {self.last_update}"
        elif self.first_update:
            text += f" Update {self.first_update} and later"
        if self.first_build is not None:
            text += f" from build {self.first_build}"
        if self.fixed_build is not None:
            text += f" before build {self.fixed_build}"
        return text


Pattern = re.Pattern[str] | str


def pattern(text: str) -> Pattern:
    """A signature pattern: ``re:<regex>`` compiled, else the substring itself."""
    return re.compile(text[3:], re.ASCII) if text.startswith("re:") else text


@dataclass(frozen=True, slots=True)
class Signs:
    """The lines an incident's signatures are looked for in, joined once for fast search."""

    lines: tuple[Evidence, ...] = ()
    text: str = field(init=False, repr=False, compare=False)
    starts: tuple[int, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # a pasted frame's quoted "'@'" is its "@" (undecorate's rule)
        texts = [e.text.replace("\n", " ").replace("'@'", "@") for e in self.lines]
        starts, at = [], 0
        for t in texts:
            starts.append(at)
            at += len(t) + 1
        object.__setattr__(self, "text", "\n".join(texts))
        object.__setattr__(self, "starts", tuple(starts))

    def find(self, what: Pattern) -> Evidence | None:
        """The first line holding ``what`` (a substring, or a regex that stays in one line)."""
        if isinstance(what, str):
            at = self.text.find(what)
        else:
            m = what.search(self.text)
            at = m.start() if m else -1
        return self.lines[bisect_right(self.starts, at) - 1] if at >= 0 else None


@dataclass(frozen=True, slots=True)
class KnownIssue:
    """A documented issue and what shows it; see the module's docstring."""

    kb: str
    title: str
    workaround: str
    source: str
    signatures: tuple[tuple[Pattern, ...], ...] = ()
    """Alternatives: a group matches when each of its patterns is in some line."""
    unless: tuple[Pattern, ...] = ()
    """Lines of a more specific article: where one is there, this row is not the match."""
    affects: tuple[Affects, ...] = ()
    """The releases it affects; empty when the article names none."""
    crash: tuple[CrashType, ...] = ()
    """The crash types it explains; empty for any, no crash included (an agent's failure)."""
    process: str | None = None
    """A process whose leak it documents: blaming that process matches it too."""
    cause: CauseKind | None = None
    """The root cause the article gives, where the history cannot tell (a leak)."""
    class_: CrashClass | None = None
    """The kind of fault the article settles; ``None`` where it does not."""
    module: str | None = None
    vendor: str | None = None
    aliases: tuple[str, ...] = ()
    """The article's other numbers (legacy VMware KB ids)."""
    fixed: str = ""
    at_boot: bool = False
    """The article's crash happens while the host boots (a screen showing hours of VMkernel
    uptime is another crash)."""

    def applies_to(self, release: ReleaseInfo | None) -> bool:
        """Whether the release is one it affects; an unknown release cannot be ruled out."""
        return release is None or not self.affects or any(a.holds(release) for a in self.affects)

    @property
    def scope(self) -> str:
        """The releases it affects, in words."""
        return "; ".join(str(a) for a in self.affects) or "every release"

    def found_in(self, signs: Signs) -> tuple[Evidence, ...]:
        """The lines of the first signature group found whole, or ``()``."""
        if any(signs.find(what) is not None for what in self.unless):
            return ()
        for group in self.signatures:
            hits: list[Evidence] = []
            for what in group:
                ev = signs.find(what)
                if ev is None:
                    break
                hits.append(ev)
            else:
                return tuple(dict.fromkeys(hits))
        return ()

    def explains(self, crash: Crash) -> bool:
        """Whether the crash is of a kind it documents (and, for a boot-time issue, at boot)."""
        if self.crash and crash.type not in self.crash:
            return False
        up = crash.vmk_uptime_s
        return not (self.at_boot and up is not None and up > AT_BOOT_S)


def signed(
    issues: Sequence[KnownIssue], crash: Crash, release: ReleaseInfo | None, signs: Signs
) -> list[tuple[KnownIssue, tuple[Evidence, ...]]]:
    """The issues whose signature the lines show, for a crash and release they fit."""
    out = []
    for issue in issues:
        if not issue.signatures or not issue.explains(crash) or not issue.applies_to(release):
            continue
        found = issue.found_in(signs)
        if found:
            out.append((issue, found))
    return out
