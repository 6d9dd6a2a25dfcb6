"""Where a leak came from: for each culprit, the builds, releases and agents it leaks on, and
those it does not, across the fleet's hosts.

The unit is the host: a host leaks a culprit when one of its incidents is a leak with that
culprit as the root cause's process, and its build and packages are those of its latest
incident. Two questions are asked of every culprit that leaks somewhere:

* **From which build on?** Within each product line (3.5, 4.0, 4.1: build numbers only
  order builds of one line), each build ``b`` seen in the fleet splits the line's hosts into
  "on ``b`` and later" and "before ``b``"; Fisher's exact test (one-sided: more leaks from
  ``b`` on) scores the 2x2 table of leak / no leak by side. The build with the smallest
  p-value is the **introducing build**: "cimserver leaks on 37 of 41 hosts on ESX 3.5 Update
  2 and later, on none of 12 before".
* **With which agent version?** For every package whose vendor is known (``rpm -qa``), each
  version held by two hosts or more splits the hosts that have the package into "with this
  version" and "with another"; the same test scores it: "cmahealthd leaks only with HP's
  hp-snmp-agents 8.1.1-22: on 9 of 11 hosts with it, on none of 14 with other versions".

Many splits are tried for each culprit, so a p-value is multiplied by their number before it
is held against :data:`ALPHA` (Bonferroni), counting, as Tarone (1990) showed is enough for
a discrete test, only the splits whose table could reach significance at all given its
margins: a version two hosts hold cannot explain ten leaks. An agent split is reported
beside the build split only when it explains the leaks better (a smaller p-value): a
package that follows the build, as VMware's own do, says nothing more.

Examples:
    >>> def host(i, build, release, leaks):
    ...     return HostView(f"esx{i:02}", build, release, leaks, {})
    >>> hosts = [host(i, 64607, "ESX 3.5", set()) for i in range(6)]
    >>> hosts += [host(i, 110268, "ESX 3.5 Update 2", {"cimserver"}) for i in range(6, 16)]
    >>> hosts += [host(16, 123630, "ESX 3.5 Update 3", set())]
    >>> (o,) = leak_origins(hosts)
    >>> o.culprit, o.introducing_build, o.leaking_hosts, o.hosts
    ('cimserver', 110268, 10, 17)
    >>> o.splits[0].text[:80]
    'cimserver leaks on 10 of 11 hosts on ESX 3.5 Update 2 (build 110268) and later, '
    >>> o.splits[0].text[80:]
    'on none of 6 before'
"""

from __future__ import annotations

import importlib
import math
import re
import threading
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace

from lostbeat.analyzer.builds import release_of
from lostbeat.analyzer.result import CauseKind
from lostbeat.fleet.model import BundleResult, PackageRow, host_label

__all__ = [
    "ALPHA",
    "VERSIONS_SHOWN",
    "BuildCount",
    "HostView",
    "LeakOrigin",
    "Split",
    "VersionCount",
    "host_views",
    "leak_origins",
    "line_of",
]

ALPHA = 0.05
"""Family-wise significance per culprit (Bonferroni over the splits tried)."""
VERSIONS_SHOWN = 10

_LINE = re.compile(r"\b([0-9]+\.[0-9]+)\b")


@dataclass(frozen=True, slots=True)
class HostView:
    """What the test reads of one host."""

    host: str
    build: int | None
    release: str | None
    leaks: set[str]
    """The culprits that leaked in any of its incidents."""
    packages: Mapping[str, PackageRow]
    """Its packages by name (those of its latest incident); empty when not listed."""


@dataclass(frozen=True, slots=True)
class Split:
    """One significant split of the hosts: the culprit leaks on one side, not on the other."""

    kind: str
    """``build`` or ``agent``."""
    text: str
    p_value: float
    """Fisher's exact test, one-sided, times the splits tried (Bonferroni), at most 1."""
    leaking_on: int
    hosts_on: int
    leaking_off: int
    hosts_off: int
    line: str | None = None
    build: int | None = None
    release: str | None = None
    package: str | None = None
    version: str | None = None
    vendor: str | None = None


@dataclass(frozen=True, slots=True)
class BuildCount:
    line: str | None
    build: int
    release: str | None
    hosts: int
    leaking: int


@dataclass(frozen=True, slots=True)
class VersionCount:
    version: str
    hosts: int
    leaking: int


@dataclass(frozen=True, slots=True)
class LeakOrigin:
    """Where one culprit leaks across the fleet, and what tells it."""

    culprit: str
    leaking_hosts: int
    hosts: int
    """Hosts in the fleet (analysed)."""
    introducing_build: int | None
    """The earliest build from which it leaks, when the build split is significant."""
    introducing_release: str | None
    splits: tuple[Split, ...]
    """The significant splits, the best (smallest p-value) first; empty when none is."""
    builds: tuple[BuildCount, ...]
    """Every build seen, by product line then build: hosts and leaking hosts."""
    agent: str | None
    """The package of the agent split, when there is one."""
    versions: tuple[VersionCount, ...]
    """That package's versions, hosts and leaking hosts: those with a leak, then the most
    held, at most :data:`VERSIONS_SHOWN`; the rest in one row named ``other versions``."""


def line_of(build: int | None, release: str | None) -> str | None:
    """The product line ("3.5") of a build, from the build table, else from the release name.

    >>> line_of(110268, None), line_of(999, "ESX Server 4.1 Update 9"), line_of(None, None)
    ('3.5', '4.1', None)
    """
    known = release_of(build)
    if known is not None:
        return f"{known.version[0]}.{known.version[1]}"
    m = _LINE.search(release or "")
    return m[1] if m else None


def host_views(results: Iterable[BundleResult]) -> list[HostView]:
    """One view per host of the analysed results, from its latest incident."""
    latest: dict[str, BundleResult] = {}
    leaks: dict[str, set[str]] = defaultdict(set)
    for r in results:
        v = r.verdict
        if not r.ok or v is None:
            continue
        host = host_label(r)
        if v.root_cause_kind is CauseKind.LEAK and v.process:
            leaks[host].add(v.process)
        known = latest.get(host)
        if known is None or _recency(r) > _recency(known):
            latest[host] = r
    views = []
    for host, r in sorted(latest.items()):
        v = r.verdict
        assert v is not None
        packages = {p.name: p for p in v.packages}
        views.append(HostView(host, v.build, v.release, leaks[host], packages))
    return views


def _recency(r: BundleResult) -> tuple[float, str]:
    at = r.verdict.crashed_at if r.verdict is not None else None
    return (at if at is not None else float("-inf"), r.key)


def prefetch() -> threading.Thread:
    """Starts importing scipy.stats (0.6 s of CPU, most of the summary's time) in a thread,
    so that a run does it while its workers analyse, not after them; :func:`_fisher`'s own
    import then finds it done or waits for it."""
    thread = threading.Thread(
        target=importlib.import_module, args=(_STATS,), name="lostbeat-import-scipy"
    )
    thread.start()
    return thread


_STATS = "scipy.stats"


def _fisher(split: Split) -> float:
    from scipy.stats import fisher_exact  # imported when a fleet needs it: it is slow

    table = [
        [split.leaking_on, split.hosts_on - split.leaking_on],
        [split.leaking_off, split.hosts_off - split.leaking_off],
    ]
    return float(fisher_exact(table, alternative="greater").pvalue)


def _min_p(split: Split) -> float:
    """The smallest p-value the split's table could give, its margins fixed: every leak on
    the "on" side (Tarone: a split that cannot reach significance is not counted)."""
    n, total = split.hosts_on, split.hosts_on + split.hosts_off
    leaks = split.leaking_on + split.leaking_off
    k = min(n, leaks)
    if k == 0:
        return 1.0
    return math.comb(n, k) * math.comb(total - n, leaks - k) / math.comb(total, leaks)


def _tarone(min_ps: Sequence[float]) -> int:
    """The number of splits to correct for: the smallest ``m`` such that at most ``m``
    splits could reach ``ALPHA / m`` (Tarone 1990, a sharper Bonferroni for discrete tests)."""
    ordered = sorted(min_ps)
    for m in range(1, len(ordered) + 1):
        if sum(1 for p in ordered if p <= ALPHA / m) <= m:
            return m
    return max(len(ordered), 1)


def _count(n: int, total: int) -> str:
    return f"none of {total}" if n == 0 else f"{n} of {total}"


def _build_splits(culprit: str, hosts: Sequence[HostView]) -> list[Split]:
    """Every "from build b on" split of every product line (p-values not computed yet)."""
    by_line: dict[str, list[HostView]] = defaultdict(list)
    for h in hosts:
        line = line_of(h.build, h.release)
        if line is not None and h.build is not None:
            by_line[line].append(h)
    out = []
    for line, members in sorted(by_line.items()):
        builds = sorted({h.build for h in members if h.build is not None})
        for b in builds[1:]:
            on = [h for h in members if h.build is not None and h.build >= b]
            off = [h for h in members if h.build is not None and h.build < b]
            on_leak = sum(culprit in h.leaks for h in on)
            off_leak = sum(culprit in h.leaks for h in off)
            release = next((h.release for h in on if h.build == b and h.release), None)
            name = f"{release} (build {b})" if release else f"build {b}"
            text = (
                f"{culprit} leaks on {_count(on_leak, len(on))} hosts on {name} and later, "
                f"on {_count(off_leak, len(off))} before"
            )
            out.append(
                Split("build", text, 1.0, on_leak, len(on), off_leak, len(off), line, b, release)
            )
    return out


def _agent_splits(culprit: str, hosts: Sequence[HostView]) -> list[Split]:
    """Every "with version v" split of every package with a known vendor, among the hosts
    that have the package, for the versions two hosts or more hold."""
    versions: dict[str, dict[str, list[HostView]]] = defaultdict(lambda: defaultdict(list))
    for h in hosts:
        for package in h.packages.values():
            if package.vendor is not None:
                versions[package.name][package.version].append(h)
    out = []
    for name, held in sorted(versions.items()):
        everyone = [h for group in held.values() for h in group]
        for version, on in sorted(held.items()):
            if len(on) < 2 or len(on) == len(everyone):
                continue
            off = [h for h in everyone if h.packages[name].version != version]
            on_leak = sum(culprit in h.leaks for h in on)
            off_leak = sum(culprit in h.leaks for h in off)
            vendor = on[0].packages[name].vendor
            how = "only" if off_leak == 0 else "mostly" if on_leak > off_leak else "more often"
            text = (
                f"{culprit} leaks {how} with {vendor}'s {name} {version}: on "
                f"{_count(on_leak, len(on))} hosts with it, on {_count(off_leak, len(off))} "
                "with other versions"
            )
            out.append(
                Split(
                    "agent",
                    text,
                    1.0,
                    on_leak,
                    len(on),
                    off_leak,
                    len(off),
                    package=name,
                    version=version,
                    vendor=vendor,
                )  # fmt: skip
            )
    return out


def _best(splits: Sequence[Split], kind: str) -> Split | None:
    """The significant split of ``kind`` with the smallest p-value; on a tie the earlier
    build or the lower version (the input is sorted, ``min`` is stable)."""
    mine = [s for s in splits if s.kind == kind and s.p_value < ALPHA]
    return min(mine, key=lambda s: s.p_value) if mine else None


def _tested(splits: Sequence[Split]) -> list[Split]:
    """The splits that could be significant, with their p-values corrected."""
    min_ps = [_min_p(s) for s in splits]
    m = _tarone(min_ps)
    return [
        replace(s, p_value=min(1.0, _fisher(s) * m))
        for s, floor in zip(splits, min_ps, strict=True)
        if floor <= ALPHA / m and s.leaking_on > 0
    ]


def _build_table(culprit: str, hosts: Sequence[HostView]) -> tuple[BuildCount, ...]:
    held: dict[tuple[str, int], list[HostView]] = defaultdict(list)
    for h in hosts:
        if h.build is not None:
            held[(line_of(h.build, h.release) or "", h.build)].append(h)
    return tuple(
        BuildCount(
            line or None,
            build,
            next((h.release for h in members if h.release), None),
            len(members),
            sum(culprit in h.leaks for h in members),
        )
        for (line, build), members in sorted(held.items())
    )


def _version_table(
    culprit: str, hosts: Sequence[HostView], package: str
) -> tuple[VersionCount, ...]:
    held: dict[str, list[HostView]] = defaultdict(list)
    for h in hosts:
        if package in h.packages:
            held[h.packages[package].version].append(h)
    shown = sorted(
        (VersionCount(v, len(m), sum(culprit in h.leaks for h in m)) for v, m in held.items()),
        key=lambda c: (-c.leaking, -c.hosts, c.version),
    )
    rest = shown[VERSIONS_SHOWN:]
    if rest:
        hosts_n, leaking_n = sum(c.hosts for c in rest), sum(c.leaking for c in rest)
        shown = [
            *shown[:VERSIONS_SHOWN],
            VersionCount(f"{len(rest)} other versions", hosts_n, leaking_n),
        ]
    return tuple(shown)


def _origin(culprit: str, hosts: Sequence[HostView]) -> LeakOrigin:
    tested = _tested(_build_splits(culprit, hosts) + _agent_splits(culprit, hosts))
    build = _best(tested, "build")
    agent = _best(tested, "agent")
    if build is not None and agent is not None and agent.p_value >= build.p_value:
        agent = None  # it follows the build and tells nothing more
    return LeakOrigin(
        culprit=culprit,
        leaking_hosts=sum(culprit in h.leaks for h in hosts),
        hosts=len(hosts),
        introducing_build=build.build if build is not None else None,
        introducing_release=build.release if build is not None else None,
        splits=tuple(sorted((s for s in (build, agent) if s), key=lambda s: s.p_value)),
        builds=_build_table(culprit, hosts),
        agent=agent.package if agent is not None else None,
        versions=_version_table(culprit, hosts, agent.package)
        if agent is not None and agent.package is not None
        else (),
    )


def leak_origins(hosts: Sequence[HostView]) -> tuple[LeakOrigin, ...]:
    """Where each culprit leaks: most leaking hosts first, then by name.

    Args:
        hosts: one view per host (:func:`host_views`).
    """
    culprits = sorted({c for h in hosts for c in h.leaks})
    origins = [_origin(c, hosts) for c in culprits]
    return tuple(sorted(origins, key=lambda o: (-o.leaking_hosts, o.culprit)))
