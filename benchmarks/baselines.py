"""Two naive diagnoses of a lost heartbeat, to measure lostbeat against.

Both read the same inputs as lostbeat, through its parsers: every ``var/log/vmksummary*``
member of the bundle (rotated ``.gz`` ones inflated), ``proc/meminfo`` and ``tmp/ps.*.txt``.
Both assume the last reboot was the crash (they never look at the purple screen), so they
claim nothing about the crash type, origin, known issues or actions.

(a) ``largest``: the largest process in the last summary line before the last boot is the
    culprit, and the cause is a leak. This is what reading the KB's example by eye does.
(b) ``slope``: a least-squares line per process over the last 6 hours of that boot's hourly
    values, with fixed thresholds, as a Prometheus ``predict_linear`` alert has them (the
    common "will fill in 24 hours" rule fits a ``[6h]`` range and looks 24 h ahead): a process
    leaks if it grows more than 1 MB/h and its fitted line reaches MemTotal within 24 h
    (without meminfo, the slope alone decides). The steepest such process is the culprit;
    with none, the cause is contention if swap was more than half used at the last line,
    else a spike.

Tokens are cut to 8 characters; both baselines name the first process in ``ps`` whose name
starts with the token, or keep the token when none does.
"""

from __future__ import annotations

import gzip
import re
import tarfile
from dataclasses import dataclass
from pathlib import Path

from lostbeat.analyzer.parsers.meminfo import parse_meminfo
from lostbeat.analyzer.parsers.processes import parse_ps
from lostbeat.analyzer.parsers.vmksummary import LineKind, SummaryLine, parse_vmksummary
from lostbeat.errors import LostbeatError

__all__ = ["BaselineInputs", "Guess", "largest", "read_inputs", "slope"]

SLOPE_KB_H = 1024.0
HORIZON_H = 24.0
WINDOW_H = 6.0
SWAP_CONTENTION = 0.5
_SUMMARY = re.compile(r"(^|/)var/log/vmksummary(\.\d+)?(\.gz)?$")
_PS = re.compile(r"(^|/)tmp/ps\.\d+\.txt$")


@dataclass(frozen=True, slots=True)
class Guess:
    kind: str
    culprit: str | None


@dataclass(frozen=True, slots=True)
class BaselineInputs:
    boot: tuple[SummaryLine, ...]
    """Hourly lines of the boot that ended last (before the last ``Starting system``)."""
    mem_total_kb: int | None
    swap_total_kb: int | None
    names: tuple[str, ...]
    """Process names in ``ps`` order."""


def _text(tar: tarfile.TarFile, member: tarfile.TarInfo) -> str:
    handle = tar.extractfile(member)
    data = handle.read() if handle is not None else b""
    if member.name.endswith(".gz"):
        data = gzip.decompress(data)
    return data.decode("utf-8", "replace")


def read_inputs(bundle: Path) -> BaselineInputs:
    """Parse what the baselines use from a vm-support ``.tgz``."""
    lines: list[SummaryLine] = []
    mem_total = swap_total = None
    names: tuple[str, ...] = ()
    with tarfile.open(bundle) as tar:
        for member in tar.getmembers():
            if not member.isfile():
                continue
            path = member.name.split("/", 1)[-1]
            try:
                if _SUMMARY.search(path):
                    lines += parse_vmksummary(_text(tar, member).splitlines(), path=path).lines
                elif path == "proc/meminfo":
                    info = parse_meminfo(_text(tar, member).splitlines(), path=path)
                    mem_total = None if info.total is None else info.total // 1024
                    swap_total = None if info.swap_total is None else info.swap_total // 1024
                elif _PS.search(path):
                    table = parse_ps(_text(tar, member).splitlines(), path=path)
                    names = tuple(p.name for p in table.processes)
            except LostbeatError:
                continue
    lines.sort(key=lambda s: s.epoch or 0)
    starts = [i for i, s in enumerate(lines) if s.kind is LineKind.STARTING]
    end = starts[-1] if starts else len(lines)
    begin = starts[-2] + 1 if len(starts) > 1 else 0
    boot = tuple(s for s in lines[begin:end] if s.kind is LineKind.HEARTBEAT)
    return BaselineInputs(boot, mem_total, swap_total, names)


def _name(token: str, names: tuple[str, ...]) -> str:
    return next((n for n in names if n.startswith(token)), token)


def largest(inputs: BaselineInputs) -> Guess:
    """Baseline (a): the largest consumer of the last summary line leaked."""
    if not inputs.boot or not inputs.boot[-1].top:
        return Guess("leak", None)
    top = max(inputs.boot[-1].top, key=lambda c: c.kb)
    return Guess("leak", _name(top.token, inputs.names))


def _fit(points: list[tuple[float, float]]) -> tuple[float, float]:
    """Least-squares slope (per hour) and the fitted value at the last point."""
    n = len(points)
    mx = sum(x for x, _ in points) / n
    my = sum(y for _, y in points) / n
    sxx = sum((x - mx) ** 2 for x, _ in points)
    sxy = sum((x - mx) * (y - my) for x, y in points)
    b = sxy / sxx if sxx else 0.0
    return b, my + b * (points[-1][0] - mx)


def slope(inputs: BaselineInputs) -> Guess:
    """Baseline (b): least-squares slope per process with fixed thresholds."""
    series: dict[str, list[tuple[float, float]]] = {}
    last = max(((line.epoch or 0) / 3600.0 for line in inputs.boot), default=0.0)
    for line in inputs.boot:
        hour = (line.epoch or 0) / 3600.0
        if hour < last - WINDOW_H:
            continue
        for c in line.top:
            series.setdefault(c.token, []).append((hour, float(c.kb)))
    steepest: tuple[float, str] | None = None
    for token, points in series.items():
        if len(points) < 3:
            continue
        rate, now = _fit(points)
        if rate <= SLOPE_KB_H:
            continue
        if inputs.mem_total_kb is not None and now + rate * HORIZON_H < inputs.mem_total_kb:
            continue
        if steepest is None or rate > steepest[0]:
            steepest = (rate, token)
    if steepest is not None:
        return Guess("leak", _name(steepest[1], inputs.names))
    swap = inputs.boot[-1].swap_used_bytes if inputs.boot else None
    total = inputs.swap_total_kb
    if swap is not None and total and swap / 1024 > SWAP_CONTENTION * total:
        return Guess("contention", None)
    return Guess("spike", None)
