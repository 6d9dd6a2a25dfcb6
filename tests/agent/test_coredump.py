"""Core dumps of a live process without stopping it (/proc/PID/mem -> ELF core), checked
byte for byte and by gdb; and the gcore route."""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from lostbeat.agent import elfcore
from lostbeat.agent.bounded import BoundedRunner, StepStatus
from lostbeat.agent.coredump import CoreDumper, CoreRoute
from lostbeat.procfs import Procfs

pytestmark = pytest.mark.timeout(60)

CHILD = """\
import ctypes, sys, time
marker = bytearray(sys.argv[1].encode() * 64)
junk = bytearray(b"j") * (8 << 20)
address = ctypes.addressof((ctypes.c_char * len(marker)).from_buffer(marker))
print(hex(address), flush=True)
time.sleep(60)
"""


@pytest.fixture
def child() -> Iterator[tuple[subprocess.Popen[bytes], bytes, int]]:
    marker = f"LOSTBEAT-{uuid.uuid4().hex}".encode()
    proc = subprocess.Popen([sys.executable, "-c", CHILD, marker.decode()], stdout=subprocess.PIPE)
    assert proc.stdout is not None
    address = int(proc.stdout.readline(), 16)
    yield proc, marker, address
    proc.kill()
    proc.communicate()


def loads(core: Path) -> tuple[bytes, list[tuple[int, int, int, int]], bytes]:
    data = core.read_bytes()
    assert data[:4] == b"\x7fELF"
    e_type, e_machine = struct.unpack_from("<HH", data, 16)
    assert e_type == 4 and e_machine == elfcore.MACHINES[os.uname().machine].e_machine
    (phoff,) = struct.unpack_from("<Q", data, 32)
    phentsize, phnum = struct.unpack_from("<HH", data, 54)
    segs, notes = [], b""
    for i in range(phnum):
        p_type, _, off, vaddr, _, filesz, memsz, _ = struct.unpack_from(
            "<IIQQQQQQ", data, phoff + i * phentsize
        )
        if p_type == 1:
            segs.append((vaddr, memsz, off, filesz))
        elif p_type == 4:
            notes = data[off : off + filesz]
    return data, segs, notes


def read_at(data: bytes, segs: list[tuple[int, int, int, int]], address: int, size: int) -> bytes:
    for vaddr, _, off, filesz in segs:
        if vaddr <= address < vaddr + filesz:
            return data[off + address - vaddr : off + address - vaddr + size]
    raise AssertionError(f"{address:#x} is in no dumped segment")


def test_procmem_core_holds_the_memory_at_its_address(
    child: tuple[subprocess.Popen[bytes], bytes, int], tmp_path: Path
) -> None:
    proc, marker, address = child
    dumper = CoreDumper(Procfs(), BoundedRunner(), limit=1 << 30, timeout=30, gcore=None)
    attempts = dumper.dump(proc.pid, comm="python3", state="S", folder=tmp_path, rel="cores")
    assert [(a.route, a.status) for a in attempts] == [
        (CoreRoute.GCORE, StepStatus.SKIPPED),
        (CoreRoute.PROCMEM, StepStatus.OK),
    ]
    assert attempts[0].reason == "gcore (gdb) is not installed"
    done = attempts[-1]
    assert done.path == f"cores/core.python3.{proc.pid}" and done.unreadable_bytes == 0
    core = tmp_path / f"core.python3.{proc.pid}"
    assert core.stat().st_size == done.size and core.stat().st_mode & 0o777 == 0o600
    data, segs, notes = loads(core)
    assert read_at(data, segs, address, len(marker)) == marker
    assert sum(filesz for *_, filesz in segs) > 8 << 20  # the 8 MiB of junk is in it
    namesz, descsz, kind = struct.unpack_from("<III", notes, 0)
    assert (namesz, descsz, kind) == (5, 136, elfcore.NT_PRPSINFO) and notes[12:17] == b"CORE\0"
    pid, ppid = struct.unpack_from("<ii", notes, 20 + 24)  # elf_prpsinfo.pr_pid, pr_ppid
    assert (pid, ppid) == (proc.pid, os.getpid())

    if shutil.which("gdb") is None:
        print("SKIP (part): gdb is not installed; the core was checked byte for byte")
        return
    out = subprocess.run(
        ["gdb", "-batch", "-nx", "-ex", f"core-file {core}", "-ex", f"x/s {address:#x}"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert marker.decode() in out.stdout, out.stdout + out.stderr


def test_core_limit_is_recorded_not_silent(
    child: tuple[subprocess.Popen[bytes], bytes, int], tmp_path: Path
) -> None:
    proc, _, _ = child
    dumper = CoreDumper(Procfs(), BoundedRunner(), limit=1 << 20, timeout=30, gcore=None)
    done = dumper.dump(proc.pid, comm="py", state="D", folder=tmp_path, rel="cores")
    assert done[0].reason.startswith("process is in state D")
    assert done[-1].status is StepStatus.OK and done[-1].left_out_bytes > 8 << 20  # type: ignore[operator]
    assert "--core-limit left out" in done[-1].reason


def test_a_process_that_is_gone_is_a_failed_attempt(tmp_path: Path) -> None:
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    dumper = CoreDumper(Procfs(), BoundedRunner(), limit=1 << 20, timeout=5, gcore=None)
    (_, attempt) = dumper.dump(gone.pid, comm="x", state="S", folder=tmp_path, rel="cores")
    assert attempt.status is StepStatus.FAILED and attempt.path is None
    assert attempt.reason == f"ProcessGone: process {gone.pid} is gone"


def test_gcore_route_for_a_sleeping_process(
    child: tuple[subprocess.Popen[bytes], bytes, int], tmp_path: Path
) -> None:
    gcore = shutil.which("gcore")
    if gcore is None:
        print("SKIP: gcore (gdb) is not installed")
        pytest.skip("gcore (gdb) is not installed")
    proc, marker, address = child
    dumper = CoreDumper(Procfs(), BoundedRunner(), limit=1 << 30, timeout=60, gcore=gcore)
    (attempt,) = dumper.dump(proc.pid, comm="python3", state="S", folder=tmp_path, rel="cores")
    assert attempt.route is CoreRoute.GCORE and attempt.status is StepStatus.OK, attempt.reason
    data, segs, _ = loads(tmp_path / f"core.python3.{proc.pid}")
    assert read_at(data, segs, address, len(marker)) == marker
    assert proc.poll() is None  # dumped and left running


def test_plan_segments_follows_the_default_coredump_filter() -> None:
    from lostbeat.procfs import parse_maps_line

    maps = [
        parse_maps_line(line)
        for line in (
            "00400000-00401000 r--p 00000000 08:01 11 /usr/bin/python3",
            "00401000-00500000 r-xp 00001000 08:01 11 /usr/bin/python3",
            "00600000-00602000 rw-p 00100000 08:01 11 /usr/bin/python3",
            "01000000-01100000 rw-p 00000000 00:00 0 [heap]",
            "7f0000000000-7f0000001000 ---p 00000000 00:00 0",
            "7ffc00000000-7ffc00002000 r--p 00000000 00:00 0 [vvar]",
        )
    ]
    segs, left_out = elfcore.plan_segments(maps, limit=1 << 30)
    assert [(s.start, s.filesz) for s in segs] == [
        (0x400000, 4096),  # ELF header page of the executable
        (0x401000, 0),  # text: gdb reads it from the file (NT_FILE)
        (0x600000, 0x2000),  # written-to data
        (0x1000000, 0x100000),  # heap
        (0x7F0000000000, 0),  # no access: nothing to read
    ] and left_out == 0  # [vvar] is never dumped
