"""Bundle sources: a vm-support archive, an unpacked folder, loose files, or memory (tests).

STUB: types fixed; implementations to be written.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from lostbeat.analyzer.result import InputRecord

Progress = Callable[[int, int | None], None]
"""Called with (bytes read so far, total bytes or None)."""


@dataclass(frozen=True, slots=True)
class Member:
    """One wanted file, read whole (nested ``.gz`` inflated), under a size cap."""

    path: str  # bundle-relative ("var/log/vmksummary"), top folder stripped; loose: the path given
    artifact: str  # the ARTIFACTS name it matched, or the sniffed/forced kind of a loose file
    data: bytes


@dataclass(frozen=True, slots=True)
class Collected:
    members: tuple[Member, ...]  # the wanted members, in bundle order
    names: tuple[str, ...]  # every regular member seen (bundle-relative), wanted or not
    records: tuple[InputRecord, ...]  # skipped / broken members and why (unsafe, too big, bad gz)
    host: str | None  # from the top folder name vm-support-<host>-<date>.<pid>, when present


class BundleSource(Protocol):
    label: str

    def collect(self, *, progress: Progress | None = None) -> Collected: ...
