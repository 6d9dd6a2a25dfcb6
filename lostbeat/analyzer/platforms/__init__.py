"""Platform profiles: ESX classic, ESXi and Linux, each one module; rules never import them.

A profile recognises its inputs, owns its artifact table, turns parsed artifacts into the
neutral :class:`~lostbeat.analyzer.facts.Facts`, and owns its words and its plan. Adding a
platform is adding a profile here (insights-core binds one set of spec names per kind of
archive the same way).

Examples:
    >>> [p.name for p in PROFILES]
    ['linux', 'esxi', 'esx_classic']
    >>> choose(Parsed()).name
    'esx_classic'
"""

from __future__ import annotations

from dataclasses import replace

from lostbeat.analyzer.platforms._profile import Artifact, Parsed, Profile
from lostbeat.analyzer.platforms.esx_classic import ESX_CLASSIC
from lostbeat.analyzer.platforms.esxi import ESXI
from lostbeat.analyzer.platforms.linux import LINUX

__all__ = ["PROFILES", "Artifact", "Parsed", "Profile", "artifact_table", "choose"]

PROFILES: tuple[Profile, ...] = (LINUX, ESXI, ESX_CLASSIC)
"""Every profile; on a tie the earlier one wins."""

DEFAULT: Profile = ESX_CLASSIC
"""When nothing is recognised (only a screen that names no version, say): the seed
article's platform."""


def choose(parsed: Parsed, profiles: tuple[Profile, ...] = PROFILES) -> Profile:
    """The profile that recognises the inputs most strongly."""
    best, score = None, 0
    for profile in profiles:
        found = profile.recognise(parsed)
        if found > score:
            best, score = profile, found
    return best or (profiles[-1] if profiles else DEFAULT)


def artifact_table(profiles: tuple[Profile, ...] = PROFILES) -> dict[str, Artifact]:
    """Every profile's artifacts, in profile order; an artifact two profiles share (ESX
    classic and ESXi read the same vmkernel log) takes the patterns of both."""
    table: dict[str, Artifact] = {}
    for profile in reversed(profiles):  # the seed's table first: its order decides ties
        for name, art in profile.artifacts.items():
            have = table.get(name)
            if have is None:
                table[name] = art
            elif art.patterns != have.patterns:
                extra = tuple(p for p in art.patterns if p not in have.patterns)
                table[name] = replace(have, patterns=have.patterns + extra)
    return table
