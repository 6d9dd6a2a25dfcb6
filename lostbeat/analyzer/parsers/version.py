"""version - ``tmp/vmware.*.txt``, ``etc/vmware-release``, ``proc/vmware/version``

STUB: types fixed; parse function to be written.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from lostbeat.analyzer.findings import Evidence


@dataclass(frozen=True, slots=True)
class VersionInfo:
    product: str | None  # "VMware ESX Server", "VMware ESX"
    version: str | None  # "3.5.0"
    update: int | None  # "Update 2" -> 2, when written
    build: int | None
    evidence: Evidence


def parse_version(lines: Iterable[str], *, path: str) -> VersionInfo:
    raise NotImplementedError
