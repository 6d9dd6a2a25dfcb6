"""A binary systemd journal file, read through ``journalctl --file`` where it is installed.

The journal's own format is journald's business (``src/libsystemd/sd-journal/journal-def.h``:
the file starts with the signature ``LPKSHHRH``); ``journalctl --file FILE -o json`` turns it
into one JSON entry a line, which the Linux log parser reads. Its output is streamed into the
member's sink, so a large journal keeps only its newest lines, as any log does. Where
``journalctl`` is missing, the file is skipped with the one command that exports it.
"""

from __future__ import annotations

import shutil

from lostbeat.analyzer._command import CommandSink, stream_command

__all__ = ["JOURNAL_MAGIC", "export_hint", "read_journal"]

JOURNAL_MAGIC = b"LPKSHHRH"


def export_hint(path: str) -> str:
    """What to do without ``journalctl`` here: one line."""
    return (
        "a binary systemd journal, and journalctl is not installed here: export it where it "
        f"is (journalctl --file {path} -o export > journal.export) and give that file"
    )


def read_journal(path: str, sink: CommandSink) -> tuple[int, str]:
    """Stream ``journalctl --file path -o json`` into ``sink``: (bytes written, error or "").

    Raises:
        FileNotFoundError: ``journalctl`` is not installed.
    """
    exe = shutil.which("journalctl")
    if exe is None:
        raise FileNotFoundError("journalctl")
    done, error = stream_command([exe, "--file", path, "-o", "json", "--no-pager", "-q"], sink)
    return done, f"journalctl could not read it: {error}" if error else ""
