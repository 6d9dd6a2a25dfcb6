"""Run one capture step with a time bound, so that no read of a hung process can stall the
monitor.

A read of ``/proc/PID/...`` normally answers at once, even for a task hung in the kernel
(linux-mechanisms.md, VERIFIED), but some files take the target's memory-map lock and a
blocking read cannot be interrupted from the same thread. So each step runs in a
short-lived daemon thread; if it overruns its bound the monitor records a timeout and moves
on, leaving the thread behind. At most ``max_stuck`` threads may be left behind: after that
every further step is refused at once, so a run of hung reads cannot pile up threads.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Generic, TypeVar

T = TypeVar("T")

STACK_SIZE = 512 * 1024  # small stacks: under mlockall(MCL_FUTURE) every stack is resident


class StepStatus(StrEnum):
    OK = "ok"
    FAILED = "failed"
    TIMEOUT = "timeout"
    SKIPPED = "skipped"


@dataclass(frozen=True, slots=True)
class Outcome(Generic[T]):
    """How a bounded step ended: its value when OK, else why not."""

    status: StepStatus
    value: T | None
    reason: str
    seconds: float


class BoundedRunner:
    """Runs callables in helper threads with a timeout each.

    Args:
        max_stuck: how many overrunning threads may be left behind before refusing.
    """

    def __init__(self, *, max_stuck: int = 4) -> None:
        self._max_stuck = max_stuck
        self._stuck: list[threading.Thread] = []

    def run(
        self,
        step: Callable[[], T],
        *,
        timeout: float,
        keepalive: Callable[[], None] | None = None,
    ) -> Outcome[T]:
        """Run ``step`` and wait at most ``timeout`` seconds for it.

        ``keepalive`` is called about once a second while waiting (the systemd watchdog).

        >>> BoundedRunner().run(lambda: 6 * 7, timeout=5).value
        42
        >>> BoundedRunner().run(lambda: 1 // 0, timeout=5).reason
        'ZeroDivisionError: integer division or modulo by zero'
        """
        self._stuck = [t for t in self._stuck if t.is_alive()]
        if len(self._stuck) >= self._max_stuck:
            reason = f"skipped: {len(self._stuck)} earlier steps are still blocked"
            return Outcome(StepStatus.SKIPPED, None, reason, 0.0)
        box: list[Outcome[T]] = []
        started = time.monotonic()

        def body() -> None:
            try:
                value = step()
            except Exception as err:  # recorded in the capture, never raised in the monitor
                box.append(
                    Outcome(
                        StepStatus.FAILED,
                        None,
                        f"{type(err).__name__}: {err}",
                        time.monotonic() - started,
                    )
                )
            else:
                box.append(Outcome(StepStatus.OK, value, "", time.monotonic() - started))

        thread = threading.Thread(target=body, name="lostbeat-step", daemon=True)
        thread.start()
        until = started + timeout
        while thread.is_alive() and (left := until - time.monotonic()) > 0:
            thread.join(min(left, 1.0))
            if keepalive is not None:
                keepalive()
        if thread.is_alive():
            self._stuck.append(thread)
            return Outcome(
                StepStatus.TIMEOUT,
                None,
                f"no answer within {timeout:g} s",
                time.monotonic() - started,
            )
        return box[0]
