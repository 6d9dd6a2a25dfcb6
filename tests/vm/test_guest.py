"""The VM suite, one host test per guest test: a Debian 12 guest under qemu with systemd as
PID 1 and cgroup v2 (``tests/vm/guest/``, run there by ``lostbeat-vm-suite.service``).

The guest is booted once for the session; a guest test that failed fails here with the
guest's own message, one that did not run fails with the reason (the guest timed out, or
crashed, with the serial console's last lines).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
import vm_suite

GUEST = Path(__file__).resolve().parent / "guest"

pytestmark = pytest.mark.timeout(3600)  # the build and the boot bound themselves


def guest_tests(folder: Path = GUEST) -> list[str]:
    """The node ids the guest's pytest gives its tests (``test_x.py::test_y[param]``)."""
    ids = []
    for path in sorted(folder.glob("test_*.py")):
        for node in ast.parse(path.read_text()).body:
            if not isinstance(node, ast.FunctionDef) or not node.name.startswith("test_"):
                continue
            params: list[str] = []
            for deco in node.decorator_list:
                if isinstance(deco, ast.Call) and ast.unparse(deco.func).endswith("parametrize"):
                    params = [str(v) for v in ast.literal_eval(deco.args[1])]
            base = f"{path.name}::{node.name}"
            ids += [f"{base}[{p}]" for p in params] if params else [base]
    return ids


def test_the_guest_ran_every_test_and_nothing_else(guest: vm_suite.SuiteRun) -> None:
    if guest.problem and not guest.outcomes:
        pytest.fail(f"{guest.problem}\n{guest.serial_tail}", pytrace=False)
    unexpected = sorted(set(guest.outcomes) - set(guest_tests()))
    assert unexpected == [], [guest.outcomes[u].text for u in unexpected]


@pytest.mark.parametrize("nodeid", guest_tests())
def test_in_guest(guest: vm_suite.SuiteRun, nodeid: str) -> None:
    outcome = guest.outcomes.get(nodeid)
    if outcome is None:
        pytest.fail(
            f"did not run in the guest: {guest.problem}\n{guest.serial_tail}", pytrace=False
        )
    if outcome.status != "passed":
        pytest.fail(f"{outcome.status} in the guest ({outcome.seconds:.1f} s):\n{outcome.text}",
                    pytrace=False)  # fmt: skip
