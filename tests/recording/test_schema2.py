"""Schema 2 of the shards: the kernel log's records, names that change, each process's cgroup.

Written by the real store, read back by the real parser, across tiers and recorder restarts;
a schema 1 shard still reads as it did.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

from lostbeat.analyzer.parsers.recordings import KernelRecord, parse_recording
from lostbeat.recording.codec import frame
from lostbeat.recording.marker import open_directory, read_marker
from lostbeat.recording.replay import table_at
from lostbeat.recording.schema import SCHEMA_VERSION, KernelCounts, Snapshot
from lostbeat.recording.store import Retention, Store
from lostbeat.recording.writer import RawShardWriter

DAY = 86400.0
T0 = 1_714_521_600.0  # 2024-05-01 00:00:00 UTC

OOM = [
    "oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),cpuset=/,mems_allowed=0,"
    "oom_memcg=/lb,task_memcg=/lb,task=leaker,pid=4300,uid=0",
    "Memory cgroup out of memory: Killed process 4300 (leaker) total-vm:115112kB, "
    "anon-rss:97920kB, file-rss:6872kB, shmem-rss:0kB, UID:0 pgtables:264kB oom_score_adj:0",
]


def _store(directory: Path, **kw: object) -> Store:
    open_directory(directory, host="web1", interval_s=10.0, now=T0)
    return Store(
        directory,
        host="web1",
        interval_s=10.0,
        fsync_every_s=DAY,
        retention=Retention(max_bytes=None),
        **kw,  # type: ignore[arg-type]
    )


NONE = KernelCounts()


def _with_kernel(snap: Snapshot, texts: list[str], *, seq0: int, counts=NONE, at=None):  # type: ignore[no-untyped-def]
    epoch = snap.ts - 0.5 if at is None else at
    records = tuple(KernelRecord(epoch, 3, seq0 + n, text) for n, text in enumerate(texts))
    return replace(snap, kernel=records, kernel_counts=counts)


def test_kernel_records_are_kept_in_order_with_their_counts(tmp_path: Path, kit) -> None:
    store = _store(tmp_path)
    leaker = kit.ident(4300, "leaker")
    for n in range(6):
        snap = kit.snapshot(T0 + 10 * n, {leaker: 1000 + 100 * n})
        if n == 2:
            snap = _with_kernel(
                snap, ["usb 1-1: new device"], seq0=10, counts=KernelCounts(3, 1, 2)
            )
        if n == 4:
            snap = _with_kernel(snap, OOM, seq0=20)
        store.append(snap)
    store.close()
    rec = parse_recording(kit.files(tmp_path), path=str(tmp_path))
    assert [r.text for r in rec.kernel] == ["usb 1-1: new device", *OOM]
    assert [(r.seq, r.priority, r.epoch) for r in rec.kernel] == [
        (10, 3, T0 + 19.5), (20, 3, T0 + 39.5), (21, 3, T0 + 39.5)
    ]  # fmt: skip
    assert rec.kernel_counts == KernelCounts(dropped=3, unparsed=1, overwritten=2)
    assert len(rec.system) == 6  # the kernel lines cost no sample


def test_a_shard_keeps_at_most_its_cap_over_restarts_and_counts_the_rest(
    tmp_path: Path, kit
) -> None:
    shard = tmp_path / "raw" / "2024-05-01.jsonl"
    ident = kit.ident(1)
    writer = RawShardWriter(shard, host="h", interval_s=10.0, kernel_cap=5)
    writer.append(_with_kernel(kit.snapshot(T0, {ident: 1}), [f"l{n}" for n in range(4)], seq0=0))
    writer.close()
    again = RawShardWriter(shard, host="h", interval_s=10.0, kernel_cap=5)  # a restart
    again.append(
        _with_kernel(kit.snapshot(T0 + 10, {ident: 1}), [f"m{n}" for n in range(4)], seq0=4)
    )
    again.close()
    rec = parse_recording([(str(shard.relative_to(tmp_path)), shard.read_bytes())], path="r")
    assert [r.text for r in rec.kernel] == ["l0", "l1", "l2", "l3", "m0"]
    assert rec.kernel_counts.dropped == 3  # said in the shard, not lost silently


def test_the_same_record_read_twice_is_kept_once(tmp_path: Path, kit) -> None:
    store = _store(tmp_path)
    ident = kit.ident(1)
    store.append(_with_kernel(kit.snapshot(T0, {ident: 1}), OOM, seq0=20, at=T0 - 1))
    store.close()
    store = _store(tmp_path)  # a recorder killed before it saved its place reads them again
    store.append(_with_kernel(kit.snapshot(T0 + 10, {ident: 1}), OOM, seq0=20, at=T0 - 1))
    store.close()
    rec = parse_recording(kit.files(tmp_path), path="r")
    assert [r.seq for r in rec.kernel] == [20, 21]


def test_a_renamed_process_is_one_history_under_its_last_name(tmp_path: Path, kit) -> None:
    store = _store(tmp_path)
    shell = kit.ident(4300, "bash")
    leaker = replace(shell, key=replace(shell.key, name="leaker", cmdline="python3 leak.py"))
    moved = replace(leaker, cgroup="/system.slice/leak.service")
    for n in range(9):
        who = shell if n < 3 else leaker if n < 6 else moved
        store.append(kit.snapshot(T0 + 10 * n, {who: 1000 + 100 * n}))
    store.close()
    rec = parse_recording(kit.files(tmp_path), path="r")
    (hist,) = [h for h in rec.processes if h.key.pid == 4300]
    assert (hist.key.name, hist.key.cmdline, hist.cgroup) == (
        "leaker", "python3 leak.py", "/system.slice/leak.service"
    )  # fmt: skip
    assert [p.rss_kb for p in hist.points] == [1000 + 100 * n for n in range(9)]
    # the table at a moment shows the name the process had then
    assert table_at(tmp_path, at=T0 + 10).rows[0][0].key.name == "bash"
    assert table_at(tmp_path, at=T0 + 40).rows[0][0].key.name == "leaker"


def test_renames_kernel_records_and_cgroups_survive_the_day_roll(tmp_path: Path, kit) -> None:
    store = _store(tmp_path)
    shell = kit.ident(4300, "bash")
    leaker = replace(shell, key=replace(shell.key, name="leaker"), cgroup="/lb")
    for n in range(12):
        who = shell if n < 6 else leaker
        snap = kit.snapshot(T0 + 10 * n, {who: 1000 + 100 * n})
        store.append(_with_kernel(snap, OOM, seq0=20) if n == 11 else snap)
    store.append(kit.snapshot(T0 + DAY + 5, {leaker: 5000}))  # the next day: the first closes
    store.close()
    for name in ("raw/2024-05-01.jsonl.gz", "raw/2024-05-02.jsonl"):
        (tmp_path / name).unlink()  # only the minute and hour tiers are left of the day
    rec = parse_recording(kit.files(tmp_path), path="r")
    assert rec.coverage[0].tier.value == "minute"
    (hist,) = [h for h in rec.processes if h.key.pid == 4300]
    assert (hist.key.name, hist.cgroup) == ("leaker", "/lb")
    assert [r.text for r in rec.kernel] == OOM


def test_a_bad_kmsg_line_loses_only_its_records(tmp_path: Path, kit) -> None:
    store = _store(tmp_path)
    ident = kit.ident(1)
    for n in range(4):
        snap = kit.snapshot(T0 + 10 * n, {ident: 100 + n})
        store.append(_with_kernel(snap, ["x"], seq0=n) if n == 1 else snap)
    store.close()
    shard = tmp_path / "raw" / "2024-05-01.jsonl"
    lines = shard.read_bytes().splitlines(keepends=True)
    bad = next(i for i, line in enumerate(lines) if b'"t":"kmsg"' in line)
    lines[bad] = lines[bad].replace(b'"x"', b'"y"')  # its CRC no longer matches
    shard.write_bytes(b"".join(lines))
    rec = parse_recording(kit.files(tmp_path), path="r")
    assert rec.kernel == ()
    assert [str(p) for p in rec.problems] == [f"raw/2024-05-01.jsonl:{bad + 1}: CRC mismatch"]
    assert [p.rss_kb for p in rec.processes[0].points] == [100, 101, 102, 103]  # no keyframe wait


def test_a_schema_1_recording_still_reads_and_its_marker_is_raised_when_written(
    tmp_path: Path,
) -> None:
    shard = [
        frame({"t": "open", "v": 1, "tier": "raw", "ts": T0, "interval": 10.0, "boot": 0}),
        frame({"t": "proc", "id": 0, "pid": 7, "start": 1.0, "name": "a", "cmd": "a -x",
               "ppid": 1, "uid": 0}),
        frame({"t": "s", "ts": T0, "k": 1, "m": [8, 4, 0, 0], "p": [[0, 100, 0, 1, 1, 1, "S"]]}),
        frame({"t": "s", "ts": T0 + 10, "m": [8, 4, 0, 0], "p": [[0, 200, 0, 1, 1, 1, "S"]]}),
    ]  # fmt: skip
    marker = {"schema": "lostbeat.recording/1", "schema_version": 1, "host": "old"}
    (tmp_path / "raw").mkdir()
    (tmp_path / "raw" / "2024-05-01.jsonl").write_bytes(b"".join(shard))
    (tmp_path / "lostbeat-recording.json").write_text(json.dumps(marker))
    files = sorted(
        (p.relative_to(tmp_path).as_posix(), p.read_bytes())
        for p in tmp_path.rglob("*")
        if p.is_file()
    )
    rec = parse_recording(files, path="r")
    assert [(h.key.name, h.cgroup, len(h.points)) for h in rec.processes] == [("a", None, 2)]
    assert rec.kernel == () and not rec.kernel_counts
    opened = open_directory(tmp_path, host="old", interval_s=10.0, now=T0)
    on_disk = read_marker((tmp_path / "lostbeat-recording.json").read_bytes(), path="m")
    assert opened.schema_version == on_disk.schema_version == SCHEMA_VERSION == 2
    assert on_disk.host == "old"
