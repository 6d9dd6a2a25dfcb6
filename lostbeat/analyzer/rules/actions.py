"""The action plan: the platform's steps (``Facts.plan``) chosen by the verdict.

| when | step |
| --- | --- |
| a known issue matched | its workaround, with its KB |
| a third-party program leaks | remove or disable it |
| a vendor component leaks, or one of unknown origin | disable it, and engage support |
| the domain's own memory leaked, no process named | what to collect to name it next time |
| usage static but high (contention) | more memory for the domain |
| the history cannot see the cause (spike, too little history) | record finer, then support |
| the crash is not a memory fault | the step for its class (hardware to the server vendor with
  the machine-check bank, a driver to its update with the version shown), else interpret it |
| no crash, but a management agent failed | restart the agents, keep its core |
| a crash, and a setting the evidence needs is invalid | fix the setting |

On ESX each step carries the KB the seed article cites for it; a step a platform does not
have (no support to engage for a Linux leak) is left out.
"""

from __future__ import annotations

from collections.abc import Sequence

from lostbeat.analyzer.facts import Facts
from lostbeat.analyzer.result import (
    Action,
    CauseKind,
    Crash,
    CrashType,
    KnownIssueMatch,
    Origin,
    RootCause,
)
from lostbeat.analyzer.rules._rule import rule

__all__ = ["plan_actions"]


def _step(action: Action | None, **names: str) -> list[Action]:
    return [Action(action.kb, action.text.format(**names))] if action is not None else []


def _shown(crash: Crash) -> dict[str, str]:
    """What the crash shows, as a plan's step names it."""
    module = crash.suspect_module
    made = ", ".join(x for x in (crash.suspect_vendor, crash.suspect_version) if x)
    return {
        "driver": f"{module} ({made})" if module and made else module or "a driver",
        "vendor": crash.suspect_vendor or "its vendor",
        "bank": f"machine-check bank {crash.mce_bank}"
        if crash.mce_bank is not None
        else "the machine-check bank the screen shows",
        "device": f" and the device at PCI {crash.device}" if crash.device else "",
        "agent": crash.agent or "the management agent",
    }


def _name(cause: RootCause) -> str:
    """The culprit as a plan names it: with its pid where one was recorded, so that one of
    three python3 processes is the one to act on."""
    name = cause.process or cause.token or "the process"
    return f"{name} (pid {cause.pid})" if cause.pid is not None else name


def _leak_steps(
    facts: Facts, cause: RootCause, known: Sequence[KnownIssueMatch], others: Sequence[Origin]
) -> list[Action]:
    """Steps for the culprit; a second leaker shipped by the vendor also calls for support."""
    book = facts.plan
    name = _name(cause)
    if cause.origin is Origin.THIRD_PARTY:
        steps = _step(book.remove_third_party, name=name)
        vendor = [n for n, o in zip(cause.others, others, strict=False) if o is Origin.VMWARE]
        if vendor:
            steps += _step(book.engage_for_leak, name=vendor[0], who="a VMware component")
        return steps
    steps = [] if known else _step(book.disable_leaker, name=name)
    who = "a VMware component" if cause.origin is Origin.VMWARE else "of unknown origin"
    return steps + _step(book.engage_for_leak, name=name, who=who)


@rule("actions")
def plan_actions(
    facts: Facts,
    cause: RootCause,
    known: tuple[KnownIssueMatch, ...],
    others: tuple[Origin, ...] = (),
) -> tuple[Action, ...]:
    """The plan for this verdict; ``others`` are the other leakers' origins, in the order of
    ``cause.others``."""
    book, crash = facts.plan, facts.crash
    name = _name(cause)
    steps = [Action(k.kb, f"Known issue: {k.title}. Workaround: {k.workaround}") for k in known]
    if cause.kind is CauseKind.LEAK and cause.process is None and cause.token is None:
        steps.extend(_step(book.find_leaker) + _step(book.engage))
    elif cause.kind is CauseKind.LEAK:
        steps.extend(_leak_steps(facts, cause, known, others))
    elif cause.kind is CauseKind.CONTENTION:
        steps.extend(_step(book.raise_memory))
    elif cause.kind in (CauseKind.SPIKE, CauseKind.INCONCLUSIVE):
        steps.extend(_step(book.record_finer, name=name) + _step(book.engage))
    elif cause.kind is CauseKind.NOT_MEMORY and crash.type is not CrashType.NONE:
        steps.extend(_step(book.for_class.get(crash.class_) or book.interpret, **_shown(crash)))
    elif crash.type is CrashType.NONE and crash.agent:
        steps.extend(_step(book.agent, **_shown(crash)))
    if crash.type is not CrashType.NONE:
        for setting in facts.settings:
            if setting.valid is False:
                steps.extend(_step(book.fix_setting.get(setting.key)))
    return tuple(steps)
