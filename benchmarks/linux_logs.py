"""A Linux host's own evidence at size: ``lostbeat analyze`` on a 1 GB journal export (.gz) and
a 1 GB sosreport (.tar.xz), against the time to only decompress them.

Builds once (cached in ``--dir``) two inputs of about ``--size-mb`` uncompressed each:

* ``journal.export.gz``: ``journalctl -o export`` entries of a busy host (sshd, cron, systemd,
  NetworkManager, an application's stdout, the kernel), every field journald writes, with a
  kernel OOM report (trigger, task table, kill) every few hundred thousand entries and one
  near the end, compressed with isal (gzip level 1, as ``journalctl | gzip -1`` would);
* ``sosreport-web01-2024-05-01-abcdefg.tar.xz``: a sosreport's layout (``var/log/messages``,
  ``sos_commands/logs/journalctl_--no-pager``, ``sos_commands/kernel/dmesg``, ``proc/meminfo``,
  ``sos_commands/process/ps_auxwww``, ``var/log/sa/sar01``, and unrelated files that make up
  most of the bytes), compressed by ``xz -1``.

Then, each in its own process (wall time and peak RSS its own, rounds interleaved, medians),
it times the decompression floor (isal inflating the .gz, ``lzma`` the .xz, output thrown
away) and ``lostbeat.analyzer.engine.analyze`` on the file, and prints the ratio and the peak
RSS against the targets: within 1.5x of the floor, at most 200 MB.

Usage::

    .venv/bin/python benchmarks/linux_logs.py [--dir DIR] [--size-mb 1024] [--repeat 3]
"""

from __future__ import annotations

import argparse
import io
import random
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bundle_read import Run, _measure  # noqa: E402

_ROOTS = (
    "cach",
    "stor",
    "pool",
    "sess",
    "lease",
    "sync",
    "flush",
    "queue",
    "shard",
    "index",
    "token",
    "route",
    "proxy",
    "batch",
    "merge",
    "scan",
    "fetch",
    "parse",
    "write",
    "load",
)
VOCABULARY = tuple(
    f"{a}{b}"
    for a in _ROOTS
    for b in ("", "ed", "ing", "er", "s", "_id", "-ok", "-retry", "-miss", "-hit", "ment", "able")
)
TIME_TARGET = 1.5
RSS_TARGET_MB = 200.0
BOOT = "3957642b91db46aeb6ea566e41d1e893"
MACHINE = "9d230526b63a40f5b6ff08c3cae75f08"
SERVICES = (
    ("sshd", "/usr/sbin/sshd", "ssh.service", "Accepted publickey for deploy from 10.0.{} port {} ssh2"),  # noqa: E501
    ("CRON", "/usr/sbin/cron", "cron.service", "pam_unix(cron:session): session opened for user root(uid=0) by (uid={})"),  # noqa: E501
    ("systemd", "/usr/lib/systemd/systemd", "init.scope", "Started Session {} of User deploy ({} ms)."),  # noqa: E501
    ("NetworkManager", "/usr/sbin/NetworkManager", "NetworkManager.service", "<info>  [{}.{}] dhcp4 (eth0): state changed bound -> bound"),  # noqa: E501
    ("app", "/opt/app/bin/app", "app.service", "request id={} served in {} ms status=200 path=/api/v1/items"),  # noqa: E501
    ("kernel", None, None, "audit: type=1400 audit({}.{}:42): apparmor=\"ALLOWED\" operation=\"open\""),  # noqa: E501
)  # fmt: skip


def _oom_lines(victim: str, pid: int, grow: int) -> list[str]:
    """A 5.x kernel OOM report: trigger, CPU line, task table, constraint and kill."""
    lines = [
        f"{victim} invoked oom-killer: gfp_mask=0x100cca(GFP_HIGHUSER_MOVABLE), order=0, oom_score_adj=0",  # noqa: E501
        f"CPU: 1 PID: {pid} Comm: {victim} Not tainted 6.1.0-28-amd64 #1 Debian 6.1.119-1",
        "Tasks state (memory values in pages):",
        "[  pid  ]   uid  tgid total_vm      rss pgtables_bytes swapents oom_score_adj name",
    ]
    for i in range(40):
        rss = 2000 + 37 * i if i else 900_000 + grow
        name = victim if i == 0 else f"worker{i}"
        row = f"[{pid + i:>7}]  1000 {pid + i:>7}  {rss * 2:>7}  {rss:>7}   409600"
        lines.append(f"{row}        0             0 {name}")
    lines += [
        f"oom-kill:constraint=CONSTRAINT_NONE,nodemask=(null),cpuset=/,mems_allowed=0,global_oom,task_memcg=/system.slice/app.service,task={victim},pid={pid},uid=1000",  # noqa: E501
        f"Out of memory: Killed process {pid} ({victim}) total-vm:7200000kB, anon-rss:{(900_000 + grow) * 4}kB, file-rss:0kB, shmem-rss:0kB, UID:1000 pgtables:7000kB oom_score_adj:0",  # noqa: E501
    ]
    return lines


def _export_entry(seq: int, usec: int, comm: str, exe: str | None, unit: str | None,
                  message: str, pid: int) -> str:  # fmt: skip
    head = (
        f"__CURSOR=s=ccf7523668294683b810e2ec1ec53163;i={seq:x};b={BOOT};m={usec:x};"
        f"t={usec:x};x=ff6b31d933abaf6a\n__REALTIME_TIMESTAMP={usec}\n"
        f"__MONOTONIC_TIMESTAMP={usec - 1714521600000000}\n_BOOT_ID={BOOT}\n"
        f"_MACHINE_ID={MACHINE}\n_HOSTNAME=web01\nPRIORITY=6\n"
    )
    if exe is None:
        kernel = "_TRANSPORT=kernel\nSYSLOG_FACILITY=0\nSYSLOG_IDENTIFIER=kernel\n"
        return head + f"{kernel}MESSAGE={message}\n\n"
    return head + (
        f"_TRANSPORT=syslog\nSYSLOG_FACILITY=3\nSYSLOG_IDENTIFIER={comm}\n_PID={pid}\n"
        f"_UID=0\n_GID=0\n_COMM={comm}\n_EXE={exe}\n_CMDLINE={exe} -D\n_CAP_EFFECTIVE=1ffffffffff\n"  # noqa: E501
        f"_SYSTEMD_CGROUP=/system.slice/{unit}\n_SYSTEMD_UNIT={unit}\n_SYSTEMD_SLICE=system.slice\n"  # noqa: E501
        f"_SYSTEMD_INVOCATION_ID=d511373d58ac47c5b02fcce0d00a3c7c\nMESSAGE={message}\n\n"
    )


def _entries(size: int, rng: random.Random):  # type: ignore[no-untyped-def]
    """(usec, comm, exe, unit, message, pid, seq) of ``size`` bytes of a busy host's journal:
    five OOM reports spread over it, each with the app grown, and one in its last MB."""
    usec, seq, done, grow = 1714521600000000, 0, 0, 0
    marks = [size * k // 6 for k in range(1, 6)] + [size - (1 << 20)]
    while done < size:
        seq += 1
        usec += rng.randrange(1000, 400000)
        comm, exe, unit, text = SERVICES[seq % len(SERVICES)]
        message = text.format(rng.randrange(1, 99999), rng.randrange(1, 9999))
        # a trace id and a few words of a large vocabulary: real logs' entropy, so that the
        # text compresses about as real logs do rather than 60 times
        tail = " ".join(rng.choice(VOCABULARY) for _ in range(rng.randrange(2, 9)))
        message = f"{message} trace={rng.getrandbits(40):010x} {tail}"
        done += 700
        yield usec, comm, exe, unit, message, 1000 + seq % 30000, seq
        if marks and done >= marks[0]:
            marks.pop(0)
            grow += 150_000
            for line in _oom_lines("app", 4242, grow):
                seq += 1
                usec += 3
                yield usec, "kernel", None, None, line, 0, seq


def build_journal(directory: Path, size_mb: int) -> Path:
    from isal import igzip

    path = directory / f"journal-{size_mb}mb.export.gz"
    if path.exists():
        return path
    rng = random.Random(17)
    tmp = path.with_suffix(".tmp")
    with igzip.open(tmp, "wb", compresslevel=1) as out:
        batch: list[str] = []
        for usec, comm, exe, unit, message, pid, seq in _entries(size_mb << 20, rng):
            batch.append(_export_entry(seq, usec, comm, exe, unit, message, pid))
            if len(batch) >= 4096:
                out.write("".join(batch).encode())
                batch.clear()
        out.write("".join(batch).encode())
    tmp.rename(path)
    return path


def _syslog(size: int, rng: random.Random) -> bytes:
    out = io.StringIO()
    import time as _time

    for usec, comm, exe, _unit, message, pid, _seq in _entries(size, rng):
        stamp = _time.strftime("%b %d %H:%M:%S", _time.gmtime(usec // 1_000_000))
        sender = "kernel" if exe is None else f"{comm}[{pid}]"
        out.write(f"{stamp} web01 {sender}: {message}\n")
    return out.getvalue().encode()


def build_sosreport(directory: Path, size_mb: int) -> Path:
    top = "sosreport-web01-2024-05-01-abcdefg"
    path = directory / f"{top}-{size_mb}mb.tar.xz"
    if path.exists():
        return path
    rng = random.Random(23)
    tar_path = directory / f"{top}.tar"
    logs = size_mb << 20
    with tarfile.open(tar_path, "w", format=tarfile.GNU_FORMAT) as tar:

        def add(name: str, data: bytes) -> None:
            info = tarfile.TarInfo(f"{top}/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))

        add("proc/meminfo", b"MemTotal:        8000000 kB\nSwapTotal:       2000000 kB\n")
        ps = "USER PID %CPU %MEM VSZ RSS TTY STAT START TIME COMMAND\n"
        ps += "root 1 0.0 0.1 171000 13000 ? Ss May01 0:05 /sbin/init\n"
        add("sos_commands/process/ps_auxwww", ps.encode())
        for i in range(8):  # unrelated files: most of a sosreport's bytes
            add(f"var/log/audit/audit.log.{i}", _syslog(logs // 16, rng))
        add("var/log/messages", _syslog(logs // 4, rng))
        add("sos_commands/logs/journalctl_--no-pager", _syslog(logs // 4, rng))
    subprocess.run(["xz", "-1", "-T2", "-f", str(tar_path)], check=True)
    tar_path.with_suffix(".tar.xz").rename(path)
    return path


FLOOR_GZ = """
import sys
from isal import isal_zlib
d, n = isal_zlib.decompressobj(wbits=31), 0
with open(sys.argv[1], "rb") as f:
    while chunk := f.read(1 << 20):
        n += len(d.decompress(chunk))
print(n, "bytes")
"""
FLOOR_XZ = """
import lzma, sys
d, n = lzma.LZMADecompressor(), 0
with open(sys.argv[1], "rb") as f:
    while chunk := f.read(1 << 20):
        n += len(d.decompress(chunk))
print(n, "bytes")
"""
OURS = """
import sys
from lostbeat.analyzer.engine import analyze
r = analyze([sys.argv[1]])
assert r.crash.type.value == "oom_kill" and r.crash.victim == "app", r.crash
print(r.crash.type.value, r.crash.victim, r.root_cause.process, len(r.incidents), "incidents")
"""


def _table(name: str, path: Path, floor: str, repeat: int) -> bool:
    runs: list[Run] = _measure(
        {"floor": [sys.executable, "-c", floor, str(path)],
         "lostbeat": [sys.executable, "-c", OURS, str(path)]},
        repeat,
    )  # fmt: skip
    base, ours = runs
    ratio = ours.wall_s / base.wall_s
    ok = ratio <= TIME_TARGET and ours.rss_mb <= RSS_TARGET_MB
    size = path.stat().st_size / (1 << 20)
    print(f"{name:<28} {size:>8.0f} MB {base.wall_s:>8.2f} s {ours.wall_s:>9.2f} s "
          f"{ratio:>6.2f}x {ours.rss_mb:>7.0f} MB  {'pass' if ok else 'FAIL'}")  # fmt: skip
    return ok


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dir", type=Path, help="where the inputs are built and kept")
    parser.add_argument("--size-mb", type=int, default=1024, help="uncompressed size (1024)")
    parser.add_argument("--repeat", type=int, default=3, help="interleaved rounds (3)")
    args = parser.parse_args()
    if shutil.which("xz") is None:
        sys.exit("xz is needed to build the sosreport")
    directory = args.dir or Path(tempfile.gettempdir()) / "lostbeat-linux-logs-bench"
    directory.mkdir(parents=True, exist_ok=True)
    journal = build_journal(directory, args.size_mb)
    sos = build_sosreport(directory, args.size_mb)
    print(f"{'input':<28} {'size':>11} {'floor':>10} {'lostbeat':>11} {'ratio':>7} "
          f"{'peak RSS':>10}  target <= {TIME_TARGET}x, <= {RSS_TARGET_MB:.0f} MB")  # fmt: skip
    ok = _table("journal export (.gz)", journal, FLOOR_GZ, args.repeat)
    ok &= _table("sosreport (.tar.xz)", sos, FLOOR_XZ, args.repeat)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
