"""A command's output read as a loose file: ``journalctl`` turning a binary journal into text
(``_journal``), and the commands that give this host's own evidence (``this_host``).

The output is streamed into the member's sink as it comes, so a large journal keeps only its
newest lines, as any log does; the command's error output is kept apart (its first line is
the reason given when the command fails) and read beside, so that neither pipe can fill and
stall the other.
"""

from __future__ import annotations

import os
import subprocess
import threading
from collections.abc import Mapping, Sequence
from typing import IO, Protocol

__all__ = ["CommandSink", "stream_command"]

_CHUNK = 1 << 20
_ERR_KEPT = 4096


class CommandSink(Protocol):
    done: bool

    def write(self, chunk: bytes) -> None: ...


def stream_command(
    argv: Sequence[str], sink: CommandSink, *, env: Mapping[str, str] | None = None
) -> tuple[int, str]:
    """Run ``argv`` and stream its standard output into ``sink``: (bytes written, and when it
    exits non-zero the first line of its error output, or its exit status; else "").

    Raises:
        OSError: the command cannot be started (``FileNotFoundError`` when it is missing).
    """
    errors: list[bytes] = []
    done = 0
    with subprocess.Popen(
        list(argv),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=None if env is None else {**os.environ, **env},
    ) as proc:
        assert proc.stdout is not None and proc.stderr is not None
        err_pipe = proc.stderr
        reader = threading.Thread(target=lambda: errors.append(_drain(err_pipe)), daemon=True)
        reader.start()
        while chunk := proc.stdout.read(_CHUNK):
            sink.write(chunk)
            done += len(chunk)
        code = proc.wait()
        reader.join()
    if code != 0:
        text = b"".join(errors).decode("utf-8", "replace").strip()
        return done, text.splitlines()[0] if text else f"exit status {code}"
    return done, ""


def _drain(pipe: IO[bytes]) -> bytes:
    """The first :data:`_ERR_KEPT` bytes of a pipe, the rest read and dropped."""
    kept = pipe.read(_ERR_KEPT) or b""
    while pipe.read(_CHUNK):
        pass
    return kept
