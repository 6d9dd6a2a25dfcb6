"""core dumps - names of ``vmkernel-zdump-*`` and ``*.core.gz`` in ``root/``, ``root/old_cores/``,
``var/core/``

STUB: types fixed; parse function to be written.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class CoredumpInventory:
    vmkernel: tuple[str, ...]  # bundle paths of VMkernel zdumps
    cos: tuple[str, ...]  # bundle paths of COS cores


def parse_coredumps(names: Iterable[str]) -> CoredumpInventory:
    raise NotImplementedError
