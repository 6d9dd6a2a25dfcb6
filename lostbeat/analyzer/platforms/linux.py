"""Linux: a memory cgroup (or the whole host) watched by lostbeat's monitor and recorder.

The ESX design made real on Linux (docs/agent.md): ``lostbeat hbd`` heartbeats from inside
the watched cgroup while it can get a page; ``lostbeat monitor``, outside it, declares the loss
and captures a screen, ``/proc`` state and cores of the top consumers; ``lostbeat record``
keeps every process's memory at every sample. The loss is placed by the capture, the history
is the recording at its full resolution, and the plan speaks of the cgroup and its limit.
"""

from __future__ import annotations

from collections.abc import Sequence

from lostbeat.analyzer.facts import (
    Domain,
    DumpSet,
    Facts,
    Measure,
    MemoryHistory,
    PlanBook,
    Pressure,
    ProcessInfo,
    Sampling,
    Series,
)
from lostbeat.analyzer.findings import Evidence
from lostbeat.analyzer.fine import fine_series, sample_times, swap_series
from lostbeat.analyzer.parsers.capture import LinuxScreen
from lostbeat.analyzer.parsers.procfiles import ProcFile
from lostbeat.analyzer.parsers.recordings import Recording
from lostbeat.analyzer.platforms._profile import Artifact, Parsed
from lostbeat.analyzer.platforms._summary import events, merge_summaries, split_boots
from lostbeat.analyzer.result import Action, Crash, CrashClass, CrashType, Platform
from lostbeat.recording.schema import MARKER_NAME

__all__ = ["LINUX", "Linux"]

MIN_SAMPLES = 20
"""Samples needed before any verdict on memory (a leak must also span this many)."""
JUMP_STEPS = 3
"""A jump is a rise within this many samples: an allocation caught half-made by a sample
shows as two steps, and must still count as one jump."""

ARTIFACTS: dict[str, Artifact] = {
    "capture": Artifact(
        # lostbeat's own: `lostbeat monitor` writes lost-heartbeat-<host>-<stamp>/screen.txt
        # (lostbeat/agent/capture.py); given as a folder, that top folder is stripped
        ("screen.txt", "**/lost-heartbeat-*/screen.txt"),
        many=True,
        content=True,
        doc="the diagnostic screen lostbeat's monitor wrote when it declared a heartbeat lost",
    ),
    "proc_file": Artifact(
        (
            # the capture's /proc state (lostbeat/agent/capture.py), its top folder stripped;
            # a vm-support bundle copies all of /proc the same way (§3.2)
            "proc/[0-9]*/cmdline",
            "proc/[0-9]*/cgroup",  # as above
            "**/lost-heartbeat-*/proc/[0-9]*/cmdline",  # a capture inside a folder given
            "**/lost-heartbeat-*/proc/[0-9]*/cgroup",  # as above
        ),
        many=True,
        content=True,
        doc="a process's command line and cgroup, as /proc showed them",
        by_path=True,
    ),
    "recording": Artifact(
        # lostbeat's own store; a directory source reports every file beside the marker
        (f"**/{MARKER_NAME}",),
        many=True,
        content=True,
        doc="lostbeat recording store (marker and shards)",
    ),
}

PLAN = PlanBook(
    disable_leaker=Action(
        None,
        "{name} leaks memory: restart or disable it until it is fixed, and report the leak to "
        "its maintainers with the capture's core dump; a larger memory limit would only delay "
        "the next loss",
    ),
    remove_third_party=Action(
        None,
        "{name} leaks memory: restart or disable it until it is fixed, and report the leak to "
        "its maintainers with the capture's core dump; a larger memory limit would only delay "
        "the next loss",
    ),
    raise_memory=Action(
        None,
        "Memory use is static but high: raise the watched domain's memory limit, or move a "
        "consumer out of it",
    ),
    record_finer=Action(
        None,
        "Memory ran out at once: find what {name} allocated (the capture's core and /proc state "
        "show it), and record at a shorter interval (lostbeat record --interval) to see the "
        "next one",
    ),
)


def _fine(interval: float) -> Sampling:
    return Sampling(
        resolution_s=interval,
        min_samples=MIN_SAMPLES,
        min_span_s=MIN_SAMPLES * interval,
        jump_steps=JUMP_STEPS,
        shows_jumps=True,
        measure=Measure.RESIDENT,  # RSS plus swap, per process (lostbeat/recording/schema.py)
        unit="samples",
    )


def _crash(caps: Sequence[LinuxScreen]) -> Crash:
    """The capture that declared the first loss places it; without one, nothing was lost."""
    if not caps:
        return Crash(CrashType.NONE, class_=CrashClass.NONE)
    cap = min(caps, key=lambda c: c.declared_at or float("inf"))
    stopped = cap.declared_at - cap.t if cap.declared_at is not None and cap.t is not None else None
    return Crash(
        type=CrashType.LOST_HEARTBEAT,
        message="Lost heartbeat",
        release=f"Linux {cap.kernel}",
        crashed_at=cap.declared_at,
        heartbeat_stopped_at=stopped,
        uptime_s=cap.uptime_s,
        alert_comm=cap.comm,
        evidence=cap.evidence,
        class_=CrashClass.MEMORY_EXHAUSTION,
    )


def _proc_files(parsed: Parsed) -> dict[int, ProcFile]:
    merged: dict[int, ProcFile] = {}
    for item in parsed.proc_files:
        have = merged.get(item.pid, ProcFile(item.pid))
        merged[item.pid] = ProcFile(item.pid, item.cmdline or have.cmdline, item.unit or have.unit)
    return merged


FULL = 0.97
"""A cgroup using this share of its limit is exhausted: the rest is rounding and the pages
the kernel keeps back."""


def _exhausted(cap: LinuxScreen) -> float | None:
    """When the capture saw its cgroup exhausted: at the limit, or in its OOM state. The
    heartbeat stopped because it could not get a page, so it stopped then at the latest."""
    full = cap.under_oom or (
        cap.usage_bytes is not None
        and cap.limit_bytes is not None
        and cap.usage_bytes >= FULL * cap.limit_bytes
    )
    if not full or cap.declared_at is None:
        return None
    return cap.declared_at - cap.t if cap.t is not None else cap.declared_at


def _domain(caps: Sequence[LinuxScreen], rec: Recording | None) -> Domain:
    for cap in caps:
        if cap.limit_bytes:
            return Domain(
                ram_kb=cap.mem_total_kb,
                swap_total_kb=cap.swap_total_kb,
                limit_kb=cap.limit_bytes / 1024.0,
                evidence=cap.evidence,
                exhausted_at=_exhausted(cap),
            )
    if rec is not None and rec.system:
        last = rec.system[-1]
        return Domain(
            ram_kb=last.mem_total / 1024.0 if last.mem_total else None,
            swap_total_kb=last.swap_total / 1024.0 if last.swap_total is not None else None,
        )
    if caps:
        return Domain(ram_kb=caps[0].mem_total_kb, swap_total_kb=caps[0].swap_total_kb)
    return Domain()


def _value_at(points: Sequence[tuple[float, float]], when: float) -> float:
    before = [kb for t, kb in points if t <= when]
    return before[-1] if before else 0.0


def _pressure(
    series: Sequence[Series], rec: Recording | None, domain: Domain, end: float
) -> Pressure:
    """Four fifths into the window: a domain that hung is always full at its very end."""
    if not series:
        return Pressure()
    start = min(s.points[0][0] for s in series)
    when = start + 0.8 * (end - start)
    if domain.limit_kb:
        used = sum(_value_at(s.points, when) for s in series)
        return Pressure(ram_used_percent=100.0 * used / domain.limit_kb)
    points = [p for p in rec.system if p.epoch <= when] if rec is not None else []
    if not points:
        return Pressure()
    p = points[-1]
    swap = 100.0 * p.swap_used / p.swap_total if p.swap_used is not None and p.swap_total else None
    ram = (
        100.0 * (1 - p.mem_available / p.mem_total)
        if p.mem_available is not None and p.mem_total
        else None
    )
    return Pressure(swap, ram)


def _recorded(
    rec: Recording, caps: Sequence[LinuxScreen], until: float | None, procs: dict[int, ProcFile]
) -> tuple[Series, ...]:
    fine = fine_series(rec, until=until)
    if caps:
        # the capture lists the watched domain's processes: judge only those programs (by
        # pid: a program of the same name may run outside the domain, in another container)
        pids = {p.pid for cap in caps for p in cap.top}
        members = {(h.key.name, h.key.cmdline) for h in rec.processes if h.key.pid in pids}
        fine = tuple(f for f in fine if (f.name, f.cmdline) in members) or fine
    latest: dict[tuple[str, str], int] = {}
    for hist in sorted(rec.processes, key=lambda h: h.key.start):
        latest[(hist.key.name, hist.key.cmdline)] = hist.key.pid
    out: list[Series] = []
    keys: set[str] = set()
    for item in fine:
        key = item.name if item.name not in keys else f"{item.name} {item.cmdline}"
        keys.add(key)
        pid = latest.get((item.name, item.cmdline))
        unit = procs[pid].unit if pid in procs else None
        out.append(Series(key, item.name, item.points, item.name, pid, item.cmdline or None, unit))
    return tuple(out)


def _captured(caps: Sequence[LinuxScreen], procs: dict[int, ProcFile]) -> tuple[Series, ...]:
    """Without a recording, the capture's top consumers at the moment of the loss."""
    out: list[Series] = []
    for cap in caps[:1]:
        if cap.declared_at is None:
            continue
        for p in cap.top:
            kb = float((p.rss_kb or 0) + (p.swap_kb or 0))
            info = procs.get(p.pid, ProcFile(p.pid))
            out.append(
                Series(
                    f"{p.comm}[{p.pid}]",
                    p.comm,
                    ((cap.declared_at, kb),),
                    p.comm,
                    p.pid,
                    info.cmdline,
                    info.unit,
                    (p.evidence,),
                )
            )
    return tuple(out)


def _processes(caps: Sequence[LinuxScreen], procs: dict[int, ProcFile]) -> tuple[ProcessInfo, ...]:
    out = []
    for cap in caps:
        for p in cap.top:
            info = procs.get(p.pid, ProcFile(p.pid))
            out.append(
                ProcessInfo(
                    p.comm, info.cmdline or "", p.pid, None, p.rss_kb, info.unit, p.evidence
                )
            )
    return tuple(out)


class Linux:
    """A Linux host or memory cgroup watched by lostbeat."""

    name = "linux"
    artifacts: dict[str, Artifact] = ARTIFACTS

    def recognise(self, parsed: Parsed) -> int:
        """lostbeat's own captures and recordings are Linux's, whatever else is given."""
        return 30 if parsed.captures or parsed.recordings else 0

    def facts(self, parsed: Parsed) -> Facts:
        caps = parsed.captures
        rec = parsed.recordings[0] if parsed.recordings else None
        crash = _crash(caps)
        procs = _proc_files(parsed)
        domain = _domain(caps, rec)
        if rec is not None and rec.processes:
            series = _recorded(rec, caps, crash.crashed_at, procs)
            samples = len(sample_times(rec, until=crash.crashed_at))
            sampling = _fine(rec.interval_s or 10.0)
            swap = swap_series(rec)
        else:
            series = _captured(caps, procs)
            samples = 1 if series else 0
            sampling = _fine(caps[0].to or 10.0 if caps else 10.0)
            swap = ()
        end = max((s.points[-1][0] for s in series), default=None)
        last_ev: tuple[Evidence, ...] = caps[0].evidence[:1] if caps else ()
        history = MemoryHistory(
            sampling=sampling,
            series=series,
            samples=samples,
            end=end,
            swap=swap,
            pressure=_pressure(series, rec, domain, end) if end is not None else Pressure(),
            last_evidence=last_ev,
        )
        plot = (
            MemoryHistory(sampling, _recorded(rec, caps, None, procs), swap=swap)
            if rec is not None and rec.processes
            else history
        )
        where = next((c for c in caps if c.cgroup), None)
        host = parsed.host or (caps[0].host if caps else None) or (rec.host if rec else None)
        # the recorder's hourly log says how each boot ended, in ESX's vmksummary format
        lines = merge_summaries(parsed.summaries)
        boots = tuple(b.boot for b in split_boots(lines))
        return Facts(
            words=Platform(
                name=self.name,
                label="Linux",
                domain=f"the watched cgroup {where.cgroup}"
                if where
                else f"the host {host or ''}".strip(),
                domain_short="cgroup" if where else "host",
                daemon="lostbeat hbd",
                record="sample",
            ),
            crash=crash,
            history=history,
            host=host,
            domain=domain,
            boots=boots,
            events=events(lines),
            plot=plot,
            boot_times=rec.boots if rec else (),
            processes=_processes(caps, procs),
            dumps=(
                DumpSet(
                    "captured",
                    "core dumps of the top consumers",
                    parsed.cores.captured,
                    expected=bool(caps),
                    missing="The capture holds no core dump",
                    advice="its manifest.json says why each attempt failed",
                ),
            ),
            plan=PLAN,
        )


LINUX = Linux()
