"""Accuracy of lostbeat's diagnosis on generated incidents, against two naive baselines.

For every scenario of ``lostbeat.scenarios`` it generates ``--n`` incidents (seeds drawn from
``--seed``), analyses each with ``lostbeat.analyzer.engine.analyze([main input, *extras])``
and compares the answer with the incident's answer key (``expect`` in ``truth.json``, the real
corpora's keys: ``benchmarks/answers.py``), one table of every scenario. The ESX 3.x/4.x
bundle scenarios are also guessed by the baselines of ``benchmarks/baselines.py`` and scored
on their own ground truth, the three side by side: crash-type accuracy,
root-cause-kind accuracy, culprit accuracy (the primary, ``null`` included), culprit
precision and recall (over every leaker named), origin accuracy, known-issue precision and
recall, and the rate of action plans whose KBs match exactly. The baselines name no crash
type, origin, known issue or action, so those cells stay empty for them.

Each run draws fresh seeds (``--rounds`` of them, five by default) and prints them, so a
rule that only fits the seeds it was tuned on shows up; the tables are the worst round's, and
one table lists every round. ``--seed S --rounds 1`` repeats a round exactly. A verdict that
contradicts itself (a leak blamed for a crash whose projected exhaustion falls after it) is
counted apart: the target is none.

Usage::

    .venv/bin/python benchmarks/accuracy.py [--n 20] [--rounds 5] [--seed S] [--jobs 2]
        [--json FILE] [--scenarios a,b] [--misses 5] [--markdown FILE]
    .venv/bin/python benchmarks/accuracy.py --generate-only   # the generator's speed alone
    .venv/bin/python benchmarks/accuracy.py --real tests/corpus/real   # and a real corpus beside
    .venv/bin/python benchmarks/accuracy.py --real tests/corpus/real --rounds 0   # that alone
    .venv/bin/python benchmarks/accuracy.py --real tests/corpus/real tests/corpus/real-linux \
        --rounds 0   # both real corpora, side by side

``--real FOLDER...`` also scores corpora of real incidents (``tests/corpus/real/``: one folder a
case, its files and a ``case.json`` whose ``expect`` says what the analysis must find). Each
case's files go to ``lostbeat analyze --json`` as loose inputs, as a user would give them, and
every key of ``expect`` is compared; the table gives the share of cases entirely right, per
expected class and per key, beside the generated corpus's figure. ``score_real(folder)`` does
it for any corpus folder of that form; the real-Linux corpus (``tests/corpus/real-linux/``) is
scored by ``real_linux.py``, per key and per crash type.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import secrets
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import answers  # noqa: E402
import baselines  # noqa: E402
import real  # noqa: E402
import real_linux  # noqa: E402
from scoring import (  # noqa: E402
    METRICS,
    SYSTEMS,
    Incident,
    Verdict,
    answer_shortfalls,
    bundle_incidents,
    group_by_scenario,
    is_wrong,
    markdown,
    miss_text,
    percent,
    ratio,
    score,
    shortfalls,
    tally,
)

from lostbeat.scenarios import SCENARIOS, Truth, generate  # noqa: E402


def _lostbeat(paths: list[Path]) -> Verdict:
    from lostbeat.analyzer.engine import analyze
    from lostbeat.report.jsonout import to_document

    try:
        result = analyze(paths)
        doc = to_document(result)
    except Exception as err:  # a crash of the analyzer is a wrong answer, not a stop
        return Verdict(None, None, (), error=f"{type(err).__name__}: {err}"[:200])
    cause = result.root_cause
    named = (cause.process, *cause.others) if cause.process else ()
    crashed, exhausted = result.crash.crashed_at, cause.exhaustion_at
    contradiction = (
        f"exhaustion at {exhausted:.0f} after the crash at {crashed:.0f}"
        if cause.kind.value == "leak"
        and crashed is not None
        and exhausted is not None
        and exhausted > crashed
        else None
    )
    return Verdict(
        kind=cause.kind.value,
        culprit=cause.process,
        culprits=tuple(n for n in named if n),
        crash=result.crash.type.value,
        origin=None if cause.origin is None else cause.origin.value,
        known_issues=tuple(sorted(k.kb for k in result.known_issues)),
        actions=tuple(sorted({a.kb for a in result.actions if a.kb})),
        contradiction=contradiction,
        crash_class=result.crash.class_.value,
        suspect_module=result.crash.suspect_module,
        build=result.crash.build,
        release=result.crash.release,
        reboot=answers.observed(doc, "crash.reboot"),
        killer=result.crash.killer,
        victim=result.crash.victim,
        victim_was_grower=answers.observed(doc, "victim_was_grower"),
        incidents=answers.observed(doc, "incidents"),
    )


def _baseline(guess: baselines.Guess) -> Verdict:
    culprits = (guess.culprit,) if guess.culprit else ()
    return Verdict(guess.kind, guess.culprit, culprits, makes_claims=False)


def run_one(scenario: str, seed: int, root: str) -> Incident:
    """Generate, analyse and guess one incident (runs in a worker process)."""
    out = Path(root) / f"{scenario}-{seed}"
    start = time.perf_counter()
    case = generate(scenario, out, seed=seed)
    generated = time.perf_counter() - start
    start = time.perf_counter()
    ours = _lostbeat([case.bundle, *case.extras])
    seconds = time.perf_counter() - start
    verdicts = {"lostbeat": ours}
    if isinstance(case.truth, Truth):  # the baselines read ESX 3.x/4.x vmksummary history
        try:
            inputs = baselines.read_inputs(case.bundle)
            a, b = _baseline(baselines.largest(inputs)), _baseline(baselines.slope(inputs))
        except Exception as err:
            a = b = Verdict(None, None, (), error=str(err)[:200], makes_claims=False)
        verdicts |= {"baseline-a": a, "baseline-b": b}
    truth = json.loads(case.truth_path.read_text(encoding="utf-8"))
    for path in (case.bundle, case.truth_path, *case.extras):
        path.unlink()
    out.rmdir()
    return Incident(scenario, seed, truth, verdicts, seconds, generated)


def report(incidents: list[Incident], *, misses: int) -> dict[str, object]:
    """Print the tables; return the figures for ``--json``."""
    from rich.console import Console
    from rich.table import Table

    console = Console(width=160)
    bundles = bundle_incidents(incidents)
    by_scenario = group_by_scenario(incidents)
    figures: dict[str, object] = {}
    groups = [*group_by_scenario(bundles).items(), ("bundles overall", bundles)]
    for name, group in groups if bundles else ():
        table = Table(title=f"{name} ({len(group)} incidents)", title_justify="left")
        table.add_column("metric")
        for system in SYSTEMS:
            table.add_column(system, justify="right")
        scores = {s: score(group, s) for s in SYSTEMS}
        for key, label in METRICS:
            table.add_row(label, *(percent(scores[s][key]) for s in SYSTEMS))
        console.print(table)
        figures[name] = {s: {k: ratio(*v) for k, v in scores[s].items()} for s in SYSTEMS}
    if bundles:
        summary = Table(title="summary: kind / culprit accuracy", title_justify="left")
        summary.add_column("scenario")
        for system in SYSTEMS:
            summary.add_column(system, justify="right")
        for name, group in groups:
            cells = []
            for system in SYSTEMS:
                s = score(group, system)
                cells.append(f"{percent(s['kind'])} / {percent(s['culprit'])}")
            summary.add_row(name, *cells)
        console.print(summary)
    tallies = tally(incidents)
    table = Table(title="answer key (expect) per scenario: share of incidents right",
                  title_justify="left")  # fmt: skip
    for column in ("scenario", "n", "all right", *(c for c, _ in answers.COLUMNS)):
        table.add_column(column, justify="left" if column == "scenario" else "right")
    for name, cells in tallies.items():
        row = [answers.cell(cells.get(c)) for c, _ in answers.COLUMNS]
        table.add_row(name, str(cells["all"][1]), answers.cell(cells["all"]), *row)
    console.print(table)
    figures["answers"] = {n: {k: ratio(*v) for k, v in c.items()} for n, c in tallies.items()}
    for group in by_scenario.values():
        wrong = [inc for inc in group if is_wrong(inc)]
        for inc in wrong[:misses]:
            console.print(f"  miss {miss_text(inc)}", highlight=False, soft_wrap=True)
    for line in shortfalls(group_by_scenario(bundles), bundles) + answer_shortfalls(tallies):
        console.print(line if line.startswith("tie") else f"shortfall: {line}", highlight=False)
    return figures


def generation_speed(jobs: list[tuple[str, int]]) -> None:
    """Time ``generate`` alone, in this process, and print a table per scenario."""
    from rich.console import Console
    from rich.table import Table

    times: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory(prefix="lostbeat-generate-") as root:
        for name, seed in jobs:
            start = time.perf_counter()
            case = generate(name, Path(root) / f"{name}-{seed}", seed=seed)
            times.setdefault(name, []).append(time.perf_counter() - start)
            size = case.bundle.stat().st_size
            times.setdefault(f"{name}:size", []).append(size)
    table = Table(title="generation time per bundle (ms) and bundle size", title_justify="left")
    for column in ("scenario", "median ms", "max ms", "median KB"):
        table.add_column(column, justify="left" if column == "scenario" else "right")
    every: list[float] = []
    for name in dict.fromkeys(n for n, _ in jobs):
        spans, sizes = sorted(times[name]), sorted(times[f"{name}:size"])
        every += spans
        table.add_row(name, f"{1000 * spans[len(spans) // 2]:.0f}", f"{1000 * spans[-1]:.0f}",
                      f"{sizes[len(sizes) // 2] / 1024:.0f}")  # fmt: skip
    every.sort()
    table.add_row("all", f"{1000 * every[len(every) // 2]:.0f}", f"{1000 * every[-1]:.0f}", "")
    Console(width=110).print(table)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=20, help="incidents per scenario (20)")
    parser.add_argument("--seed", type=int, help="the first round's seed (default: fresh)")
    parser.add_argument("--rounds", type=int, default=5, help="rounds of fresh seeds (5)")
    parser.add_argument("--jobs", type=int, default=min(2, os.cpu_count() or 1))
    parser.add_argument("--scenarios", help="comma-separated subset of the scenarios")
    parser.add_argument("--misses", type=int, default=5, help="wrong lostbeat cases to list")
    parser.add_argument("--json", type=Path, help="also write figures and every verdict here")
    parser.add_argument("--markdown", type=Path, help="also write the tables as Markdown here")
    parser.add_argument(
        "--generate-only", action="store_true", help="only time the generator, in one process"
    )
    parser.add_argument(
        "--real",
        type=Path,
        nargs="+",
        metavar="FOLDER",
        help="also score corpora of real cases (tests/corpus/real/, tests/corpus/real-linux/); "
        "with --rounds 0, only them",
    )
    args = parser.parse_args(argv)
    if args.rounds == 0:
        if args.real is None:
            parser.error("--rounds 0 needs --real FOLDER")
        return _real(args, None)
    names = args.scenarios.split(",") if args.scenarios else list(SCENARIOS)
    unknown = [n for n in names if n not in SCENARIOS]
    if unknown:
        parser.error(f"unknown scenario(s): {', '.join(unknown)}")
    seeds = [args.seed] if args.seed is not None else []
    seeds += [secrets.randbelow(10**9) for _ in range(args.rounds - len(seeds))]
    print(f"seeds: {' '.join(str(s) for s in seeds)} (repeat one with --seed S --rounds 1)")
    rounds: list[tuple[int, list[Incident], float]] = []
    for seed in seeds:
        draw = random.Random(seed)
        jobs = [(name, draw.randrange(1, 10**6)) for name in names for _ in range(args.n)]
        if args.generate_only:
            generation_speed(jobs)
            return 0
        start = time.perf_counter()
        rounds.append((seed, _run(jobs, args.jobs), time.perf_counter() - start))
    worst_seed, incidents, elapsed = min(rounds, key=lambda r: _overall(r[1]))
    print(f"the tables below are the worst round's (seed {worst_seed})")
    figures = report(incidents, misses=args.misses)
    _rounds_table(rounds)
    analyse = sorted(inc.seconds for inc in incidents)
    made = sorted(inc.generate_seconds for inc in incidents)
    print(f"{len(incidents)} incidents in {elapsed:.0f} s with {args.jobs} job(s); generation "
          f"median {1000 * made[len(made) // 2]:.0f} ms, max {1000 * made[-1]:.0f} ms; lostbeat "
          f"analysis median {1000 * analyse[len(analyse) // 2]:.0f} ms, max "
          f"{1000 * analyse[-1]:.0f} ms")  # fmt: skip
    if args.markdown:
        args.markdown.write_text(markdown(incidents), encoding="utf-8")
    if args.json:
        doc = {"n": args.n, "seeds": seeds, "worst_seed": worst_seed, "figures": figures,
               "incidents": [asdict(inc) for inc in incidents]}  # fmt: skip
        args.json.write_text(json.dumps(doc, indent=1) + "\n", encoding="utf-8")
    if args.real is not None:
        worst = min(sum(not is_wrong(i) for i in inc) / len(inc) for _, inc, _ in rounds)
        return _real(args, worst)
    return 0


def _real(args: argparse.Namespace, generated: float | None) -> int:
    """Score the real corpus; print it beside the generated corpus's worst round."""
    for folder in args.real:
        if folder.resolve() == real_linux.CORPUS.resolve():
            real_linux.report(folder)  # its own keys: killers, victims, growers, incidents
            continue
        start = time.perf_counter()
        cases = real.score_real(folder, jobs=args.jobs)
        elapsed = time.perf_counter() - start
        real.print_real(cases, generated=generated)
        print(f"{len(cases)} real cases in {elapsed:.0f} s with {args.jobs} job(s)")
        if args.markdown:
            with args.markdown.open("a", encoding="utf-8") as out:
                out.write("\n" + real.markdown_real(cases, generated=generated))
    return 0


def _run(jobs: list[tuple[str, int]], workers: int) -> list[Incident]:
    with tempfile.TemporaryDirectory(prefix="lostbeat-accuracy-") as root:
        if workers > 1:
            with ProcessPoolExecutor(max_workers=workers) as pool:
                job_names, job_seeds = [n for n, _ in jobs], [s for _, s in jobs]
                return list(pool.map(run_one, job_names, job_seeds, [root] * len(jobs)))
        return [run_one(name, seed, root) for name, seed in jobs]


def _overall(incidents: list[Incident]) -> tuple[float, float]:
    """(all right, then root-cause kind and culprit) of one round: lower is worse."""
    right = sum(not is_wrong(inc) for inc in incidents) / max(len(incidents), 1)
    s = score(incidents, "lostbeat")
    return right, (ratio(*s["kind"]) or 0.0) + (ratio(*s["culprit"]) or 0.0)


def _rounds_table(rounds: list[tuple[int, list[Incident], float]]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title="every round (fresh seeds)", title_justify="left")
    for column in ("seed", "incidents", "all right", "crash", "kind", "culprit", "contradictions"):
        table.add_column(column, justify="right")
    for seed, incidents, _ in rounds:
        s = score(incidents, "lostbeat")
        bad = [inc for inc in incidents if inc.verdicts["lostbeat"].contradiction]
        right = sum(not is_wrong(inc) for inc in incidents)
        cells = (percent(s["crash"]), percent(s["kind"]), percent(s["culprit"]), str(len(bad)))
        table.add_row(
            str(seed), str(len(incidents)), f"{100 * right / len(incidents):.1f}%", *cells
        )
        for inc in bad:
            print(f"  contradiction {inc.scenario} seed {inc.seed}: "
                  f"{inc.verdicts['lostbeat'].contradiction}")  # fmt: skip
    worst = min(sum(not is_wrong(i) for i in inc) / len(inc) for _, inc, _ in rounds)
    Console(width=110).print(table)
    print(f"worst of {len(rounds)}: {100 * worst:.1f}% of incidents entirely right")


if __name__ == "__main__":
    raise SystemExit(main())
