"""A run imports only what it needs: the analysis itself none of numpy, scipy, matplotlib,
jinja2, rich or dask; the terminal report rich; ``--html`` matplotlib and jinja2. Each command
runs in a fresh interpreter, as a user runs it, and lists the packages it ended with."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from lostbeat.scenarios import generate

HEAVY = ("numpy", "scipy", "matplotlib", "jinja2", "rich", "dask", "distributed")

_RUN = """
import sys
from lostbeat.cli import main
status = main(sys.argv[2:])
sys.stdout.flush()
found = {m.split(".")[0] for m in sys.modules} & set(sys.argv[1].split(","))
print("imported:", " ".join(sorted(found)), file=sys.stderr)
sys.exit(status)
"""


def _imported(*args: str) -> set[str]:
    done = subprocess.run(
        [sys.executable, "-c", _RUN, ",".join(HEAVY), *args],
        capture_output=True,
        text=True,
        check=True,
    )
    line = done.stderr.strip().splitlines()[-1]
    assert line.startswith("imported:"), done.stderr
    return set(line.split()[1:])


@pytest.fixture(scope="module")
def incident(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    case = generate("vmware-leak", tmp_path_factory.mktemp("incident"), seed=0)
    return [str(case.bundle), *(str(p) for p in case.extras)]


def test_the_json_analysis_imports_none_of_the_heavy_packages(incident: list[str]) -> None:
    assert _imported("analyze", "--json", *incident) == set()


def test_the_terminal_report_imports_rich_alone(incident: list[str]) -> None:
    assert _imported("analyze", *incident) == {"rich"}


def test_the_html_report_imports_its_plotting_and_template(
    incident: list[str], tmp_path: Path
) -> None:
    page = tmp_path / "report.html"
    found = _imported("analyze", "--json", "--html", str(page), *incident)
    assert {"matplotlib", "numpy", "jinja2"} <= found
    assert not found & {"scipy", "rich", "dask", "distributed"}
    assert page.stat().st_size > 0
