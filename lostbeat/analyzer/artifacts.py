"""ARTIFACTS: every logical artifact, named once, with its candidate paths in a bundle.

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
    >>> match("var/log/messages") is None
    True
    >>> host_of("vm-support-esx01-2010-03-16--12.51.4711")
    'esx01'
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from lostbeat.analyzer.parsers import PARSERS

__all__ = [
    "ARTIFACTS",
    "RECORDING_MARKER",
    "Artifact",
    "host_of",
    "match",
    "sniff_kind",
    "top_folder",
]

RECORDING_MARKER = "lostbeat-recording.json"
"""The file that marks a folder as a lostbeat recording store."""


@dataclass(frozen=True, slots=True)
class Artifact:
    """One logical artifact and where a bundle may hold it.

    Attributes:
        patterns: globs relative to the bundle root.
        many: several files may match (rotations, one per core).
        content: the files are read; ``False`` means only their names matter.
        doc: what the artifact is, in one line.
        tail: when a file is larger than the read cap, keep its end (the newest lines).
    """

    patterns: tuple[str, ...]
    many: bool
    content: bool
    doc: str
    tail: bool = False


ARTIFACTS: dict[str, Artifact] = {
    "vmksummary": Artifact(
        (
            "var/log/vmksummary",  # §1.1, §3.2: vm-support collects /var/log/vmksummary
            # §1.4: rotated names not found, so any suffix (.1, .2.gz) is accepted
            "var/log/vmksummary.*",
            "var/log/vmksummary.d/*",  # §1.1, §3.2: /var/log/vmksummary.d/vmksummary*
        ),
        many=True,
        content=True,
        doc="hourly heartbeat lines: swap used and the top three Service Console consumers",
        tail=True,
    ),
    "vmkernel_log": Artifact(
        (
            "var/log/vmkernel",  # §3.2: var/log/vmkernel*
            "var/log/vmkernel.*",  # §3.2: rotations
            "var/log/vmkwarning*",  # §3.2: warnings
            "root/vmkernel-log.*",  # §5: `vmkdump -l <zdump>` extracts vmkernel-log.N
            "root/old_cores/vmkernel-log.*",  # §5: /root cores move to /root/old_cores
            "var/core/vmkernel-log.*",  # §5: COREDUMP_DIR=/var/core on ESXi
        ),
        many=True,
        content=True,
        doc="VMkernel log lines, including the log extracted from a zdump",
        tail=True,
    ),
    "psod": Artifact(
        # not a vm-support file: a screen someone transcribed; loose files are sniffed (§2.2)
        ("**/psod.txt", "**/*[Pp][Ss][Oo][Dd]*.txt"),
        many=True,
        content=True,
        doc="a transcribed purple diagnostic screen",
    ),
    "meminfo": Artifact(
        ("proc/meminfo",),  # §3.2: all of /proc is copied
        many=False,
        content=True,
        doc="Service Console memory and swap totals (post-reboot)",
    ),
    "esx_conf": Artifact(
        ("etc/vmware/esx.conf",),  # §3.2 config, §4.1 advanced options
        many=False,
        content=True,
        doc="host configuration: Misc.CosCorefile, Misc.PsodOnCosPanic",
    ),
    "version": Artifact(
        (
            "tmp/vmware.*.txt",  # §3.3: `vmware -v` output
            "etc/vmware-release",  # §3.3
            "proc/vmware/version",  # §3.3, §1.1
        ),
        many=True,
        content=True,
        doc="product and build of the host",
    ),
    "ps": Artifact(
        ("tmp/ps.*.txt",),  # §3.2: ps -auxwww
        many=True,
        content=True,
        doc="process table at collection time",
    ),
    "pstree": Artifact(
        ("tmp/pstree.*.txt",),  # §3.2: pstree -ap
        many=True,
        content=True,
        doc="process tree at collection time",
    ),
    "top": Artifact(
        ("tmp/top.*.txt",),  # §3.2, §8: top -d 1 -n 10 -b
        many=True,
        content=True,
        doc="ten batch-mode top iterations at collection time",
    ),
    "coredumps": Artifact(
        (
            "root/vmkernel-zdump-*",  # §5: first reboot after a PSOD writes it to /root
            "root/old_cores/*",  # §5: vm-support moves /root cores to /root/old_cores
            "var/core/*",  # §5: COREDUMP_DIR on ESXi
            "**/*.core.gz",  # §4.1, §5: COS core <CosCorefile>.<pid>.core.gz
        ),
        many=True,
        content=False,
        doc="VMkernel zdumps and Service Console cores (names only)",
    ),
    "capture": Artifact(
        # lostbeat's own: `lostbeat monitor` writes lost-heartbeat-<host>-<stamp>/screen.txt
        # (lostbeat/agent/capture.py); given as a folder, that top folder is stripped
        ("screen.txt", "**/lost-heartbeat-*/screen.txt"),
        many=True,
        content=True,
        doc="the diagnostic screen lostbeat's monitor wrote when it declared a heartbeat lost",
    ),
    "recording": Artifact(
        # lostbeat's own store; a directory source reports every file beside the marker
        (f"**/{RECORDING_MARKER}",),
        many=True,
        content=True,
        doc="lostbeat recording store (marker and shards)",
    ),
    "packages": Artifact(
        ("tmp/rpm.*.txt",),  # §3.2: rpm -qa; §7 names tmp/rpm.<pid>.txt
        many=True,
        content=True,
        doc="installed packages: VMware's and the management agents', with their versions",
    ),
}


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
    # lostbeat/agent/capture.py: lost-heartbeat-<host>-<YYYYmmddTHHMMSSZ>
    r"|lost-heartbeat-(?P<lbhost>.+)-\d{8}T\d{6}Z"
)


def match(path: str) -> str | None:
    """The artifact a bundle-relative path belongs to, or ``None``.

    Args:
        path: relative to the bundle root (top folder stripped), ``/``-separated.
    """
    found = _MATCHER.fullmatch(path)
    return found.lastgroup if found else None


def host_of(top: str) -> str | None:
    """The host in a vm-support (or lostbeat capture) folder name, or ``None``."""
    found = _TOP_DIRS.fullmatch(top)
    return (found.group("host") or found.group("lbhost")) if found else None


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
