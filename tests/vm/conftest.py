"""``make test-vm``'s host side: build the VM image, boot it, and report each guest test.

Collected only when LOSTBEAT_TEST_VM=1, which ``make test-vm`` sets: ``make test`` leaves this
folder alone (booting a guest under TCG takes minutes), and ``guest/`` is never collected on
the host (it runs inside the guest, under systemd).
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts" / "vm"))

import vm_suite  # noqa: E402

collect_ignore = ["guest"]
if os.environ.get("LOSTBEAT_TEST_VM") != "1":
    collect_ignore_glob = ["test_*.py"]

_RUNS: list[vm_suite.SuiteRun] = []


@pytest.fixture(scope="session")
def guest(request: pytest.FixtureRequest) -> vm_suite.SuiteRun:
    """The one boot of the VM suite; the guest's lines are shown as they come."""
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    capture = request.config.pluginmanager.get_plugin("capturemanager")

    def show(text: str) -> None:
        if reporter is None or capture is None:
            return
        with capture.global_and_fixture_disabled():  # shown as it comes, not at the end
            reporter.write_line(text)
            reporter.flush()

    up = False

    def on_line(at: float, line: str) -> None:
        nonlocal up
        up = up or line.startswith("lostbeat-vm: guest up")
        if up and not line.lstrip().startswith("["):  # the suite, not the kernel's lines
            show(f"[{at:6.1f} s] {line}")

    show("")
    results = Path(tempfile.mkdtemp(prefix="lostbeat-vm-results-"))
    run = vm_suite.run_suite(results=results, say=lambda s: show(f"vm: {s}"), on_line=on_line)
    _RUNS.append(run)
    return run


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    for run in _RUNS:
        terminalreporter.section("VM stage")
        terminalreporter.write_line(
            "seconds: "
            + ", ".join(f"{k} {v:g}" for k, v in run.seconds.items())
            + ("" if {"root", "image"} & set(run.seconds) else " (image from the cache)")
        )
        terminalreporter.write_line(f"guest results, journal and artifacts: {run.results}")
        if run.problem:
            terminalreporter.write_line(f"problem: {run.problem}")
