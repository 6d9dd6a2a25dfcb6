"""What each scenario runs in the simulated Service Console, and the verdict it must get.

Every scenario runs the heartbeat daemon ``lostbeat-hbd`` (the seed KB's ``vmnixhbd``) and three
steady programs; then its workload, sized from the room left once those hold their memory:

=============  ===========================================================  ============
scenario       workload                                                     verdict
=============  ===========================================================  ============
leak           ``leaker`` keeps room/FILL_S more every second               leak, leaker
spike          ``spiker`` idles CALM_S, then takes the whole room at once   spike, never
                                                                            a steady one
contention     ``filler-N`` arrive one by one until CALM_S, each holding    contention
               under 20 MiB, until all the room but a margin is held;
               ``churner`` takes and gives back up to twice the margin
               all along; nothing grows
third-party    Debian's ``stress-ng --bigheap 1``, CPU-throttled so it      leak,
               grows about room/FILL_S a second                             stress-ng
=============  ===========================================================  ============

Paces follow the analyzer: a recording needs 20 samples before a verdict and a leak must
grow for 20 sample intervals (``analyzer/rules/root_cause.py``, MIN_FINE_STEPS), so at the
0.5 s sample interval the memory runs out after about 15 s, never under 10.

Examples:
    >>> [p.name for p in background(256 * MIB, python="python3")]
    ['steady-1', 'steady-2', 'steady-3']
    >>> leak = workload(Scenario.LEAK, room=150 * MIB, python="python3")[0]
    >>> leak.name, leak.argv[-1]
    ('leaker', '10485760')
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum
from pathlib import Path

from lostbeat.analyzer.result import CauseKind, RootCause

__all__ = [
    "CALM_S",
    "Expectation",
    "FILL_S",
    "Program",
    "Role",
    "Scenario",
    "background",
    "expectation",
    "heartbeat",
    "workload",
]

MIB = 1 << 20
FILL_S = 15.0
"""Seconds a growing workload takes to fill the room."""
CALM_S = 12.0
"""Seconds a spike or churn waits before it strikes."""
JUMP_MAX = 20 * MIB
"""Most one contention program takes at once: with its interpreter still under the
analyzer's 32 MiB floor for a jump."""
STRESS_NG = "stress-ng"
HBD_NAME = "lostbeat-hbd"
_MODULE = "lostbeat.simulate.workloads"


class Scenario(StrEnum):
    LEAK = "leak"
    SPIKE = "spike"
    CONTENTION = "contention"
    THIRD_PARTY = "third-party"


class Role(StrEnum):
    HEARTBEAT = "heartbeat"
    STEADY = "steady"
    WORKLOAD = "workload"


@dataclass(frozen=True, slots=True)
class Program:
    """One program to run in the group."""

    name: str
    """Its ``comm``, as the recorder and the analyzer name it."""
    role: Role
    argv: tuple[str, ...]
    what: str
    throttled: bool = False
    """Runs with its CPU throttled (the third-party workload, to pace its growth)."""
    hold: int | None = None
    """Bytes it holds once ready, beyond its interpreter; None when it keeps changing."""
    delay: float = 0.0
    """Seconds after the workload starts that it starts."""


def heartbeat(python: str, *, socket: Path, interval: float, timeout: float) -> Program:
    """The heartbeat daemon, ``lostbeat hbd``."""
    argv = (python, "-m", "lostbeat", "hbd", "--socket", str(socket), "--name", HBD_NAME)
    return Program(
        HBD_NAME,
        Role.HEARTBEAT,
        (*argv, "--interval", f"{interval:g}", "--timeout", f"{timeout:g}"),
        f"beats every {interval:g} s while it can get a page",
    )


def _contention(room: int, *, overhead: int, python: str) -> tuple[Program, ...]:
    """Programs that arrive one by one until the room is full but for a margin, and a
    churner that takes and gives back up to twice the margin from the start.

    Nothing grows: each filler takes its share at once when it starts, under
    :data:`JUMP_MAX` (the analyzer calls a rise of 32 MiB or more between two samples a
    spike), so there are as many as that needs, the last arriving at CALM_S: the "excessive
    numbers of processes" of the seed KB. The churn is the same all along, so it is no trend.
    """
    churn = min(int(room * 0.3), JUMP_MAX)
    margin = churn // 2
    fill = room - overhead - margin  # the churner's interpreter lives in the room too
    count = max(1, -(-fill // (JUMP_MAX + overhead)))
    each = max(fill // count - overhead, MIB)
    churner = _program(
        python,
        "churn",
        "churner",
        Role.WORKLOAD,
        f"takes and gives back 1-{churn / MIB:.0f} MiB; {margin / MIB:.0f} MiB will be free",
        min=MIB,
        max=churn,
        every=0.3,
    )
    fillers = tuple(
        replace(
            _program(
                python,
                "steady",
                f"filler-{n}",
                Role.WORKLOAD,
                f"holds {each / MIB:.0f} MiB",
                hold=each,
            ),
            delay=round(CALM_S * n / count, 2),
        )
        for n in range(1, count + 1)
    )
    return (churner, *fillers)


def _program(python: str, kind: str, name: str, role: Role, what: str, **opts: object) -> Program:
    argv = [python, "-m", _MODULE, kind, "--name", name]
    for key, value in opts.items():
        argv += [f"--{key}", str(value)]
    hold = opts.get("hold") if kind == "steady" else None
    return Program(name, role, tuple(argv), what, hold=hold if isinstance(hold, int) else None)


def background(ram: int, *, python: str) -> tuple[Program, ...]:
    """The steady programs every scenario runs: 5 %, 7 % and 3 % of the group's RAM."""
    return tuple(
        _program(
            python,
            "steady",
            f"steady-{n}",
            Role.STEADY,
            f"holds {ram * share // 100 / MIB:.0f} MiB",
            hold=ram * share // 100,
        )
        for n, share in enumerate((5, 7, 3), start=1)
    )


def workload(
    scenario: Scenario, *, room: int, python: str, overhead: int = 10 * MIB
) -> tuple[Program, ...]:
    """The scenario's workload, sized from ``room``: the bytes free in the group.

    Args:
        scenario: which workload.
        room: bytes free in the group once the heartbeat and steady programs run.
        python: the interpreter.
        overhead: bytes one more Python program costs the group before it holds anything.
    """
    room = max(room, 8 * MIB)
    if scenario is Scenario.LEAK:
        rate = int(room / FILL_S)
        return (
            _program(
                python, "leak", "leaker", Role.WORKLOAD, f"leaks {rate / MIB:.1f} MiB/s", rate=rate
            ),
        )
    if scenario is Scenario.SPIKE:
        return (
            _program(
                python,
                "spike",
                "spiker",
                Role.WORKLOAD,
                f"takes {room / MIB:.0f} MiB at once after {CALM_S:g} s",
                hold=2 * MIB,
                after=CALM_S,
                grab=room,
            ),
        )
    if scenario is Scenario.CONTENTION:
        return _contention(room, overhead=overhead, python=python)
    argv = (STRESS_NG, "--bigheap", "1", "--bigheap-growth", "4K", "--timeout", "600s")
    return (
        Program(
            STRESS_NG,
            Role.WORKLOAD,
            argv,
            f"grows its heap by realloc(), paced to {room / FILL_S / MIB:.1f} MiB/s",
            throttled=True,
        ),
    )


@dataclass(frozen=True, slots=True)
class Expectation:
    """The verdict a scenario must get."""

    kind: CauseKind
    culprit: str | None
    """The named process must start with this (``comm`` may be cut to 15 characters)."""
    innocent: tuple[str, ...]
    """Processes the verdict must never name."""

    def judge(self, cause: RootCause) -> tuple[bool, str]:
        """Whether ``cause`` is right, and a line saying so.

        >>> e = Expectation(CauseKind.LEAK, "leaker", ("steady-1",))
        >>> e.judge(RootCause(CauseKind.LEAK, process="leaker"))
        (True, 'expected leak in leaker; the analyzer said leak in leaker: right')
        """
        named = cause.process or cause.token
        want = f"{self.kind.value}" + (f" in {self.culprit}" if self.culprit else "")
        said = f"{cause.kind.value}" + (f" in {named}" if named else "")
        ok = cause.kind is self.kind and named not in self.innocent
        if self.culprit is not None:
            ok = ok and named is not None and named.startswith(self.culprit[:8])
        return ok, f"expected {want}; the analyzer said {said}: {'right' if ok else 'WRONG'}"


def expectation(scenario: Scenario) -> Expectation:
    """The verdict ``scenario`` must get."""
    steady = ("steady-1", "steady-2", "steady-3", HBD_NAME)
    return {
        Scenario.LEAK: Expectation(CauseKind.LEAK, "leaker", steady),
        Scenario.SPIKE: Expectation(CauseKind.SPIKE, None, steady),
        Scenario.CONTENTION: Expectation(
            CauseKind.CONTENTION, None, (*steady, "filler-1", "filler-2", "filler-3", "churner")
        ),
        Scenario.THIRD_PARTY: Expectation(CauseKind.LEAK, STRESS_NG, steady),
    }[scenario]
