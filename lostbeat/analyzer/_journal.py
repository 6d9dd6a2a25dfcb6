"""A binary systemd journal file, read through ``journalctl --file`` where it is installed.

The journal's own format is journald's business (``src/libsystemd/sd-journal/journal-def.h``:
the file starts with the signature ``LPKSHHRH``); ``journalctl --file FILE -o json`` turns it
into one JSON entry a line, which the Linux log parser reads. Its output is streamed into the
member's sink, so a large journal keeps only its newest lines, as any log does. Where
``journalctl`` is missing, the file is skipped with the one command that exports it.
"""

from __future__ import annotations

import shutil
import subprocess
from typing import Protocol

__all__ = ["JOURNAL_MAGIC", "export_hint", "read_journal"]

JOURNAL_MAGIC = b"LPKSHHRH"
_CHUNK = 1 << 20


class _Sink(Protocol):
    done: bool

    def write(self, chunk: bytes) -> None: ...


def export_hint(path: str) -> str:
    """What to do without ``journalctl`` here: one line."""
    return (
        "a binary systemd journal, and journalctl is not installed here: export it where it "
        f"is (journalctl --file {path} -o export > journal.export) and give that file"
    )


def read_journal(path: str, sink: _Sink) -> tuple[int, str]:
    """Stream ``journalctl --file path -o json`` into ``sink``: (bytes written, error or "").

    Raises:
        FileNotFoundError: ``journalctl`` is not installed.
    """
    exe = shutil.which("journalctl")
    if exe is None:
        raise FileNotFoundError("journalctl")
    cmd = [exe, "--file", path, "-o", "json", "--no-pager", "-q"]
    done = 0
    with subprocess.Popen(
        cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    ) as proc:
        assert proc.stdout is not None and proc.stderr is not None
        while chunk := proc.stdout.read(_CHUNK):
            sink.write(chunk)
            done += len(chunk)
        err = proc.stderr.read(4096).decode("utf-8", "replace").strip()
        code = proc.wait()
    if code != 0:
        first = err.splitlines()[0] if err else f"exit status {code}"
        return done, f"journalctl could not read it: {first}"
    return done, ""
