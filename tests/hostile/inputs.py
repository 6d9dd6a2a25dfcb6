"""The inputs of the hostile corpus (:mod:`tests.hostile.corpus`), built on the spot: a 4 GiB
member, an 8 GiB bomb or a million members in milliseconds to seconds, whatever their
inflated size (:mod:`tests.hostile.tarcraft` repeats deflate output after a full flush, a
sparse file holds the 4 GiB). Each builder writes under ``folder`` and returns the
arguments of ``lostbeat analyze``; ``scale`` shrinks the costly ones for the test suite.
"""

from __future__ import annotations

import bz2
import gzip
import lzma
import os
from dataclasses import dataclass
from pathlib import Path

from tests.hostile.tarcraft import END, extended, gzip_repeated, header, member, octal, pad

TOP = b"vm-support-esx01-2010-03-16--12.51.4711/"
MiB = 1024 * 1024
GiB = 1024 * MiB
MEMINFO = b"MemTotal:799732 kB\nHighTotal:0 kB\nLowTotal:799732 kB\nSwapTotal:554168 kB\n"
HB = (
    "Nov 13 {h:02d}:01:35 esx01 logger: ({epoch}) hb: vmk loaded, 11795301.25, 11795288.970, "
    "73, 153875, 153875, 567468032, VMap-{kb}, vmware-h-82812, webAcces-27332\n"
)
VMKERNEL = (
    b"42:14:02:29.347 cpu0:1024)VMNIX: ALERT: HB: 365: Lost heartbeat "
    b"(comm=vmnixhbd pid=20 t=29 to=30 clt=1).\n"
)


def summary_lines(count: int, *, start: int = 1258099291) -> bytes:
    """``count`` hourly heartbeat lines with a steady leak (real vmksummary lines)."""
    return "".join(
        HB.format(h=i % 24, epoch=start + 3600 * i, kb=400000 + 100 * i) for i in range(count)
    ).encode()


@dataclass(frozen=True)
class Prepared:
    args: list[str]  # after "lostbeat analyze"
    archive_bytes: int  # size of the input on disk (apparent), for the time target
    stdout: int | None = None  # a file descriptor for the child's stdout, or capture


def write(path: Path, data: bytes) -> Prepared:
    path.write_bytes(data)
    return Prepared([str(path), "--json"], len(data))


def tar(*parts: bytes) -> bytes:
    return b"".join(parts) + END


def meminfo_member() -> bytes:
    return member(TOP + b"proc/meminfo", MEMINFO)


# --- memory sized by what the input counts: lines, records, names, members ----------------


def one_char_lines(folder: Path, scale: float) -> Prepared:
    """Two log members of 32 M one-character lines each (at scale 1), ending in real lines:
    a 131 KB archive."""
    block = b"x\n" * (512 * 1024)  # 1 MiB
    times = max(1, int(64 * scale))
    out = folder / "one-char-lines.tgz"
    with open(out, "wb") as fp:
        # one gzip member per tar member: a concatenated gzip is one stream to every reader
        fp.write(gzip.compress(meminfo_member(), mtime=0))
        for name, tail in (
            (b"var/log/vmkernel", VMKERNEL * 3),
            (b"var/log/vmksummary", summary_lines(3)),
        ):
            head = header(TOP + name, size=octal(len(block) * times + len(tail)))
            fp.write(gzip_repeated(block, times, head=head, tail=pad(tail)))
        fp.write(gzip.compress(END, mtime=0))
    return Prepared([str(out), "--json"], out.stat().st_size)


def loose_lines(folder: Path, scale: float) -> Prepared:
    path = folder / "x-lines.txt"
    path.write_bytes(b"x\n" * int(10 * MiB * scale) + summary_lines(2))
    return Prepared([str(path), "--as", "vmksummary", "--json"], path.stat().st_size)


def real_summary(folder: Path, scale: float) -> Prepared:
    """10 M real heartbeat lines (at scale 1), as one vmksummary member."""
    block = summary_lines(4096)  # about 640 KB of varied lines
    times = max(1, int(10_000_000 * scale) // 4096)
    size = len(block) * times
    head = meminfo_member() + header(TOP + b"var/log/vmksummary", size=octal(size))
    out = folder / "summary-lines.tgz"
    out.write_bytes(gzip_repeated(block, times, head=head, tail=bytes(-size % 512) + END))
    return Prepared([str(out), "--json"], out.stat().st_size)


def long_links(folder: Path, scale: float) -> Prepared:
    """1,500 symbolic links whose GNU long-link targets are 1 MB each."""
    target = b"/" + b"a" * (1000 * 1000 - 1)
    one = extended(b"K", target) + header(TOP + b"var/log/link", kind=b"2", link=b"a")
    out = folder / "long-links.tgz"
    out.write_bytes(gzip_repeated(one, max(1, int(1500 * scale)), head=meminfo_member(), tail=END))
    return Prepared([str(out), "--json"], out.stat().st_size)


def long_names(folder: Path, scale: float) -> Prepared:
    """1,500 members whose GNU long names are 1 MB each."""
    name = TOP + b"var/log/" + b"n" * (1000 * 1000)
    one = extended(b"L", name) + member(b"short", b"x\n")
    out = folder / "long-names.tgz"
    out.write_bytes(gzip_repeated(one, max(1, int(1500 * scale)), head=meminfo_member(), tail=END))
    return Prepared([str(out), "--json"], out.stat().st_size)


def many_members(folder: Path, scale: float) -> Prepared:
    """1,000,000 one-byte ``var/log/vmksummary.N`` members, and one real summary."""
    count = max(1, int(1_000_000 * scale))
    real = summary_lines(48)
    out = folder / "many-members.tgz"
    with open(out, "wb") as fp:
        fp.write(
            gzip.compress(meminfo_member() + member(TOP + b"var/log/vmksummary", real), mtime=0)
        )
        batch: list[bytes] = []
        for i in range(count):
            batch.append(member(TOP + b"var/log/vmksummary.%d" % i, b"x"))
            if len(batch) == 20000:
                fp.write(gzip.compress(b"".join(batch), compresslevel=1, mtime=0))
                batch = []
        fp.write(gzip.compress(b"".join(batch) + END, compresslevel=1, mtime=0))
    return Prepared([str(out), "--json"], out.stat().st_size)


def deep_recording(folder: Path, scale: float) -> Prepared:
    """A recording folder holding a chain of 1,500 nested folders."""
    from tests.fuzz.corpus import recording_files

    root = folder / "recording"
    recording_files(root)
    chain = root
    for _ in range(1500):  # os.makedirs recurses: one level at a time
        chain = chain / "d"
        chain.mkdir()
    (chain / "raw").mkdir()
    (chain / "raw" / "2024-05-01.jsonl").write_bytes(b"x\n")
    return Prepared([str(root), "--json"], 0)


# --- memory: the big members of the issue ------------------------------------------------


def sparse_member(folder: Path, scale: float) -> Prepared:
    """A plain tar holding a 4 GiB member of zeros: a sparse file, no disk used."""
    size = int(4 * GiB * scale) // 512 * 512
    out = folder / "sparse.tar"
    with open(out, "wb") as fp:
        fp.write(meminfo_member())
        fp.write(header(TOP + b"var/log/vmkernel", size=octal(size)))
        fp.seek(size, os.SEEK_CUR)
        fp.write(member(TOP + b"var/log/vmkernel.1", VMKERNEL) + END)
    return Prepared([str(out), "--json"], out.stat().st_size)


def single_line(folder: Path, scale: float) -> Prepared:
    """A 2 GiB log member that is one line, compressed about 300 to 1 (not a bomb)."""
    import random

    rng = random.Random(7)
    block = bytes(rng.choice(b"abcdefghijklmnop") for _ in range(3000)) + b"y" * (MiB - 3000)
    times = max(1, int(2048 * scale))
    head = meminfo_member() + header(TOP + b"var/log/vmkernel", size=octal(MiB * times))
    out = folder / "single-line.tgz"
    out.write_bytes(gzip_repeated(block, times, head=head, tail=END))
    return Prepared([str(out), "--json"], out.stat().st_size)


BOMB_LINE = b"42:14:02:29.347 cpu0:1024)" + b"x" * 4069 + b"\n"
BOMB_BLOCK = BOMB_LINE * (MiB // len(BOMB_LINE))
"""1 MiB of vmkernel log lines that deflates some 650 to 1, past the bomb guard's 500 to 1:
only the guard tells it from a real log."""


def nested_bomb(folder: Path, scale: float) -> Prepared:
    """A ``vmkernel.1.gz`` member inflating to 8 GiB (at scale 1) of lines."""
    bomb = gzip_repeated(BOMB_BLOCK, max(1, int(8192 * scale)))
    out = folder / "nested-bomb.tgz"
    out.write_bytes(
        gzip.compress(
            meminfo_member() + member(TOP + b"var/log/vmkernel.1.gz", bomb) + END, mtime=0
        )
    )
    return Prepared([str(out), "--json"], out.stat().st_size)


def million_entries(folder: Path, scale: float) -> Prepared:
    """An unpacked bundle whose ``var/log`` holds 1,000,000 entries (hard links to one
    empty file: a directory entry each, without an inode each)."""
    root = folder / "bundle" / TOP.decode().rstrip("/")
    (root / "proc").mkdir(parents=True)
    (root / "proc" / "meminfo").write_bytes(MEMINFO)
    logs = root / "var" / "log"
    logs.mkdir(parents=True)
    (logs / "empty").touch()
    fd = os.open(logs, os.O_RDONLY | os.O_DIRECTORY)
    try:
        for i in range(max(1, int(1_000_000 * scale))):
            os.link("empty", f"f{i}", src_dir_fd=fd, dst_dir_fd=fd)
    finally:
        os.close(fd)
    return Prepared([str(folder / "bundle"), "--json"], 0)


def log_block() -> bytes:
    """About 1 MiB of varied vmkernel log lines (compressing some 6 to 1, as real ones do)."""
    import random

    rng = random.Random(11)
    words = ("ScsiDeviceIO", "NMP", "VSCSI", "Net", "World", "Migrate", "Heartbeat", "Dump")
    lines = []
    size = 0
    i = 0
    while size < MiB - 200:
        up = f"{i // 86400}:{i // 3600 % 24:02d}:{i // 60 % 60:02d}:{i % 60:02d}"
        line = (
            f"{up}.{rng.randrange(1000):03d} cpu{rng.randrange(8)}:{rng.randrange(1024, 9999)})"
            f"{rng.choice(words)}: {rng.randrange(9999)}: status {rng.getrandbits(32):08x} "
            f"on vmhba{rng.randrange(4)}:0:{rng.randrange(64)}\n"
        )
        lines.append(line)
        size += len(line)
        i += 1
    return "".join(lines).encode()


def every_log_wanted(folder: Path, scale: float) -> Prepared:
    """512 MiB of wanted vmkernel logs (at scale 1): 16 members of 32 MiB of varied lines,
    every other one a nested ``.gz``, and a month of hourly summaries."""
    block = log_block()
    per = max(1, int(32 * scale))
    out = folder / "every-log-wanted.tgz"
    with open(out, "wb") as fp:
        first = meminfo_member() + member(TOP + b"var/log/vmksummary", summary_lines(720))
        fp.write(gzip.compress(first, mtime=0))
        for n in range(16):
            last = VMKERNEL.replace(b"pid=20", b"pid=%d" % n)  # each member its own
            if n % 2:
                inner = gzip_repeated(block, per, tail=last)
                name = TOP + b"var/log/vmkernel.%d.gz" % n
                fp.write(gzip.compress(member(name, inner), mtime=0))
            else:
                size = len(block) * per + len(last)
                head = header(TOP + b"var/log/vmkernel.%d" % n, size=octal(size))
                tail = last + bytes(-size % 512)
                fp.write(gzip_repeated(block, per, head=head, tail=tail))
        fp.write(gzip.compress(END, mtime=0))
    return Prepared([str(out), "--json"], out.stat().st_size)


# --- --strict, unreadable inputs, output errors, names ------------------------------------


def truncated(folder: Path, scale: float) -> Prepared:
    data = gzip.compress(
        meminfo_member() + member(TOP + b"var/log/vmkernel", VMKERNEL * 2000) + END
    )
    return strict(folder / "truncated.tgz", data[: len(data) * 2 // 3])


def trailing(folder: Path, scale: float) -> Prepared:
    data = gzip.compress(meminfo_member() + END, mtime=0) + b"garbage after the archive" * 40
    return strict(folder / "trailing.tgz", data)


def bomb_member(folder: Path, scale: float) -> Prepared:
    bomb = gzip_repeated(BOMB_BLOCK, 1100)
    data = gzip.compress(meminfo_member() + member(TOP + b"var/log/vmkernel.1.gz", bomb) + END)
    return strict(folder / "bomb-member.tgz", data)


def strict(path: Path, data: bytes) -> Prepared:
    path.write_bytes(data)
    return Prepared([str(path), "--json", "--strict"], len(data))


def stray_text(folder: Path, scale: float) -> Prepared:
    return write(folder / "notes.txt", b"Dear support, the host crashed again.\n")


def empty_folder(folder: Path, scale: float) -> Prepared:
    (folder / "empty").mkdir()
    return Prepared([str(folder / "empty"), "--json"], 0)


def unrelated_archive(folder: Path, scale: float) -> Prepared:
    data = tar(member(b"photos/cat.jpg", b"\xff\xd8\xff" * 100), member(b"README", b"hi\n"))
    return write(folder / "unrelated.tgz", gzip.compress(data, mtime=0))


def xz_bundle(folder: Path, scale: float) -> Prepared:
    data = lzma.compress(tar(meminfo_member()))
    return write(folder / "esx01-bundle", data)


def bzip2_bundle(folder: Path, scale: float) -> Prepared:
    data = bz2.compress(tar(meminfo_member()))
    return write(folder / "esx01-bundle", data)


def zstd_bundle(folder: Path, scale: float) -> Prepared:
    """A zstd frame's magic number and then anything: zstd is not read, and says so."""
    return write(folder / "esx01-bundle", b"\x28\xb5\x2f\xfd" + bytes(range(256)) * 4)


def escaped_path(folder: Path, scale: float) -> Prepared:
    path = folder / "evil\x1b[2J\x1b]0;owned\x07\nname.txt"
    path.write_bytes(b"nothing to see\n")
    return Prepared([str(path), "--json"], 15)


def remove_tree(root: Path) -> None:
    """``shutil.rmtree`` without recursion, which a 1,500-deep chain of folders exceeds."""
    folders: list[str] = []
    stack = [str(root)]
    while stack:
        folder = stack.pop()
        folders.append(folder)
        with os.scandir(folder) as it:
            for entry in it:
                if entry.is_dir(follow_symlinks=False):
                    stack.append(entry.path)
                else:
                    os.unlink(entry.path)
    for folder in reversed(folders):
        os.rmdir(folder)
