"""core dumps - names of ``vmkernel-zdump-*`` and ``*.core.gz`` in ``root/``, ``root/old_cores/``,
``var/core/``

A Lost Heartbeat screen writes two dumps (KB 308590): a VMkernel zdump, named after the
next boot's date (``vmkernel-zdump-111309.07.13.1``), left in ``/root/`` or ``/var/core/``
and moved to ``/root/old_cores/`` once collected; and the Service Console core
``cos-core-<host>.<n>.core.gz`` in ``/root/old_cores/`` or ``/var/core/``. vm-support gzips a
COS core to ``old_cores/<basename of Misc.CosCorefile>.<pid>.core.gz`` and also collects
``/var/cores/``. This parser reads member names only, never the dumps: a name is kept when
it sits directly in one of those folders or at the bundle's top (a leading
``vm-support-<host>-<date>/`` folder is allowed), and the paths are returned sorted.

Sample data::

    vm-support-esx1-2009-11-13--07.30.4711/root/old_cores/vmkernel-zdump-111309.07.13.1
    vm-support-esx1-2009-11-13--07.30.4711/root/old_cores/cos-core-esx1.123.core.gz

Examples:
    >>> inv = parse_coredumps([
    ...     "root/old_cores/cos-core-esxhostname.123.core.gz",
    ...     "var/core/vmkernel-zdump-111309.07.13.1",
    ...     "root/vmkernel-zdump-020609.04.40.1",
    ...     "var/log/vmkernel",
    ... ])
    >>> inv.vmkernel
    ('root/vmkernel-zdump-020609.04.40.1', 'var/core/vmkernel-zdump-111309.07.13.1')
    >>> inv.cos
    ('root/old_cores/cos-core-esxhostname.123.core.gz',)
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from lostbeat.errors import ArtifactMissing

__all__ = [
    "CoredumpInventory",
    "is_cos_core",
    "is_userworld_dump",
    "is_vmkernel_zdump",
    "parse_coredumps",
]


@dataclass(frozen=True, slots=True)
class CoredumpInventory:
    vmkernel: tuple[str, ...]  # bundle paths of VMkernel zdumps
    cos: tuple[str, ...]  # bundle paths of COS cores
    captured: tuple[str, ...] = ()  # cores a lostbeat monitor capture took (cores/core.*)
    userworld: tuple[str, ...] = ()  # ESXi user worlds' dumps: hostd-worker-zdump.000


# Folders (as path-part tuples) where the dumps are put or archived (reference §5).
_CORE_DIRS = (("root",), ("root", "old_cores"), ("var", "core"), ("var", "cores"))


def _in_core_dir(parts: list[str]) -> bool:
    folder = parts[:-1]
    if not folder or (len(folder) == 1 and folder[0].startswith("vm-support-")):
        return True  # the bundle's top level
    return any(tuple(folder[-len(d) :]) == d for d in _CORE_DIRS)


def is_vmkernel_zdump(name: str) -> bool:
    """Whether a base name is a VMkernel zdump (``vmkernel-zdump-MMDDYY.HH.MM.N``)."""
    return name.startswith("vmkernel-zdump")


def is_userworld_dump(name: str) -> bool:
    """Whether a base name is an ESXi user world's core dump: ``<name>-zdump.NNN`` (KB 433552,
    esxi-bundles.md B2) or ``core-<name>-pid-<epoch>.gz`` (KB 2017008)."""
    if is_vmkernel_zdump(name):
        return False
    stem, dot, number = name.rpartition(".")
    return (stem.endswith("-zdump") and dot == "." and number.isdigit()) or (
        name.startswith("core-") and "-pid-" in name
    )


def is_cos_core(name: str) -> bool:
    """Whether a base name is a Service Console core (``*.core.gz``, ``cos-core-*``)."""
    return name.endswith(".core.gz") or name.startswith("cos-core")


def parse_coredumps(names: Iterable[str]) -> CoredumpInventory:
    """Pick the core dumps out of a bundle's member names.

    Args:
        names: every member path of the bundle (``/``-separated; a leading ``./`` is fine).

    Returns:
        The zdumps and COS cores, each sorted; empty when the bundle holds none.

    Raises:
        ArtifactMissing: ``names`` is empty (nothing to look in).
    """
    vmkernel: set[str] = set()
    cos: set[str] = set()
    captured: set[str] = set()
    userworld: set[str] = set()
    seen = False
    for raw in names:
        name = raw.strip().removeprefix("./").lstrip("/")
        if not name:
            continue
        seen = True
        parts = name.split("/")
        base = parts[-1]
        if len(parts) >= 2 and parts[-2] == "cores" and base.startswith("core."):
            captured.add(name)  # lostbeat monitor: cores/core.<comm>.<pid> (docs/agent.md)
            continue
        if not base or not _in_core_dir(parts):
            continue  # a folder entry, or a file somewhere else
        if is_vmkernel_zdump(base):
            vmkernel.add(name)
        elif is_cos_core(base):
            cos.add(name)
        elif is_userworld_dump(base):
            userworld.add(name)
    if not seen:
        raise ArtifactMissing("coredumps")
    return CoredumpInventory(
        vmkernel=tuple(sorted(vmkernel)),
        cos=tuple(sorted(cos)),
        captured=tuple(sorted(captured)),
        userworld=tuple(sorted(userworld)),
    )
