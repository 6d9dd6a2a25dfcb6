"""esx.conf - ``etc/vmware/esx.conf``

STUB: types fixed; parse function to be written.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from lostbeat.analyzer.findings import Evidence


@dataclass(frozen=True, slots=True)
class ConfEntry:
    key: str  # as written: "/adv/Misc/CosCorefile"
    value: str  # unquoted
    evidence: Evidence


@dataclass(frozen=True, slots=True)
class EsxConf:
    entries: tuple[ConfEntry, ...]

    def get(self, key: str) -> ConfEntry | None:
        """Last entry whose key equals ``key`` case-insensitively."""
        raise NotImplementedError


def parse_esx_conf(lines: Iterable[str], *, path: str) -> EsxConf:
    raise NotImplementedError
