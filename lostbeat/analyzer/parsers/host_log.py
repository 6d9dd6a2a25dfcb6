"""A Linux host's own log: dmesg, journalctl, syslog, a console, a killer's output -> HostLog.

Each line is framed (``_frames``: whatever container carried it), then read by the kernel
report scanner (``_kernel_report``), the userspace killers' reader (``_killers``) and
Kubernetes' (``_kubectl``). What is kept is bounded by count: :data:`MAX_INCIDENTS` incidents
(the newest; the older ones are counted) and :data:`MAX_PROBLEMS` malformed lines, each
skipped and counted, never fatal.

Sample data (raw ``dmesg``)::

    [ 6120.052092] INFO: task bitcoind:2138 blocked for more than 120 seconds.
    [ 6120.052110]       Not tainted 4.2.0tmem-tmem #1

Examples:
    >>> log = parse_host_log([
    ...     "[ 6120.052092] INFO: task bitcoind:2138 blocked for more than 120 seconds.",
    ...     "[ 6120.052110]       Not tainted 4.2.0tmem-tmem #1",
    ... ], path="dmesg")
    >>> (log.incidents[0].type.value, log.incidents[0].victim, log.release)
    ('hung_task', 'bitcoind', '4.2.0tmem-tmem')
    >>> looks_like_host_log("Apr 20 09:12:57 vps001 kernel: mysqld invoked oom-killer: x")
    True
    >>> looks_like_host_log("MemTotal: 1 kB")
    False
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass

from lostbeat.analyzer.parsers._frames import Frame
from lostbeat.analyzer.parsers._kernel_events import FOLLOW_GAP
from lostbeat.analyzer.parsers._kernel_report import Incident, Scanner, release_of
from lostbeat.analyzer.parsers._killers import Killers
from lostbeat.analyzer.parsers._kubectl import Kube
from lostbeat.analyzer.parsers._lines import head
from lostbeat.analyzer.parsers._stream import Seen, frames
from lostbeat.errors import ArtifactMissing, ParseError

__all__ = ["MAX_INCIDENTS", "HostLog", "host_log_of", "looks_like_host_log", "parse_host_log"]

MAX_INCIDENTS = 1000
"""Incidents kept per log (the newest); the older ones are counted in ``incidents_more``."""
MAX_PROBLEMS = 100


@dataclass(frozen=True, slots=True)
class HostLog:
    """The incidents of one Linux log, oldest first."""

    path: str
    incidents: tuple[Incident, ...]
    incidents_more: int = 0
    """Older incidents not kept."""
    release: str | None = None
    """The kernel release the log's reports name."""
    lines: int = 0
    mem_total_kb: int | None = None
    """The host's memory, where a killer's log says it."""
    problems: tuple[ParseError, ...] = ()
    problems_more: int = 0
    pressure: tuple[tuple[int, float | None, float | None], ...] = ()
    """Where the kernel failed or stalled an allocation: line, epoch, seconds since boot."""


# A log's markers (docs/reference/linux-logs.md §1-§6): its containers, or the words of an
# incident or of the kernel's boot; a file with none of them is not a Linux log.
_CONTAINERS = re.compile(
    # a paste may be indented, quoted or numbered before its container (blanks of the line
    # only: a class that crossed lines would try every blank line's rest, quadratic in them)
    r"^[ \t>]*(?:\d{1,7}[.):]?[ \t]+)?"
    r"(?:[^\W\d_]{3,5}\.? {1,2}\d{1,2} \d\d:\d\d:\d\d\S* (?:\S+ )?(?:[a-z]+\.[a-z]+ )?kernel: "
    r"|[A-Z][a-z]{2} [A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d \d{4} (?:[a-z]+\.[a-z]+ )?kernel: "
    r"|\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d\S* \S+ kernel: "
    r"|\[\s*\d{1,10}\.\d{0,9}\] |\[[A-Z][a-z]{2} [A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d \d{4}\] "
    r"|kernel: |__CURSOR=|\{ ?\"__CURSOR\")",
    re.MULTILINE,
)
_WORDS = re.compile(
    r"invoked oom-killer|Out of memory|Killed process \d|blocked for more than\b|soft lockup"
    r"|oom-kill:constraint="
    r"|hard LOCKUP|Hard LOCKUP|detected (?:expedited )?stalls? on|Kernel panic - not syncing"
    r"|earlyoom|mem avail: +\d+ of|sending SIG\w+ to process \d|[Kk]illing process \d"
    r"|systemd-oomd|highest badness|corrective action|OOMKilled|SystemOOM|OOMKilling"
    r"|killed as a result of limit of"  # cgroup v1's memcg report, its "Task in" cut
    r"|killed by the OOM killer|'oom-kill'"  # PID 1 on a unit the kernel took a process from
    r"|Linux version \d+\.\d+[\w.+~-]* \("  # the kernel's banner (init/version.c), first at boot
)


def looks_like_host_log(text: str) -> bool:
    """Whether ``text`` (a file's start) is a Linux log: kernel lines in a known container,
    or the words of a kernel or killer incident."""
    start = head(text)
    return _CONTAINERS.search(start) is not None or _WORDS.search(start) is not None


def parse_host_log(lines: Iterable[str], *, path: str) -> HostLog:
    """Read every incident of a Linux log.

    Raises:
        ArtifactMissing: the log has no line that is not blank (a log whose lines hold no
            incident is read, and has none).
    """
    scanner, killers = Scanner(), Killers()

    def follow(line_no: int) -> bool:
        # an open kernel report, or systemd-oomd's v248 kill whose unit has not stopped yet
        return scanner.following(line_no) or killers.pending is not None

    seen = Seen()
    framed = frames(lines, follow=follow, seen=seen)
    try:
        return host_log_of(framed, path=path, scanner=scanner, killers=killers)
    except ArtifactMissing:
        if not seen.text:
            raise
        return HostLog(path=path, incidents=())  # read whole: it holds no incident


def host_log_of(
    framed: Iterable[Frame],
    *,
    path: str,
    scanner: Scanner | None = None,
    killers: Killers | None = None,
) -> HostLog:
    """The incidents of frames already taken off their containers (a recording's kernel
    records come so).

    Raises:
        ArtifactMissing: there is no frame.
    """
    scanner, killers, kube = scanner or Scanner(), killers or Killers(), Kube()
    count = 0
    release: str | None = None
    for f in framed:
        count += 1
        if f.kernelish:
            scanner.feed(f)
            if release is None and f.text.startswith("Linux version "):
                release = f.text.split()[2]
        killers.feed(f)
        kube.feed(f)
    if count == 0:
        raise ArtifactMissing("host_log", path=path)
    reports = scanner.finish()
    told = [i for i in killers.finish() if not _echo(i, reports)]
    found = sorted([*reports, *told, *kube.finish()], key=lambda i: i.line_no)
    kept = deque(found, maxlen=MAX_INCIDENTS)
    problems = [
        ParseError(what, path=path, line_no=n) for n, what in scanner.problems[:MAX_PROBLEMS]
    ]
    return HostLog(
        path=path,
        incidents=tuple(kept),
        incidents_more=len(found) - len(kept) + scanner.seen - len(scanner.incidents),
        release=scanner.release or release or _release_in(found),
        lines=count,
        mem_total_kb=killers.mem_total_kb,
        problems=tuple(problems),
        problems_more=max(0, len(scanner.problems) - MAX_PROBLEMS),
        pressure=tuple(scanner.pressure),
    )


ECHO_S = 60.0
"""How long after the kernel's OOM kill PID 1's word on the unit is that kill's echo."""


def _echo(told: Incident, reports: list[Incident]) -> bool:
    """Whether a kill the kernel did that a userspace line tells of (PID 1's 'A process of
    this unit has been killed by the OOM killer') is a kernel report's already read: an
    OOM kill shortly before it, in the same log."""
    if told.killer != "kernel":
        return False
    for r in reports:
        if r.killer != "kernel" or r.line_no > told.line_no:
            continue
        if r.at is not None and told.at is not None:
            near = told.at - r.at <= ECHO_S
        else:
            near = told.line_no - r.line_no <= FOLLOW_GAP
        if near:
            return True
    return False


def _release_in(found: list[Incident]) -> str | None:
    return next((r for i in found if (r := release_of(i.text))), None)
