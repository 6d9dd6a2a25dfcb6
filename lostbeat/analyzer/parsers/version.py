"""version - ``tmp/vmware.*.txt``, ``etc/vmware-release``, ``proc/vmware/version``

Three files name the release, each in its own way:

* ``vmware -v`` (vm-support's ``tmp/vmware.<pid>.txt``): ``VMware ESX 4.0.0 build-164009``;
  the 3.5 form ``VMware ESX Server 3.5.0 build-123630`` is BACKGROUND (no verbatim sample).
* ``etc/vmware-release``: a product line, maybe with ``Update N`` and no build.
* ``proc/vmware/version``: a product line, then ``vmkernel build: N, vmkcall: ...``
  (the line ``vmkheartbeat.sh`` reads, per the vmkernel source).

The first ``VMware ESX...`` line gives product, version and update; the build comes from
that line's ``build-N`` / ``Releasebuild-N`` or else from a ``vmkernel build: N`` line.

Sample data::

    VMware ESX Server 3.5.0 build-123630

Examples:
    >>> v = parse_version(["VMware ESX 4.0.0 build-164009"], path="tmp/vmware.4711.txt")
    >>> v.product, v.version, v.update, v.build, v.evidence.where
    ('VMware ESX', '4.0.0', None, 164009, 'tmp/vmware.4711.txt:1')
    >>> v = parse_version(["VMware ESX Server 3.5.0 Update 2"], path="etc/vmware-release")
    >>> v.product, v.version, v.update, v.build
    ('VMware ESX Server', '3.5.0', 2, None)
    >>> v = parse_version(["VMware ESXi 5.1.0 build-799733", "VMware ESXi 5.1.0 GA"], path="x")
    >>> v.product, v.version, v.update, v.build
    ('VMware ESXi', '5.1.0', 0, 799733)
    >>> parse_version(
    ...     ["VMware ESX Server 3.5.0", "vmkernel build: 110268, vmkcall: 0.0, kernel: 2.4.21"],
    ...     path="proc/vmware/version",
    ... ).build
    110268
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from lostbeat.analyzer.findings import Evidence
from lostbeat.analyzer.parsers._lines import head, require_lines, to_int, undecorate
from lostbeat.errors import ParseError

__all__ = ["VersionInfo", "looks_like_version", "parse_version"]


@dataclass(frozen=True, slots=True)
class VersionInfo:
    product: str | None  # "VMware ESX Server", "VMware ESX"
    version: str | None  # "3.5.0"
    update: int | None  # "Update 2" -> 2, when written
    build: int | None
    evidence: Evidence


_A = re.ASCII
_PRODUCT = re.compile(r"\s*(VMware ESXi?(?: Server)?)\b(.*)", _A)
_VERSION = re.compile(r"\s*([0-9]+(?:\.[0-9]+)*)\b", _A)
_UPDATE = re.compile(r"\bUpdate\s*([0-9]+)\b|\b(GA)\b", _A)
_BUILD = re.compile(r"build-([0-9]+)", _A)
_VMKERNEL_BUILD = re.compile(r"\s*vmkernel build:\s*([0-9]+)", _A)
# the first line: a product and a version, never a screen's "[Releasebuild-N" header
_SNIFF = re.compile(
    r"\A\s*(?:VMware ESXi?(?: Server)? [0-9][0-9.]*(?: [^\[\n]*)?$|vmkernel build:)",
    re.MULTILINE | _A,
)
_SNIFF_LINES = 8  # a file of one command's output: its first lines tell
_EXPECTED = "expected 'VMware ESX[ Server] <version> [Update N] [build-N]' or 'vmkernel build: N'"


def looks_like_version(text: str) -> bool:
    """Whether ``text`` (a file's start) is ``vmware -v`` / vmware-release / proc version.

    A PSOD header (``VMware ESX Server [Releasebuild-N]``, ``VMware ESXi 7.X.X
    [Releasebuild-N x86_64]``) is never taken for one.
    """
    lines = head(text).splitlines()[:_SNIFF_LINES]
    return _SNIFF.search("\n".join(undecorate(line) for line in lines)) is not None


def parse_version(lines: Iterable[str], *, path: str) -> VersionInfo:
    """Read product, version, update and build.

    Args:
        lines: the file's lines, with or without newlines.
        path: the file's path in the bundle, for evidence and errors.

    Raises:
        ArtifactMissing: no non-blank line.
        ParseError: neither a product line nor a ``vmkernel build:`` line.
    """
    numbered = require_lines(lines, artifact="version", path=path)
    product_line: tuple[int, str, re.Match[str]] | None = None
    build_line: tuple[int, str, int | None] | None = None
    update: re.Match[str] | None = None
    for line_no, raw in numbered:
        text = undecorate(raw)  # a quoted or numbered paste of the command's output
        m = _PRODUCT.match(text)
        if m is not None and update is None:
            # ``vmware -vl`` adds a second product line: "VMware ESXi 5.1.0 GA" (§3.3)
            update = _UPDATE.search(m[2])
        if product_line is None and m is not None:
            product_line = (line_no, raw, m)
        elif build_line is None and (b := _VMKERNEL_BUILD.match(text)):
            build_line = (line_no, raw, to_int(b[1]))
    if product_line is None:
        if build_line is None:
            line_no, text = numbered[0]
            raise ParseError(_EXPECTED, path=path, line_no=line_no, line=text)
        line_no, text, build = build_line
        return VersionInfo(None, None, None, build, Evidence(path, line_no, text))
    line_no, text, m = product_line
    rest = m[2]
    version = _VERSION.match(rest)
    build_m = _BUILD.search(rest)
    build = to_int(build_m[1]) if build_m else None
    if build is None and build_line is not None:
        build = build_line[2]
    return VersionInfo(
        product=m[1],
        version=version[1] if version else None,
        update=(0 if update[2] else to_int(update[1])) if update else None,
        build=build,
        evidence=Evidence(path, line_no, text),
    )
