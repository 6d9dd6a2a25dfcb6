"""capture - the diagnostic screen ``screen.txt`` that ``lostbeat monitor`` writes

The monitor's purple screen adapted to Linux (docs/agent.md): a header naming lostbeat, the
kernel and the host; ``Lost heartbeat``; the alert fields as the VMkernel prints them (``t=``
and ``to=`` in seconds here); the time the loss was declared; memory, swap and the memory
cgroup; and the top consumers at that moment with their growth since the last sample.

Sample data::

    lostbeat 0.1.0 [Linux 6.1.0-28-amd64 x86_64] host=web1
    Lost heartbeat
    *0:812/lostbeat 1:4242/python3
    @BlueScreen: Lost heartbeat (comm=lostbeat-hbd pid=4242 t=5 to=5 clt=1)
    Uptime: 0:00:12:31.042
    Declared: 2026-11-25T19:01:02.123Z
    Memory: total=24601184 kB available=23000000 kB free=22000000 kB
    Swap: total=0 kB free=0 kB used=0 kB
    Cgroup: v1 /lostbeat-sim usage=262144 limit=268435456 under_oom=1 oom_kill_disable=1
    Top consumers (cgroup /lostbeat-sim):
         PID COMM             S     RSS_KB    SWAP_KB  GROWTH_KB WCHAN
        4300 leaker           D     240000          0     +20480 mem_cgroup_oom_synchronize
        4242 lostbeat-hbd     D      12000          0         +0 mem_cgroup_oom_synchronize

Examples:
    >>> s = parse_capture(__doc__.split("::")[1].split("Examples")[0].splitlines(), path="s.txt")
    >>> s.host, s.comm, s.t, s.to, s.declared_at
    ('web1', 'lostbeat-hbd', 5, 5.0, 1795633262.123)
    >>> s.limit_bytes, s.top[0].comm, s.top[0].rss_kb, s.top[0].growth_kb
    (268435456, 'leaker', 240000, 20480)
"""

from __future__ import annotations

import calendar
import re
import time
from collections.abc import Iterable
from dataclasses import dataclass

from lostbeat.analyzer.findings import Evidence
from lostbeat.analyzer.parsers._lines import SNIFF_CHARS, active_lines, parse_uptime, to_int
from lostbeat.errors import ArtifactMissing, ParseError

__all__ = ["CapturedProcess", "LinuxScreen", "looks_like_capture", "parse_capture"]

_HEADER = re.compile(r"^lostbeat (\S+) \[Linux (\S+) (\S+)\] host=(\S+)")
_FIELDS = re.compile(
    r"\(comm=(?P<comm>[^()]*?) pid=(?P<pid>[0-9]{1,10}) t=(?P<t>[0-9]{1,10})"
    r" to=(?P<to>[0-9]{1,10}(?:\.[0-9]{1,6})?) clt=(?P<clt>[0-9]{1,10})\)"
)
_ROW = re.compile(r"^\s*([0-9]{1,10})\s+(.{1,16}?)\s+(\S)\s+(\S+)\s+(\S+)\s+(\S+)(?:\s+(\S+))?\s*$")
_STAMP = re.compile(r"([0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2})(?:\.([0-9]{1,9}))?Z?")


@dataclass(frozen=True, slots=True)
class CapturedProcess:
    pid: int
    comm: str
    state: str
    rss_kb: int | None
    swap_kb: int | None
    growth_kb: int | None
    wchan: str | None
    evidence: Evidence


@dataclass(frozen=True, slots=True)
class LinuxScreen:
    host: str
    kernel: str
    declared_at: float | None
    uptime_s: float | None
    comm: str | None
    pid: int | None
    t: int | None  # seconds without a beat
    to: float | None  # timeout, seconds
    mem_total_kb: int | None
    swap_total_kb: int | None
    swap_used_kb: int | None
    limit_bytes: int | None  # the watched memory cgroup's limit
    top: tuple[CapturedProcess, ...]
    evidence: tuple[Evidence, ...]
    cgroup: str | None = None  # the watched memory cgroup's path
    usage_bytes: int | None = None  # the cgroup's memory use when the loss was declared
    under_oom: bool | None = None  # the cgroup was in its OOM state (v1 under_oom)


def looks_like_capture(text: str) -> bool:
    """True for a lostbeat monitor screen."""
    head = text[:SNIFF_CHARS]
    return bool(_HEADER.match(head)) and "Lost heartbeat" in head


def _utc(stamp: str) -> float | None:
    m = _STAMP.fullmatch(stamp)
    if m is None:
        return None
    try:
        base = calendar.timegm(time.strptime(m[1], "%Y-%m-%dT%H:%M:%S"))
    except ValueError:
        return None
    return base + (int(m[2]) / 10 ** len(m[2]) if m[2] else 0.0)


def _signed(text: str) -> int | None:
    try:
        return int(text)
    except ValueError:
        return None


def _kv(text: str) -> dict[str, int | None]:
    """``key=value`` words of a line (split, not a regex over the line: linear time)."""
    return {k: to_int(v) for k, sep, v in (w.partition("=") for w in text.split()) if sep}


def parse_capture(lines: Iterable[str], *, path: str) -> LinuxScreen:
    """Parse a ``lostbeat monitor`` screen.

    Raises:
        ArtifactMissing: the file is empty.
        ParseError: the first line is not a lostbeat screen header.
    """
    numbered = list(active_lines(lines))
    if not numbered:
        raise ArtifactMissing("capture", path=path)
    first_no, first = numbered[0]
    header = _HEADER.match(first.strip())
    if header is None:
        raise ParseError(
            "expected 'lostbeat VERSION [Linux KERNEL ARCH] host=HOST'",
            path=path,
            line_no=first_no,
            line=first,
        )
    values: dict[str, object] = {}
    evidence = [Evidence(path, first_no, first)]
    top: list[CapturedProcess] = []
    in_top = False
    for no, line in numbered[1:]:
        text = line.strip()
        if text.startswith("@BlueScreen:") and (m := _FIELDS.search(text)):
            values.update(comm=m["comm"], pid=int(m["pid"]), t=int(m["t"]), to=float(m["to"]))
            evidence.append(Evidence(path, no, line))
        elif text.startswith("Uptime:"):
            values["uptime"] = parse_uptime(text.split(":", 1)[1].strip())
        elif text.startswith("Declared:"):
            values["declared"] = _utc(text.split(":", 1)[1].strip())
            evidence.append(Evidence(path, no, line))
        elif text.startswith("Memory:"):
            values["mem_total"] = _kv(text).get("total")
        elif text.startswith("Swap:"):
            kv = _kv(text)
            values.update(swap_total=kv.get("total"), swap_used=kv.get("used"))
        elif text.startswith("Cgroup:"):
            kv = _kv(text)
            values.update(limit=kv.get("limit"), usage=kv.get("usage"))
            values["oom"] = None if kv.get("under_oom") is None else kv.get("under_oom") == 1
            words = text.split()
            values["cgroup"] = next((w for w in words[1:] if w.startswith("/")), None)
            evidence.append(Evidence(path, no, line))
        elif text.startswith("Top consumers"):
            in_top = True
        elif in_top and text.startswith("PID"):
            continue
        elif in_top and (row := _ROW.match(line)):
            top.append(
                CapturedProcess(
                    int(row[1]),
                    row[2].strip(),
                    row[3],
                    to_int(row[4]),
                    to_int(row[5]),
                    _signed(row[6]),
                    None if row[7] in (None, "-") else row[7],
                    Evidence(path, no, line),
                )
            )
        else:
            in_top = False
    return LinuxScreen(
        host=header[4],
        kernel=header[2],
        declared_at=values.get("declared"),  # type: ignore[arg-type]
        uptime_s=values.get("uptime"),  # type: ignore[arg-type]
        comm=values.get("comm"),  # type: ignore[arg-type]
        pid=values.get("pid"),  # type: ignore[arg-type]
        t=values.get("t"),  # type: ignore[arg-type]
        to=values.get("to"),  # type: ignore[arg-type]
        mem_total_kb=values.get("mem_total"),  # type: ignore[arg-type]
        swap_total_kb=values.get("swap_total"),  # type: ignore[arg-type]
        swap_used_kb=values.get("swap_used"),  # type: ignore[arg-type]
        limit_bytes=values.get("limit"),  # type: ignore[arg-type]
        top=tuple(top),
        evidence=tuple(evidence),
        cgroup=values.get("cgroup"),  # type: ignore[arg-type]
        usage_bytes=values.get("usage"),  # type: ignore[arg-type]
        under_oom=values.get("oom"),  # type: ignore[arg-type]
    )
