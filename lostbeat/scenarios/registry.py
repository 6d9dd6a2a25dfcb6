"""Every scenario, and :func:`generate`, which writes one incident of any of them.

Three families: ESX 3.x/4.x vm-support bundles played out hour by hour (``scenarios.py``,
written by ``bundle.py``); ESX and ESXi screens, logs and ESXi bundles (``esx/table.py``);
Linux kernel logs, journals, userspace killers, Kubernetes and sosreports
(``linux/table.py``). The latter two are written by ``loose.py``.

Examples:
    >>> list(SCENARIOS)[:2]
    ['vmware-leak', 'cimserver-35']
    >>> "psod-screen" in SCENARIOS and "linux-oom-global" in SCENARIOS
    True
"""

from __future__ import annotations

import random
from pathlib import Path

from lostbeat.errors import InputError
from lostbeat.scenarios import bundle
from lostbeat.scenarios.esx.table import ESX_BUILDERS, ESX_SCENARIOS
from lostbeat.scenarios.linux.table import LINUX_BUILDERS, LINUX_SCENARIOS
from lostbeat.scenarios.loose import write
from lostbeat.scenarios.model import GeneratedCase
from lostbeat.scenarios.scenarios import SCENARIOS as CLASSIC

__all__ = ["CLASSIC", "SCENARIOS", "generate"]

SCENARIOS: dict[str, str] = {**CLASSIC, **ESX_SCENARIOS, **LINUX_SCENARIOS}
"""Name -> one-line description, in the order ``lostbeat generate --list`` prints them."""

_LOOSE = {**ESX_BUILDERS, **LINUX_BUILDERS}


def generate(name: str, out_dir: Path, *, seed: int) -> GeneratedCase:
    """Write scenario ``name``'s incident number ``seed`` into ``out_dir``.

    Args:
        name: a key of ``SCENARIOS``.
        out_dir: created if missing; receives the main input, the loose files and
            ``truth.json``.
        seed: any integer; the same (name, seed) gives the same files.

    Raises:
        InputError: unknown scenario, or ``out_dir`` cannot be written.
    """
    if name in CLASSIC:
        return bundle.generate(name, out_dir, seed=seed)
    if name not in _LOOSE:
        raise InputError(f"unknown scenario; one of {', '.join(SCENARIOS)}", path=name)
    written = _LOOSE[name](random.Random(f"{name}:{seed}"))
    return write(name, seed, written, out_dir)
