"""One simulated lost heartbeat, end to end, and always cleaned up.

In order: refuse without root or a memory cgroup controller; make the group (the Service
Console); start the monitor and the recorder outside it; start the heartbeat daemon and
the steady programs inside it, then the scenario's workload; wait until the monitor has
declared the heartbeat lost and written its capture; stop everything; analyse the
recording plus the capture. Whatever happens (an error, Ctrl-C, SIGTERM) every program is
killed, the group's OOM killer is turned back on and the group removed before
:func:`simulate` returns or raises.

The folder of a run (kept with ``--keep``, else a temporary one removed at the end)::

    simulation.json             the run: group, programs and pids, phases, verdict check
    recording/                  lostbeat record --dir
    datastore/lost-heartbeat-*/ the monitor's capture (screen.txt, proc/, cores/, ...)
    service-console/meminfo     the group's configured RAM, as a bundle's proc/meminfo
    logs/NAME.log               each program's output
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field, fields
from functools import partial
from pathlib import Path
from types import FrameType

from lostbeat.agent.cgroup import CgroupVersion
from lostbeat.analyzer.result import AnalysisResult
from lostbeat.simulate import cgroups, plans
from lostbeat.simulate.children import Children
from lostbeat.simulate.config import MIB, MIN_RAM, SimulationConfig, preflight
from lostbeat.simulate.watch import Watch, pace_throttled

__all__ = [
    "MIN_RAM",
    "Simulation",
    "SimulationConfig",
    "Started",
    "preflight",
    "simulate",
]

GROWTH_PER_CPU = 1600 * MIB
"""Bytes a second stress-ng --bigheap grew its heap with a whole CPU, on the machines this
was written on (16 MiB/s at 1 %): the first guess of its CPU share, which pace_throttled
then corrects on any machine."""
SOCKET_MAX = 100  # sun_path holds 108 bytes


@dataclass(frozen=True, slots=True)
class Started:
    """One program the run started."""

    name: str
    role: str
    pid: int
    inside: bool


@dataclass(frozen=True, slots=True)
class Simulation:
    """What one run did and what the analyzer concluded."""

    scenario: plans.Scenario
    run: str
    cgroup: str
    version: CgroupVersion
    failure: cgroups.Failure
    limit_bytes: int
    programs: tuple[Started, ...]
    phases: tuple[tuple[str, float], ...]
    """(phase, seconds since the start), in order."""
    capture: Path | None
    """The capture folder, when the run was kept."""
    recording: Path | None
    """The recording folder, when the run was kept."""
    result: AnalysisResult
    verdict_ok: bool
    verdict: str
    killed: int
    removed: tuple[str, ...]
    kept: Path | None
    errors: tuple[str, ...] = field(default=())


class _Interrupted(KeyboardInterrupt):
    """Ctrl-C, SIGTERM or SIGHUP."""


_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def _interrupt(signum: int, frame: FrameType | None) -> None:
    # the first one stops the run; the cleanup that follows is not interrupted again
    for s in _SIGNALS:
        signal.signal(s, signal.SIG_IGN)
    raise _Interrupted(signal.Signals(signum).name)


@contextlib.contextmanager
def _signals_raise() -> Iterator[None]:
    """Ctrl-C, SIGTERM and SIGHUP raise :class:`KeyboardInterrupt` once for the whole run."""
    previous = {s: signal.getsignal(s) for s in _SIGNALS}
    for s in _SIGNALS:
        signal.signal(s, _interrupt)
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler if handler is not None else signal.SIG_DFL)


def simulate(config: SimulationConfig, *, say: Callable[[str], None]) -> Simulation:
    """Run one simulation; ``say`` gets each progress line.

    Raises:
        AgentError: a refusal (see :func:`preflight`), or a run that failed (a program that
            would not start, no lost heartbeat in time); everything is cleaned up first.
        KeyboardInterrupt: Ctrl-C, SIGTERM or SIGHUP; everything is cleaned up first.
    """
    controllers = preflight(config)
    with _signals_raise():
        for stale in cgroups.sweep_stale(controllers, proc_root=config.proc_root):
            say(f"removed a group left by an earlier run: {', '.join(map(str, stale.removed))}")
        run = f"{cgroups.PREFIX}{os.getpid()}"
        if config.keep is not None:
            config.keep.mkdir(parents=True, exist_ok=True)
            workdir = config.keep.resolve()
        else:
            workdir = Path(tempfile.mkdtemp(prefix="lostbeat-simulate-"))
        try:
            return _in(workdir, run, controllers, config, say)
        finally:
            if config.keep is None:
                shutil.rmtree(workdir, ignore_errors=True)


def _in(
    workdir: Path,
    run: str,
    controllers: cgroups.Controllers,
    config: SimulationConfig,
    say: Callable[[str], None],
) -> Simulation:
    sockdir = workdir
    if len(str(workdir / "hb.sock")) > SOCKET_MAX:
        sockdir = Path(tempfile.mkdtemp(prefix="lostbeat-sim-"))
    children = Children(run=run, python=config.python, workdir=workdir)
    watch = Watch(start=time.monotonic(), say=say)
    throttle = config.scenario is plans.Scenario.THIRD_PARTY
    domain: cgroups.Domain | None = None
    removal: cgroups.Removal | None = None
    try:
        domain = cgroups.create(
            controllers, name=run, limit_bytes=config.ram_bytes, throttle=throttle
        )
        watch.phase("group made")
        say(
            f"scenario {config.scenario}: the Service Console is memory cgroup "
            f"{domain.version} {domain.memory.path} limited to {config.ram_bytes // MIB} "
            f"MiB; {domain.failure.description}"
        )
        capture = _drive(workdir, sockdir, domain, children, watch, config)
        say("stopping the recorder and the monitor")
    finally:
        # hold Ctrl-C, SIGTERM and SIGHUP while cleaning up; one that came raises after it
        # (nested so that a signal arriving before the block still gets the cleanup)
        try:
            signal.pthread_sigmask(signal.SIG_BLOCK, _SIGNALS)
        finally:
            try:
                removal = _clean_up(domain, run, children, controllers, config, say)
                if sockdir != workdir:
                    shutil.rmtree(sockdir, ignore_errors=True)
            finally:
                signal.pthread_sigmask(signal.SIG_UNBLOCK, _SIGNALS)
    assert domain is not None and removal is not None
    watch.phase("cleaned up")
    return _conclude(workdir, run, domain, children, watch, config, capture, removal, say)


def _clean_up(
    domain: cgroups.Domain | None,
    run: str,
    children: Children,
    controllers: cgroups.Controllers,
    config: SimulationConfig,
    say: Callable[[str], None],
) -> cgroups.Removal | None:
    """Stop the recorder and the monitor, kill the group's programs, remove the group."""
    for child in reversed(children.started):
        if not child.inside and child.popen.poll() is None:
            children.stop(child, grace=5.0)  # the recorder closes its shard
    if domain is None:  # made in part, or not at all: the sweep finds what was made
        removal = None
        stale = cgroups.sweep_stale(controllers, proc_root=config.proc_root, run=run)
        removed = [str(p) for r in stale for p in r.removed]
    else:
        removal = cgroups.remove(domain)
        removed = [str(p) for p in removal.removed]
    killed = children.kill_all() + children.sweep(proc_root=config.proc_root)
    say(
        f"cleaned up: {(removal.killed if removal else 0) + killed} process(es) killed, "
        f"removed {', '.join(removed) or 'no group'}"
        + "".join(f"; {e}" for e in (removal.errors if removal else ()))
    )
    return removal


def _drive(
    workdir: Path,
    sockdir: Path,
    domain: cgroups.Domain,
    children: Children,
    watch: Watch,
    config: SimulationConfig,
) -> Path:
    """Start everything, wait for the capture; returns its folder."""
    py, socket = config.python, sockdir / "hb.sock"
    datastore, recording = workdir / "datastore", workdir / "recording"
    monitor = children.start(
        "monitor",
        [py, "-m", "lostbeat", "monitor", "--socket", str(socket), "--datastore", str(datastore)]
        + ["--timeout", f"{config.timeout_s:g}", "--cgroup", str(domain.memory.fs_path)]
        + ["--cores", "1", "--core-limit", str(config.ram_bytes), "--core-timeout", "15"]
        + ["--step-timeout", "2", "--sample-interval", "1", "--top", "16"],
        role="monitor",
    )
    children.wait_for(monitor, r"listening on", timeout=20)
    recorder = children.start(
        "recorder",
        [py, "-m", "lostbeat", "record", "--dir", str(recording)]
        + ["--interval", f"{config.sample_interval_s:g}"],
        role="recorder",
    )
    children.wait_for(recorder, r"recording .* every", timeout=20)
    watch.phase("monitor and recorder up")
    watch.say(
        f"outside the group: monitor pid {monitor.pid} (timeout {config.timeout_s:g} s, "
        f"datastore {datastore}), recorder pid {recorder.pid} (every "
        f"{config.sample_interval_s:g} s into {recording})"
    )
    hb = plans.heartbeat(
        py, socket=socket, interval=config.beat_interval_s, timeout=config.timeout_s
    )
    steady = plans.background(config.ram_bytes, python=py)
    inside = [hb, *steady]
    protect = domain.oom_score_adj
    started = [
        children.start(hb.name, hb.argv, role=hb.role, join=domain.join, oom_score_adj=protect)
    ]
    children.wait_for(started[0], r"beating as", timeout=20)
    before = domain.state().usage_bytes or 0
    started += [
        children.start(p.name, p.argv, role=p.role, join=domain.join, oom_score_adj=protect)
        for p in steady
    ]
    for child in started[1:]:
        children.wait_for(child, r"ready:", timeout=20)
    watch.phase("heartbeat and steady programs up")
    usage = domain.state().usage_bytes or 0
    room = config.ram_bytes - usage
    # what one more Python program costs the group: the steady ones' charge beyond their hold
    held = sum(p.hold or 0 for p in steady)
    overhead = max((usage - before - held) // len(steady), 4 * MIB) * 9 // 8
    watch.say(
        "inside the group: "
        + ", ".join(
            f"{c.name} pid {c.pid} ({p.what})" for c, p in zip(started, inside, strict=True)
        )
        + f"; {room // MIB} MiB left"
    )
    workload = plans.workload(config.scenario, room=room, python=py, overhead=overhead)
    rate = room / plans.FILL_S

    def start(program: plans.Program) -> None:
        join = domain.join_throttled if program.throttled else domain.join
        child = children.start(
            program.name, program.argv, role=program.role, join=join, oom_score_adj=protect
        )
        watch.say(f"workload: {program.name} pid {child.pid}: {program.what}")

    now = time.monotonic()
    later = [(now + p.delay, partial(start, p)) for p in workload if p.delay > 0]
    for program in workload:
        if program.delay <= 0:
            start(program)
    if domain.cpu_quota is not None:
        # throttled once started: a program throttled before its exec is done can take
        # seconds to start at all on a slow machine (15 s in the TCG guest of make test-vm)
        cgroups.set_cpu_share(domain, rate / GROWTH_PER_CPU)
    watch.phase("workload started")
    pace = (
        pace_throttled(domain, rate=rate, share=rate / GROWTH_PER_CPU) if domain.cpu_quota else None
    )
    budget = 2 * (plans.CALM_S + plans.FILL_S) + config.timeout_s + 60.0
    return watch.until_captured(domain, children, datastore, budget=budget, pace=pace, later=later)


def _conclude(
    workdir: Path,
    run: str,
    domain: cgroups.Domain,
    children: Children,
    watch: Watch,
    config: SimulationConfig,
    capture: Path,
    removal: cgroups.Removal,
    say: Callable[[str], None],
) -> Simulation:
    from lostbeat.analyzer.engine import analyze

    meminfo = workdir / "service-console" / "meminfo"
    meminfo.parent.mkdir()
    kb = domain.limit_bytes // 1024
    # the configured RAM of the Service Console, as KB 308590 reads it from proc/meminfo
    meminfo.write_text(f"MemTotal: {kb} kB\nHighTotal: 0 kB\nLowTotal: {kb} kB\nSwapTotal: 0 kB\n")
    recording = workdir / "recording"
    say(f"analysing {recording}, {capture} and {meminfo}")
    result = analyze([recording, capture, meminfo])
    watch.phase("analysed")
    ok, verdict = plans.expectation(config.scenario).judge(result.root_cause)
    simulation = Simulation(
        scenario=config.scenario,
        run=run,
        cgroup=domain.memory.path,
        version=domain.version,
        failure=domain.failure,
        limit_bytes=domain.limit_bytes,
        programs=tuple(Started(c.name, c.role, c.pid, c.inside) for c in children.started),
        phases=tuple(watch.phases),
        capture=capture if config.keep is not None else None,
        recording=recording if config.keep is not None else None,
        result=result,
        verdict_ok=ok,
        verdict=verdict,
        killed=removal.killed,
        removed=tuple(str(p) for p in removal.removed),
        kept=workdir if config.keep is not None else None,
        errors=removal.errors,
    )
    if config.keep is not None:
        body: dict[str, object] = {"schema": "lostbeat.simulation/1"}
        for f in fields(simulation):
            if f.name != "result":
                value = getattr(simulation, f.name)
                body[f.name] = [asdict(p) for p in value] if f.name == "programs" else value
        (workdir / "simulation.json").write_text(
            json.dumps(body, indent=1, default=str, sort_keys=True) + "\n"
        )
    return simulation
