"""Linux: a memory cgroup (or the whole host) watched by lostbeat's monitor and recorder, or
a host's own evidence (its kernel log, journal, syslog, a sosreport; ``_linux_host``).

The ESX design made real on Linux (docs/agent.md): ``lostbeat hbd`` heartbeats from inside
the watched cgroup while it can get a page; ``lostbeat monitor``, outside it, declares the loss
and captures a screen, ``/proc`` state and cores of the top consumers; ``lostbeat record``
keeps every process's memory at every sample. The loss is placed by the capture, the history
is the recording at its full resolution, and the plan speaks of the cgroup and its limit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from lostbeat.analyzer.facts import (
    DumpSet,
    Facts,
    Measure,
    MemoryHistory,
    PlanBook,
    ProcessInfo,
    Sampling,
    Series,
)
from lostbeat.analyzer.findings import Evidence
from lostbeat.analyzer.fine import fine_series, sample_times, swap_series
from lostbeat.analyzer.parsers.capture import LinuxScreen
from lostbeat.analyzer.parsers.procfiles import ProcFile, unit_of
from lostbeat.analyzer.parsers.recordings import Recording
from lostbeat.analyzer.platforms._linux_capture import (
    capture_crash,
    no_loss,
    proc_files,
    split_captures,
    watched_domain,
)
from lostbeat.analyzer.platforms._linux_history import memory_history
from lostbeat.analyzer.platforms._linux_host import HOST_PLAN, HostView, read_host, recording_log
from lostbeat.analyzer.platforms._profile import Artifact, Parsed
from lostbeat.analyzer.platforms._summary import events, merge_summaries, split_boots
from lostbeat.analyzer.result import Action, Platform
from lostbeat.recording.schema import MARKER_NAME

__all__ = ["LINUX", "Linux"]

MIN_SAMPLES = 20
"""Samples needed before any verdict on memory (a leak must also span this many)."""
JUMP_STEPS = 3
"""A jump is a rise within this many samples: an allocation caught half-made by a sample
shows as two steps, and must still count as one jump."""

ARTIFACTS: dict[str, Artifact] = {
    "capture": Artifact(
        (
            # lostbeat's own: `lostbeat monitor` writes <trigger>-<host>-<stamp>/screen.txt
            # (lostbeat/agent/capture.py); given as a folder, that top folder is stripped
            "screen.txt",
            "**/lost-heartbeat-*/screen.txt",  # a loss's capture inside a folder given
            "**/pre-loss-*/screen.txt",  # an early warning's, before any loss
            "**/kernel-*/screen.txt",  # an OOM kill's or a hang's in the kernel log
        ),
        many=True,
        content=True,
        doc="the diagnostic screen lostbeat's monitor wrote at a loss (or before one)",
    ),
    "capture_manifest": Artifact(
        (
            "manifest.json",  # the capture's, written last (lostbeat/agent/capture.py)
            "**/lost-heartbeat-*/manifest.json",  # as for the screen
            "**/pre-loss-*/manifest.json",  # as above
            "**/kernel-*/manifest.json",  # as above
        ),
        many=True,
        content=True,
        doc="the capture's manifest: what it was written for (its trigger)",
    ),
    "proc_file": Artifact(
        (
            # the capture's /proc state (lostbeat/agent/capture.py), its top folder stripped;
            # a vm-support bundle copies all of /proc the same way (§3.2)
            "proc/[0-9]*/cmdline",
            "proc/[0-9]*/cgroup",  # as above
            "**/lost-heartbeat-*/proc/[0-9]*/cmdline",  # a capture inside a folder given
            "**/lost-heartbeat-*/proc/[0-9]*/cgroup",  # as above
            "**/pre-loss-*/proc/[0-9]*/cmdline",  # as above, before a loss
            "**/pre-loss-*/proc/[0-9]*/cgroup",  # as above
            "**/kernel-*/proc/[0-9]*/cmdline",  # as above
            "**/kernel-*/proc/[0-9]*/cgroup",  # as above
        ),
        many=True,
        content=True,
        doc="a process's command line and cgroup, as /proc showed them",
        by_path=True,
    ),
    "host_log": Artifact(
        (
            "var/log/messages",  # linux-logs.md §8: a sosreport or a copy of /var/log
            "var/log/messages[-.]*",  # §8: rotations (messages-20240101, .1, .gz)
            "var/log/kern.log",  # §8
            "var/log/kern.log.*",  # §8
            "var/log/syslog",  # §8
            "var/log/syslog.*",  # §8
            "var/log/dmesg",  # §8: the boot's kernel log some distributions keep
            "var/log/dmesg.*",  # §8
            "sos_commands/kernel/dmesg*",  # §8: the kernel plugin's dmesg run
            "sos_commands/general/dmesg*",  # §8: sos 1.x-2.x's dmesg_now
            "sos_commands/logs/journalctl_*",  # §8: the logs plugin's journal runs
            # SUSE's supportconfig (scc_<host>_<date>.txz), its top folder stripped; each
            # file a run of "#==[ ... ]==#" entries (linux-logs.md §8, VERIFIED from
            # openSUSE/supportutils' source)
            "messages.txt",  # §8: /var/log/messages, or journalctl -o short-iso
            "messages-[0-9]*.txt",  # §8: the rotations, copied with -l
            "messages_localwarn.txt",  # §8: /var/log/warn
            "boot.txt",  # §8: each boot's journal, then dmesg -T
            "crash.txt",  # §8: /var/crash/*/vmcore-dmesg.txt
        ),
        many=True,
        content=True,
        doc="a Linux kernel log, journal or syslog file",
        tail=True,
    ),
    "sar": Artifact(
        (
            "var/log/sa/sar[0-9]*",  # linux-logs.md §8: sysstat's own daily text report
            "var/log/sysstat/sar[0-9]*",  # §8: Debian's sysstat folder
            "sos_commands/sar/sar[0-9]*",  # §8: sos's sar -A -f saDD of the last week
            "sar/sar[0-9]*",  # §8: supportconfig's copies of /var/log/sa/sar*
        ),
        many=True,
        content=True,
        doc="sysstat's sar -A text report",
    ),
    "meminfo": Artifact(
        (
            "proc/meminfo",  # linux-logs.md §8: a sosreport's copy
            "memory.txt",  # §8: supportconfig's; its /proc/meminfo entry is read
        ),
        many=False,
        content=True,
        doc="the host's memory and swap totals, at collection",
    ),
    "ps": Artifact(
        # linux-logs.md §8: the process plugin's ps runs
        ("sos_commands/process/ps_auxwww", "sos_commands/process/ps_auxfwww"),
        many=True,
        content=True,
        doc="ps -auxwww output",
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


def _within(cgroup: str | None, group: str) -> bool:
    return cgroup is not None and (cgroup == group or cgroup.startswith(group.rstrip("/") + "/"))


def _recorded(
    rec: Recording,
    caps: Sequence[LinuxScreen],
    until: float | None,
    procs: dict[int, ProcFile],
    group: str | None = None,
) -> tuple[Series, ...]:
    """The recording's series; of the watched domain's processes only, where a capture
    lists them or ``group`` (the memory cgroup that ran out) holds them."""
    fine = fine_series(rec, until=until)
    if caps or group:
        # judge only the domain's programs (by pid, or by the cgroup the recorder saw each
        # in: a program of the same name may run outside the domain, in another container)
        pids = {p.pid for cap in caps for p in cap.top}
        members = {(h.key.name, h.key.cmdline) for h in rec.processes
                   if h.key.pid in pids or (group and _within(h.cgroup, group))}  # fmt: skip
        fine = tuple(f for f in fine if (f.name, f.cmdline) in members) or fine
    latest: dict[tuple[str, str], int] = {}
    recorded: dict[int, str | None] = {}  # the cgroup the recorder saw each process in
    for hist in sorted(rec.processes, key=lambda h: h.key.start):
        latest[(hist.key.name, hist.key.cmdline)] = hist.key.pid
        recorded[hist.key.pid] = unit_of(f"0::{hist.cgroup}") if hist.cgroup else None
    out: list[Series] = []
    keys: set[str] = set()
    for item in fine:
        key = item.name if item.name not in keys else f"{item.name} {item.cmdline}"
        keys.add(key)
        pid = latest.get((item.name, item.cmdline))
        unit = procs[pid].unit if pid in procs else recorded.get(pid) if pid else None
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
        """lostbeat's own captures and recordings are Linux's, whatever else is given; a Linux
        log is, unless an ESX artifact says the host was ESX (a Service Console's logs)."""
        if parsed.captures or parsed.manifests or parsed.recordings:
            return 30
        if parsed.host_logs or parsed.sars:
            esx = parsed.summaries or parsed.screens or parsed.logs or parsed.conf
            return 5 if esx or parsed.versions else 15
        return 0

    def facts(self, parsed: Parsed) -> Facts:
        split = split_captures(parsed)
        caps = split.shown  # the domain's state, at a loss or, failing one, before it
        rec = parsed.recordings[0] if parsed.recordings else None
        logs = [
            *parsed.host_logs,
            *split.kernel,
            *(log for r in parsed.recordings if (log := recording_log(r))),
        ]
        view: HostView | None = read_host(parsed, logs, at=parsed.at) if logs or not rec else None
        crash = capture_crash(split.losses) if split.losses or view is None else view.crash
        crash = no_loss(crash, split.before)
        procs = proc_files(parsed)
        domain = watched_domain(caps, rec)
        if view is not None and not caps and not rec:
            domain = view.domain
        group = view.memcg if view is not None and not caps else None
        if group is not None and view is not None:  # the memory cgroup the OOM report names
            domain = replace(domain, limit_kb=view.domain.limit_kb, evidence=view.domain.evidence)
        last_ev: tuple[Evidence, ...] = caps[0].evidence[:1] if caps else ()
        if rec is not None and rec.processes:
            history = memory_history(
                _fine(rec.interval_s or 10.0),
                _recorded(rec, caps, crash.crashed_at, procs, group),
                len(sample_times(rec, until=crash.crashed_at)),
                swap_series(rec),
                rec,
                domain,
                last_ev,
            )
        elif view is not None and not caps:
            history = view.history  # the OOM reports' tables and sar's series
        else:
            series = _captured(caps, procs)
            sampling = _fine(caps[0].to or 10.0 if caps else 10.0)
            history = memory_history(sampling, series, 1 if series else 0, (), rec, domain, last_ev)
        plot = (
            MemoryHistory(
                history.sampling, _recorded(rec, caps, None, procs, group), swap=history.swap
            )
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
                else f"the memory cgroup {group}"
                if group
                else f"the host {host or ''}".strip(),
                domain_short="cgroup" if where or group else "host",
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
            boot_times=rec.boots if rec else view.boots if view else (),
            processes=_processes(caps, procs),
            dumps=()
            if view is not None and not caps and not rec
            else (
                DumpSet(
                    "captured",
                    "core dumps of the top consumers",
                    parsed.cores.captured,
                    expected=bool(split.losses),  # a capture before a loss takes no core
                    missing="The capture holds no core dump",
                    advice="its manifest.json says why each attempt failed",
                ),
            ),
            plan=PLAN if caps or rec is not None else HOST_PLAN,
            incidents=view.incidents if view else (),
            incidents_more=view.incidents_more if view else 0,
            grower=view.grower if view else None,
        )


LINUX = Linux()
