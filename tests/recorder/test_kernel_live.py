"""The kernel's own look-alikes of a lost heartbeat, for real, recorded by ``lostbeat record
--interval 1`` for the whole host, then ``analyze``:

* an OOM kill in a memory cgroup (cgroup v1, the OOM killer enabled, a 96 MB limit, as
  linux-mechanisms.md describes): ``crash.type`` ``oom_kill``, its ``constraint`` the memory
  cgroup (docs/analysis.md), the grower named by pid and command line;
* a hung task: a process blocked past a lowered ``kernel.hung_task_timeout_secs`` behind a
  FUSE file that never answers a write (stall_fs.py): ``crash.type`` ``hung_task``, the
  blocked process as the victim.

Each scenario runs once; one test checks what the recording holds, the other what the
analyzer makes of it: of the scenario's own events (by its pids and its memory group,
``tests.recorder.own_kernel.own_recording``), since the recorder keeps the whole host's log and
other programs on this machine have their OOM kills and hung tasks too. After the OOM kill
another program is killed in a memory group of its own, and the analysis is still of the
scenario's. Also here: the recorder's kernel log on the real ``/dev/kmsg`` (no record lost or
kept twice across a restart) and its rate limit.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from lostbeat.agent.kmsg import KMSG, KmsgReader
from lostbeat.analyzer.engine import analyze
from lostbeat.analyzer.parsers.recordings import Recording, parse_recording
from lostbeat.analyzer.result import AnalysisResult, CrashType
from lostbeat.procfs import Procfs
from lostbeat.recorder.kernel import KernelLog
from lostbeat.recording.reader import ShardReader
from lostbeat.recording.store import inflate
from tests.recorder.own_kernel import foreign_memory_group, foreign_oom_kill, own_recording

HERE = Path(__file__).resolve().parent
LEAK = textwrap.dedent("""\
    import sys, time
    keep = []
    print("leaking", flush=True)
    while True:  # about 3 MiB a second: the 96 MB group is full in about half a minute
        keep.append(bytearray(b"x") * (3 << 19))
        time.sleep(0.5)
""")


def _need_kmsg() -> None:
    if not os.access(KMSG, os.R_OK | os.W_OK):
        print(f"SKIP: {KMSG} is not readable and writable here (root on a host that has it)")
        pytest.skip(f"{KMSG} is not readable and writable here")


def _files(directory: Path) -> list[tuple[str, bytes]]:
    return [(p.relative_to(directory).as_posix(), p.read_bytes()) for p in directory.rglob("*")
            if p.is_file()]  # fmt: skip


def _say(text: str) -> None:
    fd = os.open(KMSG, os.O_WRONLY)  # one open, one record: each open has its own rate limit
    try:
        os.write(fd, f"<5>{text}\n".encode())
    finally:
        os.close(fd)


class Recorder:
    """``lostbeat record`` as a real process, stopped with SIGTERM."""

    def __init__(self, directory: Path, *args: str) -> None:
        self.directory = directory
        self.log = directory.parent / f"{directory.name}.log"
        with self.log.open("ab") as out:
            self.popen = subprocess.Popen(
                [sys.executable, "-m", "lostbeat", "record", "--dir", str(directory), *args],
                stdout=out, stderr=out,
            )  # fmt: skip
        until = time.monotonic() + 20
        while "recording" not in self.log.read_text():
            assert self.popen.poll() is None and time.monotonic() < until, self.log.read_text()
            time.sleep(0.05)

    def stop(self) -> None:
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            self.popen.wait(20)
        assert self.popen.returncode == 0, self.log.read_text()

    def recording(self) -> Recording:
        return parse_recording(_files(self.directory), path=str(self.directory))


def test_kernel_records_are_kept_once_across_a_restart() -> None:
    _need_kmsg()
    token = uuid.uuid4().hex[:8]
    with tempfile.TemporaryDirectory(prefix="lbt-kmsg-") as tmp:
        rec = Path(tmp) / "rec"
        first = Recorder(rec, "--interval", "0.2")
        _say(f"lostbeat-test {token} one")
        time.sleep(0.8)
        first.stop()
        _say(f"lostbeat-test {token} two")  # while no recorder runs
        second = Recorder(rec, "--interval", "0.2")
        time.sleep(0.8)
        second.stop()
        raw = next((rec / "raw").iterdir())
        reader = ShardReader(inflate(raw.read_bytes()), path=str(raw))
        for _ in reader.frames():
            pass
        mine = [r.text for r in reader.kernel if token in r.text]
        seqs = [r.seq for r in reader.kernel]
        assert mine == [f"lostbeat-test {token} one", f"lostbeat-test {token} two"]
        assert len(seqs) == len(set(seqs))  # the second run resumed after the first
        assert seqs == sorted(seqs)


def test_a_flood_is_cut_to_the_rate_newest_first_and_counted() -> None:
    _need_kmsg()
    token = uuid.uuid4().hex[:8]
    boot = Procfs().boot_time() or 0.0
    probe = KmsgReader(boot_time=boot)
    probe.read(most=1 << 20)
    log = KernelLog(
        boot_time=boot, path=KMSG, after_seq=probe.last_seq, previous=False, journalctl=None,
        burst=5, rate=0.0,
    )  # fmt: skip
    probe.close()
    for n in range(12):
        _say(f"lostbeat-test {token} flood {n}")
    read = log.read(time.monotonic())
    log.close()
    kept = [r for r in read.records if token in r.text]
    assert len(read.records) == 5 and read.counts.dropped >= 7
    ours = [f"lostbeat-test {token} flood {n}" for n in range(12)]
    assert kept and [r.text for r in kept] == ours[12 - len(kept) :]  # the newest are kept


# -- a real OOM kill in a memory cgroup ---------------------------------------------------


@dataclass
class Scenario:
    recording: Recording
    result: AnalysisResult
    pid: int
    marker: str
    cgroup: str
    other: int | None
    """The pid of another program the OOM killer killed after the scenario's (None where this
    process cannot make it a memory group)."""


@pytest.fixture(scope="module")
def oom_kill(v1_memory_group) -> Iterator[Scenario]:  # type: ignore[no-untyped-def]
    _need_kmsg()
    marker = f"leak-{uuid.uuid4().hex[:6]}"
    tmp = Path(tempfile.mkdtemp(prefix="lbt-oom-"))
    with (
        v1_memory_group("lostbeat-oom") as group,
        foreign_memory_group() as elsewhere,
        contextlib.ExitStack() as cleanup,
    ):
        cleanup.callback(subprocess.run, ["rm", "-rf", str(tmp)], check=False)
        (group.fs_path / "memory.limit_in_bytes").write_text(str(96 << 20))
        (group.fs_path / "memory.oom_control").write_text("0")  # the OOM killer on
        recorder = Recorder(tmp / "rec", "--interval", "1")
        time.sleep(3)
        procs = group.fs_path / "cgroup.procs"
        leaker = subprocess.Popen(
            ["sh", "-c", f'echo $$ > "{procs}" && exec "$@"', "sh", sys.executable, "-c", LEAK,
             marker],
            stdout=subprocess.DEVNULL,
        )  # fmt: skip
        leaker.wait(90)
        assert leaker.returncode == -signal.SIGKILL
        other = None if elsewhere is None else foreign_oom_kill(elsewhere)  # the last kill
        time.sleep(2.5)
        recorder.stop()
        own = own_recording(tmp / "rec", tmp / "own", pids={leaker.pid}, cgroup=group.path)
        yield Scenario(recorder.recording(), analyze([own]), leaker.pid, marker, group.path, other)


@pytest.mark.timeout(150)
def test_a_real_oom_kill_is_recorded_with_the_grower(oom_kill: Scenario) -> None:
    rec, pid = oom_kill.recording, oom_kill.pid
    killed = [r for r in rec.kernel if f"Killed process {pid} (" in r.text]
    assert [r.text.split(":")[0] for r in killed] == ["Memory cgroup out of memory"]
    summary = [r for r in rec.kernel if r.text.startswith("oom-kill:") and f",pid={pid}," in r.text]
    assert summary and f"task_memcg={oom_kill.cgroup}," in summary[0].text
    assert summary[0].epoch <= killed[0].epoch < rec.system[-1].epoch
    (leaker,) = [h for h in rec.processes if h.key.pid == pid]
    assert leaker.key.cmdline.endswith(oom_kill.marker)  # the exec'd program, not the shell
    assert leaker.cgroup == oom_kill.cgroup
    assert leaker.peak_kb > 60 << 10  # it held most of the 96 MB
    if oom_kill.other is not None:  # the host's log, as recorded: another's kill after it
        other = [r for r in rec.kernel if f"Killed process {oom_kill.other} (" in r.text]
        assert other and other[0].epoch > killed[0].epoch


@pytest.mark.timeout(150)
def test_a_real_oom_kill_is_explained_as_one(oom_kill: Scenario) -> None:
    result = oom_kill.result
    # an OOM kill whose constraint is the memory cgroup: the same classifier as for a host's logs
    assert result.crash is not None and result.crash.type is CrashType.OOM_KILL
    assert result.crash.constraint == "memcg"
    assert result.crash.killer == "kernel" and result.crash.victim_pid == oom_kill.pid
    cause = result.root_cause
    assert cause is not None and cause.pid == oom_kill.pid
    assert cause.cmdline is not None and cause.cmdline.endswith(oom_kill.marker)


# -- a real hung task -------------------------------------------------------------------

HUNG = Path("/proc/sys/kernel/hung_task_timeout_secs")
WARNINGS = Path("/proc/sys/kernel/hung_task_warnings")
PANIC = Path("/proc/sys/kernel/hung_task_panic")
WRITER = textwrap.dedent("""\
    import ctypes, os, sys
    ctypes.CDLL(None).prctl(15, sys.argv[2].encode(), 0, 0, 0)  # PR_SET_NAME
    fd = os.open(sys.argv[1], os.O_WRONLY)
    print("writing", flush=True)
    os.write(fd, b"x")  # never answered
""")


@dataclass
class Hang:
    recording: Recording
    result: AnalysisResult
    pid: int
    name: str


def _hung_task_or_skip() -> None:
    _need_kmsg()
    if not os.path.exists("/dev/fuse"):
        print("SKIP: no /dev/fuse here to make a file that never answers")
        pytest.skip("no /dev/fuse here")
    if not os.access(HUNG, os.W_OK):
        print(f"SKIP: {HUNG} is not writable here: cannot lower the hung task timeout")
        pytest.skip(f"{HUNG} is not writable here")
    if PANIC.read_text().strip() != "0":
        print("SKIP: kernel.hung_task_panic is on: a hung task would panic this host")
        pytest.skip("kernel.hung_task_panic is on")


@pytest.fixture(scope="module")
def hung_task() -> Iterator[Hang]:
    _hung_task_or_skip()
    tmp = Path(tempfile.mkdtemp(prefix="lbt-hung-"))
    mount = tmp / "mnt"
    mount.mkdir()
    saved = HUNG.read_text(), WARNINGS.read_text()
    kids: list[subprocess.Popen[bytes]] = []
    name = f"lb-hung-{uuid.uuid4().hex[:4]}"
    try:
        recorder = Recorder(tmp / "rec", "--interval", "1")
        server = subprocess.Popen(
            [sys.executable, str(HERE / "stall_fs.py"), str(mount)], stdout=subprocess.PIPE
        )
        kids.append(server)
        assert server.stdout is not None and server.stdout.readline() == b"mounted\n"
        watch = KmsgReader(boot_time=Procfs().boot_time() or 0.0, from_end=True)
        HUNG.write_text("2")
        WARNINGS.write_text("-1")
        quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}  # ENOTCONN at the end
        first = subprocess.Popen(
            [sys.executable, "-c", WRITER, str(mount / "stall"), "lb-holder"], **quiet
        )
        kids.append(first)
        time.sleep(1.0)  # it holds the file's lock, waiting for an answer
        blocked = subprocess.Popen(
            [sys.executable, "-c", WRITER, str(mount / "stall"), name], **quiet
        )
        kids.append(blocked)
        until = time.monotonic() + 30
        seen: list[str] = []
        while not any(f"INFO: task {name}:{blocked.pid} blocked for more" in t for t in seen):
            assert time.monotonic() < until, "no hung task report within 30 s"
            seen += [r.text for r in watch.read()[0]]
            time.sleep(0.2)
        watch.close()
        time.sleep(2.5)
        recorder.stop()
        own = own_recording(tmp / "rec", tmp / "own", pids={first.pid, blocked.pid})
        yield Hang(recorder.recording(), analyze([own]), blocked.pid, name)
    finally:
        HUNG.write_text(saved[0])
        WARNINGS.write_text(saved[1])
        for kid in kids:  # the server first: its end aborts the connection, the writers return
            kid.kill()
            kid.wait(10)
            if kid.stdout is not None:
                kid.stdout.close()
        subprocess.run(["umount", "-l", str(mount)], check=False, capture_output=True)
        subprocess.run(["rm", "-rf", str(tmp)], check=False)


@pytest.mark.timeout(120)
def test_a_real_hung_task_is_recorded(hung_task: Hang) -> None:
    rec = hung_task.recording
    reports = [r for r in rec.kernel if r.text.startswith(f"INFO: task {hung_task.name}:")]
    assert reports and f":{hung_task.pid} blocked for more than 2 seconds" in reports[0].text
    assert reports[0].priority == 3  # KERN_ERR
    (blocked,) = [h for h in rec.processes if h.key.pid == hung_task.pid]
    assert blocked.key.name == hung_task.name  # renamed after it started: the name is true


@pytest.mark.timeout(120)
def test_a_real_hung_task_is_classified(hung_task: Hang) -> None:
    crash = hung_task.result.crash
    assert crash is not None and crash.type is CrashType.HUNG_TASK
    assert crash.victim == hung_task.name and crash.victim_pid == hung_task.pid
