"""The VM suite, one host test per guest test: a Debian 12 guest under qemu with systemd as
PID 1 and cgroup v2 (``tests/vm/guest/``, run there by ``lostbeat-vm-suite.service``).

The guest is booted once for the session; a guest test that failed fails here with the
guest's own message, one that did not run fails with the reason (the guest timed out, or
crashed, with the serial console's last lines).
"""

from __future__ import annotations

from pathlib import Path

import pytest
import vm_suite

GUEST = Path(__file__).resolve().parent / "guest"

pytestmark = pytest.mark.timeout(3600)  # the build and the boot bound themselves


def test_the_guest_ran_every_test_and_nothing_else(guest: vm_suite.SuiteRun) -> None:
    if guest.problem and not guest.outcomes:
        pytest.fail(f"{guest.problem}\n{guest.serial_tail}", pytrace=False)
    unexpected = sorted(set(guest.outcomes) - set(vm_suite.guest_tests(GUEST)))
    assert unexpected == [], [guest.outcomes[u].text for u in unexpected]


@pytest.mark.parametrize("nodeid", vm_suite.guest_tests(GUEST))
def test_in_guest(guest: vm_suite.SuiteRun, nodeid: str) -> None:
    outcome = guest.outcomes.get(nodeid)
    if outcome is None:
        pytest.fail(
            f"did not run in the guest: {guest.problem}\n{guest.serial_tail}", pytrace=False
        )
    if outcome.status != "passed":
        pytest.fail(f"{outcome.status} in the guest ({outcome.seconds:.1f} s):\n{outcome.text}",
                    pytrace=False)  # fmt: skip
