"""Coverage-guided fuzzing with atheris, where it is installed (skipped, saying so, elsewhere).

Each target runs in its own process (atheris_harness.py), from the same seeds as the mutation
fuzzer, for a fixed number of runs with a fixed seed, so that a run is repeatable. A crash
(an undocumented exception), a per-input timeout or an allocation over the malloc limit fails
the test with libFuzzer's report.
"""

from __future__ import annotations

import importlib.util
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fuzz.corpus import Corpus
from tests.fuzz.harness import TALLY, scaled
from tests.fuzz.targets import LINE_PARSERS, seeds_of

HARNESS = Path(__file__).with_name("atheris_harness.py")
RUNS = 10_000
TARGETS = [*(p.artifact for p in LINE_PARSERS), "sniffers", "archive"]


@pytest.mark.timeout(180)
@pytest.mark.parametrize("name", TARGETS)
def test_atheris(name: str, corpus: Corpus, tmp_path: Path) -> None:
    if importlib.util.find_spec("atheris") is None:
        print("SKIP: atheris is not installed (pip install atheris)")
        pytest.skip("atheris is not installed")
    seeds = tmp_path / "corpus"
    seeds.mkdir()
    if name == "archive":
        samples = corpus.tars
    elif name == "sniffers":
        samples = [s for artifact in sorted(corpus.texts) for s in seeds_of(corpus, artifact)]
    else:
        samples = seeds_of(corpus, name)
    for i, sample in enumerate(samples):
        (seeds / f"seed-{i:03d}").write_bytes(sample)
    runs = scaled(RUNS // 5 if name == "archive" else RUNS)
    argv = [
        sys.executable,
        str(HARNESS),
        name,
        str(seeds),
        f"-runs={runs}",
        "-seed=1",
        "-max_len=4096",
        "-timeout=5",
        "-malloc_limit_mb=512",
        "-rss_limit_mb=2048",
        f"-artifact_prefix={tmp_path}/",
    ]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=170, cwd=tmp_path)
    report = done.stderr[-4000:]
    counted = re.search(r"Done (\d+) runs", done.stderr)
    TALLY.inputs[f"{name} (atheris)"] += int(counted[1]) if counted else 0
    assert done.returncode == 0 and counted, report
    assert not list(tmp_path.glob("crash-*")) and not list(tmp_path.glob("timeout-*")), report
    shutil.rmtree(seeds)
