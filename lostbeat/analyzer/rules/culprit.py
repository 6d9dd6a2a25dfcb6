"""The culprit's full name and origin.

A history may cut names (vmksummary keeps 8 characters, so ``vmware-w`` may be vmware-watchdog
or vmware-webAccess, and ``java`` says nothing of whose Java it is). The processes the inputs
name in full (ps, pstree, top) then name the processes whose first characters match. When
several do, the one whose virtual size is closest to the token's last logged size wins;
failing that, the largest. The platform's catalog then says who ships it. A history that
names its processes in full (a recording) needs no resolution, only the catalog.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from lostbeat.analyzer.facts import Catalog, Facts, ProcessInfo
from lostbeat.analyzer.findings import Evidence, Finding, Severity
from lostbeat.analyzer.result import Origin, RootCause
from lostbeat.analyzer.rules._rule import rule

__all__ = ["Resolution", "resolve_culprit", "resolve_token"]

COMM_LEN = 15
"""Linux keeps a process name (comm) to 15 characters: pstree and top show it cut."""


@dataclass(frozen=True, slots=True)
class Resolution:
    token: str
    name: str
    origin: Origin
    how: str
    evidence: tuple[Evidence, ...] = ()


def _script_name(entry: ProcessInfo) -> str | None:
    """For an interpreter, the program it runs: ``java ... -jar /opt/x/agent.jar`` -> agent."""
    for arg in entry.command.split()[1:]:
        if arg.startswith("-"):
            continue
        base = arg.rsplit("/", 1)[-1]
        for suffix in (".jar", ".py", ".pl", ".sh"):
            if base.endswith(suffix):
                return base[: -len(suffix)]
    return None


def _origin(name: str, entry: ProcessInfo | None, catalog: Catalog) -> tuple[Origin, str]:
    known = catalog.lookup(name)
    if known is not None:
        return known.origin, known.note
    if entry is not None:
        path = entry.command.split()[0] if entry.command else ""
        for prefix, origin in catalog.by_path:
            if path.startswith(prefix):
                return origin, f"installed under {path.rsplit('/', 1)[0]}"
    return Origin.UNKNOWN, "not in the catalog"


def _last_logged_kb(facts: Facts, token: str) -> float | None:
    """The token's last logged size (after the reboot, like ps)."""
    history = facts.plot or facts.history
    found = [s.points[-1] for s in history.series if s.token == token and s.points]
    return max(found)[1] if found else None


def _matches(token: str, facts: Facts) -> dict[str, ProcessInfo]:
    cut = facts.history.sampling.name_cut
    matches: dict[str, ProcessInfo] = {}
    for entry in facts.processes:
        if (entry.name[:cut] if cut else entry.name) == token:
            best = matches.get(entry.name)
            if best is None or (entry.vsz_kb or 0) > (best.vsz_kb or 0):
                matches[entry.name] = entry
    # pstree and top show the kernel's comm, cut to 15 characters: the same process as ps's
    # full name ("vmware-webAcces" is "vmware-webAccess")
    for short in [n for n in matches if len(n) == COMM_LEN]:
        if any(len(n) > COMM_LEN and n.startswith(short) for n in matches):
            del matches[short]
    return matches


def resolve_token(token: str, facts: Facts) -> Resolution:
    """Full name and origin of a token as the history logged it."""
    matches = _matches(token, facts)
    entry: ProcessInfo | None
    if len(matches) == 1:
        name, entry = next(iter(matches.items()))
        how = f"named {name} in {entry.evidence.path}" if entry.evidence else f"named {name}"
    elif len(matches) > 1:
        logged = _last_logged_kb(facts, token)

        def score(item: tuple[str, ProcessInfo]) -> float:
            size = float(item[1].vsz_kb or item[1].rss_kb or 0)
            return abs(size - logged) if logged is not None else -size

        name, entry = min(sorted(matches.items()), key=score)
        others = ", ".join(n for n in sorted(matches) if n != name)
        where = entry.evidence.path if entry.evidence else "the process list"
        how = (
            f"{token} matches {len(matches)} processes in {where}; "
            f"{name} fits the logged size best (also: {others})"
        )
    else:
        cands = facts.catalog.candidates(token, facts.history.sampling.name_cut)
        if len(cands) != 1:
            return Resolution(
                token,
                token,
                Origin.UNKNOWN,
                "not found in ps or pstree; ambiguous or unknown token",
            )
        name, entry, how = cands[0], None, "from the process catalog (no ps in the inputs)"
    if entry is not None and name in facts.catalog.wrappers:
        script = _script_name(entry)
        if script:
            name, how = script, how + f"; runs {script}"
    origin, why = _origin(name, entry, facts.catalog)
    evidence = (entry.evidence,) if entry is not None and entry.evidence is not None else ()
    return Resolution(token, name, origin, f"{how}; {why}", evidence)


@rule("culprit")
def resolve_culprit(
    facts: Facts, cause: RootCause
) -> tuple[RootCause, tuple[Resolution, ...], tuple[Finding, ...]]:
    """Give the root cause's token its full name and origin."""
    if cause.token is None:
        return cause, (), ()
    if cause.process is not None:  # the history names its processes in full
        origin, why = _origin(cause.process, None, facts.catalog)
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
