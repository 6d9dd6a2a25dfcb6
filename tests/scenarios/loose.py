"""Reading incidents written as loose files or one archive back, independently of the analyzer."""

from __future__ import annotations

import gzip
import json
import tarfile
from pathlib import Path
from typing import Any

from lostbeat.scenarios import GeneratedCase, generate
from lostbeat.scenarios.esx.table import ESX_SCENARIOS
from lostbeat.scenarios.linux.table import LINUX_SCENARIOS

SEEDS = tuple(range(1, 9))
ARCHIVES = (".tgz", ".tar.gz", ".tar.xz", ".txz")


def make(root: Path, names: dict[str, str]) -> dict[tuple[str, int], GeneratedCase]:
    return {
        (name, seed): generate(name, root / f"{name}-{seed}", seed=seed)
        for name in names
        for seed in SEEDS
    }


def members(path: Path) -> dict[str, bytes]:
    """Every regular file of an archive (top folder stripped), nested ``.gz`` inflated, and
    ``X.FRAG-NNNNN`` pieces joined back into ``X`` in their order (as vm-support readers do)."""
    out: dict[str, bytes] = {}
    with tarfile.open(path) as tar:
        for m in tar.getmembers():
            if not m.isfile():
                continue
            handle = tar.extractfile(m)
            assert handle is not None
            data = handle.read()
            if m.name.endswith(".gz"):
                data = gzip.decompress(data)
            out[m.name.split("/", 1)[1]] = data
    for name in sorted(n for n in out if ".FRAG-" in n):
        whole = name.split(".FRAG-")[0]
        out[whole] = out.get(whole, b"") + out.pop(name)
    return out


def files_of(case: GeneratedCase) -> dict[str, bytes]:
    """Name -> bytes of everything written (archives opened)."""
    out = {}
    for path in (case.bundle, *case.extras):
        if path.name.endswith(ARCHIVES):
            out.update(members(path))
        else:
            out[path.name] = path.read_bytes()
    return out


def text_of(case: GeneratedCase) -> str:
    return "\n".join(data.decode(errors="replace") for data in files_of(case).values())


def truth_doc(case: GeneratedCase) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(case.truth_path.read_text())
    return doc


__all__ = ["ESX_SCENARIOS", "LINUX_SCENARIOS", "SEEDS", "files_of", "make", "text_of", "truth_doc"]
