"""Builders for recording tests: processes and snapshots with chosen values."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pytest

from lostbeat.recording.schema import Identity, ProcessKey, ProcSample, Snapshot, SystemSample

DAY = 86400.0
T0 = 1_714_521_600.0  # 2024-05-01 00:00:00 UTC


class Kit:
    """Makes the values the sampler would make, with chosen numbers."""

    @staticmethod
    def ident(pid: int, name: str | None = None, start: float = 0.0) -> Identity:
        name = name or f"proc{pid}"
        return Identity(ProcessKey(name, f"/usr/bin/{name} --serve", pid, start), ppid=1, uid=0)

    @staticmethod
    def snapshot(
        ts: float,
        rss: Mapping[Identity, int | tuple[int, int | None]],
        *,
        boot: float = 0.0,
        swap_used: int | None = 0,
        mem_available: int | None = 4 << 30,
    ) -> Snapshot:
        """Each process has the given RSS (or (RSS, swap)) in KB."""
        procs = []
        for identity, value in rss.items():
            kb, swap = value if isinstance(value, tuple) else (value, 0)
            procs.append((identity, ProcSample(kb, swap, kb * 2, 1, 3, "S")))
        system = SystemSample(8 << 30, mem_available, 1 << 30, swap_used)
        return Snapshot(ts, boot, system, tuple(procs))

    @staticmethod
    def files(directory: Path) -> list[tuple[str, bytes]]:
        """Every file of a recording directory as (relative path, bytes), as a source reads."""
        return sorted(
            (p.relative_to(directory).as_posix(), p.read_bytes())
            for p in directory.rglob("*")
            if p.is_file()
        )


@pytest.fixture(scope="session")
def kit() -> type[Kit]:
    return Kit
