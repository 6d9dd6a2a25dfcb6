"""The culprit's full name and origin.

vmksummary cuts names to 8 characters, so ``vmware-w`` may be vmware-watchdog or
vmware-webAccess, and ``java`` says nothing of whose Java it is. The bundle's own ``ps`` and
``pstree`` (taken after the reboot) name the processes whose first 8 characters match. When
several do, the one whose virtual size in ``ps`` is closest to the token's last logged size
after the reboot wins; failing that, the largest. The catalog then says who ships it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from lostbeat.analyzer.catalog import TOKEN_LEN, candidates_for_token, lookup
from lostbeat.analyzer.facts import HostFacts
from lostbeat.analyzer.findings import Evidence, Finding, Severity
from lostbeat.analyzer.parsers.processes import ProcessEntry
from lostbeat.analyzer.parsers.vmksummary import LineKind
from lostbeat.analyzer.result import Origin, RootCause
from lostbeat.analyzer.rules._rule import rule
from lostbeat.analyzer.rules.timeline import Timeline

__all__ = ["Resolution", "resolve_culprit", "resolve_token"]

COMM_LEN = 15
"""Linux keeps a process name (comm) to 15 characters."""
_INTERPRETERS = ("java", "perl", "python", "python2", "python3", "sh", "bash", "mono")


@dataclass(frozen=True, slots=True)
class Resolution:
    token: str
    name: str
    origin: Origin
    how: str
    evidence: tuple[Evidence, ...] = ()


def _script_name(entry: ProcessEntry) -> str | None:
    """For an interpreter, the program it runs: ``java ... -jar /opt/x/agent.jar`` -> agent."""
    for arg in entry.command.split()[1:]:
        if arg.startswith("-"):
            continue
        base = arg.rsplit("/", 1)[-1]
        for suffix in (".jar", ".py", ".pl", ".sh"):
            if base.endswith(suffix):
                return base[: -len(suffix)]
    return None


def _origin(name: str, entry: ProcessEntry | None) -> tuple[Origin, str]:
    known = lookup(name)
    if known is not None:
        note = "" if known.verified else ", unverified"
        return known.origin, f"{known.vendor}: {known.role} ({known.source}{note})"
    if entry is not None:
        path = entry.command.split()[0] if entry.command else ""
        if path.startswith(("/opt/hp", "/opt/dell", "/opt/ibm", "/opt/emc", "/usr/lib/vmware/../")):
            return Origin.THIRD_PARTY, f"installed under {path.rsplit('/', 1)[0]}"
        if path.startswith(("/usr/lib/vmware", "/opt/vmware", "/usr/sbin/vmware")):
            return Origin.VMWARE, f"installed under {path.rsplit('/', 1)[0]}"
    return Origin.UNKNOWN, "not in the catalog"


def _last_logged_kb(facts: HostFacts, token: str) -> float | None:
    """The token's size in the last hourly line (after the reboot, like ps)."""
    for line in reversed(facts.summary):
        if line.kind is not LineKind.HEARTBEAT:
            continue
        for c in line.top:
            if c.token == token:
                return float(c.kb)
    return None


def resolve_token(token: str, facts: HostFacts) -> Resolution:
    """Full name and origin of a vmksummary token."""
    matches: dict[str, ProcessEntry] = {}
    entry: ProcessEntry | None
    for entry in facts.processes:
        if entry.name[:TOKEN_LEN] == token:
            best = matches.get(entry.name)
            if best is None or (entry.vsz_kb or 0) > (best.vsz_kb or 0):
                matches[entry.name] = entry
    # pstree and top show the kernel's comm, cut to 15 characters: the same process as ps's
    # full name ("vmware-webAcces" is "vmware-webAccess")
    for short in [n for n in matches if len(n) == COMM_LEN]:
        longer = [n for n in matches if len(n) > COMM_LEN and n.startswith(short)]
        if longer:
            del matches[short]
    if len(matches) == 1:
        name, entry = next(iter(matches.items()))
        how = f"named {name} in {entry.evidence.path}"
    elif len(matches) > 1:
        logged = _last_logged_kb(facts, token)

        def score(item: tuple[str, ProcessEntry]) -> float:
            size = float(item[1].vsz_kb or item[1].rss_kb or 0)
            return abs(size - logged) if logged is not None else -size

        name, entry = min(sorted(matches.items()), key=score)
        others = ", ".join(n for n in sorted(matches) if n != name)
        how = (
            f"{token} matches {len(matches)} processes in {entry.evidence.path}; "
            f"{name} fits the logged size best (also: {others})"
        )
    else:
        cands = candidates_for_token(token)
        if len(cands) == 1:
            name, entry, how = cands[0], None, "from the process catalog (no ps in the inputs)"
        else:
            return Resolution(
                token,
                token,
                Origin.UNKNOWN,
                "not found in ps or pstree; ambiguous or unknown token",
            )
    if entry is not None and name in _INTERPRETERS:
        script = _script_name(entry)
        if script:
            name, how = script, how + f"; runs {script}"
    origin, why = _origin(name, entry)
    evidence = (entry.evidence,) if entry is not None else ()
    return Resolution(token, name, origin, f"{how}; {why}", evidence)


@rule("culprit", artifacts=("ps", "pstree", "top"))
def resolve_culprit(
    facts: HostFacts, timeline: Timeline, cause: RootCause
) -> tuple[RootCause, tuple[Resolution, ...], tuple[Finding, ...]]:
    """Give the root cause's token its full name and origin."""
    del timeline
    if cause.token is None:
        return cause, (), ()
    if cause.process is not None:  # a recording names its processes in full
        origin, why = _origin(cause.process, None)
        named = Resolution(cause.token, cause.process, origin, f"recorded by name; {why}")
        return replace(cause, origin=origin), (named,), ()
    main = resolve_token(cause.token, facts)
    others = [resolve_token(t, facts) for t in cause.others]
    resolved = replace(
        cause, process=main.name, origin=main.origin, others=tuple(r.name for r in others)
    )
    findings: Sequence[Finding] = (
        Finding(
            "culprit.origin",
            Severity.INFO,
            f"{main.token} is {main.name} ({main.origin.value.replace('_', ' ')})",
            main.how,
            main.evidence,
        ),
    )
    return resolved, (main, *others), tuple(findings)
