"""The hostile corpus through the real command: ``python -m lostbeat analyze`` in a child.

Each case of :mod:`tests.hostile.corpus` (one per class of attack) is built here and run
once; the test asserts the exit status, the one line on standard error (or none), the JSON
document's promises, the peak RSS of the whole child process, its wall time, and that nothing
was written: not in the child's working directory, ``HOME`` or ``TMPDIR``, and not next to the
input. The costly cases run at a smaller scale than the benchmark (``benchmarks/hostile.py``,
scale 1), each still far past the bounds for a reader that keeps what it counts uncapped.

Bounds: 220 MB peak RSS (the target is 200 MB, measured by the benchmark; a looser bound
keeps a loaded machine from failing the test, and the bugs of this class took 250 MB to
3.6 GB) and 30 s plus 30 s per 100 MB of input (three times the 10 s per 100 MB target,
plus the interpreter's start under load); a run past 90 s or 400 MB is killed.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from lostbeat.analyzer.result import SCHEMA
from tests.hostile.child import Run, run
from tests.hostile.corpus import CASES, Case
from tests.hostile.inputs import Prepared, remove_tree

RSS_MB = 220.0
KILL_MB = 400.0
KILL_S = 90.0
SCALE = {
    "one-char-lines": 0.1,
    "loose-one-char-lines": 0.5,
    "real-summary-lines": 0.1,
    "long-link-targets": 0.1,
    "long-member-names": 0.3,
    "many-members": 0.3,
    "single-line-2gib": 0.1,
    "nested-gzip-bomb": 0.25,
}
"""The scale of each costly case in the suite; the others run at the benchmark's, 1."""


def time_bound(size: int) -> float:
    return 30.0 + 30.0 * size / 100e6


def snapshot(root: Path) -> dict[str, int]:
    """Every path under ``root`` with its size (iteratively: a chain may be 1,500 deep)."""
    found: dict[str, int] = {}
    stack = [str(root)]
    while stack:
        with os.scandir(stack.pop()) as it:
            for entry in it:
                st = entry.stat(follow_symlinks=False)
                found[entry.path] = st.st_size
                if entry.is_dir(follow_symlinks=False):
                    stack.append(entry.path)
    return found


@pytest.fixture
def folder(tmp_path: Path) -> Iterator[Path]:
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    yield inputs
    remove_tree(inputs)  # pytest's own clean-up recurses, and a chain of folders is deep


def run_case(case: Case, prepared: Prepared, folder: Path, sandbox: Path) -> Run:
    before = snapshot(folder)
    result = run(["analyze", *prepared.args], sandbox, kill_mb=KILL_MB, kill_s=KILL_S)
    assert not result.killed, f"{case.name}: {result.killed}; stderr {result.stderr[-600:]!r}"
    assert result.peak_mb <= RSS_MB, f"{case.name}: peak RSS {result.peak_mb:.0f} MB"
    bound = time_bound(prepared.archive_bytes)
    assert result.wall_s <= bound, f"{case.name}: {result.wall_s:.1f} s > {bound:.0f} s"
    assert snapshot(folder) == before, "something was written next to the input"
    assert result.written == (), f"written by the command: {result.written[:5]}"
    return result


def check(case: Case, result: Run) -> None:
    lines = result.stderr.splitlines()
    assert result.status == case.status, f"{case.name}: {result.status}, stderr {lines[-3:]}"
    if case.message is None:
        assert lines == [], lines[:5]
        doc = json.loads(result.stdout)
        assert doc["schema"] == SCHEMA
        if case.check is not None:
            case.check(doc)
    else:
        assert len(lines) == 1, lines[:5]
        assert lines[0].startswith("lostbeat analyze: "), lines[0]
        assert re.search(case.message, lines[0]), lines[0]
        assert "Traceback" not in result.stderr
        assert result.stdout == b"", "a failed analysis prints no verdict and no plan"


IN_PLACE = [c for c in CASES if c.name != "folder-of-a-million-entries"]


@pytest.mark.timeout(240)
@pytest.mark.parametrize("case", IN_PLACE, ids=[c.name for c in IN_PLACE])
def test_hostile_input(case: Case, folder: Path, tmp_path: Path) -> None:
    prepared = case.build(folder, SCALE.get(case.name, 1.0))
    result = run_case(case, prepared, folder, tmp_path / "sandbox")
    print(f"{case.name}: {result.wall_s:.1f} s, {result.peak_mb:.0f} MB peak RSS")
    check(case, result)


@pytest.fixture
def memory_folder(tmp_path: Path) -> Iterator[Path]:
    """A folder in /dev/shm when there is one: a million directory entries are made there
    in seconds, on a disk in minutes."""
    shm = Path("/dev/shm")
    if shm.is_dir() and os.access(shm, os.W_OK):
        import tempfile

        inputs = Path(tempfile.mkdtemp(prefix="lostbeat-hostile-", dir=shm))
    else:
        print("no writable /dev/shm: the folder is made on the disk, slowly")
        inputs = tmp_path / "inputs"
        inputs.mkdir()
    yield inputs
    remove_tree(inputs)


@pytest.mark.timeout(300)
def test_a_folder_of_a_million_entries(memory_folder: Path, tmp_path: Path) -> None:
    case = next(c for c in CASES if c.name == "folder-of-a-million-entries")
    prepared = case.build(memory_folder, 0.4)
    result = run_case(case, prepared, memory_folder, tmp_path / "sandbox")
    print(f"{case.name}: {result.wall_s:.1f} s, {result.peak_mb:.0f} MB peak RSS")
    check(case, result)
