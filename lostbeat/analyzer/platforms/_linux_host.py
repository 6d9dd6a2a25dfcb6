"""The Linux profile's reading of a host's own evidence: its logs (and a recording's kernel
records), sar, ps and meminfo, as the crash, the incidents, the grower and the history.

The OOM reports' task tables are the history where there is no recording: one sample per
report, each program's tasks summed, at the report's time; where the log gives no wall-clock
time there is no history (the grower is still read from the tables). With too few samples
for a trend, the root cause falls back on the grower (``_linux_grower``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace

from lostbeat.analyzer.facts import (
    Domain,
    Grower,
    Measure,
    MemoryHistory,
    PlanBook,
    Pressure,
    Sampling,
    Series,
)
from lostbeat.analyzer.findings import Evidence
from lostbeat.analyzer.parsers._frames import KERNEL, Frame
from lostbeat.analyzer.parsers._kernel_report import Incident as Event
from lostbeat.analyzer.parsers.host_log import HostLog, host_log_of
from lostbeat.analyzer.parsers.recordings import Recording
from lostbeat.analyzer.platforms._linux_grower import find_grower
from lostbeat.analyzer.platforms._linux_logs import (
    OOM,
    Placed,
    choose,
    class_of,
    consumers,
    evidence_of,
    merge,
    summary,
)
from lostbeat.analyzer.platforms._linux_sar import MIN_POINTS, read_sar, sar_sampling
from lostbeat.analyzer.platforms._profile import Parsed
from lostbeat.analyzer.result import Action, Crash, CrashClass, CrashType, Incident
from lostbeat.analyzer.units import size_kb

__all__ = ["HOST_PLAN", "HostView", "read_host", "recording_log"]

HOST_PLAN = PlanBook(
    disable_leaker=Action(
        None,
        "{name} grew until memory ran out: fix it, or cap it (systemd MemoryMax=, its "
        "container's memory limit) so that it alone is killed; a larger limit would only "
        "delay the next kill",
    ),
    remove_third_party=Action(
        None,
        "{name} grew until memory ran out: fix it, or cap it (systemd MemoryMax=, its "
        "container's memory limit) so that it alone is killed",
    ),
    raise_memory=Action(
        None,
        "Memory use was high and static: raise the limit that was hit (MemoryMax=, the "
        "container's limit, the host's RAM) or move a consumer away; give what must survive "
        "OOMScoreAdjust=-900 (oom_score_adj)",
    ),
    record_finer=Action(
        None,
        "Fix or cap what used the memory ({name}: MemoryMax=, its container's limit), or "
        "raise the limit that was hit; give what must survive OOMScoreAdjust=-900 "
        "(oom_score_adj); run lostbeat record so that the next incident has a history of "
        "every process",
    ),
    find_leaker=Action(
        None,
        "The host's memory grew steadily until it ran out, and nothing recorded which process "
        "grew: keep a process table while it grows (pidstat -r from sysstat, or ps -eo "
        "pid,rss,comm --sort=-rss from cron) and run lostbeat record, so that the next "
        "incident names the leaker; until then, restart or cap (MemoryMax=) the largest "
        "consumers before memory runs out",
    ),
    interpret=Action(
        None,
        "Not memory: read the kernel report's stack for the module, device or server the task "
        "waited on, and report it to that driver's maintainers or the distribution; enable "
        "kdump to keep a vmcore of the next one",
    ),
)


MIN_REPORTS = 20
"""OOM reports needed before their task tables are judged as a trend (as recording samples)."""


@dataclass(frozen=True, slots=True)
class HostView:
    """What a host's logs say."""

    crash: Crash
    incidents: tuple[Incident, ...]
    incidents_more: int
    grower: Grower | None
    history: MemoryHistory
    domain: Domain
    boots: tuple[float, ...] = ()
    memcg: str | None = None
    """The memory cgroup whose limit the judged OOM hit, where the report names it."""


def recording_log(rec: Recording) -> HostLog | None:
    """The kernel records a recording kept (``Recording.kernel``: epoch, priority, sequence
    and the ``/dev/kmsg`` message), read by the same scanner as a log; of the incidents, those
    the recording saw: from its first sample on (the recorder reads the boot's earlier log as
    it starts: what came before has no history here), and an OOM kill only of a process it
    recorded (:func:`recorded_kill`: ``/dev/kmsg`` is the host's, so a recorder in a PID
    namespace or a container sees other groups' kills, of processes it never saw)."""
    start = min((c.start for c in rec.coverage), default=None)
    kept = [r for r in rec.kernel if start is None or r.epoch >= start]
    if not kept:
        return None
    where = f"{rec.host or 'recording'}: kernel log"
    frames = (Frame(n, r.text.rstrip(), KERNEL, r.epoch) for n, r in enumerate(kept, 1))
    log = host_log_of(frames, path=where)
    ours = tuple(i for i in log.incidents if i.type not in OOM or recorded_kill(i, rec))
    return replace(log, incidents=ours) if ours else None


def _holds(group: str, recorded: str) -> bool:
    """Whether the killed task's memory cgroup holds a recorded process's cgroup: the same,
    or an ancestor (on cgroup v1 a recorder may keep a process's systemd path where the kernel
    names its memory controller's, higher up). A group below the recorded one is another's:
    a container's group inside the recorder's own."""
    a, b = group.rstrip("/"), recorded.rstrip("/")
    return a == b or b.startswith(a + "/")


def recorded_kill(kill: Event, rec: Recording) -> bool:
    """Whether an OOM kill the recording's kernel log holds is of a process it recorded: by
    the victim's memory cgroup where the report names it and the recording kept cgroups (a
    name is anyone's: a ``python`` killed anywhere is not the recorder's own ``python``;
    a pid is the host's, the recorder's may be a PID namespace's), else by its pid (with its
    name, where both are known), the name alone only where the kill gives neither."""
    if not rec.processes:
        return True  # nothing recorded to tell ours from others' by
    group = kill.task_memcg if kill.task_memcg not in (None, "/") else None
    groups = {h.cgroup for h in rec.processes if h.cgroup not in (None, "/")}
    if group is not None and groups:
        return any(_holds(group, g) for g in groups if g is not None)
    if kill.pid is not None:
        names = {h.key.name for h in rec.processes if h.key.pid == kill.pid}
        return bool(names) and (kill.victim is None or kill.victim in names)
    return kill.victim is not None and any(h.key.name == kill.victim for h in rec.processes)


def _when(p: Placed) -> float:
    return p.event.at or 0.0


def _history(placed: Sequence[Placed], chosen: int) -> MemoryHistory:
    sampling = Sampling(
        resolution_s=60.0,
        min_samples=MIN_REPORTS,
        min_span_s=MIN_REPORTS * 60.0,
        jump_steps=1,
        shows_jumps=False,
        measure=Measure.RESIDENT,
        unit="OOM task tables",
    )
    tables = [p for p in placed[: chosen + 1] if p.event.tasks]
    if not tables or any(p.event.at is None for p in tables):
        return MemoryHistory(sampling)
    points: dict[str, list[tuple[float, float]]] = defaultdict(list)
    pids: dict[str, int] = {}
    for p in tables:
        at = _when(p)
        sums: dict[str, float] = defaultdict(float)
        for t in p.event.tasks:
            sums[t.name] += t.total_kb
            pids.setdefault(t.name, t.pid)
        for name, kb in sums.items():
            points[name].append((at, kb))
    last = tables[-1]
    series = tuple(
        Series(name, name, tuple(pts), name, pids.get(name), evidence=(evidence_of(last),))
        for name, pts in points.items()
    )
    return MemoryHistory(
        sampling,
        series,
        samples=len(tables),
        end=_when(last),
        last_evidence=(evidence_of(last),),
    )


def _message(ev: Event, grower: Grower | None, was_grower: bool | None) -> str:
    """The incident in one sentence: who did what to whom, and whether the victim was the
    consumer."""
    who = f"{ev.victim} (pid {ev.pid})" if ev.pid is not None else ev.victim or "a task"
    killer = "the kernel" if ev.killer in (None, "kernel") else ev.killer
    held = f", holding {size_kb(ev.victim_kb)}" if ev.victim_kb is not None else ""
    if ev.type in (CrashType.OOM_KILL, CrashType.CGROUP_OOM):
        where = f" in memory cgroup {ev.memcg}" if ev.memcg else ""
        text = f"{killer} killed {who}{held}{where}"
        if ev.victim is None:
            text = f"{killer} found memory exhausted{where}: {ev.text}"
        if was_grower is True:
            text += "; it was the consumer that used the memory"
        elif was_grower is False:
            other = f" ({grower.name} used the memory)" if grower is not None else ""
            text += f"; it was a bystander{other}"
        return text
    if ev.type is CrashType.KERNEL_PANIC:
        return f"Kernel panic - not syncing: {ev.reason}" + (f" ({who})" if ev.victim else "")
    if ev.type is CrashType.HUNG_TASK:
        return f"{who} {ev.reason or 'blocked'}"
    if ev.type is CrashType.SOFT_LOCKUP:
        return f"{who} kept {ev.reason or 'a CPU'}"
    return ev.text


def _constraint(ev: Event) -> str | None:
    """An OOM's constraint: ``memcg`` (a memory cgroup's limit) or ``global`` (the host's)."""
    if ev.in_cgroup:
        return "memcg"
    return "global" if ev.type is CrashType.OOM_KILL else None


def _mem_total(parsed: Parsed, logs: Sequence[HostLog]) -> float | None:
    for info in parsed.meminfo:
        if info.total:
            return info.total / 1024.0
    return next((float(log.mem_total_kb) for log in logs if log.mem_total_kb), None)


def read_host(parsed: Parsed, logs: Sequence[HostLog], *, at: str | None = None) -> HostView:
    """The crash and the rest, from the logs given (and the recording's kernel records)."""
    placed = merge(logs)
    index = choose(placed, at)
    sar = read_sar(parsed.sars, placed[index].event.at if index >= 0 else None)
    total = _mem_total(parsed, logs) or sar.ram_kb
    domain = Domain(ram_kb=total, swap_total_kb=sar.swap_total_kb)
    history = _history(placed, index)
    if sar.swap or sar.pressure != Pressure() or sar.used:
        # sar's host-wide series: the swap plot, the pressure before the end, and the host's
        # own use (the root cause judges whether it rose steadily)
        end = history.end if history.end is not None else sar.end
        history = replace(
            history, swap=sar.swap, pressure=sar.pressure, end=end, domain_used=sar.used
        )
    if len(sar.used) >= MIN_POINTS and history.samples < MIN_POINTS:
        # sar's samples are the history's: enough to judge a spike from contention, as
        # vmksummary's hours are, and a rise of the host's memory that names no process
        history = replace(
            history, sampling=sar_sampling(history.sampling, sar), samples=len(sar.used)
        )
    if index < 0:
        crash = Crash(CrashType.NONE, class_=CrashClass.NONE)
        return HostView(crash, (), 0, None, history, domain, sar.restarts)
    p = placed[index]
    ev = p.event
    if ev.in_cgroup and ev.limit_kb:
        # the domain that ran out is the group: its limit, as the report's usage line says
        limit = next((e for e in ev.lines if e[1].startswith("memory: usage")), None)
        proof = (Evidence(p.log.path, *limit),) if limit else ()
        domain = replace(domain, limit_kb=float(ev.limit_kb), evidence=proof)
    grower, was_grower = find_grower(placed, index, domain.size_kb or total)  # the group's, or RAM
    top, more = consumers(ev)
    release = next((log.release for log in logs if log.release), None)
    # the headline and the kill (or constraint) lines, the newest last
    evidence = tuple(Evidence(p.log.path, n, text) for n, text in (ev.lines[:1] + ev.lines[-2:]))
    evidence = tuple(dict.fromkeys(evidence))
    message = _message(ev, grower, was_grower)
    if len(placed) > 1:
        message += (
            f"; incident {index + 1} of {len(placed)} in the logs "
            "(lostbeat analyze --at TIME judges another)"
        )
    crash = Crash(
        type=ev.type,
        message=message,
        release=f"Linux {release}" if release else None,
        crashed_at=ev.at,
        uptime_s=ev.mono,
        evidence=evidence or (evidence_of(p),),
        class_=class_of(placed, index),
        victim=ev.victim,
        killer=ev.killer,
        suspect_module=ev.modules[0] if ev.modules else None,
        victim_pid=ev.pid,
        victim_was_grower=was_grower,
        constraint=_constraint(ev),
        cgroup=ev.memcg if ev.in_cgroup else None,
        top_consumers=top,
        top_consumers_more=more,
    )
    incidents = summary(placed, index) if len(placed) > 1 else ()
    dropped = sum(log.incidents_more for log in logs)
    memcg = ev.memcg if ev.in_cgroup else None
    return HostView(crash, incidents, dropped, grower, history, domain, sar.restarts, memcg)
