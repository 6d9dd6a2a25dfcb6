"""Realistic ESX vm-support bundles of known incidents, with their ground truth.

``generate(name, out_dir, seed=N)`` writes one incident of scenario ``name`` (a key of
``SCENARIOS``): the ``.tgz`` as ESX 3.5/4.x's vm-support lays it out, ``truth.json`` beside it
and the loose files a support engineer would add (a transcribed ``psod.txt``).

    >>> list(SCENARIOS)[:3]
    ['vmware-leak', 'cimserver-35', 'cimserver-40']
"""

from __future__ import annotations

from lostbeat.scenarios.bundle import generate
from lostbeat.scenarios.model import GeneratedCase, Truth
from lostbeat.scenarios.scenarios import SCENARIOS

__all__ = ["GeneratedCase", "SCENARIOS", "Truth", "generate"]
