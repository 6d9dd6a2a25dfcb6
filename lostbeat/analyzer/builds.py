"""ESX builds and the releases they belong to (reference: esx-artifacts.md §3.4).

The 3.5 rows rest on unverified background knowledge (no source confirmed them); the 4.x rows
come from a community build list. The authoritative list is VMware KB 316595, not consulted.
A build between two known ones is a patch of the lower release.

>>> release_of(153875).name
'ESX 3.5 Update 4'
>>> release_of(160000).name
'ESX 3.5 Update 4 (patched)'
>>> release_of(12) is None
True
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["BUILDS", "Release", "release_of"]


@dataclass(frozen=True, slots=True)
class Release:
    name: str
    version: tuple[int, int]  # (3, 5), (4, 0), (4, 1)
    update: int  # 0 for GA
    verified: bool
    patched: bool = False


# build -> release; each row cites esx-artifacts.md §3.4.
BUILDS: dict[int, Release] = {
    # unverified: 3.5 builds are background knowledge only (§3.4)
    64607: Release("ESX 3.5", (3, 5), 0, verified=False),
    82663: Release("ESX 3.5 Update 1", (3, 5), 1, verified=False),
    110268: Release("ESX 3.5 Update 2", (3, 5), 2, verified=False),
    123630: Release("ESX 3.5 Update 3", (3, 5), 3, verified=False),
    153875: Release("ESX 3.5 Update 4", (3, 5), 4, verified=False),
    207095: Release("ESX 3.5 Update 5", (3, 5), 5, verified=False),
    # 4.x rows from networkgirl.blogspot.com/2012/10 (§3.4)
    164009: Release("ESX 4.0", (4, 0), 0, verified=True),
    171294: Release("ESX 4.0 (pre Update 1)", (4, 0), 0, verified=True),
    208167: Release("ESX 4.0 Update 1", (4, 0), 1, verified=True),
    260247: Release("ESX 4.1", (4, 1), 0, verified=False),  # conflict 260247 vs 260427, open
    260427: Release("ESX 4.1", (4, 1), 0, verified=False),
    341836: Release("ESX 4.1 Update 1", (4, 1), 1, verified=False),
    348481: Release("ESX 4.1 Update 1", (4, 1), 1, verified=False),
    502767: Release("ESX 4.1 Update 2", (4, 1), 2, verified=True),
    800380: Release("ESX 4.1 Update 3", (4, 1), 3, verified=True),
}

# Build numbers grow across product lines, so "nearest lower" only holds within a line: a 3.5
# patch build can be higher than 4.0 GA (207095 > 164009). Without a version hint a patch build
# is placed only where a single line's span holds it.
_LINES: dict[tuple[int, int], tuple[int, int]] = {
    (3, 5): (64607, 260000),
    (4, 0): (164009, 260000),
    (4, 1): (260247, 1_000_000),
}


def release_of(build: int | None, *, version: tuple[int, int] | None = None) -> Release | None:
    """The release of ``build``; a build between known builds of one line is a patch.

    >>> release_of(180000) is None  # 3.5 or 4.0: ambiguous without the version
    True
    >>> release_of(180000, version=(4, 0)).name
    'ESX 4.0 (pre Update 1) (patched)'
    """
    if build is None:
        return None
    exact = BUILDS.get(build)
    if exact is not None:
        return exact
    lines = [v for v, (low, high) in _LINES.items() if low <= build <= high]
    if version is not None:
        lines = [v for v in lines if v == version]
    if len(lines) != 1:
        return None
    line = lines[0]
    lower = max((b for b, r in BUILDS.items() if r.version == line and b <= build), default=None)
    if lower is None:
        return None
    base = BUILDS[lower]
    return Release(f"{base.name} (patched)", base.version, base.update, False, True)
