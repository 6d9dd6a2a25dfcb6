"""What was using memory when something was killed: the recording's account of one moment.

For ``lostbeat explain-kill``, the hook earlyoom (``-N``) and systemd-oomd users call when
they kill: it reads the raw samples of the last ``window`` seconds before the kill from the
recording (the open shard, as the recorder writes it) and says, for the process killed (or
the cgroup), what it held, how fast it grew, whether it was the fastest grower or a
bystander, the top consumers and the memory left at the last sample.

Examples:
    >>> grower = Grown("leaker", "python3 leak.py", 42, "/a.service", 180 << 20, 9 << 20,
    ...                90 << 20)
    >>> print(sentence(grower, fastest=grower))
    leaker (pid 42, python3 leak.py, /a.service) held 180.0 MiB and grew 90.0 MiB at \
+9.0 MiB/s: the fastest grower
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from lostbeat.agent.early import slope
from lostbeat.errors import ArtifactMissing, InputError, RecordingCorrupt
from lostbeat.recording.reader import ShardReader
from lostbeat.recording.schema import Identity, ProcAggregate, ProcSample, SystemSample, Tier
from lostbeat.recording.store import ShardFile, day_of, inflate, list_shards

__all__ = ["Explained", "Grown", "explain", "sentence"]

MIB = 1 << 20


@dataclass(frozen=True, slots=True)
class Grown:
    """One process across the window: what it held at its last sample, and its growth."""

    name: str
    cmdline: str
    pid: int
    cgroup: str | None
    held: int
    """Bytes (RSS + swap) at its last sample."""
    rate: float
    """Bytes a second, fitted over the window."""
    growth: int
    """Bytes from its first to its last sample in the window."""


@dataclass(frozen=True, slots=True)
class Explained:
    at: float
    """The last sample at or before the moment asked."""
    processes: tuple[Grown, ...]
    """Every process of the window, largest first."""
    available: int | None
    total: int | None


def _bytes(row: ProcSample | ProcAggregate) -> int | None:
    """RSS + swap; None when unknown or nothing: a process caught dying (its memory freed,
    or a zombie not yet reaped) held what its sample before says."""
    if isinstance(row, ProcSample):
        rss, swap = row.rss_kb, row.swap_kb
    else:
        rss, swap = row.rss_max, row.swap_max
    held = ((rss or 0) + (swap or 0)) * 1024
    return held or None


def explain(directory: Path, *, at: float, window_s: float) -> Explained:
    """Every process of the ``window_s`` seconds up to ``at``, at the finest tier kept.

    Raises:
        InputError: not a recording directory.
        ArtifactMissing: no sample in the window.
        RecordingCorrupt: a shard cannot be inflated or is of a newer schema.
    """
    if not directory.is_dir():
        raise InputError("expected a recording directory", path=str(directory))
    days = {day_of(at - window_s), day_of(at)}
    shards = [s for s in list_shards(directory) if s.day in days]
    for tier in Tier:
        chosen = [s for s in shards if s.tier is tier]
        if chosen:
            found = _window(chosen, at=at, window_s=window_s)
            if found is not None:
                return found
    raise ArtifactMissing(
        f"a sample in the {window_s:g} s before epoch {at:.0f}", path=str(directory)
    )


def _window(shards: list[ShardFile], *, at: float, window_s: float) -> Explained | None:
    series: dict[tuple[int, float], list[tuple[float, float]]] = {}
    last: dict[tuple[int, float], tuple[Identity, int]] = {}
    system = None
    last_ts = None
    for shard in sorted(shards, key=lambda s: (s.day, s.compressed)):
        try:
            data = inflate(shard.path.read_bytes())
        except (OSError, ValueError) as err:
            raise RecordingCorrupt(f"cannot read shard: {err}", path=str(shard.path)) from err
        reader = ShardReader(data, path=str(shard.path))
        for frame in reader.frames():
            if not at - window_s <= frame.ts <= at:
                continue
            last_ts, system = frame.ts, frame.system
            for ref, (identity, row) in reader.state.items():
                held = _bytes(row)
                if held is not None:
                    series.setdefault(ref, []).append((frame.ts, float(held)))
                    last[ref] = (identity, held)
    if last_ts is None:
        return None
    grown = []
    for ref, (identity, held) in last.items():
        points = series[ref]
        key = identity.key
        grown.append(
            Grown(
                key.name,
                key.cmdline,
                key.pid,
                identity.cgroup,
                held,
                slope(points) or 0.0,
                int(points[-1][1] - points[0][1]),
            )
        )
    grown.sort(key=lambda g: -g.held)
    if isinstance(system, SystemSample):
        available, total = system.mem_available, system.mem_total
    else:
        available = system.mem_available_min if system is not None else None
        total = system.mem_total if system is not None else None
    return Explained(last_ts, tuple(grown), available, total)


def _mib(value: float) -> str:
    return f"{value / MIB:.1f} MiB"


def sentence(process: Grown, *, fastest: Grown | None) -> str:
    """What one process did across the window, and whether it was the grower."""
    where = ", ".join(p for p in (f"pid {process.pid}", process.cmdline, process.cgroup) if p)
    text = (
        f"{process.name} ({where}) held {_mib(process.held)} and grew {_mib(process.growth)} at "
        f"{process.rate / MIB:+.1f} MiB/s"
    )
    if fastest is None or fastest.rate <= 0:
        return text + ": nothing grew"
    if fastest.pid == process.pid:
        return text + ": the fastest grower"
    return (
        text + f": a bystander; the fastest grower was {fastest.name} (pid {fastest.pid}) at "
        f"{fastest.rate / MIB:+.1f} MiB/s, holding {_mib(fastest.held)}"
    )
