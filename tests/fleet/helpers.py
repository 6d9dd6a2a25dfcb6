"""Fleet fixtures: results built from real analyses, and a folder of generated incidents."""

from __future__ import annotations

import os
import random
import shutil
import tempfile
from dataclasses import replace
from pathlib import Path

from lostbeat.analyzer.result import AnalysisResult, CauseKind, KnownIssueMatch, Origin
from lostbeat.fleet.discover import Incident
from lostbeat.fleet.model import BundleResult, compact_document, error_result, verdict_of
from lostbeat.fleet.runner import analyze_incident
from lostbeat.report.example import example_result


def bundle_result(result: AnalysisResult, key: str, *, duration_s: float = 0.5) -> BundleResult:
    """What a worker returns for ``result`` analysed from ``key``."""
    return BundleResult(
        key=key,
        paths=(key,),
        host=result.host,
        ok=True,
        error=None,
        document=compact_document(result),
        verdict=verdict_of(result),
        duration_s=duration_s,
    )


def leak_on(host: str, *, process: str = "VMap", shift_h: float = 0.0) -> AnalysisResult:
    """The documented leak (KB 308590's VMap), moved to ``host`` and ``shift_h`` hours."""
    base = example_result()
    cause = base.root_cause
    assert cause.exhaustion_at is not None
    return replace(
        base,
        host=host,
        root_cause=replace(
            cause, process=process, exhaustion_at=cause.exhaustion_at + 3600.0 * shift_h
        ),
    )


def spike_on(host: str) -> AnalysisResult:
    base = example_result()
    return replace(
        base,
        host=host,
        root_cause=replace(
            base.root_cause,
            kind=CauseKind.SPIKE,
            process="cimserver",
            origin=Origin.VMWARE,
            exhaustion_at=None,
            hours_to_exhaustion=None,
        ),
        known_issues=(KnownIssueMatch("1009607", "Pegasus (cimserver) memory leaks", "stop it"),),
    )


# (scenario, seed): a VMware leak (KB 308590's VMap), cimserver on ESX 3.5 (known issue
# KB 1009607) and a spike within the hour; three hosts.
FIXTURE_CASES = (("vmware-leak", 0), ("cimserver-35", 2), ("spike", 0))


def make_fleet(root: Path) -> Path:
    """Generated incidents in case folders, plus one broken archive; truth kept aside."""
    from lostbeat.scenarios import generate

    cases = root / "cases"
    for name, seed in FIXTURE_CASES:
        case = generate(name, cases / name, seed=seed)
        case.truth_path.rename(root / f"{name}.truth.json")
    broken = cases / "broken" / "esx-2010-01-01--00.00.1.tgz"
    broken.parent.mkdir(parents=True)
    broken.write_bytes(random.Random(7).randbytes(4096))
    return cases


def crash_on_spike(incident: Incident) -> BundleResult:
    """A task whose worker dies, for real, on the spike incident."""
    if "/spike/" in incident.key:
        os._exit(9)
    return analyze_incident(incident)


def crash_on_case7(incident: Incident) -> BundleResult:
    """A task whose worker dies, for real, on one incident of ``many`` only."""
    if "/case007/" in incident.key:
        os._exit(9)
    return analyze_incident(incident)


def profiler_seen(incident: Incident) -> BundleResult:
    """A task that reports, as its error row, whether its Dask worker's statistical profiler
    ran while it did (the pause is handed to the worker's event loop: waited for, 5 s at most)."""
    import time

    from distributed import get_worker

    profile = get_worker().periodic_callbacks["profile"]
    deadline = time.monotonic() + 5.0
    while profile.is_running() and time.monotonic() < deadline:
        time.sleep(0.01)
    return error_result(incident.key, incident.paths, f"profiler running: {profile.is_running()}")


def raise_on_case7(incident: Incident) -> BundleResult:
    if "/case007/" in incident.key:
        raise RuntimeError("task bug")
    return analyze_incident(incident)


def raise_on_spike(incident: Incident) -> BundleResult:
    if "/spike/" in incident.key:
        raise RuntimeError("task bug")
    return analyze_incident(incident)


def comparable(results: list[BundleResult]) -> list[tuple[object, ...]]:
    """Everything but the duration."""
    return [(r.key, r.paths, r.host, r.ok, r.error, r.document, r.verdict) for r in results]


REAL_LINUX = Path(__file__).resolve().parents[1] / "corpus" / "real-linux"

# host folder -> (files: where each goes in the folder <- which corpus file, or "=" and a
# text), crash type. The
# texts are real (tests/corpus/real-linux); none names its host, so each row is named after
# its folder, except the sosreport, named after its own folder's name.
LINUX_HOSTS: dict[str, tuple[dict[str, str], str]] = {
    "web1": ({"dmesg.txt": "034-hung-jbd2-el6-2.6.32/dmesg.txt"}, "hung_task"),
    "db1": ({"messages": "015-oom-allocating-task-bystanders-centos7/messages"}, "oom_kill"),
    "k8s-node1": (
        {"describe-node.txt": "013-k8s-describe-node-systemoom/describe-node.txt"},
        "oom_kill",
    ),
    "desk1": (
        {
            "earlyoom.log": "001-earlyoom-bash-killed-by-kernel/earlyoom.log",
            "journal.txt": "001-earlyoom-bash-killed-by-kernel/journal.txt",
            "ticket.txt": "=desk1 stopped answering at 03:12, rebooted by hand\n",  # skipped
        },
        "oom_kill",
    ),
    "gw1": ({"kern.log": "058-rcu-old-rcu-sched-state-syslog/kern.log"}, "rcu_stall"),
    "app1": (
        {
            "sosreport-app1-2024-03-01-qwerty/sos_commands/kernel/dmesg": (
                "054-hardlockup-nmi-bare-lines/dmesg.txt"
            ),
            "sosreport-app1-2024-03-01-qwerty/version.txt": "=sosreport: 4.5.6\n",
            "ticket.txt": "=app1 hung at 22:40\n",  # beside the one sosreport: joins it
        },
        "hard_lockup",
    ),
    # a packed sosreport, generated (below), and a note beside it
    "analytics1": ({"ticket.txt": "=analytics1: OOM at night\n"}, "oom_kill"),
}
SOSREPORT = ("analytics1", "linux-sosreport", 4)
"""The host, scenario and seed of the generated sosreport (a ``.tar.xz``)."""


def linux_key(top: Path, host: str) -> str:
    """A host's incident key: the one sosreport in its folder, packed or not, else the
    folder."""
    folder = top / host
    return str(next(iter(sorted(folder.glob("sosreport-*"))), folder))


def make_linux_hosts(root: Path) -> Path:
    """One folder per Linux host under ``root/linux``, holding copies of real texts."""
    from lostbeat.scenarios import generate

    top = root / "linux"
    host, scenario, seed = SOSREPORT
    (top / host).mkdir(parents=True)
    with tempfile.TemporaryDirectory() as tmp:  # its truth.json stays out of the tree
        case = generate(scenario, Path(tmp) / "case", seed=seed)
        shutil.move(case.bundle, top / host / case.bundle.name)
    for host, (files, _) in LINUX_HOSTS.items():
        for dest, source in files.items():
            path = top / host / dest
            path.parent.mkdir(parents=True, exist_ok=True)
            if source.startswith("="):
                path.write_text(source[1:])
            else:
                shutil.copyfile(REAL_LINUX / source, path)
    return top
