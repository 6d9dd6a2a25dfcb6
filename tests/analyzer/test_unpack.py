"""xz and bzip2, told by their bytes: a .tar.bz2 bundle, a log rotated as .xz or .bz2 inside
a bundle (SUSE's logrotate), and the same log given loose, are read as gzip is, under the
same bomb guard; a truncated stream is reported, never read as text."""

from __future__ import annotations

import bz2
import io
import lzma
import tarfile
from pathlib import Path

import pytest

from lostbeat.analyzer._limits import Limits
from lostbeat.analyzer.result import InputStatus
from lostbeat.analyzer.sources import FileSource, TarSource

MiB = 1024 * 1024
KILL = (
    b"Nov 03 08:06:47.252691 host kernel: Out of memory: Killed process 4242 (java) "
    b"total-vm:8123456kB, anon-rss:7890123kB, file-rss:0kB, shmem-rss:0kB, UID:1000\n"
)
LOG = b"Nov 03 08:06:40.000000 host systemd[1]: Started Session 7 of user root.\n" * 200 + KILL
PACK = {"xz": lzma.compress, "bzip2": bz2.compress}


def _tar(path: Path, files: dict[str, bytes], mode: str) -> Path:
    with tarfile.open(path, mode) as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(f"sosreport-host-2023-11-03/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def _texts(collected) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {m.path: m.data.decode() for m in collected.members}


@pytest.mark.parametrize("kind", ["xz", "bzip2"])
def test_a_rotated_log_compressed_either_way_is_read_inside_a_bundle(tmp_path, kind):
    member = f"var/log/messages-20231103.{'xz' if kind == 'xz' else 'bz2'}"
    archive = _tar(tmp_path / "sos.tar.bz2", {member: PACK[kind](LOG)}, "w:bz2")
    collected = TarSource(archive).collect()
    assert _texts(collected)[member] == LOG.decode()


@pytest.mark.parametrize("kind", ["xz", "bzip2"])
def test_a_loose_compressed_log_is_sniffed_from_its_text(tmp_path, kind):
    path = tmp_path / "messages-20231103"  # no suffix: the bytes tell
    path.write_bytes(PACK[kind](LOG))
    collected = FileSource(path).collect()
    assert collected.records == ()
    assert [m.artifact for m in collected.members] == ["host_log"]
    assert _texts(collected)[str(path)] == LOG.decode()


@pytest.mark.parametrize("kind", ["xz", "bzip2"])
def test_a_truncated_stream_is_reported_not_read(tmp_path, kind):
    whole = PACK[kind](LOG * 50)
    path = tmp_path / "messages"
    path.write_bytes(whole[: len(whole) // 2])
    collected = FileSource(path).collect()
    broken = [r for r in collected.records if r.status is InputStatus.BROKEN]
    skipped = [r for r in collected.records if r.status is InputStatus.SKIPPED]
    # xz gives back what it decoded before the cut; a bzip2 block is all or nothing
    assert broken or skipped
    reason = (broken or skipped)[0].reason
    assert f"{kind} data" in reason and ("truncated" in reason or "breaks off" in reason)


@pytest.mark.parametrize("kind", ["xz", "bzip2"])
def test_a_compressed_bomb_member_stops_at_the_ratio_guard(tmp_path, kind):
    bomb = PACK[kind](bytes(64 * MiB))
    archive = _tar(tmp_path / "b.tar", {"var/log/messages.1": bomb}, "w")
    limits = Limits(member_bytes=1 * MiB, ratio_after=4 * MiB, max_ratio=200)
    collected = TarSource(archive, limits=limits).collect()
    record = collected.records[0]
    assert record.status is InputStatus.BROKEN
    assert f"{kind} bomb" in record.reason
