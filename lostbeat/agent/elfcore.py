"""ELF core file layout, built without stopping the process (pure: bytes in, bytes out).

A process hung in the kernel cannot be stopped by a debugger (linux-mechanisms.md,
VERIFIED: ``gcore`` of a task in ``mem_cgroup_oom_synchronize`` did not finish in 15 s),
but its memory can still be read through ``/proc/PID/mem`` (VERIFIED on these hosts with a
task in state D under a cgroup-v1 OOM). This module lays out an ``ET_CORE`` file that gdb
loads: a ``PT_NOTE`` segment (``NT_PRPSINFO``, one ``NT_PRSTATUS`` per thread holding only
the user pc and sp the kernel shows in ``/proc/PID/task/TID/syscall``, ``NT_AUXV`` and
``NT_FILE`` so gdb finds the mapped files) and one ``PT_LOAD`` per mapping.

Which mappings carry data follows the kernel's default ``coredump_filter`` (0x33):
anonymous and written-to private memory in full, the first page of a file mapped at
offset 0 (its ELF header); other file-backed memory is left for gdb to read from the file.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass

from lostbeat.agent._linux import PAGE_SIZE
from lostbeat.procfs import Mapping

NT_PRSTATUS, NT_PRPSINFO, NT_AUXV, NT_FILE = 1, 3, 6, 0x46494C45
_PT_LOAD, _PT_NOTE = 1, 4
_EHDR = struct.Struct("<16sHHIQQQIHHHHHH")
_PHDR = struct.Struct("<IIQQQQQQ")
_PRPSINFO = struct.Struct("<bcbb4xQIIiiii16s80s")
_SKIP = ("[vvar]", "[vvar_vclock]", "[vsyscall]")


@dataclass(frozen=True, slots=True)
class Machine:
    """What an architecture's core notes look like."""

    name: str
    e_machine: int
    nregs: int  # elf_gregset_t length, in 8-byte words
    pc_index: int
    sp_index: int


MACHINES = {
    "x86_64": Machine("x86_64", 62, 27, pc_index=16, sp_index=19),  # user_regs_struct
    "aarch64": Machine("aarch64", 183, 34, pc_index=32, sp_index=31),  # x0-x30, sp, pc
}


@dataclass(frozen=True, slots=True)
class ProcessInfo:
    """Identity of the dumped process, for ``NT_PRPSINFO``."""

    pid: int
    ppid: int
    pgrp: int
    session: int
    uid: int
    gid: int
    state: str
    comm: str
    args: str


@dataclass(frozen=True, slots=True)
class ThreadRegs:
    """A thread and the only registers readable without ptrace."""

    tid: int
    pc: int | None
    sp: int | None


@dataclass(frozen=True, slots=True)
class Segment:
    """One ``PT_LOAD``: ``filesz`` bytes of it are in the file, at ``offset``."""

    start: int
    end: int
    flags: int
    filesz: int
    offset: int = 0


def plan_segments(maps: Sequence[Mapping], *, limit: int) -> tuple[list[Segment], int]:
    """Decide what to dump; returns the segments and how many bytes the limit left out.

    >>> anon = Mapping(0x1000, 0x3000, "rw-p", 0, 0, "")
    >>> lib = Mapping(0x9000, 0xB000, "r-xp", 0, 7, "/usr/lib/x.so")
    >>> segs, cut = plan_segments([anon, lib], limit=1 << 20)
    >>> [(hex(s.start), s.filesz, s.flags) for s in segs], cut
    ([('0x1000', 8192, 6), ('0x9000', 4096, 5)], 0)
    >>> plan_segments([anon], limit=4096)[1]
    4096
    """
    segments: list[Segment] = []
    budget, left_out = limit, 0
    for m in maps:
        if m.path in _SKIP:
            continue
        flags = (4 if "r" in m.perms else 0) | (2 if "w" in m.perms else 0)
        flags |= 1 if "x" in m.perms else 0
        anonymous = m.inode == 0
        if "r" not in m.perms:
            wanted = 0
        elif anonymous or "w" in m.perms:
            wanted = m.end - m.start
        elif m.offset == 0:
            wanted = PAGE_SIZE  # the ELF header, as coredump_filter bit 4
        else:
            wanted = 0
        size = min(wanted, budget)
        left_out += wanted - size
        budget -= size
        segments.append(Segment(m.start, m.end, flags, size))
    return segments, left_out


def _note(name: bytes, kind: int, desc: bytes) -> bytes:
    name += b"\0"
    pad = (-len(name)) % 4
    return (
        struct.pack("<III", len(name), len(desc), kind)
        + name
        + b"\0" * pad
        + desc
        + (b"\0" * ((-len(desc)) % 4))
    )


def prpsinfo(info: ProcessInfo) -> bytes:
    """The ``elf_prpsinfo`` of a process."""
    letter = info.state[:1] or "?"
    return _PRPSINFO.pack(
        "RSDTZW".find(letter),
        letter.encode("ascii", "replace"),
        1 if letter == "Z" else 0,
        0,
        0,
        info.uid,
        info.gid,
        info.pid,
        info.ppid,
        info.pgrp,
        info.session,
        info.comm.encode("utf-8", "replace")[:15],
        info.args.encode("utf-8", "replace")[:79],
    )


def prstatus(thread: ThreadRegs, info: ProcessInfo, machine: Machine) -> bytes:
    """An ``elf_prstatus`` with the thread id and, where known, pc and sp."""
    regs = [0] * machine.nregs
    if thread.pc is not None:
        regs[machine.pc_index] = thread.pc
    if thread.sp is not None:
        regs[machine.sp_index] = thread.sp
    head = struct.pack(
        "<iiih2xQQiiii", 0, 0, 0, 0, 0, 0, thread.tid, info.ppid, info.pgrp, info.session
    )
    times = b"\0" * 64  # user, system, children's user and system times: not recorded
    return head + times + struct.pack(f"<{machine.nregs}Q", *regs) + struct.pack("<i4x", 0)


def nt_file(maps: Sequence[Mapping]) -> bytes:
    """The ``NT_FILE`` table of mapped files: (start, end, page offset) and names."""
    files = [m for m in maps if m.inode and m.path.startswith("/")]
    table = struct.pack("<QQ", len(files), PAGE_SIZE)
    table += b"".join(struct.pack("<QQQ", m.start, m.end, m.offset // PAGE_SIZE) for m in files)
    return table + b"".join(m.path.encode("utf-8", "replace") + b"\0" for m in files)


def build_notes(
    info: ProcessInfo,
    threads: Sequence[ThreadRegs],
    *,
    auxv: bytes,
    maps: Sequence[Mapping],
    machine: Machine,
) -> bytes:
    """The ``PT_NOTE`` segment's contents."""
    notes = [_note(b"CORE", NT_PRSTATUS, prstatus(t, info, machine)) for t in threads]
    notes.insert(0, _note(b"CORE", NT_PRPSINFO, prpsinfo(info)))
    if auxv:
        notes.append(_note(b"CORE", NT_AUXV, auxv))
    notes.append(_note(b"CORE", NT_FILE, nt_file(maps)))
    return b"".join(notes)


def layout(
    segments: Sequence[Segment], notes: bytes, *, machine: Machine
) -> tuple[bytes, list[Segment]]:
    """The file's head (ELF header, program headers, notes) and segments with offsets.

    Segment data starts on a page boundary after the head; a segment's bytes follow the
    previous one's.
    """
    phnum = len(segments) + 1
    notes_at = _EHDR.size + phnum * _PHDR.size
    offset = -(-(notes_at + len(notes)) // PAGE_SIZE) * PAGE_SIZE
    placed: list[Segment] = []
    for seg in segments:
        placed.append(Segment(seg.start, seg.end, seg.flags, seg.filesz, offset))
        offset += seg.filesz
    ident = b"\x7fELF" + bytes([2, 1, 1, 0]) + b"\0" * 8  # 64-bit, little-endian, SysV
    head = _EHDR.pack(
        ident,
        4,
        machine.e_machine,
        1,
        0,
        _EHDR.size,
        0,
        0,
        _EHDR.size,
        _PHDR.size,
        phnum,
        0,
        0,
        0,
    )
    head += _PHDR.pack(_PT_NOTE, 0, notes_at, 0, 0, len(notes), 0, 1)
    for seg in placed:
        head += _PHDR.pack(
            _PT_LOAD,
            seg.flags,
            seg.offset,
            seg.start,
            0,
            seg.filesz,
            seg.end - seg.start,
            PAGE_SIZE,
        )
    return head + notes, placed
