"""Realistic incidents of known cause, with their ground truth.

``generate(name, out_dir, seed=N)`` writes one incident of scenario ``name`` (a key of
``SCENARIOS``) and ``truth.json`` beside it: an ESX 3.5/4.x ``.tgz`` as vm-support lays it out
with the loose files a support engineer would add (a transcribed ``psod.txt``); a purple
screen, backtrace, vmkernel log or ESXi 5-8 bundle as people really hand them over; or a
Linux kernel log, journal, userspace killer's output, ``kubectl`` output or sosreport. Every
``truth.json`` carries ``expect``, the answer key in the real corpora's vocabulary.

    >>> list(SCENARIOS)[:3]
    ['vmware-leak', 'cimserver-35', 'cimserver-40']
"""

from __future__ import annotations

from lostbeat.scenarios.model import CaseTruth, GeneratedCase, Truth
from lostbeat.scenarios.registry import SCENARIOS, generate

__all__ = ["CaseTruth", "GeneratedCase", "SCENARIOS", "Truth", "generate"]
