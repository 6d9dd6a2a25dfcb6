"""The walk of a compressed bundle in a thread of its own, beside the parsing."""

from __future__ import annotations

import gzip
import io
import tarfile
import threading
from pathlib import Path

import pytest

from lostbeat.analyzer import _handoff, _tarstream, sources
from lostbeat.analyzer._collect import Text, _Collector
from lostbeat.analyzer._limits import Limits
from lostbeat.analyzer.result import InputRecord, InputStatus
from lostbeat.analyzer.sources import TarSource

from .test_sources import MEMINFO, TOP, VMKERNEL, VMKSUMMARY, write_tar

MiB = 1024 * 1024


@pytest.fixture(autouse=True)
def _threads_for_any_size(monkeypatch: pytest.MonkeyPatch) -> None:
    """These small archives are read as a large one is: inflated and walked in threads."""
    monkeypatch.setattr(sources, "THREAD_MIN", 0)
    monkeypatch.setattr(_tarstream, "THREAD_MIN", 0)


def _sequential(walk: object, col: _Collector, consume: object) -> int:
    """The walk with each member parsed where the walker reads it: one thread."""
    col.consume = consume  # type: ignore[assignment]
    return walk()  # type: ignore[operator, no-any-return]


def _mixed_bundle(path: Path) -> Path:
    """Wanted members among unwanted, unsafe and special ones, and a link."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.GNU_FORMAT) as tar:
        for name, data in [
            ("var/log/vmksummary", VMKSUMMARY * 3),
            ("vmfs/volumes/ds/vm/vmware.log", b"unrelated\n" * 5000),
            ("../escape/var/log/vmkernel", VMKERNEL),
            ("var/log/vmkernel", VMKERNEL * 40),
            ("proc/meminfo", MEMINFO),
            ("var/log/vmkernel.1", b""),
            ("var/log/messages", b"Nov 13 03:01:35 esx01 kernel: unrelated\n" * 300),
        ]:
            info = tarfile.TarInfo(name if name.startswith("..") else f"{TOP}/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        link = tarfile.TarInfo(f"{TOP}/var/log/vmkernel.2")
        link.type, link.linkname = tarfile.SYMTYPE, "/etc/shadow"
        tar.addfile(link)
    path.write_bytes(gzip.compress(raw.getvalue()))
    return path


def _collect(
    path: Path, limits: Limits | None = None, *, silent: str = ""
) -> tuple[list[object], list[object]]:
    """What a consumer saw and the records, the consumer recording nothing for ``silent``."""
    seen: list[object] = []

    def consume(text: Text) -> InputRecord | None:
        lines = list(text.lines())
        seen.append((text.path, text.artifact, len(lines), text.note, text.error))
        if text.artifact == silent:
            return None
        return InputRecord(text.path, InputStatus.READ, text.artifact, f"{len(lines)} lines")

    collected = TarSource(path, limits=limits).collect(consume=consume)
    records = [(r.path, r.status, r.kind, r.reason) for r in collected.records]
    return seen, records


@pytest.mark.parametrize(
    ("limits", "silent"),
    [
        (None, ""),
        (Limits(parsed_bytes=4096), ""),
        (Limits(recorded=3), ""),
        (Limits(recorded=2), "vmksummary"),  # a place reserved, then left empty
        (Limits(recorded=1), "vmkernel_log"),
    ],
)
def test_members_and_records_come_as_in_one_thread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, limits: Limits | None, silent: str
) -> None:
    bundle = _mixed_bundle(tmp_path / "b.tgz")
    beside = _collect(bundle, limits, silent=silent)
    monkeypatch.setattr(sources, "walk_beside", _sequential)
    alone = _collect(bundle, limits, silent=silent)
    assert beside == alone
    assert len(beside[0]) >= 2 and beside[1]  # something was parsed, something recorded


def test_a_broken_archive_gives_the_members_before_the_break_then_its_record(
    tmp_path: Path,
) -> None:
    whole = _mixed_bundle(tmp_path / "b.tgz").read_bytes()
    cut = tmp_path / "cut.tgz"
    cut.write_bytes(whole[: len(whole) * 2 // 3])
    seen, records = _collect(cut)
    assert [s[0] for s in seen][:1] == ["var/log/vmksummary"]  # type: ignore[index]
    assert records[-1][1] is InputStatus.BROKEN  # type: ignore[index]
    assert "members before it were kept" in records[-1][3]  # type: ignore[index, operator]


class _Zeros(io.RawIOBase):
    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        buffer[:] = bytes(len(buffer))
        return len(buffer)


def test_a_consumer_that_raises_stops_the_walk_and_its_threads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bundle = tmp_path / "b.tgz"
    with (
        gzip.open(bundle, "wb", compresslevel=1) as out,
        tarfile.open(fileobj=out, mode="w") as tar,
    ):
        for name, size in (("var/log/vmkernel", len(VMKERNEL)), ("vmfs/big.vmdk", 256 * MiB)):
            info = tarfile.TarInfo(f"{TOP}/{name}")
            info.size = size
            tar.addfile(info, io.BytesIO(VMKERNEL) if size == len(VMKERNEL) else _Zeros())
    steps = [0]
    step = _tarstream._Stream._next

    def counted(self: _tarstream._Stream) -> bool:
        steps[0] += 1
        return step(self)

    monkeypatch.setattr(_tarstream._Stream, "_next", counted)
    at_raise: list[int] = []

    def consume(text: Text) -> InputRecord:
        while steps[0] < 8:  # the walker is well into the big member, which nobody wants
            threading.Event().wait(0.001)
        at_raise.append(steps[0])
        raise RuntimeError("stop here")

    with pytest.raises(RuntimeError, match="stop here"):
        TarSource(bundle).collect(consume=consume)
    # the walk stopped a few chunks on, not at the end of 256 one-MiB chunks
    assert steps[0] - at_raise[0] <= 32
    names = {t.name for t in threading.enumerate()}
    assert not names & {"lostbeat-walk", "lostbeat-inflate"}


def test_the_members_waiting_for_the_parser_stay_under_the_bound(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    member = b"Nov 13 03:01:35 esx01 kernel: x\n" * (256 * 1024 // 32)  # 256 KiB
    files = {f"var/log/messages.{n}": member for n in range(1, 25)}
    bundle = write_tar(tmp_path / "b.tgz", files)
    monkeypatch.setattr(_handoff, "AHEAD_BYTES", 1 * MiB)
    waiting: list[int] = []
    put = _handoff.Handoff.put

    def counted(self: _handoff.Handoff, text: Text, slot: int, size: int) -> None:
        put(self, text, slot, size)
        waiting.append(self._bytes)

    monkeypatch.setattr(_handoff.Handoff, "put", counted)
    seen, _ = _collect(bundle)
    assert len(seen) == 24
    assert max(waiting) <= 1 * MiB
    assert max(waiting) > 256 * 1024  # the walker did run ahead of the parser
