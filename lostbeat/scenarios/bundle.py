"""Writing a generated incident to disk: the ``.tgz``, ``truth.json`` and the loose extras.

The archive is what vm-support 1.30 writes (esx-artifacts.md §3.1): ``esx-<date>.<pid>.tgz``
holding one top folder ``vm-support-<host>-<date>.<pid>/`` with directory entries, GNU tar
format, gzip without a file name. Member times, owners and the gzip header are fixed by the
incident, so the same (scenario, seed) gives the same bytes.
"""

from __future__ import annotations

import random
from pathlib import Path

from lostbeat.errors import InputError
from lostbeat.scenarios.assemble import Assembled, assemble
from lostbeat.scenarios.loose import tar_bytes
from lostbeat.scenarios.model import GeneratedCase
from lostbeat.scenarios.scenarios import BUILDERS, SCENARIOS
from lostbeat.scenarios.simulate import simulate
from lostbeat.scenarios.spec import Spec
from lostbeat.scenarios.truth import truth_of

__all__ = ["generate", "tgz_bytes", "write_case"]


def tgz_bytes(case: Assembled) -> bytes:
    """The gzipped tar of ``case``'s files under its top folder."""
    return tar_bytes(case.top_dir, case.files, mtime=case.collected)


def generate(name: str, out_dir: Path, *, seed: int) -> GeneratedCase:
    """Write scenario ``name``'s incident number ``seed`` into ``out_dir``.

    Args:
        name: a key of ``SCENARIOS``.
        out_dir: created if missing; receives the ``.tgz``, ``truth.json`` and extras.
        seed: any integer; the same (name, seed) gives the same files.

    Raises:
        InputError: unknown scenario, or ``out_dir`` cannot be written.
    """
    if name not in BUILDERS:
        raise InputError(f"unknown scenario; one of {', '.join(SCENARIOS)}", path=name)
    rng = random.Random(f"{name}:{seed}")
    spec = BUILDERS[name](rng, seed)
    return write_case(name, seed, spec, rng, out_dir)


def write_case(
    name: str, seed: int, spec: Spec, rng: random.Random, out_dir: Path
) -> GeneratedCase:
    """Play ``spec`` out with ``rng`` and write its incident into ``out_dir``, as
    :func:`generate` does (a fleet builds its hosts' specs itself, lostbeat.scenarios.fleet)."""
    timeline = simulate(spec, rng)
    case = assemble(spec, timeline, rng)
    truth = truth_of(name, seed, spec, timeline)
    out_dir = Path(out_dir)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        bundle = out_dir / case.archive_name
        bundle.write_bytes(tgz_bytes(case))
        truth_path = out_dir / "truth.json"
        truth_path.write_text(truth.to_json(), encoding="utf-8")
        extras = []
        for extra, data in sorted(case.extras.items()):
            (out_dir / extra).write_bytes(data)
            extras.append(out_dir / extra)
    except OSError as err:
        raise InputError(f"cannot write the generated bundle ({err.strerror})",
                         path=str(out_dir)) from err  # fmt: skip
    return GeneratedCase(bundle=bundle, truth=truth, truth_path=truth_path, extras=tuple(extras))
