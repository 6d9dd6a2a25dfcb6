"""The folder walk under ``DirSource``: iterative, bounded in depth and in entries.

Folders are walked with an explicit stack (never by recursion: a chain of 1,500 nested
folders is one record, not a ``RecursionError``), at most ``Limits.depth`` levels down and
``Limits.entries`` entries in all; each folder's entries are sorted, so the walk is the same
on every file system. Links are never followed (``lstat``, ``O_NOFOLLOW``), and only regular
files are read.

Names that are not UTF-8 are shown as a tar's are: each byte that is not part of a valid
UTF-8 sequence becomes U+FFFD (:func:`shown_path`); the file is still opened by its real name.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable

from lostbeat.analyzer import artifacts
from lostbeat.analyzer._collect import Progress, _Collector, shown_link
from lostbeat.analyzer._sink import _Sink
from lostbeat.analyzer._unpack import MAGIC_BYTES

__all__ = ["read_file", "shown_path", "walk_folder"]

_CHUNK = 4 * 1024 * 1024
_REPORT_EVERY = 4 * 1024 * 1024


def shown_path(path: str) -> str:
    """A path as lostbeat shows it (records, JSON, messages): valid UTF-8 as is, any other
    byte as U+FFFD, as a tar member's name is decoded.

    >>> shown_path(os.fsdecode(b"caf\\xe9/ok"))
    'caf\\ufffd/ok'
    """
    return os.fsencode(path).decode("utf-8", "replace")


def read_file(path: str, sink: _Sink, *, size: int) -> int:
    """Feed a regular file to ``sink`` without following links; bytes read."""
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(0, "no longer a regular file")
        start = 0
        sink.decide(os.pread(fd, MAGIC_BYTES, 0))
        if sink.gunzip is None and sink.tail and size > sink.cap:
            start = os.lseek(fd, size - sink.cap - 1, os.SEEK_SET)  # the tail is enough
            sink.skipped(start)
        while not sink.done and (chunk := os.read(fd, _CHUNK)):
            sink.write(chunk)
            start += len(chunk)
        return start
    finally:
        os.close(fd)


def is_real_dir(path: str) -> bool:
    try:
        return stat.S_ISDIR(os.lstat(path).st_mode)
    except OSError:
        return False


def _special_file(path: str) -> str:
    """What a folder entry that is neither a regular file nor a folder is."""
    try:
        mode = os.lstat(path).st_mode
        if stat.S_ISLNK(mode):
            return f"symbolic link to {shown_link(shown_path(os.readlink(path)))}"
    except OSError as err:
        return f"unreadable entry ({err.strerror})"
    if stat.S_ISFIFO(mode):
        return "FIFO"
    if stat.S_ISSOCK(mode):
        return "socket"
    return "device node" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode) else "special file"


# (name, 0 file / 1 folder / 2 other), sorted by name
_Entries = list[tuple[str, int]]


class _Walk:
    """The state of one walk: its budget of entries, and the records of what it left."""

    def __init__(self, root: str, col: _Collector) -> None:
        self.root, self.col = root, col
        self.left = col.limits.entries
        self.stopped = ""

    def entries(self, rel_dir: str) -> _Entries | None:
        """The folder's entries, sorted; None when it cannot be listed (recorded)."""
        found: _Entries = []
        more = 0
        try:
            with os.scandir(os.path.join(self.root, rel_dir)) as it:
                for entry in it:
                    if self.left <= 0:
                        more += 1
                        continue
                    self.left -= 1
                    if entry.is_dir(follow_symlinks=False):
                        found.append((entry.name, 1))
                    else:
                        found.append((entry.name, 0 if entry.is_file(follow_symlinks=False) else 2))
        except OSError as err:
            self.col.skip(shown_path(rel_dir) or ".", f"cannot list folder: {err.strerror}")
            return None
        if more and not self.stopped:
            limit = self.col.limits.entries
            self.stopped = f"{more} more entries in {shown_path(rel_dir) or '.'}"
            self.col.skip(
                shown_path(rel_dir) or ".",
                f"walk stopped after {limit} entries: {more} more entries in this folder "
                "and any folder after it not read",
            )
        found.sort()
        return found


def walk_folder(
    root: str,
    col: _Collector,
    read: Callable[[str, str], int],
    progress: Progress | None,
) -> None:
    """Walk ``root``, calling ``read(path, shown_rel)`` for each regular file; ``read``
    returns the bytes it read."""
    walk = _Walk(root, col)
    done = reported = 0
    limits = col.limits
    stack: list[tuple[str, int]] = [("", 0)]
    while stack and not walk.stopped:
        rel_dir, depth = stack.pop()
        entries = walk.entries(rel_dir)
        if entries is None:
            continue
        marker = artifacts.RECORDING_MARKER
        if any(name == marker and kind == 0 for name, kind in entries):
            # every shard is read: which tier serves a day is the recording's choice
            col.recording_dirs.append(shown_path(rel_dir))
        subdirs = []
        for name, kind in entries:
            rel = f"{rel_dir}/{name}" if rel_dir else name
            shown = shown_path(rel)
            if kind == 1:
                if depth >= limits.depth:
                    col.skip(shown, f"folder deeper than {limits.depth} folders; not read")
                else:
                    subdirs.append((rel, depth + 1))
            elif kind == 0:
                done += read(os.path.join(root, rel), shown)
                if progress is not None and done - reported >= _REPORT_EVERY:
                    reported = done
                    progress(done, None)
            else:
                path = os.path.join(root, rel)
                col.skip(shown, f"{_special_file(path)}; never followed", col.artifact(shown))
        stack.extend(reversed(subdirs))
    if progress is not None:
        progress(done, None)
