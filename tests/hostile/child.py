"""Runs ``lostbeat`` in a child process and measures it: exit status, output, wall time and
the peak RSS of the whole process (``ru_maxrss`` from ``wait4``).

The child is forked by a small reporter process, not by the test: Linux counts in a
process's ``ru_maxrss`` the pages of the process it was forked from, held until its
``exec`` (``subprocess`` forks with ``vfork``, sharing them), so a child of a test process
of 300 MB would report at least 300 MB. The reporter is a bare interpreter of a few MB; it
waits for the command and writes its ``ru_maxrss`` to a file.

A run that keeps growing is killed once its RSS passes ``kill_mb`` and one that keeps running
once past ``kill_s`` (the verdict is then a failure, with what was seen so far), so that a
regression costs the shared machine seconds and a few hundred MB, not minutes and gigabytes.
The child's working directory, ``HOME`` and ``TMPDIR`` are empty folders of the sandbox:
:func:`run` reports anything that appeared in them.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

POLL_S = 0.02
_REPORTER = """
import os, signal, sys
report, argv = sys.argv[1], sys.argv[2:]
pid = os.fork()
if pid == 0:
    os.execv(argv[0], argv)
with open(report + ".pid", "w") as out:
    out.write(str(pid))
_, status, usage = os.wait4(pid, 0)
with open(report, "w") as out:
    out.write(str(usage.ru_maxrss))
if os.WIFSIGNALED(status):
    signal.signal(os.WTERMSIG(status), signal.SIG_DFL)
    os.kill(os.getpid(), os.WTERMSIG(status))
sys.exit(os.WEXITSTATUS(status))
"""


@dataclass(frozen=True)
class Run:
    status: int  # the exit status, or -signal
    stdout: bytes
    stderr: str
    wall_s: float
    peak_mb: float
    killed: str  # why the run was stopped early, or ""
    written: tuple[str, ...]  # files that appeared in the child's cwd, HOME or TMPDIR


def _rss_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def run(
    args: list[str],
    sandbox: Path,
    *,
    kill_mb: float = 600.0,
    kill_s: float = 60.0,
    stdout: int | None = None,
    env: dict[str, str] | None = None,
) -> Run:
    """``python -m lostbeat ARGS`` in ``sandbox`` (created if needed); see the module doc.

    Args:
        stdout: a file descriptor for the child's standard output (``/dev/full``, a pipe's
            end); captured when None.
    """
    homes = [sandbox / "cwd", sandbox / "home", sandbox / "tmp"]
    for folder in homes:
        folder.mkdir(parents=True, exist_ok=True)
    child_env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(homes[1]),
        "TMPDIR": str(homes[2]),
        "LANG": "C.UTF-8",
        "COLUMNS": "100",
        "PYTHONPATH": os.pathsep.join(p for p in sys.path if p),
    }
    child_env.update(env or {})
    out_path = sandbox / "stdout"
    err_path = sandbox / "stderr"
    report = sandbox / "maxrss"
    started = time.monotonic()
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        proc = subprocess.Popen(
            [sys.executable, "-c", _REPORTER, str(report), sys.executable, "-m", "lostbeat", *args],
            cwd=homes[0],
            env=child_env,
            stdin=subprocess.DEVNULL,
            stdout=out if stdout is None else stdout,
            stderr=err,
        )
        killed = ""
        child = 0
        while proc.poll() is None:
            if not child and os.path.exists(f"{report}.pid"):
                child = int(Path(f"{report}.pid").read_text() or 0)
            if child and not killed:
                rss_mb = _rss_kb(child) / 1024
                if rss_mb > kill_mb:
                    killed = f"killed at {rss_mb:.0f} MB RSS"
                elif time.monotonic() - started > kill_s:
                    killed = f"killed after {kill_s:g} s"
                if killed:
                    os.kill(child, 9)
            time.sleep(POLL_S)
    wall = time.monotonic() - started
    peak_kb = int(report.read_text()) if report.exists() else 0
    written = tuple(sorted(str(p) for folder in homes for p in folder.rglob("*")))
    return Run(
        status=proc.returncode,
        stdout=out_path.read_bytes(),
        stderr=err_path.read_text(errors="replace"),
        wall_s=wall,
        peak_mb=peak_kb / 1024,
        killed=killed,
        written=written,
    )
