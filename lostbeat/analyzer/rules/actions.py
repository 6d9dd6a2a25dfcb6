"""The article's action plan, each step with the KB the article cites for it.

| when | step | KB |
| --- | --- | --- |
| usage static but high (contention) | raise COS RAM or swap | 1003501 |
| a third-party agent leaks | remove or disable it (support policy; no KB) | - |
| a VMware component leaks, or unknown origin | engage support with logs and both cores | 653 |
| the hourly log cannot see the cause (spike, too little history) | top in batch mode | 1006797 |
| ... and then, with the cores | engage support | 653 |
| the crash is not a lost heartbeat | interpret the purple screen | 1004250 |
| a crash and no valid COS core file | configure Misc.CosCoreFile | 1032962 |
| a known issue matched | its workaround | its KB |
"""

from __future__ import annotations

from lostbeat.analyzer.result import (
    Action,
    CauseKind,
    Coredumps,
    Crash,
    CrashType,
    KnownIssueMatch,
    Origin,
    RootCause,
)
from lostbeat.analyzer.rules._rule import rule

__all__ = ["plan_actions"]

RAISE_MEMORY = "1003501"
TOP_BATCH = "1006797"
COS_CORE = "1032962"
ENGAGE = "653"
INTERPRET = "1004250"


_THIRD_PARTY = (
    "{name} is third-party software leaking memory: find where it came from and remove or "
    "disable it (Third Party Hardware and Software Support Policy); raising the console's "
    "memory would only delay the next crash"
)
_DISABLE = (
    "Disable or restart {name} on a schedule until it is fixed: workarounds typically disable "
    "the leaking component; raising the console's memory only delays the next crash"
)
_ENGAGE_LEAK = (
    "{name} is {who} leaking memory: engage VMware support with this vm-support bundle and "
    "both core files (VMkernel zdump and COS core)"
)
_RAISE = (
    "Memory use is static but high: increase the RAM (up to 800 MB) or swap assigned to the "
    "Service Console, and review third-party agents' footprint"
)
_TOP = (
    "The hourly vmksummary cannot see this cause: run top in batch mode (or lostbeat record) "
    "to gather per-process memory within the hour before a recurrence"
)
_ENGAGE = (
    "Engage VMware support with the logs and both core files: the COS core shows each "
    "process's footprint at the crash"
)
_INTERPRET = "Not a lost heartbeat: interpret the purple screen as KB 1004250 describes"
_CORE = (
    "Set Misc.CosCoreFile to a file on a VMFS datastore so the next crash leaves a Service "
    "Console core"
)


_LINUX_LEAK = (
    "{name} leaks memory: restart or disable it until it is fixed, and report the leak to its "
    "maintainers with the capture's core dump; a larger memory limit would only delay the "
    "next loss"
)
_LINUX_RAISE = (
    "Memory use is static but high: raise the watched domain's memory limit, or move a "
    "consumer out of it"
)
_LINUX_SPIKE = (
    "Memory ran out at once: find what {name} allocated (the capture's core and /proc state "
    "show it), and record at a shorter interval (lostbeat record --interval) to see the next one"
)


def _linux_steps(cause: RootCause) -> tuple[Action, ...]:
    name = cause.process or cause.token or "the process"
    if cause.kind is CauseKind.LEAK:
        return (Action(None, _LINUX_LEAK.format(name=name)),)
    if cause.kind is CauseKind.CONTENTION:
        return (Action(None, _LINUX_RAISE),)
    if cause.kind in (CauseKind.SPIKE, CauseKind.INCONCLUSIVE):
        return (Action(None, _LINUX_SPIKE.format(name=name)),)
    return ()


def _leak_steps(
    cause: RootCause, known: tuple[KnownIssueMatch, ...], others: tuple[Origin, ...]
) -> list[Action]:
    """Steps for the culprit; a second leaker shipped by VMware also calls for support."""
    name = cause.process or cause.token or "the process"
    if cause.origin is Origin.THIRD_PARTY:
        steps = [Action(None, _THIRD_PARTY.format(name=name))]
        vmware = [n for n, o in zip(cause.others, others, strict=False) if o is Origin.VMWARE]
        if vmware:
            who = "a VMware component"
            steps.append(Action(ENGAGE, _ENGAGE_LEAK.format(name=vmware[0], who=who)))
        return steps
    steps = [] if known else [Action(None, _DISABLE.format(name=name))]
    who = "a VMware component" if cause.origin is Origin.VMWARE else "of unknown origin"
    steps.append(Action(ENGAGE, _ENGAGE_LEAK.format(name=name, who=who)))
    return steps


@rule("actions", artifacts=())
def plan_actions(
    crash: Crash,
    cause: RootCause,
    known: tuple[KnownIssueMatch, ...],
    cores: Coredumps,
    others: tuple[Origin, ...] = (),
    *,
    linux: bool = False,
) -> tuple[Action, ...]:
    """The action plan of KB 308590 for this verdict; ``others`` are the other leakers'
    origins, in the order of ``cause.others``. ``linux``: the incident is a lostbeat
    capture or recording, where the same steps apply without VMware's KBs."""
    if linux:
        return _linux_steps(cause)
    steps = [Action(k.kb, f"Known issue: {k.title}. Workaround: {k.workaround}") for k in known]
    if cause.kind is CauseKind.LEAK:
        steps.extend(_leak_steps(cause, known, others))
    elif cause.kind is CauseKind.CONTENTION:
        steps.append(Action(RAISE_MEMORY, _RAISE))
    elif cause.kind in (CauseKind.SPIKE, CauseKind.INCONCLUSIVE):
        steps.extend((Action(TOP_BATCH, _TOP), Action(ENGAGE, _ENGAGE)))
    elif cause.kind is CauseKind.NOT_MEMORY and crash.type is not CrashType.NONE:
        steps.append(Action(INTERPRET, _INTERPRET))
    if crash.type is not CrashType.NONE and cores.cos_core_file_valid is False:
        steps.append(Action(COS_CORE, _CORE))
    return tuple(steps)
