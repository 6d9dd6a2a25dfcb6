"""Fleets whose hosts share a cause by version, with their ground truth.

A generated fleet is 24 to 60 hosts, one incident each (a case folder per host, as
:func:`~lostbeat.scenarios.generate` writes it), where one culprit leaks only on some
versions:

* ``build``: a VMware daemon leaks from one build of a product line on: the hosts on that
  build or a later one of the line leak with a chance drawn per fleet (65-95 %), the hosts on
  earlier builds never do. On 3.5 the culprit is often Pegasus ``cimserver`` from Update 2
  (KB 1009607's story); otherwise ``vmware-hostd``, ``vpxa``, or on 4.x ``sfcbd`` and
  ``openwsmand``, from any update that has an earlier build before it.
* ``agent``: a hardware vendor's management agent (HP, Dell or EMC) leaks only with one
  version of the vendor's package, on any build.

Every host that does not leak the culprit has another incident: a spike, contention, a
Service Console oops or panic, a VMkernel PSOD, a clean reboot or halt, too little history,
or another process's leak. At least two hosts run the introducing build (or the leaking
version), one of them leaking; at least four run an earlier build (or another version).
The versions, vendor package names and their numbers are plausible, not sourced
(BACKGROUND, unverified), as are the leaks themselves: the point is the pattern.

Examples:
    >>> import tempfile, pathlib
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     fleet = generate_fleet("build", pathlib.Path(tmp), seed=1, hosts=8)
    ...     truth = FleetTruth.from_json(fleet.truth_path.read_text())
    ...     len(list(fleet.cases.iterdir())), truth == fleet.truth
    (8, True)
    >>> truth.kind, truth.introducing_build is not None
    ('build', True)
"""

from __future__ import annotations

import datetime as dt
import json
import random
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from lostbeat.errors import InputError, ParseError
from lostbeat.scenarios.bundle import write_case
from lostbeat.scenarios.catalog import BUILDS, DELL, EMC, HP, Proc
from lostbeat.scenarios.model import Origin
from lostbeat.scenarios.scenarios import BUILDERS
from lostbeat.scenarios.spec import Spec

__all__ = ["FLEET_KINDS", "FleetHost", "FleetTruth", "GeneratedFleet", "generate_fleet"]

FLEET_KINDS = ("build", "agent")

# (family, culprit, introducing builds to draw from): every one has a build before it
_BY_BUILD: tuple[tuple[str, str, tuple[int, ...]], ...] = (
    ("3.5", "cimserver", (110268,)),
    ("3.5", "vmware-hostd", (82663, 110268, 123630, 153875, 207095)),
    ("3.5", "vpxa", (82663, 110268, 123630, 153875, 207095)),
    ("4.0", "vmware-hostd", (208167,)),
    ("4.0", "sfcbd", (208167,)),
    ("4.1", "vpxa", (800380,)),
    ("4.1", "openwsmand", (800380,)),
)
# vendor -> (its agents that may leak, their package, its versions) [BACKGROUND - unverified]
_BY_AGENT: dict[str, tuple[tuple[Proc, ...], str, tuple[str, ...]]] = {
    "HP": (
        tuple(p for p in HP if p.name.startswith("cma")),
        "hp-snmp-agents",
        ("8.0.0-142.rhel4", "8.1.0-118.rhel4", "8.1.1-22.rhel4", "8.2.0-164.rhel4"),
    ),
    "Dell": (DELL[:3], "srvadmin-deng", ("5.4.0-260", "5.5.0-364", "6.0.1-1038", "6.1.0-648")),
    "EMC": (EMC, "naviagentcli", ("6.24.1.0.2-1", "6.26.5.0.95-1", "6.28.0.0.21-1")),
}
# what a host that does not leak the culprit went through instead
_OTHER = (
    "spike", "spike", "contention", "cos-oops", "cos-panic", "vmkernel-psod", "clean-reboot",
    "clean-halt", "too-little-history", "vmware-leak", "third-party-leak",
)  # fmt: skip
_VENDOR_PROCS = {"HP": HP, "Dell": DELL, "EMC": EMC}
_SITES = ("nyc", "lon", "fra", "sgp", "dal", "ams", "syd", "tyo")
_TRIALS = 400


@dataclass(frozen=True, slots=True)
class FleetHost:
    host: str
    build: int
    scenario: str
    leaks: bool
    """The fleet's culprit leaks on this host (its incident is that leak)."""
    version: str | None = None
    """The vendor package's version (agent fleets)."""


@dataclass(frozen=True, slots=True)
class FleetTruth:
    """What the fleet was built to show (the answer key)."""

    kind: str
    seed: int
    culprit: str
    origin: Origin
    line: str | None
    """Build fleets: the product line the culprit leaks on."""
    introducing_build: int | None
    """Build fleets: the earliest build it leaks on."""
    introducing_release: str | None
    package: str | None
    """Agent fleets: the vendor package whose one version leaks."""
    version: str | None
    vendor: str | None
    hosts: tuple[FleetHost, ...]

    def to_json(self) -> str:
        doc = asdict(self)
        doc["origin"] = self.origin.value
        return json.dumps(doc, indent=2) + "\n"

    @classmethod
    def from_json(cls, text: str, *, path: str = "fleet-truth.json") -> FleetTruth:
        """Read a ``fleet-truth.json`` document.

        Raises:
            ParseError: not JSON, or a field is missing or of the wrong kind.
        """
        try:
            doc: dict[str, Any] = json.loads(text)
            hosts = tuple(FleetHost(**h) for h in doc.pop("hosts"))
            return cls(**{**doc, "origin": Origin(doc["origin"]), "hosts": hosts})
        except (ValueError, KeyError, TypeError) as err:
            raise ParseError(f"expected a lostbeat fleet truth ({err})", path=path) from err


@dataclass(frozen=True, slots=True)
class GeneratedFleet:
    cases: Path
    """One case folder per host: the ``.tgz`` and its loose files."""
    truth: FleetTruth
    truth_path: Path


@dataclass(frozen=True, slots=True)
class _Plan:
    """One host of the fleet, before its incident is drawn."""

    name: str
    scenario: str
    leaks: bool
    build: int | None = None
    """Build fleets: the build the host runs."""
    version: str | None = None
    """Agent fleets: the version of the vendor's package it runs."""


@dataclass(frozen=True, slots=True)
class _Design:
    kind: str
    culprit: str
    plans: tuple[_Plan, ...]
    family: str | None = None
    intro: int | None = None
    vendor: str | None = None
    package: str | None = None
    leaking: str | None = None


def _names(rng: random.Random, count: int) -> list[str]:
    site = rng.choice(_SITES)
    first = rng.randrange(1, 40)
    return [f"esx-{site}-{first + i:02d}" for i in range(count)]


def _by_build(rng: random.Random, count: int) -> _Design:
    family, culprit, intros = rng.choice(_BY_BUILD)
    if rng.random() < 0.3:
        family, culprit, intros = _BY_BUILD[0]  # KB 1009607's cimserver from 3.5 Update 2
    intro = rng.choice(intros)
    line = sorted(b for b, v in BUILDS.items() if v.family == family)
    before, after = [b for b in line if b < intro], [b for b in line if b >= intro]
    others = [b for b, v in BUILDS.items() if v.family != family]
    on_line = max(8, round(count * rng.uniform(0.7, 0.9)))
    n_before = min(on_line - 4, max(4, round(on_line * rng.uniform(0.25, 0.5))))
    builds = [rng.choice(before) for _ in range(n_before)]
    builds += [intro, intro] + [rng.choice(after) for _ in range(on_line - n_before - 2)]
    builds += [rng.choice(others) for _ in range(max(0, count - on_line))]
    chance = rng.uniform(0.65, 0.95)
    leaker = "cimserver-35" if culprit == "cimserver" else "vmware-leak"
    plans = []
    for i, (name, build) in enumerate(zip(_names(rng, count), builds, strict=True)):
        # the first host on the introducing build always leaks: the build is knowable
        leaks = build >= intro and build in after and (i == n_before or rng.random() < chance)
        plans.append(_Plan(name, leaker if leaks else rng.choice(_OTHER), leaks, build=build))
    return _Design("build", culprit, tuple(plans), family=family, intro=intro)


def _by_agent(rng: random.Random, count: int) -> _Design:
    vendor = rng.choice(sorted(_BY_AGENT))
    agents, package, versions = _BY_AGENT[vendor]
    culprit = rng.choice(agents).name
    leaking = rng.choice(versions)
    n_on = max(3, round(count * rng.uniform(0.25, 0.45)))
    chance = rng.uniform(0.65, 0.95)
    others = [v for v in versions if v != leaking]
    drawn = [(leaking, i == 0 or rng.random() < chance) for i in range(n_on)]
    drawn += [(rng.choice(others), False) for _ in range(count - n_on)]
    rng.shuffle(drawn)
    plans = tuple(
        _Plan(name, "third-party-leak" if leaks else rng.choice(_OTHER), leaks, version=version)
        for name, (version, leaks) in zip(_names(rng, count), drawn, strict=True)
    )
    return _Design("agent", culprit, plans, vendor=vendor, package=package, leaking=leaking)


def _fits(design: _Design, plan: _Plan, spec: Spec) -> bool:
    """Whether a drawn incident can be this host's: its release line (build fleets) or its
    vendor (agent fleets), and the culprit leaking exactly when the plan says."""
    host = spec.host
    if plan.build is not None and host.build.family != BUILDS[plan.build].family:
        return False
    if design.vendor is not None and host.vendor != design.vendor:
        return False
    if plan.leaks:
        return bool(spec.growths) and spec.growths[0].proc == design.culprit
    return all(g.proc != design.culprit for g in spec.growths)


def _draw(design: _Design, plan: _Plan, rng: random.Random, seed: int) -> tuple[str, Spec]:
    """An incident of the plan's scenario that fits it, drawn again until one does; a host
    that does not leak takes a spike when its scenario cannot fit (EMC's only agent is the
    culprit: no other third-party leak there)."""
    for scenario in (plan.scenario, "spike"):
        for trial in range(_TRIALS):
            spec = BUILDERS[scenario](rng, seed * _TRIALS + trial + 1)  # not 0: KB 308590's
            if _fits(design, plan, spec):
                return scenario, spec
        if plan.leaks:
            break
    raise InputError("no fitting host drawn", path=plan.scenario)  # pragma: no cover


def _adjust(design: _Design, plan: _Plan, spec: Spec, rng: random.Random) -> Spec:
    """The drawn incident on the plan's host: its name, build (same line, after the build
    came out) or its vendor package's version."""
    host = replace(spec.host, name=plan.name)
    end_at = spec.end_at
    if plan.build is not None:
        build = BUILDS[plan.build]
        released = dt.datetime.combine(build.released, dt.time(), dt.UTC).timestamp()
        if end_at < released + 20 * 86400:  # whole days keep the incident's local hour
            end_at += (int(released - end_at) // 86400 + 20 + rng.randrange(400)) * 86400
        host = replace(host, build=build)
    if design.vendor is not None:
        # the package's rpm -qa line rides on the first of the vendor's processes the host
        # runs, in place of the vendor's usual list
        mine = {p.name for p in _VENDOR_PROCS[design.vendor]}
        anchor = next(p.name for p in host.procs if p.name in mine)
        line = f"{design.package}-{plan.version}"
        procs = tuple(replace(p, package=line) if p.name == anchor else p for p in host.procs)
        host = replace(host, procs=procs, vendor=None)
    return replace(spec, host=host, end_at=end_at)


def _truth(design: _Design, seed: int, hosts: tuple[FleetHost, ...]) -> FleetTruth:
    if design.kind == "build":
        assert design.intro is not None
        release = BUILDS[design.intro].release
        return FleetTruth(
            "build", seed, design.culprit, Origin.VMWARE, design.family, design.intro, release,
            None, None, None, hosts,
        )  # fmt: skip
    return FleetTruth(
        "agent", seed, design.culprit, Origin.THIRD_PARTY, None, None, None, design.package,
        design.leaking, design.vendor, hosts,
    )  # fmt: skip


def generate_fleet(
    kind: str, out_dir: Path, *, seed: int, hosts: int | None = None
) -> GeneratedFleet:
    """Write fleet number ``seed`` of ``kind`` ("build" or "agent") into ``out_dir``.

    ``out_dir/cases/<host>/`` holds each host's incident, ``out_dir/truth/<host>.json`` its
    incident's truth and ``out_dir/fleet-truth.json`` the fleet's.

    Args:
        kind: one of :data:`FLEET_KINDS`.
        out_dir: created if missing.
        seed: any integer; the same (kind, seed, hosts) gives the same files.
        hosts: how many hosts (at least 8); default drawn, 24 to 60.

    Raises:
        InputError: unknown kind, too few hosts, or ``out_dir`` cannot be written.
    """
    if kind not in FLEET_KINDS:
        raise InputError(f"unknown fleet kind; one of {', '.join(FLEET_KINDS)}", path=kind)
    rng = random.Random(f"fleet:{kind}:{seed}")
    count = hosts if hosts is not None else rng.randint(24, 60)
    if count < 8:
        raise InputError("a fleet needs at least 8 hosts", path=str(count))
    design = _by_build(rng, count) if kind == "build" else _by_agent(rng, count)
    out_dir = Path(out_dir)
    written = []
    for i, plan in enumerate(design.plans):
        host_rng = random.Random(f"fleet:{kind}:{seed}:{i}")
        scenario, drawn = _draw(design, plan, host_rng, seed)
        spec = _adjust(design, plan, drawn, host_rng)
        case = write_case(scenario, seed, spec, host_rng, out_dir / "cases" / plan.name)
        try:
            (out_dir / "truth").mkdir(exist_ok=True)
            case.truth_path.rename(out_dir / "truth" / f"{plan.name}.json")
        except OSError as err:
            raise InputError(f"cannot write the fleet ({err.strerror})", path=str(out_dir)) from err
        written.append(
            FleetHost(plan.name, spec.host.build.number, scenario, plan.leaks, plan.version)
        )
    truth = _truth(design, seed, tuple(written))
    truth_path = out_dir / "fleet-truth.json"
    truth_path.write_text(truth.to_json(), encoding="utf-8")
    return GeneratedFleet(out_dir / "cases", truth, truth_path)
