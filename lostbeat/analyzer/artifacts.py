"""ARTIFACTS: every logical artifact, named once, with its candidate paths in a bundle.

Each platform profile owns its artifacts (``analyzer/platforms/``); sources read the union.

Paths are globs relative to the bundle root, i.e. below the vm-support top folder
``vm-support-<host>-<date>.<pid>/`` (reference esx-artifacts.md §3.1). In a glob, ``*`` and
``?`` never cross a ``/``; a leading ``**/`` stands for any number of folders. When two
artifacts could claim a path, the first one in table order wins (so ``root/old_cores/
vmkernel-log.1`` is a vmkernel log, not a core dump).

Examples:
    >>> match("var/log/vmksummary.2.gz")
    'vmksummary'
    >>> match("root/old_cores/vmkernel-log.1")
    'vmkernel_log'
    >>> match("root/old_cores/cos-core-esx01.4711.core.gz")
    'coredumps'
    >>> match("var/log/boot.log") is None
    True
    >>> host_of("vm-support-esx01-2010-03-16--12.51.4711")
    'esx01'
"""

from __future__ import annotations

import re

from lostbeat.analyzer.parsers import PARSERS
from lostbeat.analyzer.platforms import Artifact, artifact_table
from lostbeat.recording.schema import MARKER_NAME

__all__ = [
    "ARTIFACTS",
    "RECORDING_MARKER",
    "Artifact",
    "host_of",
    "match",
    "sniff_kind",
    "top_folder",
]

RECORDING_MARKER = MARKER_NAME  # the file that marks a folder as a lostbeat recording store

ARTIFACTS: dict[str, Artifact] = artifact_table()
"""Every platform profile's artifacts (``analyzer/platforms/``), merged."""


def _glob_regex(pattern: str) -> str:
    out = []
    if pattern.startswith("**/"):
        out.append("(?:[^/]+/)*")
        pattern = pattern[3:]
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "*":
            out.append("[^/]*")
        elif ch == "?":
            out.append("[^/]")
        elif ch == "[":
            end = pattern.index("]", i)
            out.append(pattern[i : end + 1])
            i = end
        else:
            out.append(re.escape(ch))
        i += 1
    return "".join(out)


# one alternation with a named group per artifact: one regex call per member, table order wins
_MATCHER = re.compile(
    "|".join(
        f"(?P<{name}>{'|'.join(_glob_regex(p) for p in art.patterns)})"
        for name, art in ARTIFACTS.items()
    )
)

# Never a top folder: vm-support copies files with their absolute paths (§3.2), so a bundle
# tree starts with the Service Console's root folders (and ESXi 5's commands/, §3.2).
_BUNDLE_ROOTS = frozenset(
    ("bin", "boot", "commands", "dev", "etc", "lib", "opt", "proc", "root", "sbin", "sys")
    + ("tmp", "usr", "var", "vmfs", "vmupgrade")
)

_TOP_DIRS = re.compile(
    # §3.1: OUTPUT_DIR=vm-support-$HOSTNAME-$DATE.$$ with DATE=$(date +"%F--%H.%M")
    r"vm-support-(?P<host>.+?)-\d{4}-\d{2}-\d{2}(?:--\d{2}\.\d{2}(?:\.\d{2})?)?\.\d+"
    # lostbeat/agent/capture.py: <trigger>-<host>-<YYYYmmddTHHMMSSZ>[-N]
    r"|(?:lost-heartbeat|pre-loss|kernel)-(?P<lbhost>.+)-\d{8}T\d{6}Z(?:-\d)?"
    # sos 4.x: sosreport-<host>[-<case>]-<YYYY-MM-DD>-<random>; 3.x: ...-<YYYYmmddHHMMSS>; a
    # case id is a support case's number (5 digits or more: a host's own number is shorter)
    r"|sosreport-(?P<soshost>.+?)(?:-\d{5,})?-(?:\d{4}-\d{2}-\d{2}-[a-z0-9]+|\d{14})"
    # SUSE's supportconfig: scc_<host>_<yymmdd>_<hhmm> (linux-logs.md §8)
    r"|scc_(?P<scchost>.+)_\d{6}_\d{4}"
)


def match(path: str) -> str | None:
    """The artifact a bundle-relative path belongs to, or ``None``.

    Args:
        path: relative to the bundle root (top folder stripped), ``/``-separated.
    """
    found = _MATCHER.fullmatch(path)
    return found.lastgroup if found else None


def host_of(top: str) -> str | None:
    """The host in a vm-support, sosreport, supportconfig or lostbeat capture folder name,
    or ``None``.

    >>> host_of("sosreport-etl02-2467892-2024-05-01-abcdefg"), host_of("scc_web01_241203_1012")
    ('etl02', 'web01')
    >>> host_of("sosreport-web-01-2024-05-01-abcdefg")
    'web-01'
    """
    found = _TOP_DIRS.fullmatch(top)
    if found is None:
        return None
    return found["host"] or found["lbhost"] or found["soshost"] or found["scchost"]


def top_folder(first: str, *, is_dir: bool) -> str | None:
    """The top folder to strip, judged from the first entry of a bundle.

    A bundle holds either the bundle root itself or one top folder (vm-support's
    ``vm-support-<host>-<date>.<pid>/``, or any folder a user packed the tree in). Archives
    are read as a stream, so the first entry decides.

    Args:
        first: the first entry's normalised path.
        is_dir: the first entry is a folder (its path may have one part only).

    Examples:
        >>> top_folder("vm-support-esx01-2010-03-16--12.51.4711", is_dir=True)
        'vm-support-esx01-2010-03-16--12.51.4711'
        >>> top_folder("var/log/vmksummary", is_dir=False) is None
        True
    """
    head, sep, _ = first.partition("/")
    if not (sep or is_dir) or head in _BUNDLE_ROOTS:
        return None
    return head


# Sniffers in PARSERS order (a PSOD quotes vmkernel log lines, so psod comes before
# vmkernel_log), except that lostbeat's own screen goes first: it also carries
# "@BlueScreen: Lost heartbeat" like an ESX PSOD, but its "lostbeat <version> [Linux ...]"
# header is unambiguous.
_SNIFFERS = tuple(
    (p.artifact, p.looks_like)
    for p in sorted(PARSERS, key=lambda p: p.artifact != "capture")
    if p.looks_like is not None
)


def sniff_kind(text: str) -> str | None:
    """The artifact a loose file's text looks like, or ``None``.

    Asks the parsers' sniffers (``looks_like_*``), in the order above.

    Examples:
        >>> sniff_kind("MemTotal:799732 kB\\nSwapTotal:554168 kB\\n")
        'meminfo'
        >>> sniff_kind("hello") is None
        True
    """
    return next((kind for kind, looks_like in _SNIFFERS if looks_like(text)), None)
