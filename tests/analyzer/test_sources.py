"""Bundle sources on real tar archives, real gzip, real folders and files.

Every hostile case also checks that nothing was written: neither next to the archive, nor
in the working directory, nor at the absolute or ``..`` target a naive extractor would use.
"""

from __future__ import annotations

import contextlib
import gzip
import io
import os
import tarfile
import tempfile
import tracemalloc
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lostbeat.analyzer.result import InputStatus
from lostbeat.analyzer.sources import (
    Collected,
    DirSource,
    FileSource,
    Limits,
    MemorySource,
    TarSource,
    open_source,
)
from lostbeat.errors import InputError

MiB = 1024 * 1024
TOP = "vm-support-esx01-2010-03-16--12.51.4711"
VMKSUMMARY = (
    b"Nov 13 03:01:35 esx01 logger: (1258099291) hb: vmk loaded, 11795301.25, 11795288.970, "
    b"73, 153875, 153875, 567468032, VMap-583524, vmware-h-82812, webAcces-27332\n"
)
VMKERNEL = (
    b"42:14:02:29.347 cpu0:1024)VMNIX: ALERT: HB: 365: Lost heartbeat "
    b"(comm=vmnixhbd pid=20 t=29 to=30 clt=1).\n"
)
MEMINFO = b"MemTotal:799732 kB\nHighTotal:0 kB\nLowTotal:799732 kB\nSwapTotal:554168 kB\n"
PSOD = (
    b"""VMware ESX Server [Releasebuild-123630]
Lost heartbeat
frame=0x1f4fa34 ip=0xc014b306 cr2=0xb6bc5054 cr3=0x34401000 cr4=0x6f0
@BlueScreen: Lost heartbeat
VMK uptime: 42:14:03:58.308 TSC: 11010722567976450
"""
    + VMKERNEL
)  # the screen quotes the last vmkernel log lines (reference §2.2)

BUNDLE = {
    "var/log/vmksummary": VMKSUMMARY * 3,
    "var/log/vmksummary.1.gz": gzip.compress(VMKSUMMARY * 2, mtime=0),
    "var/log/vmksummary.d/vmksummary.2": VMKSUMMARY,
    "var/log/vmkernel": VMKERNEL,
    "var/log/vmkernel.2.gz": gzip.compress(VMKERNEL, mtime=0) * 2,  # two members
    "var/log/secure": b"Nov 13 03:01:35 esx01 sshd[1]: unrelated\n",
    "proc/meminfo": MEMINFO,
    "etc/vmware/esx.conf": b'/adv/Misc/PsodOnCosPanic = "1"\n',
    "tmp/vmware.4711.txt": b"VMware ESX Server 3.5.0 build-153875\n",
    "tmp/ps.4711.txt": b"USER PID %CPU %MEM VSZ RSS TTY STAT START TIME COMMAND\n",
    "tmp/pstree.4711.txt": b"init,1\n",
    "tmp/top.4711.txt": b"top - 12:51:04 up 42 days,  1 user,  load average: 0.1, 0.2, 0.3\n",
    "root/vmkernel-zdump-111309.07.13.1": b"\0" * 1024,
    "root/old_cores/cos-core-esx01.4711.core.gz": gzip.compress(b"core", mtime=0),
}
# what the bundle's wanted members read as (nested .gz inflated)
EXPECTED = {
    "var/log/vmksummary": ("vmksummary", VMKSUMMARY * 3),
    "var/log/vmksummary.1.gz": ("vmksummary", VMKSUMMARY * 2),
    "var/log/vmksummary.d/vmksummary.2": ("vmksummary", VMKSUMMARY),
    "var/log/vmkernel": ("vmkernel_log", VMKERNEL),
    "var/log/vmkernel.2.gz": ("vmkernel_log", VMKERNEL * 2),
    "proc/meminfo": ("meminfo", MEMINFO),
    "etc/vmware/esx.conf": ("esx_conf", BUNDLE["etc/vmware/esx.conf"]),
    "tmp/vmware.4711.txt": ("version", BUNDLE["tmp/vmware.4711.txt"]),
    "tmp/ps.4711.txt": ("ps", BUNDLE["tmp/ps.4711.txt"]),
    "tmp/pstree.4711.txt": ("pstree", BUNDLE["tmp/pstree.4711.txt"]),
    "tmp/top.4711.txt": ("top", BUNDLE["tmp/top.4711.txt"]),
}


def tar_bytes(files: dict[str, bytes], *, top: str = TOP, fmt: int = tarfile.GNU_FORMAT) -> bytes:
    """A real tar archive of ``files`` under the top folder, as vm-support packs it."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=fmt) as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(f"{top}/{name}" if top else name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return raw.getvalue()


def write_tar(
    path: Path,
    files: dict[str, bytes],
    *,
    top: str = TOP,
    fmt: int = tarfile.GNU_FORMAT,
    gz: bool = True,
) -> Path:
    """``tar czf`` (or ``tar cf``) of the top folder, written to ``path``."""
    raw = tar_bytes(files, top=top, fmt=fmt)
    path.write_bytes(gzip.compress(raw) if gz else raw)
    return path


def as_dict(collected: Collected) -> dict[str, tuple[str, bytes]]:
    return {m.path: (m.artifact, m.data) for m in collected.members}


def listing(*roots: Path) -> set[str]:
    found = set()
    for root in roots:
        for dirpath, dirnames, filenames in os.walk(root):
            found.update(os.path.join(dirpath, n) for n in dirnames + filenames)
    return found


@contextlib.contextmanager
def nothing_written(tmp_path: Path) -> Iterator[None]:
    """Fails when anything appeared in tmp_path, the cwd or its parent while reading."""
    cwd = Path.cwd()
    before = listing(tmp_path), set(os.listdir(cwd)), set(os.listdir(cwd.parent))
    yield
    assert (listing(tmp_path), set(os.listdir(cwd)), set(os.listdir(cwd.parent))) == before


def test_vm_support_layout(tmp_path: Path) -> None:
    collected = TarSource(write_tar(tmp_path / "esx-2010-03-16--12.51.4711.tgz", BUNDLE)).collect()
    assert as_dict(collected) == EXPECTED
    assert [m.path for m in collected.members] == [p for p in BUNDLE if p in EXPECTED]
    assert collected.names == tuple(BUNDLE)
    assert collected.host == "esx01"
    assert collected.records == ()
    assert collected.named("coredumps") == (
        "root/vmkernel-zdump-111309.07.13.1",
        "root/old_cores/cos-core-esx01.4711.core.gz",
    )
    assert [m.path for m in collected.of("vmkernel_log")] == [
        "var/log/vmkernel",
        "var/log/vmkernel.2.gz",
    ]


def test_no_top_folder_and_any_top_folder(tmp_path: Path) -> None:
    bare = TarSource(write_tar(tmp_path / "a.tgz", BUNDLE, top="")).collect()
    other = TarSource(write_tar(tmp_path / "b.tgz", BUNDLE, top="my-unpacked-bundle")).collect()
    assert as_dict(bare) == as_dict(other) == EXPECTED
    assert bare.host is None and other.host is None


def test_plain_tar_with_folder_entries_matches_the_folder_itself(tmp_path: Path) -> None:
    tree = tmp_path / "tree" / TOP
    for name, data in BUNDLE.items():
        (tree / name).parent.mkdir(parents=True, exist_ok=True)
        (tree / name).write_bytes(data)
    with tarfile.open(tmp_path / "bundle.tar", "w") as tar:
        tar.add(tree, arcname=TOP)  # folder entries first, as tar writes them
    from_tar = TarSource(tmp_path / "bundle.tar").collect()
    from_dir = DirSource(tmp_path / "tree").collect()
    inside = DirSource(tree).collect()
    assert as_dict(from_tar) == as_dict(from_dir) == as_dict(inside) == EXPECTED
    assert sorted(from_tar.names) == sorted(from_dir.names) == sorted(BUNDLE)
    assert from_tar.host == from_dir.host == inside.host == "esx01"


@pytest.mark.parametrize("fmt", [tarfile.GNU_FORMAT, tarfile.PAX_FORMAT, tarfile.USTAR_FORMAT])
def test_long_names(tmp_path: Path, fmt: int) -> None:
    top = "vm-support-" + "a-very-long-host-name-" * 3 + "x-2010-03-16--12.51.4711"
    deep = "vmfs/volumes/4533e089-1dfcdd21-f1d3-001a140ebdca/" + "vm" * 20 + "/vmware.log"
    files = {"var/log/vmksummary": VMKSUMMARY, deep: b"x\n", "proc/meminfo": MEMINFO}
    if fmt == tarfile.PAX_FORMAT:
        files["tmp/ps.4711.txt"] = "USER PID é\n".encode()
    collected = TarSource(write_tar(tmp_path / "b.tgz", files, top=top, fmt=fmt)).collect()
    assert len(f"{top}/{deep}") > 100
    assert collected.names == tuple(files)
    assert collected.host == "a-very-long-host-name-" * 3 + "x"
    assert as_dict(collected)["var/log/vmksummary"] == ("vmksummary", VMKSUMMARY)


def test_gnu_base256_size(tmp_path: Path) -> None:
    raw = bytearray(
        (write_tar(tmp_path / "a.tar", {"proc/meminfo": MEMINFO}, gz=False)).read_bytes()
    )
    raw[124:136] = b"\x80" + len(MEMINFO).to_bytes(11, "big")
    raw[148:156] = b"        "
    raw[148:156] = b"%06o\0 " % sum(raw[:512])
    (tmp_path / "a.tar").write_bytes(raw)
    assert as_dict(TarSource(tmp_path / "a.tar").collect()) == {
        "proc/meminfo": ("meminfo", MEMINFO)
    }


def _special(name: str, kind: bytes, link: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.linkname = kind, link
    return info


def test_hostile_members_are_listed_never_followed_or_written(tmp_path: Path) -> None:
    target = tmp_path / "abs-target" / "evil"
    hostile = [
        _special(f"{TOP}/var/log/vmksummary", tarfile.SYMTYPE, "/etc/shadow"),
        _special(f"{TOP}/proc/meminfo", tarfile.LNKTYPE, f"{TOP}/var/log/vmkernel"),
        _special(f"{TOP}/dev/sda", tarfile.BLKTYPE),
        _special(f"{TOP}/dev/tty", tarfile.CHRTYPE),
        _special(f"{TOP}/tmp/fifo", tarfile.FIFOTYPE),
        _special(f"{TOP}/var/log/sparse", tarfile.GNUTYPE_SPARSE),
    ]
    files = {
        "var/log/vmkernel": VMKERNEL,
        str(target): b"absolute\n",
        "../../escaped-by-dotdot": b"dotdot\n",
        "var/log/../../../escaped": b"dotdot\n",
    }
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.GNU_FORMAT) as tar:
        for info in hostile:
            tar.addfile(info)
        for name, data in files.items():
            info = tarfile.TarInfo(name if name.startswith(("/", "..")) else f"{TOP}/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    (tmp_path / "hostile.tgz").write_bytes(gzip.compress(raw.getvalue()))
    with nothing_written(tmp_path):
        collected = TarSource(tmp_path / "hostile.tgz").collect()

    assert as_dict(collected) == {"var/log/vmkernel": ("vmkernel_log", VMKERNEL)}
    reasons = {r.path: r.reason for r in collected.records}
    assert all(r.status is InputStatus.SKIPPED for r in collected.records)
    assert reasons["var/log/vmksummary"].startswith("symbolic link to '/etc/shadow'")
    assert reasons["proc/meminfo"].startswith("hard link to")
    assert reasons["dev/sda"].startswith("block device")
    assert reasons["dev/tty"].startswith("character device")
    assert reasons["tmp/fifo"].startswith("FIFO")
    assert reasons["var/log/sparse"].startswith("unsupported tar member type 'S'")
    assert reasons[str(target)].startswith("absolute path")
    assert reasons["../../escaped-by-dotdot"].startswith("path with '..'")
    assert reasons[f"{TOP}/var/log/../../../escaped"].startswith("path with '..'")
    kinds = {r.path: r.kind for r in collected.records}
    assert kinds["var/log/vmksummary"] == "vmksummary"
    assert not target.exists()
    assert "escaped" not in collected.names


def test_dir_source_never_follows_links(tmp_path: Path) -> None:
    root = tmp_path / "bundle"
    (root / "var" / "log").mkdir(parents=True)
    (root / "proc").mkdir()
    outside = tmp_path / "outside"
    (outside / "log").mkdir(parents=True)
    (outside / "secret").write_bytes(MEMINFO)
    (outside / "log" / "vmkernel").write_bytes(VMKERNEL)
    (root / "var" / "log" / "vmksummary").write_bytes(VMKSUMMARY)
    (root / "proc" / "meminfo").symlink_to(outside / "secret")
    (root / "root").symlink_to(outside / "log", target_is_directory=True)
    os.mkfifo(root / "var" / "log" / "vmkernel")
    with nothing_written(tmp_path):
        collected = DirSource(root).collect()
    assert as_dict(collected) == {"var/log/vmksummary": ("vmksummary", VMKSUMMARY)}
    reasons = {r.path: r.reason for r in collected.records}
    assert reasons["proc/meminfo"].startswith(f"symbolic link to {str(outside / 'secret')!r}")
    assert reasons["root"].startswith("symbolic link")
    assert reasons["var/log/vmkernel"].startswith("FIFO")
    assert {r.kind for r in collected.records} == {"meminfo", "vmkernel_log", None}


def _broken_bundle(tmp_path: Path) -> bytes:
    files = dict(BUNDLE)
    files["var/log/secure"] = os.urandom(2 * MiB)  # incompressible: the cut lands in it
    files["proc/meminfo"] = MEMINFO
    return write_tar(tmp_path / "full.tgz", files).read_bytes()


def test_truncated_gzip_keeps_what_came_before(tmp_path: Path) -> None:
    data = _broken_bundle(tmp_path)
    (tmp_path / "cut.tgz").write_bytes(data[: len(data) // 2])
    with nothing_written(tmp_path):
        collected = TarSource(tmp_path / "cut.tgz").collect()
    assert "var/log/vmksummary" in as_dict(collected)
    assert "proc/meminfo" not in as_dict(collected)
    (record,) = collected.records
    assert record.status is InputStatus.BROKEN and record.path == str(tmp_path / "cut.tgz")
    assert record.reason.startswith("gzip stream truncated at compressed byte")
    assert "'var/log/secure'" in record.reason


def test_corrupt_gzip_keeps_what_came_before(tmp_path: Path) -> None:
    data = bytearray(_broken_bundle(tmp_path))
    data[len(data) // 2 : len(data) // 2 + 64] = b"\xff" * 64
    (tmp_path / "bad.tgz").write_bytes(data)
    with nothing_written(tmp_path):
        collected = TarSource(tmp_path / "bad.tgz").collect()
    assert "var/log/vmksummary" in as_dict(collected)
    assert [r.status for r in collected.records] == [InputStatus.BROKEN]


def test_bad_tar_header_after_good_members(tmp_path: Path) -> None:
    path = write_tar(tmp_path / "a.tar", BUNDLE, gz=False)
    with tarfile.open(path) as tar:
        at = tar.getmember(f"{TOP}/tmp/top.4711.txt").offset
    raw = bytearray(path.read_bytes())
    raw[at : at + 512] = b"garbage!" * 64
    path.write_bytes(raw)
    collected = TarSource(path).collect()
    assert [m.path for m in collected.members][-1] == "tmp/pstree.4711.txt"
    (record,) = collected.records
    assert record.status is InputStatus.BROKEN
    assert record.reason.startswith(f"bad tar header checksum (tar offset {at}; last member")


def test_plain_tar_cut_inside_a_member(tmp_path: Path) -> None:
    raw = write_tar(
        tmp_path / "a.tar", {"proc/meminfo": MEMINFO, "var/log/vmkernel": VMKERNEL * 99}, gz=False
    )
    raw.write_bytes(raw.read_bytes()[:3000])
    collected = TarSource(raw).collect()
    assert as_dict(collected) == {"proc/meminfo": ("meminfo", MEMINFO)}
    assert "archive ends inside var/log/vmkernel" in collected.records[0].reason


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"", "empty file"),
        (b"this is not an archive\n" * 50, "not a gzip or tar archive"),
        (gzip.compress(b"plain text, not tar\n" * 50, mtime=0), "gzip data is not a tar archive"),
        (gzip.compress(tar_bytes(BUNDLE), mtime=0)[:20], "gzip stream truncated"),
        (b"\x1f\x8b" + b"\0" * 600, "corrupt gzip data"),
        (gzip.compress(tar_bytes({}), mtime=0), "the tar archive holds no member"),
        (gzip.compress(b"", mtime=0), "no tar member found"),
    ],
)
def test_unreadable_archive_is_one_clear_error(
    tmp_path: Path, content: bytes, expected: str
) -> None:
    path = tmp_path / "bundle.tgz"
    path.write_bytes(content)
    with nothing_written(tmp_path), pytest.raises(InputError) as err:
        open_source(path).collect()
    assert str(err.value).startswith(f"{path}: ")
    assert expected in str(err.value) and "\n" not in str(err.value)


def _zeros_gzip(size: int) -> bytes:
    out = io.BytesIO()
    comp = zlib.compressobj(9, zlib.DEFLATED, 31)
    zeros = bytes(MiB)
    for _ in range(size // MiB):
        out.write(comp.compress(zeros))
    out.write(comp.flush())
    return out.getvalue()


def _zeros_tar_gz(name: str, size: int) -> bytes:
    """A gzip bomb: a tar of one member of ``size`` zero bytes, built without holding it."""
    info = tarfile.TarInfo(name)
    info.size = size
    comp = zlib.compressobj(9, zlib.DEFLATED, 31)
    parts = [comp.compress(info.tobuf(tarfile.GNU_FORMAT))]
    zeros = bytes(MiB)
    parts += [comp.compress(zeros) for _ in range(size // MiB)]
    parts += [comp.compress(bytes(1024)), comp.flush()]
    return b"".join(parts)


def _peak(run: object) -> int:
    tracemalloc.start()
    try:
        assert callable(run)
        run()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_gzip_bomb_archive_stops_at_the_cap(tmp_path: Path) -> None:
    bomb = tmp_path / "bomb.tgz"
    bomb.write_bytes(_zeros_tar_gz("var/log/secure", 256 * MiB))
    assert bomb.stat().st_size < 512 * 1024
    results: list[Collected] = []
    limits = Limits(inflated_bytes=32 * MiB)
    with nothing_written(tmp_path):
        peak = _peak(lambda: results.append(TarSource(bomb, limits=limits).collect()))
    (record,) = results[0].records
    assert record.status is InputStatus.BROKEN
    # the cap, plus the one 256 KiB chunk of the inflater that crossed it
    assert "stopped after inflating 32.2 MiB: gzip bomb" in record.reason
    assert peak < 24 * MiB


def test_gzip_bomb_archive_stops_on_ratio(tmp_path: Path) -> None:
    bomb = tmp_path / "bomb.tgz"
    bomb.write_bytes(_zeros_tar_gz("var/log/secure", 256 * MiB))
    limits = Limits(ratio_after=8 * MiB, max_ratio=200)
    (record,) = TarSource(bomb, limits=limits).collect().records
    # at the inflater's first 256 KiB chunk past 8 MiB: 8.2 MiB from 8.5 KB is over 200x
    assert "stopped after inflating 8.2 MiB: gzip bomb" in record.reason


def test_nested_gzip_bomb_member(tmp_path: Path) -> None:
    files = {"var/log/vmkernel.1.gz": _zeros_gzip(256 * MiB), "proc/meminfo": MEMINFO}
    archive = write_tar(tmp_path / "b.tgz", files)
    limits = Limits(member_bytes=1 * MiB, ratio_after=16 * MiB, max_ratio=200)
    results: list[Collected] = []
    with nothing_written(tmp_path):
        peak = _peak(lambda: results.append(TarSource(archive, limits=limits).collect()))
    collected = results[0]
    bomb, no_line = collected.records
    assert bomb.path == "var/log/vmkernel.1.gz" and bomb.status is InputStatus.BROKEN
    assert bomb.reason.startswith("stopped after inflating 17.0 MiB: gzip bomb")
    # zeros hold no line: nothing of the member is kept
    assert (no_line.path, no_line.reason) == (bomb.path, "no whole line in the last 1.0 MiB")
    assert as_dict(collected) == {"proc/meminfo": ("meminfo", MEMINFO)}
    assert peak < 16 * MiB


def test_caps_keep_a_log_tail_and_skip_other_large_files(tmp_path: Path) -> None:
    lines = b"".join(b"42:14:02:29.347 cpu0:1024)line %08d\n" % i for i in range(60_000))
    files = {"var/log/vmkernel": lines, "proc/meminfo": MEMINFO * 40_000, "tmp/ps.1.txt": b"p"}
    limits = Limits(member_bytes=1 * MiB, file_lines=10**6)
    for source in (
        TarSource(write_tar(tmp_path / "a.tgz", files), limits=limits),
        MemorySource("mem", files, limits=limits),
    ):
        collected = source.collect()
        members = {m.path: m for m in collected.members}
        tail = members["var/log/vmkernel"]
        assert lines.endswith(tail.data) and tail.data.startswith(b"42:14")
        assert MiB - 64 < len(tail.data) <= MiB
        assert tail.note == f"kept the last 1.0 MiB of {len(lines) / MiB:.1f} MiB"
        assert "proc/meminfo" not in members and "tmp/ps.1.txt" in members
        (record,) = collected.records
        assert (record.path, record.reason) == ("proc/meminfo", "larger than the 1.0 MiB read cap")


def test_dir_and_file_sources_keep_a_log_tail(tmp_path: Path) -> None:
    lines = b"".join(b"42:14:02:29.347 cpu0:1024)line %08d\n" % i for i in range(60_000))
    (tmp_path / "var" / "log").mkdir(parents=True)
    (tmp_path / "var" / "log" / "vmkernel").write_bytes(lines)
    limits = Limits(member_bytes=1 * MiB)
    for source in (
        DirSource(tmp_path, limits=limits),
        FileSource(tmp_path / "var/log/vmkernel", limits=limits),
    ):
        (member,) = source.collect().members
        assert lines.endswith(member.data) and MiB - 64 < len(member.data) <= MiB
        assert member.note.startswith("kept the last 1.0 MiB of 2.3 MiB")


def test_kept_bytes_budget(tmp_path: Path) -> None:
    files = {f"var/log/vmkernel.{i}": VMKERNEL * 1000 for i in range(5)}
    collected = TarSource(
        write_tar(tmp_path / "a.tgz", files), limits=Limits(kept_bytes=350_000)
    ).collect()
    assert [m.path for m in collected.members] == [
        "var/log/vmkernel.0",
        "var/log/vmkernel.1",
        "var/log/vmkernel.2",
    ]
    assert sum(len(m.data) for m in collected.members) <= 350_000
    assert [r.path for r in collected.records] == ["var/log/vmkernel.3", "var/log/vmkernel.4"]
    assert collected.records[0].reason.startswith("not read")


def test_progress_is_called_up_to_the_total(tmp_path: Path) -> None:
    archive = write_tar(tmp_path / "a.tgz", {**BUNDLE, "var/log/secure": os.urandom(9 * MiB)})
    calls: list[tuple[int, int | None]] = []
    TarSource(archive).collect(progress=lambda done, total: calls.append((done, total)))
    size = archive.stat().st_size
    assert len(calls) >= 3 and calls[-1] == (size, size)
    assert [c[0] for c in calls] == sorted(c[0] for c in calls)


def test_recording_store_in_a_folder(tmp_path: Path) -> None:
    store = tmp_path / "var" / "lib" / "lostbeat"
    (store / "2026").mkdir(parents=True)
    (store / "lostbeat-recording.json").write_bytes(b'{"schema": 1}\n')
    (store / "2026-05-01.jsonl").write_bytes(b"{}\n")
    (store / "2026" / "old.jsonl").write_bytes(b"{}\n")
    (tmp_path / "var" / "log").mkdir()
    (tmp_path / "var" / "log" / "vmksummary").write_bytes(VMKSUMMARY)
    collected = DirSource(tmp_path).collect()
    assert {m.path: m.artifact for m in collected.members} == {
        "var/lib/lostbeat/2026/old.jsonl": "recording",
        "var/lib/lostbeat/2026-05-01.jsonl": "recording",
        "var/lib/lostbeat/lostbeat-recording.json": "recording",
        "var/log/vmksummary": "vmksummary",
    }
    alone = DirSource(store).collect()
    assert sorted(m.path for m in alone.members) == [
        "2026-05-01.jsonl",
        "2026/old.jsonl",
        "lostbeat-recording.json",
    ]
    assert as_dict(alone)["2026-05-01.jsonl"] == ("recording", b"{}\n")


def test_memory_source() -> None:
    files = {f"{TOP}/{name}": data for name, data in BUNDLE.items()}
    files["/etc/passwd"] = b"root:x:0:0\n"
    collected = MemorySource("mem", files).collect()
    assert as_dict(collected) == EXPECTED
    assert collected.host == "esx01"
    assert [(r.path, r.status) for r in collected.records] == [("/etc/passwd", InputStatus.SKIPPED)]
    assert (
        MemorySource("m", {"x/proc/meminfo": MEMINFO, "y/var/log/vmksummary": VMKSUMMARY})
        .collect()
        .members
        == ()
    )


def test_loose_files_are_sniffed(tmp_path: Path) -> None:
    (tmp_path / "screen.txt").write_bytes(PSOD)
    (tmp_path / "vmkernel.1.gz").write_bytes(gzip.compress(VMKERNEL * 3))
    (tmp_path / "notes.txt").write_bytes(b"nothing to see\n")
    (tmp_path / "core").write_bytes(b"\x7fELF" + bytes(100))
    psod = open_source(tmp_path / "screen.txt").collect()
    assert isinstance(open_source(tmp_path / "screen.txt"), FileSource)
    assert as_dict(psod) == {str(tmp_path / "screen.txt"): ("psod", PSOD)}
    log = open_source(tmp_path / "vmkernel.1.gz").collect()
    assert as_dict(log) == {str(tmp_path / "vmkernel.1.gz"): ("vmkernel_log", VMKERNEL * 3)}
    notes = open_source(tmp_path / "notes.txt").collect()
    assert notes.members == () and notes.records[0].status is InputStatus.SKIPPED
    forced = open_source(tmp_path / "notes.txt", kind="meminfo").collect()
    assert as_dict(forced) == {str(tmp_path / "notes.txt"): ("meminfo", b"nothing to see\n")}
    core = open_source(tmp_path / "core", kind="coredumps").collect()
    assert core.members == () and core.names == (str(tmp_path / "core"),)


def test_open_source_chooses_by_content(tmp_path: Path) -> None:
    tar = write_tar(tmp_path / "bundle.bin", BUNDLE, gz=False)
    tgz = write_tar(tmp_path / "bundle.dat", BUNDLE)
    assert isinstance(open_source(tar), TarSource)
    assert isinstance(open_source(tgz), TarSource)
    assert as_dict(open_source(tgz).collect()) == EXPECTED
    assert isinstance(open_source(tmp_path), DirSource)


@pytest.mark.parametrize(
    ("make", "kind", "expected"),
    [
        (lambda p: p / "missing", None, "cannot open: No such file or directory"),
        (lambda p: p, "psod", "a kind (psod) can only be forced on a single file"),
        (lambda p: p / "f.txt", "nonsense", "unknown kind 'nonsense'; expected one of"),
        (lambda p: p / "empty.txt", None, "empty file"),
    ],
)
def test_open_source_errors(tmp_path: Path, make: object, kind: str | None, expected: str) -> None:
    (tmp_path / "f.txt").write_bytes(MEMINFO)
    (tmp_path / "empty.txt").write_bytes(b"")
    assert callable(make)
    path = make(tmp_path)
    with pytest.raises(InputError) as err:
        open_source(path, kind=kind).collect()
    assert str(err.value).startswith(f"{path}: {expected}")


def test_dot_slash_archive_and_concatenated_gzip(tmp_path: Path) -> None:
    """``tar czf x.tgz -C dir .`` names members ``./var/...``; pigz-style archives are
    several gzip members back to back, sometimes followed by zero padding."""
    tree = tmp_path / "tree"
    for name, data in BUNDLE.items():
        (tree / name).parent.mkdir(parents=True, exist_ok=True)
        (tree / name).write_bytes(data)
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.GNU_FORMAT) as tar:
        tar.add(tree, arcname=".")
    data = raw.getvalue()
    half = len(data) // 2
    (tmp_path / "b.tgz").write_bytes(
        gzip.compress(data[:half]) + gzip.compress(data[half:]) + bytes(4096)
    )
    collected = TarSource(tmp_path / "b.tgz").collect()
    assert as_dict(collected) == EXPECTED
    assert collected.records == ()
    assert sorted(collected.names) == sorted(BUNDLE)


def test_trailing_garbage_after_the_archive(tmp_path: Path) -> None:
    path = write_tar(tmp_path / "a.tgz", BUNDLE)
    path.write_bytes(path.read_bytes() + b"this is not gzip")
    collected = TarSource(path).collect()
    assert as_dict(collected) == EXPECTED
    (record,) = collected.records
    assert record.status is InputStatus.BROKEN
    assert record.reason.startswith("trailing garbage after the gzip data at compressed byte")


def test_nested_gzip_log_keeps_its_tail(tmp_path: Path) -> None:
    lines = b"".join(b"42:14:02:29.347 cpu0:1024)line %08d\n" % i for i in range(90_000))
    files = {"var/log/vmkernel.3.gz": gzip.compress(lines)}
    limits = Limits(member_bytes=1 * MiB)
    (member,) = TarSource(write_tar(tmp_path / "a.tgz", files), limits=limits).collect().members
    assert lines.endswith(member.data) and MiB - 64 < len(member.data) <= MiB
    assert member.note == f"kept the last 1.0 MiB of {len(lines) / MiB:.1f} MiB"


def test_dir_source_does_not_enter_a_linked_top_folder(tmp_path: Path) -> None:
    real = tmp_path / "real" / "var" / "log"
    real.mkdir(parents=True)
    (real / "vmksummary").write_bytes(VMKSUMMARY)
    (tmp_path / "bundle").mkdir()
    (tmp_path / "bundle" / TOP).symlink_to(tmp_path / "real", target_is_directory=True)
    with nothing_written(tmp_path):
        collected = DirSource(tmp_path / "bundle").collect()
    assert collected.members == () and collected.names == ()
    (record,) = collected.records
    assert record.path == TOP and record.reason.startswith("symbolic link to")


@pytest.mark.timeout(20)
@pytest.mark.parametrize("payload", [b"0 path=x\n", b"3 path=x\n", b"99 path=x\n", b"x path\n"])
def test_malformed_pax_header(tmp_path: Path, payload: bytes) -> None:
    pax = tarfile.TarInfo("././@PaxHeader")
    pax.type, pax.size = tarfile.XHDTYPE, len(payload)
    body = pax.tobuf(tarfile.USTAR_FORMAT) + payload.ljust(512, b"\0")
    good = tar_bytes({"proc/meminfo": MEMINFO}, top="")
    (tmp_path / "a.tar").write_bytes(good[:1024] + body + good[1024:])
    collected = TarSource(tmp_path / "a.tar").collect()
    assert as_dict(collected) == {"proc/meminfo": ("meminfo", MEMINFO)}
    assert collected.records[-1].reason.startswith("malformed pax header")


def test_listing_is_bounded() -> None:
    files = {f"var/log/other.{i}": b"x" for i in range(25)}
    files.update({f"/abs/{i}": b"x" for i in range(25)})
    collected = MemorySource("mem", files, limits=Limits(listed=10, recorded=10)).collect()
    assert len(collected.names) == 10 and len(collected.records) == 12
    assert [r.reason for r in collected.records[-2:]] == [
        "and 15 more names, not listed (limit 10)",
        "and 15 more inputs, not listed (limit 10): 15 skipped",
    ]


def test_open_source_refuses_a_fifo(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe")
    with pytest.raises(InputError, match="not a regular file or folder"):
        open_source(tmp_path / "pipe")


_SMALL_TAR = tar_bytes({"var/log/vmksummary": VMKSUMMARY, "proc/meminfo": MEMINFO})


@settings(max_examples=300, deadline=None)
@given(
    gz=st.booleans(),
    cut=st.integers(min_value=0, max_value=len(_SMALL_TAR)),
    flips=st.lists(st.tuples(st.integers(0, 10_000), st.integers(1, 255)), max_size=6),
)
def test_damaged_archives_give_records_or_one_input_error(
    gz: bool, cut: int, flips: list[tuple[int, int]]
) -> None:
    """Whatever the damage, reading ends with a Collected or an InputError, nothing else."""
    data = bytearray(gzip.compress(_SMALL_TAR, mtime=0) if gz else _SMALL_TAR)[:cut]
    for at, bits in flips:
        if data:
            data[at % len(data)] ^= bits
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "damaged.tgz"
        path.write_bytes(bytes(data))
        try:
            collected = TarSource(path).collect()
        except InputError as err:
            assert str(err).startswith(f"{path}: ") and "\n" not in str(err)
            return
    assert all(m.artifact in ("vmksummary", "meminfo") for m in collected.members)


def test_gzip_is_told_by_content_not_name(tmp_path: Path) -> None:
    files = {
        "var/log/vmkernel.1": gzip.compress(VMKERNEL * 2),  # rotated without the suffix
        "var/log/vmkernel.2.gz": VMKERNEL,  # named .gz, but plain
    }
    expected = {"var/log/vmkernel.1": VMKERNEL * 2, "var/log/vmkernel.2.gz": VMKERNEL}
    tree = tmp_path / "tree"
    for name, data in files.items():
        (tree / name).parent.mkdir(parents=True, exist_ok=True)
        (tree / name).write_bytes(data)
    for source in (
        TarSource(write_tar(tmp_path / "a.tgz", files)),
        DirSource(tree),
        MemorySource("mem", files),
    ):
        collected = source.collect()
        assert {m.path: m.data for m in collected.members} == expected
        assert collected.records == ()


def test_a_recording_folder_hands_every_shard_to_the_recording(tmp_path):
    """Which tier serves a day is the recording's choice (lostbeat/recording/store.py):
    a day whose raw shard is corrupt falls back to its minute shard, so every shard is read."""
    rec = tmp_path / "rec"
    for rel in (
        "raw/2024-05-01.jsonl",
        "minute/2024-05-01.jsonl.gz",
        "hour/2024-05-01.jsonl.gz",
        "hour/2024-04-30.jsonl.gz",
    ):
        (rec / rel).parent.mkdir(parents=True, exist_ok=True)
        (rec / rel).write_bytes(b"x\n")
    (rec / "lostbeat-recording.json").write_text("{}")
    (rec / "vmksummary").write_text("")
    got = DirSource(rec).collect()
    read = sorted(m.path for m in got.members if m.artifact == "recording")
    assert read == [
        "hour/2024-04-30.jsonl.gz",
        "hour/2024-05-01.jsonl.gz",
        "lostbeat-recording.json",
        "minute/2024-05-01.jsonl.gz",
        "raw/2024-05-01.jsonl",
        "vmksummary",
    ]


def test_a_short_text_file_named_tgz_is_not_an_archive(tmp_path):
    bad = tmp_path / "broken.tgz"
    bad.write_text("garbage\n")
    with pytest.raises(InputError) as err:
        open_source(bad).collect()
    assert str(err.value) == f"{bad}: not a gzip or tar archive (8 bytes)"


def test_a_log_keeps_its_newest_lines_by_count_and_other_files_are_skipped() -> None:
    lines = b"".join(b"42:14:02:29.347 cpu0:1024)line %06d\n" % i for i in range(50))
    files = {"var/log/vmkernel": lines, "proc/meminfo": MEMINFO * 5}
    limits = Limits(member_lines=10, file_lines=12)
    collected = MemorySource("mem", files, limits=limits).collect()
    (member,) = collected.members
    assert member.data == b"".join(lines.splitlines(keepends=True)[-10:])
    assert member.note == "kept the last 10 lines (380 bytes) of 50 lines (1.9 KiB)"
    (record,) = collected.records
    assert (record.path, record.reason) == ("proc/meminfo", "more than 12 lines")


def test_a_consumer_gets_each_member_as_it_is_read(tmp_path: Path) -> None:
    from lostbeat.analyzer.result import InputRecord

    seen: list[tuple[str, str, list[str]]] = []

    def consume(text: object) -> InputRecord:
        from lostbeat.analyzer.sources import Text

        assert isinstance(text, Text)
        seen.append((text.path, text.artifact, list(text.lines())))
        return InputRecord(text.path, InputStatus.READ, text.artifact, "parsed")

    archive = write_tar(tmp_path / "a.tgz", {"proc/meminfo": MEMINFO, "var/log/vmkernel": VMKERNEL})
    collected = TarSource(archive).collect(consume=consume)
    assert collected.members == ()  # nothing kept: the consumer had it all
    assert seen == [
        ("proc/meminfo", "meminfo", MEMINFO.decode().splitlines(keepends=True)),
        ("var/log/vmkernel", "vmkernel_log", [VMKERNEL.decode()]),
    ]
    assert [(r.path, r.reason) for r in collected.records] == [
        ("proc/meminfo", "parsed"),
        ("var/log/vmkernel", "parsed"),
    ]


@pytest.mark.parametrize("step", [1, 2, 3, 7, 64 * 1024, 10**6])
def test_lines_are_decoded_as_open_reads_them_whatever_the_chunks(step: int) -> None:
    from collections import deque

    from lostbeat.analyzer._sink import lines_of

    data = "a\r\nb\rc\n\u00e9\u20ac\n\n x\r".encode() + b"\xff\n" + b"tail"
    parts = deque(data[i : i + step] for i in range(0, len(data), step))
    expected = io.TextIOWrapper(io.BytesIO(data), encoding="utf-8", errors="replace")
    assert list(lines_of(parts)) == list(expected)
    assert not parts  # every chunk left as it was decoded


def test_a_line_longer_than_the_cap_is_cut() -> None:
    from collections import deque

    from lostbeat.analyzer._sink import LINE_MAX, lines_of

    data = b"y" * (LINE_MAX + 5000) + b"\nnext\n"
    parts = deque(data[i : i + 70_000] for i in range(0, len(data), 70_000))
    assert [len(line) for line in lines_of(parts)] == [LINE_MAX + 1, 5]


def test_a_folder_walk_stops_at_its_depth_and_entry_caps(tmp_path: Path) -> None:
    deep = tmp_path / "bundle" / "a" / "b" / "c"
    deep.mkdir(parents=True)
    (tmp_path / "bundle" / "proc").mkdir()
    (tmp_path / "bundle" / "proc" / "meminfo").write_bytes(MEMINFO)
    for i in range(6):
        (tmp_path / "bundle" / "a" / f"f{i}").write_bytes(b"x")
    with nothing_written(tmp_path):
        collected = DirSource(tmp_path / "bundle", limits=Limits(depth=2)).collect()
        few = DirSource(tmp_path / "bundle", limits=Limits(entries=5)).collect()
    assert [(r.path, r.reason) for r in collected.records] == [
        ("a/b/c", "folder deeper than 2 folders; not read")
    ]
    assert as_dict(collected) == {"proc/meminfo": ("meminfo", MEMINFO)}
    (record,) = few.records  # root: a, proc; then a: b and two files, four more not read
    assert (record.path, record.reason) == (
        "a",
        "walk stopped after 5 entries: 4 more entries in this folder and any folder after "
        "it not read",
    )


def test_names_that_are_not_utf8_are_shown_as_a_tar_shows_them(tmp_path: Path) -> None:
    root = os.fsencode(tmp_path / "bundle")
    os.makedirs(root + b"/var/log")
    os.symlink(b"/x", root + b"/var/log/vmkernel.\xe9")
    (record,) = DirSource(os.fsdecode(root)).collect().records
    assert (
        record.path
        == "var/log/vmkernel.\ufffd"
        == b"var/log/vmkernel.\xe9".decode(errors="replace")
    )


@given(st.binary(min_size=512, max_size=512))
def test_the_header_checksum_sums_every_byte(block: bytes) -> None:
    from lostbeat.analyzer._tarstream import _byte_sum

    assert _byte_sum(block) == sum(block)
