"""What a recording's kernel log holds of one test's own processes, and another program's OOM
kill to put beside them.

``lostbeat record`` keeps the whole host's ``/dev/kmsg``, as it should: on the machine these
tests share, that log also holds the OOM kills and hung tasks of whatever else runs there, and
an analysis judges the last incident it finds. A test that checks what the analyzer makes of
its own workload analyses :func:`own_recording`, a copy whose kernel log has lost the reports
of other processes and of other memory cgroups, and nothing else; :func:`foreign_oom_kill`
makes such a report on purpose, so that a test shows it is not swayed by one.
"""

from __future__ import annotations

import contextlib
import gzip
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Collection, Iterable, Iterator
from pathlib import Path

from lostbeat.agent import cgroup as cg
from lostbeat.agent.kevents import Kind, Matcher, match
from lostbeat.procfs import Procfs
from lostbeat.recording.codec import BadLine, decode_kernel, unframe
from lostbeat.recording.schema import KernelRecord
from lostbeat.recording.writer import kernel_lines

_CLOSE = frozenset({Kind.OOM_KILL, Kind.OOM_NO_VICTIM})
"""The events that end an OOM report (from its ``invoked oom-killer`` line)."""


def others(
    records: Iterable[KernelRecord], *, pids: Collection[int], cgroup: str | None
) -> set[int]:
    """The sequence numbers of the records that report on other processes: each OOM report
    (its ``invoked oom-killer`` line to its kill, or to its nothing-to-kill line) whose victim
    is not one of ``pids`` and whose memory cgroup is not ``cgroup`` or within it, and each
    hung task that is not one of ``pids``."""
    matcher = Matcher()
    report: list[KernelRecord] = []
    drop: set[int | None] = set()
    for record in records:
        hit = match(record.text)
        if hit is not None and hit.kind is Kind.OOM_INVOKED:
            report = []
        report.append(record)
        event = matcher.feed(record.text)
        if event is None or not (event.kind in _CLOSE or event.kind is Kind.HUNG_TASK):
            continue
        memcg = event.memcg
        inside = (
            cgroup is not None
            and memcg is not None
            and (memcg == cgroup or memcg.startswith(cgroup.rstrip("/") + "/"))
        )
        if event.pid not in pids and not inside:
            drop |= {r.seq for r in report} if event.kind in _CLOSE else {record.seq}
        report = []
    return {seq for seq in drop if seq is not None}


def own_recording(
    directory: Path, into: Path, *, pids: Collection[int] = (), cgroup: str | None = None
) -> Path:
    """A copy of the recording ``directory`` at ``into`` without the kernel records of
    :func:`others`; every other line as it was."""
    shutil.copytree(directory, into)
    shards = sorted((into / "raw").glob("*.jsonl*"))
    texts = {shard: _read(shard) for shard in shards}
    records = [r for lines in texts.values() for line in lines for r in _kernel(line)]
    drop = others(records, pids=pids, cgroup=cgroup)
    for shard, lines in texts.items():
        data = b"".join(_narrowed(line, drop) for line in lines)
        if shard.suffix == ".gz":
            data = gzip.compress(data)
        shard.write_bytes(data)
    return into


def _read(shard: Path) -> list[bytes]:
    data = shard.read_bytes()
    return (gzip.decompress(data) if shard.suffix == ".gz" else data).splitlines(keepends=True)


def _kernel(line: bytes) -> list[KernelRecord]:
    if b'{"t":"kmsg"' not in line[:24]:
        return []
    try:
        return decode_kernel(unframe(line))[0]
    except BadLine:
        return []


def _narrowed(line: bytes, drop: set[int]) -> bytes:
    records = _kernel(line)
    if not records:
        return line
    record = unframe(line)
    kept = [r for r in records if r.seq not in drop]
    return (
        line
        if len(kept) == len(records)
        else kernel_lines(record["ts"], kept, decode_kernel(record)[1])
    )


LEAK = "keep = []\nwhile True:\n    keep.append(bytearray(b'x') * (4 << 20))\n"


@contextlib.contextmanager
def new_v1_group(prefix: str) -> Iterator[cg.MemoryCgroup | None]:
    """A new cgroup v1 memory group under this process's own (None on a host where this
    process cannot make one); its processes killed and the group removed at the end."""
    procfs = Procfs()
    hierarchy = cg.memory_hierarchy(procfs)
    if hierarchy is None or hierarchy.version is not cg.CgroupVersion.V1 or os.geteuid() != 0:
        yield None
        return
    own = cg.cgroup_of(procfs, "self", hierarchy) or "/"
    group = cg.MemoryCgroup(hierarchy, f"{own.rstrip('/')}/{prefix}-{uuid.uuid4().hex[:8]}")
    group.fs_path.mkdir()
    try:
        yield group
    finally:
        for _ in range(100):
            for pid in cg.member_pids(group):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            try:
                group.fs_path.rmdir()
                break
            except OSError:
                time.sleep(0.05)


@contextlib.contextmanager
def foreign_memory_group() -> Iterator[cg.MemoryCgroup | None]:
    """A memory group of 32 MB for another program (None, said once, where this process
    cannot make one)."""
    with new_v1_group("lostbeat-other") as group:
        if group is None:
            print("no other program's OOM kill here: it needs a cgroup v1 memory group, as root")
        else:
            (group.fs_path / "memory.limit_in_bytes").write_text(str(32 << 20))
        yield group


def foreign_oom_kill(group: cg.MemoryCgroup) -> int:
    """Another program, a ``python`` as any on this machine, grows in ``group`` until the
    kernel's OOM killer kills it; its pid."""
    procs = group.fs_path / "cgroup.procs"
    other = subprocess.Popen(
        ["sh", "-c", f'echo $$ > "{procs}" && exec "$@"', "sh", sys.executable, "-c", LEAK],
        stdout=subprocess.DEVNULL,
    )  # fmt: skip
    assert other.wait(60) == -signal.SIGKILL
    return other.pid
