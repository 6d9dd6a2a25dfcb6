"""packages - ``tmp/rpm.*.txt`` (``rpm -qa``, run by vm-support; esx-artifacts.md §3.2, §7)

One installed package a line, as rpm's default query format prints it:
``NAME-VERSION-RELEASE``, with ``.ARCH`` appended by newer rpm versions (the Service Console's
rpm 4.x prints none; BACKGROUND, unverified). Neither the version nor the release holds a
``-``, so the last two dashes split a line. The vendor is not printed by ``rpm -qa``; it is
named here where the package name tells it (VMware's own packages, the HP, Dell, EMC and IBM
management agents), and ``None`` otherwise (the Service Console's Red Hat packages, or
unknown). A line that is not a package (a warning rpm printed) goes to ``problems``; the
others still count. At most :data:`MAX_PACKAGES` packages are kept.

Sample data::

    VMware-esx-3.5.0-153875
    hp-snmp-agents-8.2.0-164.rhel4
    glibc-2.3.4-2.41

Examples:
    >>> listing = parse_packages(
    ...     ["VMware-esx-3.5.0-153875", "hp-snmp-agents-8.2.0-164.rhel4", "glibc-2.3.4-2.41"],
    ...     path="tmp/rpm.4711.txt",
    ... )
    >>> [(p.name, p.version, p.release, p.vendor) for p in listing.packages]
    [('VMware-esx', '3.5.0', '153875', 'VMware'), ('hp-snmp-agents', '8.2.0', '164.rhel4', 'HP'), \
('glibc', '2.3.4', '2.41', None)]
    >>> listing.packages[1].full_version
    '8.2.0-164.rhel4'
    >>> split_nvr("openssh-server-3.9p1-11.el4_7.i386")
    ('openssh-server', '3.9p1', '11.el4_7', 'i386')
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from lostbeat.analyzer.parsers._lines import head, require_lines
from lostbeat.analyzer.result import HostPackage
from lostbeat.errors import ParseError

__all__ = [
    "MAX_PACKAGES",
    "PackageList",
    "looks_like_packages",
    "parse_packages",
    "split_nvr",
    "vendor_of",
]

MAX_PACKAGES = 4096
"""Packages kept at most (a Service Console has a few hundred); the rest is a problem."""

_A = re.ASCII
# NAME may hold dashes; VERSION and RELEASE may not (rpm forbids it), EPOCH is not printed
_NVR = re.compile(r"([A-Za-z0-9_+.][A-Za-z0-9_+.-]*)-([A-Za-z0-9_+.~^]+)-([A-Za-z0-9_+.~^]+)", _A)
_ARCHES = frozenset(
    ("i386", "i486", "i586", "i686", "x86_64", "noarch", "athlon", "ia32e", "amd64")
)
_EXPECTED = "expected an rpm -qa line 'NAME-VERSION-RELEASE[.ARCH]'"

# Name prefixes that tell a package's vendor. VMware's own RPMs are named VMware-* (§7: the
# rpm list tells VMware RPMs from vendor RPMs); HP's agents live in hp-snmp-agents
# (/opt/hp/hp-snmp-agents, §6); the other names are BACKGROUND, unverified.
_VENDORS: tuple[tuple[str, str], ...] = (
    ("VMware-", "VMware"),
    ("vmware-", "VMware"),
    ("hp-", "HP"),
    ("hpasm", "HP"),
    ("hpacucli", "HP"),
    ("cpq", "HP"),
    ("srvadmin-", "Dell"),
    ("dell-", "Dell"),
    ("navi", "EMC"),
    ("EMCpower", "EMC"),
    ("IBM", "IBM"),
)


@dataclass(frozen=True, slots=True)
class PackageList:
    packages: tuple[HostPackage, ...]
    """In the file's order, each name and version once."""
    problems: tuple[ParseError, ...] = ()


def vendor_of(name: str) -> str | None:
    """The vendor a package name tells, or None.

    >>> vendor_of("srvadmin-omacore"), vendor_of("glibc")
    ('Dell', None)
    """
    return next((vendor for prefix, vendor in _VENDORS if name.startswith(prefix)), None)


def split_nvr(text: str) -> tuple[str, str, str, str | None] | None:
    """``(name, version, release, arch)`` of one ``rpm -qa`` line, or None."""
    m = _NVR.fullmatch(text.strip())
    if m is None:
        return None
    name, version, release = m.groups()
    arch: str | None = None
    stem, dot, last = release.rpartition(".")
    if dot and last in _ARCHES:
        release, arch = stem, last
    return name, version, release, arch


def looks_like_packages(text: str) -> bool:
    """Whether ``text`` (a file's start) is ``rpm -qa`` output: three or more lines, each a
    package, one of them VMware's."""
    lines = [ln.strip() for ln in head(text).splitlines() if ln.strip()]
    if len(text) > len(head(text)) and lines:
        lines = lines[:-1]  # the sniffed window may cut the last line
    return (
        len(lines) >= 3
        and all(split_nvr(ln) is not None for ln in lines)
        and any(ln.startswith("VMware-") for ln in lines)
    )


def parse_packages(lines: Iterable[str], *, path: str) -> PackageList:
    """Read an ``rpm -qa`` listing.

    Args:
        lines: the file's lines, with or without newlines.
        path: the file's path in the bundle, for errors.

    Raises:
        ArtifactMissing: no non-blank line.
        ParseError: not a single line is a package (the first line is named).
    """
    numbered = require_lines(lines, artifact="packages", path=path)
    packages: list[HostPackage] = []
    seen: set[tuple[str, str, str]] = set()
    problems: list[ParseError] = []
    for line_no, text in numbered:
        nvr = split_nvr(text)
        if nvr is None:
            problems.append(ParseError(_EXPECTED, path=path, line_no=line_no, line=text))
            continue
        name, version, release, _ = nvr
        if (name, version, release) in seen:
            continue  # multilib: the same package for two architectures
        if len(packages) >= MAX_PACKAGES:
            problems.append(
                ParseError(f"more than {MAX_PACKAGES} packages", path=path, line_no=line_no)
            )
            break
        seen.add((name, version, release))
        packages.append(HostPackage(name, version, release, vendor_of(name)))
    if not packages:
        raise problems[0]
    return PackageList(tuple(packages), tuple(problems))
