"""Shard lines: one JSON record per line behind its CRC-32, ``"%08x %s\\n"``.

A line whose CRC does not match its payload, or that has no newline (torn by a crash in
the middle of a write), is not a record: readers skip it and count it. Records:

``open``  a segment starts (each shard, each recorder start): tier, interval, boot, host
``proc``  a process first seen in this segment, under a small id the rows then use; the
          same id again when the process renamed itself or ran ``exec`` (schema 2)
``s``     a raw sample: system memory, rows of processes that changed, ids that are gone;
          ``"k": 1`` marks a keyframe, whose rows list every live process
``a``     an aggregate bucket (minute or hour): same shape, min/mean/max rows
``kmsg``  kernel log records read since the previous sample, ``[epoch, priority, seq,
          text]`` each, and the records not kept (``drop``, ``bad``, ``lost``; schema 2)

Examples:
    >>> line = frame({"t": "s", "ts": 1.5})
    >>> line
    b'fe00dce0 {"t":"s","ts":1.5}\\n'
    >>> unframe(line)
    {'t': 's', 'ts': 1.5}
    >>> unframe(line.replace(b"1.5", b"2.5"))
    Traceback (most recent call last):
    ...
    lostbeat.recording.codec.BadLine: CRC mismatch
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Sequence
from typing import Any

from lostbeat.recording.schema import (
    Identity,
    KernelCounts,
    KernelRecord,
    ProcAggregate,
    ProcessKey,
    ProcSample,
    SystemAggregate,
    SystemSample,
)

__all__ = [
    "BadLine",
    "decode_aggregate_row",
    "decode_identity",
    "decode_ids",
    "decode_kernel",
    "decode_sample_row",
    "decode_system",
    "decode_system_aggregate",
    "encode_aggregate_row",
    "encode_identity",
    "encode_kernel",
    "encode_sample_row",
    "encode_system",
    "encode_system_aggregate",
    "frame",
    "unframe",
]

_DUMPS = json.JSONEncoder(separators=(",", ":"), ensure_ascii=True).encode


class BadLine(ValueError):
    """A line that is not a valid record; the message says why."""


def frame(record: dict[str, Any]) -> bytes:
    """Serialise one record as a CRC-framed line."""
    payload = _DUMPS(record).encode("ascii")
    return b"%08x %s\n" % (zlib.crc32(payload), payload)


def unframe(line: bytes) -> dict[str, Any]:
    """Check one line's CRC and return its record.

    Raises:
        BadLine: torn, CRC mismatch, or not a JSON object with a ``t`` field.
    """
    if not line.endswith(b"\n"):
        raise BadLine("torn line (no newline)")
    if len(line) < 11 or line[8:9] != b" ":
        raise BadLine("expected '<crc32 hex> <json>'")
    payload = line[9:-1]
    try:
        crc = int(line[:8], 16)
    except ValueError as err:
        raise BadLine("expected '<crc32 hex> <json>'") from err
    if zlib.crc32(payload) != crc:
        raise BadLine("CRC mismatch")
    try:
        record = json.loads(payload)
    except (ValueError, RecursionError) as err:  # RecursionError: nesting deeper than Python's
        raise BadLine(f"bad JSON: {err}") from err
    if not isinstance(record, dict) or not isinstance(record.get("t"), str):
        raise BadLine("expected a JSON object with a 't' field")
    return record


def _int(value: object) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise BadLine(f"expected an integer or null, got {value!r}")
    return value


def _ints(values: object, count: int) -> list[int | None]:
    if not isinstance(values, list) or len(values) != count:
        raise BadLine(f"expected a list of {count} integers")
    return [_int(v) for v in values]


def encode_identity(ident_id: int, identity: Identity) -> dict[str, Any]:
    key = identity.key
    record = {
        "t": "proc",
        "id": ident_id,
        "pid": key.pid,
        "start": key.start,
        "name": key.name,
        "cmd": key.cmdline,
        "ppid": identity.ppid,
        "uid": identity.uid,
    }
    if identity.cgroup is not None:
        record["cg"] = identity.cgroup
    return record


def decode_identity(record: dict[str, Any]) -> tuple[int, Identity]:
    ident_id, pid = _int(record.get("id")), _int(record.get("pid"))
    start, name, cmd = record.get("start"), record.get("name"), record.get("cmd")
    if ident_id is None or pid is None or not isinstance(start, int | float):
        raise BadLine("proc record needs id, pid and start")
    if not isinstance(name, str) or not isinstance(cmd, str):
        raise BadLine("proc record needs name and cmd strings")
    cgroup = record.get("cg")
    if not (cgroup is None or isinstance(cgroup, str)):
        raise BadLine("proc record's cg must be a string")
    key = ProcessKey(name=name, cmdline=cmd, pid=pid, start=float(start))
    identity = Identity(
        key, ppid=_int(record.get("ppid")), uid=_int(record.get("uid")), cgroup=cgroup
    )
    return ident_id, identity


def encode_kernel(
    ts: float, records: Sequence[KernelRecord], counts: KernelCounts
) -> dict[str, Any]:
    """A ``kmsg`` record: the kernel log records of one sample and what was not kept."""
    record: dict[str, Any] = {"t": "kmsg", "ts": round(ts, 3)}
    record["r"] = [[round(r.epoch, 6), r.priority, r.seq, r.text] for r in records]
    for name, value in (
        ("drop", counts.dropped),
        ("bad", counts.unparsed),
        ("lost", counts.overwritten),
    ):
        if value:
            record[name] = value
    return record


def decode_kernel(record: dict[str, Any]) -> tuple[list[KernelRecord], KernelCounts]:
    """The records and counts of a ``kmsg`` record.

    >>> decode_kernel(encode_kernel(9.0, [KernelRecord(1.5, 3, 7, "x")], KernelCounts(2)))
    ([KernelRecord(epoch=1.5, priority=3, seq=7, text='x')], KernelCounts(dropped=2, \
unparsed=0, overwritten=0))
    """
    rows = record.get("r")
    if not isinstance(rows, list):
        raise BadLine("kmsg record needs a list of records")
    out = []
    for row in rows:
        if not isinstance(row, list) or len(row) != 4:
            raise BadLine("expected a kernel record of 4 fields")
        epoch, priority, seq, text = row
        if isinstance(epoch, bool) or not isinstance(epoch, int | float):
            raise BadLine("a kernel record needs a numeric epoch")
        if not isinstance(text, str):
            raise BadLine("a kernel record needs a text")
        out.append(KernelRecord(float(epoch), _int(priority), _int(seq), text))
    counts = [_int(record.get(name)) or 0 for name in ("drop", "bad", "lost")]
    return out, KernelCounts(*counts)


def encode_sample_row(ident_id: int, s: ProcSample) -> list[Any]:
    return [ident_id, s.rss_kb, s.swap_kb, s.vsz_kb, s.threads, s.cpu_ticks, s.state]


def decode_sample_row(row: object) -> tuple[int, ProcSample]:
    if not isinstance(row, list) or len(row) != 7:
        raise BadLine("expected a sample row of 7 fields")
    ident_id, rss, swap, vsz, threads, cpu = _ints(row[:6], 6)
    state = row[6]
    if ident_id is None or not (state is None or isinstance(state, str)):
        raise BadLine("sample row needs an id and a state string")
    return ident_id, ProcSample(rss, swap, vsz, threads, cpu, state)


def encode_aggregate_row(ident_id: int, a: ProcAggregate) -> list[int | None]:
    return [ident_id, a.rss_min, a.rss_mean, a.rss_max, a.swap_min, a.swap_mean, a.swap_max]


def decode_aggregate_row(row: object) -> tuple[int, ProcAggregate]:
    ident_id, *values = _ints(row, 7)
    if ident_id is None:
        raise BadLine("aggregate row needs an id")
    return ident_id, ProcAggregate(*values)


def encode_system(s: SystemSample) -> list[int | None]:
    return [s.mem_total, s.mem_available, s.swap_total, s.swap_used]


def decode_system(values: object) -> SystemSample:
    return SystemSample(*_ints(values, 4))


def encode_system_aggregate(s: SystemAggregate) -> list[int | None]:
    return [
        s.mem_total,
        s.mem_available_min,
        s.mem_available_mean,
        s.mem_available_max,
        s.swap_total,
        s.swap_used_min,
        s.swap_used_mean,
        s.swap_used_max,
    ]


def decode_system_aggregate(values: object) -> SystemAggregate:
    return SystemAggregate(*_ints(values, 8))


def decode_ids(values: object) -> Sequence[int]:
    """The ``g`` (gone) list of a sample or bucket."""
    if not isinstance(values, list) or not all(
        isinstance(v, int) and not isinstance(v, bool) for v in values
    ):
        raise BadLine("expected a list of ids")
    return values
