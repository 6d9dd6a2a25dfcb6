"""VIBs - ``commands/localcli_software-vib-get.txt`` and ``esxcli software vib list``

The software installed on an ESXi host, one VIB (VMware Installation Bundle) a driver or
agent, with its version and vendor: what a driver's fault is checked against before it is
sent to its update. The bundle's ``commands/localcli_software-vib-get.txt`` is named in
docs/reference/esxi-bundles.md (B3: "PERC and NIC driver versions"); its contents were not
read there, so both forms below are BACKGROUND (esxcli's documented output, unverified against
a bundle): ``vib get``'s blocks and ``vib list``'s table.

Sample data (``vib get``)::

    VMware_bootbank_i40en_1.8.1.9-2vmw.670.3.73.14320388
       Name: i40en
       Version: 1.8.1.9-2vmw.670.3.73.14320388
       Vendor: VMware
       Acceptance Level: VMwareCertified

Examples:
    >>> vibs = parse_vibs([
    ...     "Name     Version                     Vendor  Acceptance Level  Install Date",
    ...     "-------  --------------------------  ------  ----------------  ------------",
    ...     "lpfc     12.8.298.1-1OEM.700.1.0.15843807  EMU  VMwareCertified   2021-01-04",
    ... ], path="vib-list.txt")
    >>> vibs.by_name("lpfc").version, vibs.by_name("lpfc").vendor
    ('12.8.298.1-1OEM.700.1.0.15843807', 'EMU')
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from lostbeat.analyzer.findings import Evidence
from lostbeat.analyzer.parsers._lines import active_lines, head
from lostbeat.errors import ArtifactMissing, ParseError

__all__ = ["MAX_VIBS", "Vib", "VibList", "looks_like_vibs", "parse_vibs"]

MAX_VIBS = 5000
"""VIBs kept (a host has a few hundred)."""


@dataclass(frozen=True, slots=True)
class Vib:
    name: str
    version: str | None
    vendor: str | None
    evidence: Evidence


@dataclass(frozen=True, slots=True)
class VibList:
    vibs: tuple[Vib, ...]

    def by_name(self, name: str) -> Vib | None:
        return next((v for v in self.vibs if v.name == name), None)


_A = re.ASCII
_HEADER = re.compile(r"\s*Name\s+Version\s+Vendor\s+Acceptance Level", _A)
_RULE = re.compile(r"\s*-{3,}(?:\s+-{3,})+\s*$", _A)
_FIELD = re.compile(r"\s+(Name|Version|Vendor):\s*(\S.*)", _A)  # stripped after: linear
_SNIFF = re.compile(
    r"^\s*Name\s+Version\s+Vendor\s+Acceptance Level|^\s+Acceptance Level: \w", re.MULTILINE | _A
)
_EXPECTED = "expected 'esxcli software vib list' rows or 'vib get' blocks (Name:, Version:)"


def looks_like_vibs(text: str) -> bool:
    """Whether ``text`` (a file's start) lists VIBs."""
    return _SNIFF.search(head(text)) is not None


def parse_vibs(lines: Iterable[str], *, path: str) -> VibList:
    """Read each VIB's name, version and vendor.

    Raises:
        ArtifactMissing: no non-blank line.
        ParseError: neither a table row nor a ``Name:`` block.
    """
    vibs: list[Vib] = []
    first: tuple[int, str] | None = None
    table = False
    block: dict[str, tuple[str, Evidence]] = {}

    def close() -> None:
        if "Name" in block and len(vibs) < MAX_VIBS:
            name, ev = block["Name"]
            version = block.get("Version")
            vendor = block.get("Vendor")
            vibs.append(
                Vib(name, version[0] if version else None, vendor[0] if vendor else None, ev)
            )
        block.clear()

    for line_no, text in active_lines(lines):
        first = first or (line_no, text)
        if _HEADER.match(text):
            table = True
            continue
        if table:
            if _RULE.match(text):
                continue
            cells = text.split()
            if len(cells) >= 3 and len(vibs) < MAX_VIBS:
                vibs.append(Vib(cells[0], cells[1], cells[2], Evidence(path, line_no, text)))
            continue
        field = _FIELD.match(text)
        if field is None:
            close()  # a block starts with the VIB's id, unindented
            continue
        if field[1] == "Name" and "Name" in block:
            close()
        block[field[1]] = (field[2].rstrip(), Evidence(path, line_no, text))
    close()
    if first is None:
        raise ArtifactMissing("vibs", path=path)
    if not vibs:
        raise ParseError(_EXPECTED, path=path, line_no=first[0], line=first[1])
    return VibList(tuple(vibs))
