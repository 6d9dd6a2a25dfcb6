"""ESX and ESXi builds and the releases they belong to, ESX 3.5 to ESXi 8.0 Update 3.

Every row cites its source in docs/reference/esx-builds.md (S1: a copy of VMware KB 2143832's
tables; S2: the vCheck "[Hosts] Version" plugin's table pulled from it; S3: Wireshark's
``packet-vmware-hb.c``; S4: a readiness script's 7.0/8.0 table; S5: Ivo Beerens' blog). The
ESX 3.5 rows are unverified: no source read gives the 3.x table, and the reference says so;
they are kept, marked, because the Pegasus leak (KB 1009607) is scoped by 3.5 updates.

A build that is in no row is a patch: it is placed on the nearest lower release of its line
(``ESXi 7.0 Update 3c (patched)``). Build numbers grow across lines (a 6.5 patch is newer than
7.0 GA), so a build alone is placed only where one line's span holds it; the line from the
version files or the screen's header settles the rest.

>>> release_of(153875).name
'ESX 3.5 Update 4'
>>> release_of(24022510).name, release_of(24022510).source
('ESXi 8.0 Update 3', 'S1, S4')
>>> release_of(18700000, version=(7, 0)).name
'ESXi 7.0 Update 3 (patched)'
>>> release_of(702113, version=(4, 1), product="ESXi").name
'ESXi 4.1 Express Patch 2'
>>> release_of(12) is None
True
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["BUILDS", "Release", "release_of"]


@dataclass(frozen=True, slots=True)
class Release:
    name: str
    version: tuple[int, int]  # the product line: (3, 5), (4, 1), (7, 0)
    update: int  # 0 for GA and its patches
    verified: bool
    patched: bool = False
    product: str = "ESX"  # "ESX" (classic, and 9.x) or "ESXi"
    source: str = ""
    """Where docs/reference/esx-builds.md read the row (S1-S5), or why it is unverified."""
    build: int | None = None
    """The row's own build (for a patch, the build it was placed on)."""


# (build, line, name after the line, update, source); a 4.x row's product is the host's.
_ROWS: tuple[tuple[int, tuple[int, int], str, int, str], ...] = (
    # ESX 3.5: background knowledge, unverified (esx-builds.md: "not found")
    (64607, (3, 5), "", 0, "unverified"),
    (82663, (3, 5), " Update 1", 1, "unverified"),
    (110268, (3, 5), " Update 2", 2, "unverified"),
    (123630, (3, 5), " Update 3", 3, "unverified"),
    (153875, (3, 5), " Update 4", 4, "unverified"),
    (207095, (3, 5), " Update 5", 5, "unverified"),
    # ESX/ESXi 4.0
    (164009, (4, 0), "", 0, "S1, S3"),
    (171294, (4, 0), " (Eval & Free Download)", 0, "S1"),
    (208167, (4, 0), " Update 1", 1, "S1, S3, S5"),
    (261974, (4, 0), " Update 2", 2, "S1, S3"),
    (403553, (4, 0), " Update 3", 3, "S1 (conflict: S3 gives 398348)"),
    (523315, (4, 0), " Update 4", 4, "S1 (conflict: S3 gives 504850)"),
    (2167889, (4, 0), " Patch 15", 4, "S1"),
    # ESX/ESXi 4.1
    (260247, (4, 1), "", 0, "S1, S3"),
    (320092, (4, 1), " Patch 1", 0, "S1, S3"),
    (351620, (4, 1), " Update 1", 1, "S1 (conflict: S3 gives 348481)"),
    (381591, (4, 1), " Patch 2", 1, "S1, S3"),
    (502767, (4, 1), " Update 2", 2, "S1, S3"),
    (702113, (4, 1), " Express Patch 2", 2, "S1, S3"),
    (800380, (4, 1), " Update 3", 3, "S1, S3"),
    (2168595, (4, 1), " Patch 11a", 3, "S1"),
    # ESXi 5.0 .. 6.7
    (469512, (5, 0), " GA", 0, "S1, S2, S3"),
    (623860, (5, 0), " Update 1", 1, "S1, S2, S3"),
    (914586, (5, 0), " Update 2", 2, "S1, S2, S3"),
    (1311175, (5, 0), " Update 3", 3, "S1, S2, S3"),
    (3982828, (5, 0), " Patch 13", 3, "S1, S2, S3"),
    (799733, (5, 1), " GA", 0, "S1, S2, S3"),
    (838463, (5, 1), ".0a", 0, "S1, S2, S3"),
    (1065491, (5, 1), " Update 1", 1, "S1, S2, S3"),
    (1483097, (5, 1), " Update 2", 2, "S1, S2, S3"),
    (2323236, (5, 1), " Update 3", 3, "S1, S2, S3"),
    (3872664, (5, 1), " Patch 9", 3, "S1, S2, S3"),
    (1331820, (5, 5), " GA", 0, "S1, S2, S3"),
    (1623387, (5, 5), " Update 1", 1, "S1, S2, S3"),
    (1746018, (5, 5), " Update 1a", 1, "S1, S2, S3"),
    (2068190, (5, 5), " Update 2", 2, "S1, S2, S3"),
    (3029944, (5, 5), " Update 3", 3, "S1, S2, S3"),
    (3116895, (5, 5), " Update 3a", 3, "S1, S2, S3"),
    (3248547, (5, 5), " Update 3b", 3, "S1, S2, S3"),
    (9919047, (5, 5), " Update 3k", 3, "S1, S2, S3"),
    (2494585, (6, 0), " GA", 0, "S1, S2, S3"),
    (2809209, (6, 0), ".0b", 0, "S1, S2, S3"),
    (3029758, (6, 0), " Update 1", 1, "S1, S2, S3"),
    (3073146, (6, 0), " Update 1a", 1, "S1, S2, S3"),
    (3380124, (6, 0), " Update 1b", 1, "S1, S2, S3"),
    (3620759, (6, 0), " Update 2", 2, "S1, S2, S3"),
    (3825889, (6, 0), " Express Patch 6", 2, "S1"),
    (4192238, (6, 0), " Patch 3", 2, "S1"),
    (5050593, (6, 0), " Update 3", 3, "S1, S2, S3"),
    (5572656, (6, 0), " Update 3a", 3, "S1, S2, S3"),
    (15517548, (6, 0), " EP 25", 3, "S1, S2, S3"),
    (4564106, (6, 5), " GA", 0, "S1, S2, S3"),
    (4887370, (6, 5), ".0a", 0, "S1, S2, S3"),
    (5310538, (6, 5), ".0d", 0, "S1, S2"),
    (5969303, (6, 5), " Update 1", 1, "S1, S2, S3"),
    (7967591, (6, 5), " Update 1g", 1, "S1, S2, S3"),
    (8294253, (6, 5), " Update 2", 2, "S1, S2, S3"),
    (8935087, (6, 5), " Update 2b", 2, "S1, S2, S3"),
    (9298722, (6, 5), " Update 2c", 2, "S1, S2, S3"),
    (10884925, (6, 5), " P03", 2, "S1"),
    (13932383, (6, 5), " Update 3", 3, "S1, S2, S3"),
    (14320405, (6, 5), " Update 3a", 3, "S1, S2, S3"),
    (20502893, (6, 5), " P09", 3, "S1, S3"),
    (8169922, (6, 7), " GA", 0, "S1, S2, S3"),
    (10302608, (6, 7), " Update 1", 1, "S1, S2, S3"),
    (13006603, (6, 7), " Update 2", 2, "S1, S2, S3"),
    (14320388, (6, 7), " Update 3", 3, "S1, S2, S3"),
    (15160138, (6, 7), " Update 3b", 3, "S1, S2, S3"),
    (20497097, (6, 7), " P08", 3, "S1, S3"),
    # ESXi 7.0
    (15843807, (7, 0), " GA", 0, "S1, S2, S3, S4"),
    (16324942, (7, 0), "b", 0, "S1, S2, S3, S4"),
    (16850804, (7, 0), " Update 1", 1, "S1, S2, S3, S4"),
    (17119627, (7, 0), " Update 1a", 1, "S1, S2, S3, S4"),
    (17168206, (7, 0), " Update 1b", 1, "S1, S2, S3, S4"),
    (17325551, (7, 0), " Update 1c", 1, "S1, S2, S3, S4"),
    (17551050, (7, 0), " Update 1d", 1, "S1, S2, S3, S4"),
    (17630552, (7, 0), " Update 2", 2, "S1, S2, S3, S4"),
    (17867351, (7, 0), " Update 2a", 2, "S1, S2, S3, S4"),
    (18426014, (7, 0), " Update 2c", 2, "S1, S2, S3, S4"),
    (18538813, (7, 0), " Update 2d", 2, "S1, S2, S3, S4"),
    (18644231, (7, 0), " Update 3", 3, "S2, S3"),
    (18825058, (7, 0), " Update 3a", 3, "S2, S3"),
    (18905247, (7, 0), " Update 3b", 3, "S2, S3"),
    (19193900, (7, 0), " Update 3c", 3, "S1, S2, S3, S4"),
    (19290878, (7, 0), " Update 2e", 2, "S1, S2, S3, S4"),
    (19324898, (7, 0), " Update 1e", 1, "S1, S2, S3, S4"),
    (19482537, (7, 0), " Update 3d", 3, "S1, S2, S3, S4"),
    (19898904, (7, 0), " Update 3e", 3, "S1, S2, S3, S4"),
    (20036589, (7, 0), " Update 3f", 3, "S1, S2, S3, S4"),
    (20328353, (7, 0), " Update 3g", 3, "S1, S2, S3, S4"),
    (20842708, (7, 0), " Update 3i", 3, "S1, S3, S4"),
    (21053776, (7, 0), " Update 3j", 3, "S1, S3, S4"),
    (21313628, (7, 0), " Update 3k", 3, "S1, S3, S4"),
    (21424296, (7, 0), " Update 3l", 3, "S1, S3, S4"),
    (21686933, (7, 0), " Update 3m", 3, "S1, S3, S4"),
    (21930508, (7, 0), " Update 3n", 3, "S1, S3, S4"),
    (22348816, (7, 0), " Update 3o", 3, "S1, S3, S4"),
    (23307199, (7, 0), " Update 3p", 3, "S1, S3, S4"),
    (23794027, (7, 0), " Update 3q", 3, "S1, S3, S4"),
    (24411414, (7, 0), " Update 3r", 3, "S1, S4"),
    (24585291, (7, 0), " Update 3s", 3, "S1, S4"),
    (24723872, (7, 0), " Update 3v", 3, "S1"),
    # ESXi 8.0
    (20513097, (8, 0), " GA", 0, "S1, S4"),
    (20842819, (8, 0), "a", 0, "S1, S3, S4"),
    (21203435, (8, 0), "b", 0, "S1, S3, S4"),
    (21493926, (8, 0), "c", 0, "S1, S3, S4"),
    (21495797, (8, 0), " Update 1", 1, "S1, S3, S4"),
    (21813344, (8, 0), " Update 1a", 1, "S1, S3, S4"),
    (22088125, (8, 0), " Update 1c", 1, "S1, S3, S4"),
    (22380479, (8, 0), " Update 2", 2, "S1, S3, S4"),
    (23299997, (8, 0), " Update 1d", 1, "S1, S3, S4"),
    (23305546, (8, 0), " Update 2b", 2, "S1, S3, S4"),
    (23825572, (8, 0), " Update 2c", 2, "S1, S3, S4"),
    (24022510, (8, 0), " Update 3", 3, "S1, S4"),
    (24280767, (8, 0), " Update 3b", 3, "S1, S4"),
    (24414501, (8, 0), " Update 3c", 3, "S1, S4"),
    (24569005, (8, 0), "e", 0, "S1, S4"),
    (24585300, (8, 0), " Update 2d", 2, "S1, S4"),
    (24585383, (8, 0), " Update 3d", 3, "S1, S4"),
    (24674464, (8, 0), " Update 3e", 3, "S1, S4"),
)


def _product(line: tuple[int, int], given: str | None) -> str:
    """ESX 3.x is ESX; 5.x to 8.x ESXi; 4.x either, as the host says (ESX without a word)."""
    if line >= (5, 0):
        return "ESXi"
    return given if line >= (4, 0) and given else "ESX"


def _release(row: tuple[int, tuple[int, int], str, int, str], product: str | None) -> Release:
    build, line, suffix, update, source = row
    name_product = _product(line, product)
    verified = source != "unverified"
    name = f"{name_product} {line[0]}.{line[1]}{suffix}"
    return Release(name, line, update, verified, False, name_product, source, build)


BUILDS: dict[int, Release] = {row[0]: _release(row, None) for row in _ROWS}
"""build -> release (4.x rows named ESX; :func:`release_of` names them as the host says)."""

# Each line's span, from its first build to the last one any source gives; a line whose last
# build is unknown (8.0 after Update 3e) runs on to the next line's first.
_SPANS: dict[tuple[int, int], tuple[int, int]] = {}
for _b, _line, *_ in _ROWS:
    _low, _high = _SPANS.get(_line, (_b, _b))
    _SPANS[_line] = (min(_low, _b), max(_high, _b))
_SPANS[(8, 0)] = (_SPANS[(8, 0)][0], 10**8)


def release_of(
    build: int | None,
    *,
    version: tuple[int, int] | None = None,
    product: str | None = None,
) -> Release | None:
    """The release of ``build``; a build between two rows of its line is a patch of the lower.

    Args:
        build: the build number.
        version: the product line the host's files or screen give, which settles a patch
            build that several lines' spans hold.
        product: ``ESX`` or ``ESXi``, as the host says (names 4.x releases).

    >>> release_of(180000) is None  # 3.5 or 4.0: ambiguous without the version
    True
    >>> release_of(180000, version=(4, 0)).name
    'ESX 4.0 (Eval & Free Download) (patched)'
    """
    if build is None:
        return None
    rows = [r for r in _ROWS if r[0] == build and (version is None or r[1] == version)]
    if rows:
        return _release(rows[0], product)
    lines = [v for v, (low, high) in _SPANS.items() if low <= build <= high]
    if version is not None:
        lines = [v for v in lines if v == version]
    if len(lines) != 1:
        return None
    lower = max((r for r in _ROWS if r[1] == lines[0] and r[0] <= build), key=lambda r: r[0])
    base = _release(lower, product)
    return Release(
        f"{base.name} (patched)", base.version, base.update, False, True, base.product,
        f"placed on {lower[0]} ({base.source})", lower[0],
    )  # fmt: skip
