"""Scoring generated incidents: the verdicts, the bundle scenarios' own metrics and targets,
and the answer key of every scenario (``benchmarks/answers.py``), for ``accuracy.py``."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import answers

SYSTEMS = ("lostbeat", "baseline-a", "baseline-b")
METRICS = (
    ("crash", "crash type"),
    ("kind", "root-cause kind"),
    ("culprit", "culprit (primary)"),
    ("culprit_p", "culprit precision"),
    ("culprit_r", "culprit recall"),
    ("origin", "origin"),
    ("ki_p", "known-issue precision"),
    ("ki_r", "known-issue recall"),
    ("actions", "action KBs exact"),
)
# the issue's targets (issue 3)
TARGET_KIND = TARGET_CULPRIT = 0.97
TARGET_SCENARIO = 0.90
AHEAD = ("vmware-leak", "cimserver-35", "cimserver-40", "third-party-leak", "sawtooth", "spike",
         "contention")  # fmt: skip


@dataclass(frozen=True, slots=True)
class Verdict:
    """One system's answer for one incident; ``None`` fields are claims it does not make."""

    kind: str | None
    culprit: str | None
    culprits: tuple[str, ...]
    crash: str | None = None
    origin: str | None = None
    known_issues: tuple[str, ...] | None = None
    actions: tuple[str, ...] | None = None
    error: str | None = None
    makes_claims: bool = True
    contradiction: str | None = None
    """Set when the verdict contradicts itself: a leak blamed for a crash it would only
    have brought after it."""
    crash_class: str | None = None
    suspect_module: str | None = None
    build: int | None = None
    release: str | None = None
    reboot: str | None = None
    killer: str | None = None
    victim: str | None = None
    victim_was_grower: bool | None = None
    incidents: int | None = None

    def answer(self) -> dict[str, Any]:
        """The verdict in the answer key's vocabulary (``benchmarks/answers.py``)."""
        return {
            "crash.type": self.crash, "crash.class": self.crash_class,
            "crash.suspect_module": self.suspect_module, "crash.build": self.build,
            "crash.release": self.release, "known_issues": list(self.known_issues or ()),
            "crash.reboot": self.reboot, "crash.killer": self.killer,
            "crash.victim": self.victim, "victim_was_grower": self.victim_was_grower,
            "root_cause.kind": self.kind, "root_cause.process": self.culprit,
            "incidents": self.incidents,
        }  # fmt: skip


@dataclass(frozen=True, slots=True)
class Incident:
    scenario: str
    seed: int
    truth: dict[str, Any]
    """``truth.json``: its ``expect``, and the bundle scenarios' own ground truth."""
    verdicts: dict[str, Verdict]
    seconds: float
    """lostbeat's analysis time."""
    generate_seconds: float


def ratio(hits: int, total: int) -> float | None:
    return hits / total if total else None


def score(incidents: Iterable[Incident], system: str) -> dict[str, tuple[int, int]]:
    """(hits, total) per metric; precision and recall are pooled over the incidents."""
    counts = {key: [0, 0] for key, _ in METRICS}

    def add(key: str, hits: int, total: int) -> None:
        counts[key][0] += hits
        counts[key][1] += total

    for inc in incidents:
        if system not in inc.verdicts or "crash_type" not in inc.truth:
            continue
        v, t = inc.verdicts[system], inc.truth
        truth_culprits = set(t["culprits"])  # type: ignore[call-overload]
        add("kind", v.kind == t["root_cause_kind"], 1)
        add("culprit", v.culprit == t["culprit"], 1)
        add("culprit_p", len(set(v.culprits) & truth_culprits), len(set(v.culprits)))
        add("culprit_r", len(set(v.culprits) & truth_culprits), len(truth_culprits))
        if not v.makes_claims:
            continue
        truth_ki = set(t["known_issues"])  # type: ignore[call-overload]
        claimed = set(v.known_issues or ())
        add("crash", v.crash == t["crash_type"], 1)
        add("origin", v.origin == t["origin"], 1)
        add("ki_p", len(claimed & truth_ki), len(claimed))
        add("ki_r", len(claimed & truth_ki), len(truth_ki))
        add("actions", tuple(sorted(v.actions or ())) == tuple(t["action_kbs"]), 1)  # type: ignore[arg-type]
    return {key: (h, n) for key, (h, n) in counts.items()}


def percent(pair: tuple[int, int]) -> str:
    value = ratio(*pair)
    return "—" if value is None else f"{100 * value:.0f}%"


def miss_text(inc: Incident) -> str:
    v, t = inc.verdicts["lostbeat"], inc.truth
    if v.error:
        return f"{inc.scenario} seed {inc.seed}: {v.error}"
    if "crash_type" not in t or not is_legacy_wrong(inc):
        wrong = answers.misses(t["expect"], v.answer())
        text = ", ".join(f"{k} want {w!r} got {g!r}" for k, (w, g) in wrong.items())
        return f"{inc.scenario} seed {inc.seed}: {text}"
    got = f"{v.crash}/{v.kind}/{v.culprit}/{v.origin} KI={list(v.known_issues or ())}"
    want = (f"{t['crash_type']}/{t['root_cause_kind']}/{t['culprit']}/{t['origin']} "
            f"KI={t['known_issues']}")  # fmt: skip
    return f"{inc.scenario} seed {inc.seed}: want {want} got {got}"


def is_wrong(inc: Incident) -> bool:
    """Any key of the answer key wrong, or (a bundle scenario) its own ground truth."""
    wrong = bool(answers.misses(inc.truth["expect"], inc.verdicts["lostbeat"].answer()))
    return wrong or ("crash_type" in inc.truth and is_legacy_wrong(inc))


def is_legacy_wrong(inc: Incident) -> bool:
    v, t = inc.verdicts["lostbeat"], inc.truth
    return (
        v.crash != t["crash_type"]
        or v.kind != t["root_cause_kind"]
        or v.culprit != t["culprit"]
        or set(v.known_issues or ()) != set(t["known_issues"])  # type: ignore[call-overload]
    )


def group_by_scenario(incidents: list[Incident]) -> dict[str, list[Incident]]:
    out: dict[str, list[Incident]] = {}
    for inc in incidents:
        out.setdefault(inc.scenario, []).append(inc)
    return out


def bundle_incidents(incidents: list[Incident]) -> list[Incident]:
    """The ESX 3.x/4.x bundle scenarios' incidents (scored on their own ground truth too)."""
    return [inc for inc in incidents if "crash_type" in inc.truth]


def tally(incidents: list[Incident]) -> dict[str, dict[str, tuple[int, int]]]:
    """The answer table: scenario -> column -> (right, scored)."""
    rows = [(i.scenario, i.truth["expect"], i.verdicts["lostbeat"].answer()) for i in incidents]
    return answers.table(rows)


def answer_shortfalls(tallies: dict[str, dict[str, tuple[int, int]]]) -> list[str]:
    """Scenarios whose incidents are not all entirely right (issue 13: the generated corpus
    stays at 100 % on fresh seeds)."""
    return [
        f"{name} answer key all right {answers.cell(cells['all'])} < 100%"
        for name, cells in tallies.items()
        if name != "overall" and cells["all"][0] < cells["all"][1]
    ]


def shortfalls(by_scenario: dict[str, list[Incident]], everything: list[Incident]) -> list[str]:
    """The issue's targets that lostbeat misses; a tie at 100 % with a baseline (nothing can be
    ahead of it: baseline (a) names a leak every time) is listed apart, starting "tie"."""
    out: list[str] = []
    overall = score(everything, "lostbeat")
    for key, target in (("crash", 1.0), ("ki_p", 1.0), ("kind", TARGET_KIND),
                        ("culprit", TARGET_CULPRIT)):  # fmt: skip
        value = ratio(*overall[key])
        if value is not None and value < target:
            out.append(f"overall {key} {100 * value:.1f}% < {100 * target:.0f}%")
    for name, group in by_scenario.items():
        mine = score(group, "lostbeat")
        for key in ("kind", "culprit"):
            value = ratio(*mine[key])
            if value is not None and value < TARGET_SCENARIO:
                out.append(f"{name} {key} {100 * value:.0f}% < {100 * TARGET_SCENARIO:.0f}%")
        if name in AHEAD:
            for base in SYSTEMS[1:]:
                other = score(group, base)
                for key in ("kind", "culprit"):
                    ours, theirs = ratio(*mine[key]), ratio(*other[key])
                    if ours is None or theirs is None or ours > theirs:
                        continue
                    if ours == theirs == 1.0:  # (a) always answers "leak": on a leak's kind
                        out.append(f"tie at 100%: {name} {key}, lostbeat and {base}")
                    else:
                        out.append(f"{name} {key}: lostbeat {100 * ours:.0f}% not ahead of "
                                   f"{base} {100 * theirs:.0f}%")  # fmt: skip
    return out


def markdown(everything: list[Incident]) -> str:
    """The bundle scenarios' overall table and matrix, then the answer table of every
    scenario, as Markdown for docs/benchmarks.md."""
    incidents = bundle_incidents(everything)
    by_scenario = group_by_scenario(incidents)
    overall = {s: score(incidents, s) for s in SYSTEMS}
    out = ["| metric | " + " | ".join(SYSTEMS) + " |", "| --- |" + " ---: |" * len(SYSTEMS)]
    for key, label in METRICS:
        out.append(f"| {label} | " + " | ".join(percent(overall[s][key]) for s in SYSTEMS) + " |")
    out += [
        "",
        "| scenario | kind | culprit | culprit P / R | origin | known issue P / R | actions "
        "| a: kind / culprit | b: kind / culprit |",
        "| --- |" + " ---: |" * 8,
    ]
    for name, group in [*by_scenario.items(), ("overall", incidents)]:
        ours, a, b = (score(group, s) for s in SYSTEMS)
        out.append(
            f"| {name} | {percent(ours['kind'])} | {percent(ours['culprit'])} | "
            f"{percent(ours['culprit_p'])} / {percent(ours['culprit_r'])} | "
            f"{percent(ours['origin'])} | "
            f"{percent(ours['ki_p'])} / {percent(ours['ki_r'])} | {percent(ours['actions'])} | "
            f"{percent(a['kind'])} / {percent(a['culprit'])} | "
            f"{percent(b['kind'])} / {percent(b['culprit'])} |"
        )
    return "\n".join(out) + "\n\n" + answers.markdown(tally(everything))
