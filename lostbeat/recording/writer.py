"""Write shards: delta-encode tables of processes and append them crash-safely.

:class:`DeltaEncoder` turns "these processes have these values now" into lines that
carry only what changed (plus a ``proc`` line the first time a process appears, and a
keyframe with every process now and then). :class:`RawShardWriter` appends those lines
to the open day's shard with one ``write`` per sample on an ``O_APPEND`` descriptor, so a
``kill -9`` can tear at most the sample being written; the reader skips that torn line.

Examples:
    >>> from lostbeat.recording.schema import ProcessKey, SystemSample
    >>> enc = DeltaEncoder()
    >>> ident = Identity(ProcessKey("a", "a", 7, 1.0))
    >>> system = SystemSample(8, 4, 0, 0)
    >>> first = enc.encode("s", 10.0, system, [(ident, ProcSample(100, 0))],
    ...                    complete=True, keyframe=True)
    >>> first.count(b"\\n"), b'"proc"' in first
    (2, True)
    >>> enc.encode("s", 20.0, system, [(ident, ProcSample(100, 0))])[9:]
    b'{"t":"s","ts":20.0,"m":[8,4,0,0],"p":[]}\\n'
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from lostbeat.recording.codec import (
    BadLine,
    decode_kernel,
    encode_aggregate_row,
    encode_identity,
    encode_kernel,
    encode_sample_row,
    encode_system,
    encode_system_aggregate,
    frame,
    unframe,
)
from lostbeat.recording.schema import (
    SCHEMA_VERSION,
    Identity,
    KernelCounts,
    KernelRecord,
    ProcAggregate,
    ProcessKey,
    ProcSample,
    Snapshot,
    SystemAggregate,
    SystemSample,
    Tier,
)

__all__ = [
    "KERNEL_CAP",
    "KERNEL_LINE",
    "DeltaEncoder",
    "RawShardWriter",
    "count_kernel_records",
    "kernel_lines",
    "open_record",
]

Row = ProcSample | ProcAggregate
Ref = tuple[int, float]

KERNEL_CAP = 20_000
"""Most kernel log records one shard keeps (a day of a quiet host holds a few hundred; a
flood past the cap is counted in the shard, not kept): about 3 MB at worst."""
KERNEL_LINE = 512
"""Most kernel records per ``kmsg`` line, so that no line of a shard grows without bound."""


def count_kernel_records(path: Path) -> int:
    """Kernel records a shard already holds (an earlier run's count against the cap)."""
    kept = 0
    with open(path, "rb") as lines:
        for line in lines:
            if b'{"t":"kmsg"' in line[:24]:
                try:
                    kept += len(decode_kernel(unframe(line))[0])
                except BadLine:
                    continue
    return kept


def kernel_lines(ts: float, records: Sequence[KernelRecord], counts: KernelCounts) -> bytes:
    """``kmsg`` lines for ``records`` (none when there is nothing to say)."""
    if not records and not counts:
        return b""
    out = []
    for start in range(0, max(len(records), 1), KERNEL_LINE):
        chunk = records[start : start + KERNEL_LINE]
        out.append(frame(encode_kernel(ts, chunk, counts if start == 0 else KernelCounts())))
    return b"".join(out)


def open_record(
    tier: Tier, *, ts: float, interval_s: float | None, boot_time: float | None, host: str | None
) -> bytes:
    """The ``open`` line that starts every segment."""
    return frame(
        {
            "t": "open",
            "v": SCHEMA_VERSION,
            "tier": tier.value,
            "ts": round(ts, 3),
            "interval": interval_s,
            "boot": boot_time,
            "host": host,
        }
    )


class DeltaEncoder:
    """Encodes successive tables of one segment, remembering what each line said."""

    def __init__(self) -> None:
        # keyed by pid and start time: a process that renames itself keeps its id
        self._ids: dict[Ref, int] = {}
        self._idents: dict[Ref, Identity] = {}
        self._last: dict[Ref, Row] = {}
        self._next_id = 0

    def encode(
        self,
        kind: str,
        ts: float,
        system: SystemSample | SystemAggregate,
        rows: Iterable[tuple[Identity, Row]],
        *,
        gone: Iterable[ProcessKey] = (),
        complete: bool = False,
        keyframe: bool = False,
        samples: int | None = None,
    ) -> bytes:
        """One ``s`` or ``a`` line, preceded by ``proc`` lines for new processes (and for
        known ones whose identity changed: a new name, command line or cgroup).

        Args:
            kind: ``"s"`` for a raw sample, ``"a"`` for an aggregate bucket.
            rows: processes with their current values; unchanged ones are left out of
                the line unless ``keyframe``.
            gone: processes that ended since the previous line.
            complete: ``rows`` lists every live process, so any other one is gone.
            keyframe: write every row (needs ``complete``), so a reader can start here.
        """
        rows = list(rows)
        if complete:
            seen = {identity.key.ref for identity, _ in rows}
            gone_refs = [ref for ref in self._last if ref not in seen]
        elif keyframe:
            raise ValueError("a keyframe needs the complete table")
        else:
            gone_refs = [key.ref for key in gone]
        gone_ids = [self._ids.pop(ref) for ref in gone_refs if ref in self._ids]
        for ref in gone_refs:
            self._last.pop(ref, None)
            self._idents.pop(ref, None)
        out: list[bytes] = []
        encoded: list[list[Any]] = []
        for identity, row in rows:
            ref = identity.key.ref
            ident_id = self._ids.get(ref)
            if ident_id is None:
                ident_id = self._ids[ref] = self._next_id
                self._next_id += 1
                self._idents[ref] = identity
                out.append(frame(encode_identity(ident_id, identity)))
            elif self._idents.get(ref) != identity:  # renamed, exec'd, moved: say so
                self._idents[ref] = identity
                out.append(frame(encode_identity(ident_id, identity)))
            elif not keyframe and self._last.get(ref) == row:
                continue
            self._last[ref] = row
            if isinstance(row, ProcSample):
                encoded.append(encode_sample_row(ident_id, row))
            else:
                encoded.append(encode_aggregate_row(ident_id, row))
        record: dict[str, Any] = {"t": kind, "ts": round(ts, 3)}
        if keyframe:
            record["k"] = 1
        if samples is not None:
            record["n"] = samples
        record["m"] = (
            encode_system(system)
            if isinstance(system, SystemSample)
            else encode_system_aggregate(system)
        )
        record["p"] = encoded
        if gone_ids and not keyframe:  # a keyframe's reader infers the gone ones
            record["g"] = gone_ids
        out.append(frame(record))
        return b"".join(out)


class RawShardWriter:
    """Appends raw samples to one day's shard; one segment per writer."""

    def __init__(
        self,
        path: Path,
        *,
        host: str | None,
        interval_s: float,
        keyframe_every_s: float = 3600.0,
        fsync_every_s: float = 60.0,
        kernel_cap: int = KERNEL_CAP,
    ) -> None:
        """
        Args:
            kernel_cap: most kernel records the shard keeps, over every recorder run.
        """
        self.path = path
        self._host = host
        self._interval_s = interval_s
        self._keyframe_every_s = keyframe_every_s
        self.fsync_every_s = fsync_every_s
        self.last_ts: float | None = None
        self._fd: int | None = None
        self._encoder = DeltaEncoder()
        self._last_keyframe: float | None = None
        self._last_sync = 0.0
        self.bytes_written = 0
        self.kernel_cap = kernel_cap
        self.kernel_kept = 0
        """Kernel records the shard holds, against ``kernel_cap``."""

    def append(self, snapshot: Snapshot) -> int:
        """Write one sample; returns the bytes written."""
        data = b""
        if self._fd is None:
            data = self._open(snapshot)
        keyframe = (
            self._last_keyframe is None
            or snapshot.ts - self._last_keyframe >= self._keyframe_every_s
        )
        if keyframe:
            self._last_keyframe = snapshot.ts
        data += self._encoder.encode(
            "s", snapshot.ts, snapshot.system, snapshot.procs, complete=True, keyframe=keyframe
        )
        records, counts = snapshot.kernel, snapshot.kernel_counts
        room = max(0, self.kernel_cap - self.kernel_kept)
        if len(records) > room:
            counts += KernelCounts(dropped=len(records) - room)
            records = records[:room]
        self.kernel_kept += len(records)
        data += kernel_lines(snapshot.ts, records, counts)
        self._write(data)  # one write: a kill tears at most this sample
        self.last_ts = snapshot.ts
        if snapshot.ts - self._last_sync >= self.fsync_every_s:
            self.sync(snapshot.ts)
        return len(data)

    def _open(self, snapshot: Snapshot) -> bytes:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o640)
        self._fd = fd
        self._last_sync = snapshot.ts
        prefix = b""
        size = os.fstat(fd).st_size
        if size:
            # A previous run may have been killed in the middle of a line: end that torn
            # line so it stays one bad line (skipped and counted) instead of spoiling ours.
            with open(self.path, "rb") as tail:
                tail.seek(size - 1)
                if tail.read(1) != b"\n":
                    prefix = b"\n"
            self.kernel_kept = count_kernel_records(self.path)
        return prefix + open_record(
            Tier.RAW,
            ts=snapshot.ts,
            interval_s=self._interval_s,
            boot_time=snapshot.boot_time,
            host=self._host,
        )

    def _write(self, data: bytes) -> None:
        assert self._fd is not None
        view = memoryview(data)
        while view:
            written = os.write(self._fd, view)
            view = view[written:]
        self.bytes_written += len(data)

    def sync(self, now: float) -> None:
        """Flush to the disk (a crash of the host, not just the process, loses less)."""
        if self._fd is not None:
            os.fdatasync(self._fd)
        self._last_sync = now

    def close(self) -> None:
        if self._fd is not None:
            os.fdatasync(self._fd)
            os.close(self._fd)
            self._fd = None
