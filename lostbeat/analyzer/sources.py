"""Bundle sources: a vm-support archive, an unpacked folder, loose files, or memory (tests).

Every source yields a :class:`Collected`: the wanted members (files of a content artifact in
``ARTIFACTS``) with their bytes, the names of all regular members, and a record for each
member that was skipped or broken. Nothing is ever written anywhere, and no link is ever
followed.

Archives (``.tgz``, ``.tar.gz``, ``.tar``) are read as one forward stream: isal inflates,
the tar headers are parsed in ``_tarstream`` (over twice as fast as ``tarfile`` in stream
mode, see docs/benchmarks.md), unwanted members are skipped without keeping their bytes.
Memory is bounded by :class:`Limits`:

* a member keeps at most ``member_bytes`` (64 MiB). Logs (``Artifact.tail``) keep their
  last 64 MiB, cut to a whole line, since the newest lines precede the crash; other
  artifacts larger than that are skipped as "too large".
* all kept members together hold at most ``kept_bytes`` (128 MiB); later members are skipped.
* inflation (the archive, or a nested ``.gz`` member) stops after ``inflated_bytes``
  (64 GiB), or once past ``ratio_after`` (1 GiB) at more than ``max_ratio`` (500) inflated
  bytes per compressed byte: real logs compress 5-20x, deflate's ceiling is 1032x, so only
  a gzip bomb gets there.

A stream that breaks (truncated or corrupt gzip, bad tar header) raises
:class:`~lostbeat.errors.InputError` when nothing was read yet; otherwise the members read
so far are kept and a BROKEN record says where it broke.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Mapping
from typing import BinaryIO, Protocol

from isal import isal_zlib

from lostbeat.analyzer import artifacts
from lostbeat.analyzer._collect import (
    _GZIP_MAGIC,
    _INFLATE_ERROR,
    Collected,
    Limits,
    Member,
    Progress,
    _Broken,
    _Collector,
    _Sink,
    _size,
)
from lostbeat.analyzer._tarstream import _CHUNK, _REPORT_EVERY, _is_tar_header, _Stream, _walk
from lostbeat.analyzer.artifacts import ARTIFACTS
from lostbeat.analyzer.result import InputRecord, InputStatus
from lostbeat.errors import InputError

__all__ = [
    "BundleSource",
    "Collected",
    "DirSource",
    "FileSource",
    "Limits",
    "Member",
    "MemorySource",
    "Progress",
    "TarSource",
    "open_source",
]

_HEAD = 64 * 1024  # bytes of a loose file its kind is sniffed from
_ARCHIVE_SUFFIXES = (".tgz", ".tar.gz", ".tar")


class BundleSource(Protocol):
    label: str

    def collect(self, *, progress: Progress | None = None) -> Collected: ...


def _open(path: str) -> BinaryIO:
    try:
        return open(path, "rb", buffering=0)
    except OSError as err:
        raise InputError(f"cannot read: {err.strerror}", path=path) from None


class TarSource:
    """A vm-support archive (``.tgz``, ``.tar.gz`` or ``.tar``), read as one forward stream."""

    __slots__ = ("label", "limits", "path")

    def __init__(self, path: str | os.PathLike[str], *, limits: Limits | None = None) -> None:
        self.path = self.label = os.fspath(path)
        self.limits = limits or Limits()

    def collect(self, *, progress: Progress | None = None) -> Collected:
        """Read the archive once; see the module docstring for what is kept.

        Raises:
            InputError: not a readable gzip or tar archive, or broken before any member.
        """
        col = _Collector(self.label, self.limits)
        with _open(self.path) as fp:
            total = os.fstat(fp.fileno()).st_size
            gz = fp.read(2) == _GZIP_MAGIC
            fp.seek(0)
            if total == 0:
                raise InputError("empty file; expected a .tgz or .tar bundle", path=self.label)
            stream = _Stream(fp, gz=gz, total=total, limits=self.limits)
            stream.progress = progress
            end = total
            try:
                _walk(stream, col)
                while gz and stream.pass_on(_CHUNK):
                    pass  # read to the end so that the gzip CRC and length are checked
            except _Broken as err:
                end = stream.compressed()
                if not col.started:
                    raise InputError(str(err), path=self.label) from None
                where = f" at compressed byte {end} of {total}" if gz else ""
                at = stream.position() if err.at is None else err.at
                reason = (
                    f"{err}{where} (tar offset {at}; last member {col.current!r}); "
                    f"the {len(col.names)} members before it were kept"
                )
                col.record(InputRecord(self.label, InputStatus.BROKEN, None, reason))
            if progress is not None:
                progress(end, total)
        return col.result()


def _read_file(path: str, sink: _Sink, *, size: int) -> int:
    """Feed a regular file to ``sink`` without following links; bytes read."""
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(0, "no longer a regular file")
        start = 0
        sink.decide(os.pread(fd, 2, 0))
        if sink.gunzip is None and sink.tail and size > sink.cap:
            start = os.lseek(fd, size - sink.cap - 1, os.SEEK_SET)  # the tail is enough
            sink.seen = start
        while not sink.done and (chunk := os.read(fd, _CHUNK)):
            sink.write(chunk)
            start += len(chunk)
        return start
    finally:
        os.close(fd)


def _is_real_dir(path: str) -> bool:
    try:
        return stat.S_ISDIR(os.lstat(path).st_mode)
    except OSError:
        return False


def _special_file(path: str) -> str:
    """What a folder entry that is neither a regular file nor a folder is."""
    try:
        mode = os.lstat(path).st_mode
        if stat.S_ISLNK(mode):
            return f"symbolic link to {os.readlink(path)!r}"
    except OSError as err:
        return f"unreadable entry ({err.strerror})"
    if stat.S_ISFIFO(mode):
        return "FIFO"
    if stat.S_ISSOCK(mode):
        return "socket"
    return "device node" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode) else "special file"


class DirSource:
    """An unpacked bundle folder, walked with ``os.scandir``; links are never followed."""

    __slots__ = ("label", "limits", "path")

    def __init__(self, path: str | os.PathLike[str], *, limits: Limits | None = None) -> None:
        self.path = self.label = os.fspath(path)
        self.limits = limits or Limits()

    def collect(self, *, progress: Progress | None = None) -> Collected:
        """Walk the folder; a folder holding the recording marker yields "recording" members.

        Raises:
            InputError: the folder cannot be listed.
        """
        col = _Collector(self.label, self.limits)
        try:
            with os.scandir(self.path) as it:
                top = [e.name for e in it]
        except OSError as err:
            raise InputError(f"cannot list folder: {err.strerror}", path=self.label) from None
        root = self.path
        folder = artifacts.top_folder(top[0], is_dir=True) if len(top) == 1 else None
        if folder is not None and _is_real_dir(os.path.join(root, folder)):
            col.set_top(folder)
            root = os.path.join(root, folder)
        else:
            col.set_top(None)
            col.host = artifacts.host_of(os.path.basename(os.path.abspath(self.path)))
        done = reported = 0
        stack = [""]
        while stack:
            rel_dir = stack.pop()
            try:
                with os.scandir(os.path.join(root, rel_dir)) as it:
                    entries = sorted(it, key=lambda e: e.name)
            except OSError as err:
                col.skip(rel_dir or ".", f"cannot list folder: {err.strerror}")
                continue
            marker = artifacts.RECORDING_MARKER
            if any(e.name == marker and e.is_file(follow_symlinks=False) for e in entries):
                # every shard is read: which tier serves a day is the recording's choice
                col.recording_dirs.append(rel_dir)
            subdirs = []
            for entry in entries:
                rel = f"{rel_dir}/{entry.name}" if rel_dir else entry.name
                if entry.is_dir(follow_symlinks=False):
                    subdirs.append(rel)
                elif entry.is_file(follow_symlinks=False):
                    done += self._read(col, entry.path, rel)
                    if progress is not None and done - reported >= _REPORT_EVERY:
                        reported = done
                        progress(done, None)
                else:
                    col.skip(rel, f"{_special_file(entry.path)}; never followed", col.artifact(rel))
            stack.extend(reversed(subdirs))
        if progress is not None:
            progress(done, None)
        return col.result()

    def _read(self, col: _Collector, path: str, rel: str) -> int:
        target = col.want(rel)
        if target is None:
            return 0
        name, sink = target
        try:
            size = os.stat(path, follow_symlinks=False).st_size
            if sink.gunzip is None and not sink.tail and size > sink.cap:
                col.skip(rel, f"larger than the {_size(sink.cap)} read cap", name)
                return 0
            done = _read_file(path, sink, size=size)
        except OSError as err:
            col.skip(rel, f"cannot read: {err.strerror}", name)
            return 0
        col.keep(rel, name, sink)
        return done


class MemorySource:
    """Files held in memory (tests): bundle-relative path -> bytes, read as a folder is."""

    __slots__ = ("files", "label", "limits")

    def __init__(
        self, label: str, files: Mapping[str, bytes], *, limits: Limits | None = None
    ) -> None:
        self.label, self.files = label, dict(files)
        self.limits = limits or Limits()

    def collect(self, *, progress: Progress | None = None) -> Collected:
        """Match every file as a bundle member (sorted by path)."""
        col = _Collector(self.label, self.limits)
        safe = [p for p in self.files if not p.startswith("/") and ".." not in p.split("/")]
        heads = {p.split("/", 1)[0] for p in safe if "/" in p}
        loose = any("/" not in p for p in safe)
        folder = heads.pop() if len(heads) == 1 and not loose else None
        col.set_top(artifacts.top_folder(folder, is_dir=True) if folder else None)
        for path in sorted(self.files):
            rel, unsafe = col.place(path, is_dir=False)
            if rel.rsplit("/", 1)[-1] == artifacts.RECORDING_MARKER and not unsafe:
                col.recording_dirs.append(rel.rpartition("/")[0])
        for done, path in enumerate(sorted(self.files), 1):
            rel, unsafe = col.place(path, is_dir=False)
            if unsafe:
                col.skip(path, f"{unsafe}; never written")
            elif (target := col.want(rel)) is not None:
                target[1].write(self.files[path])
                col.keep(rel, target[0], target[1])
            if progress is not None:
                progress(done, len(self.files))
        return col.result()


def _head(path: str) -> bytes:
    """The first bytes of a file, inflated when it is gzip."""
    with _open(path) as fp:
        raw = fp.read(_HEAD)
    if raw[:2] != _GZIP_MAGIC:
        return raw
    try:
        return isal_zlib.decompressobj(wbits=31).decompress(raw, _HEAD)
    except _INFLATE_ERROR:
        return b""


class FileSource:
    """One loose file (a log, a transcribed PSOD, ...): its kind is sniffed unless forced."""

    __slots__ = ("kind", "label", "limits", "path")

    def __init__(
        self,
        path: str | os.PathLike[str],
        kind: str | None = None,
        *,
        limits: Limits | None = None,
    ) -> None:
        self.path = self.label = os.fspath(path)
        self.kind, self.limits = kind, limits or Limits()

    def collect(self, *, progress: Progress | None = None) -> Collected:
        """Read the file (inflated if gzip) as its artifact.

        Raises:
            InputError: unreadable, empty, not a regular file, or an unknown forced kind.
        """
        if self.kind is not None and self.kind not in ARTIFACTS:
            known = ", ".join(ARTIFACTS)
            raise InputError(f"unknown kind {self.kind!r}; expected one of {known}", path=self.path)
        try:
            st = os.stat(self.path)
        except OSError as err:
            raise InputError(f"cannot read: {err.strerror}", path=self.path) from None
        if not stat.S_ISREG(st.st_mode):
            raise InputError("not a regular file", path=self.path)
        if st.st_size == 0:
            raise InputError("empty file", path=self.path)
        col = _Collector(self.label, self.limits)
        col.set_top(None)
        kind = self.kind or artifacts.sniff_kind(_head(self.path).decode("utf-8", "replace"))
        if kind is None:
            col.skip(self.path, "content not recognised as any artifact")
            col.name(self.path)
            return col.result()
        col.recording_dirs = [""] if kind == "recording" else []
        art = ARTIFACTS[kind]
        col.name(self.path)
        if art.content:
            sink = _Sink(self.limits.member_bytes, tail=art.tail, limits=self.limits)
            try:
                done = _read_file(self.path, sink, size=st.st_size)
            except OSError as err:
                raise InputError(f"cannot read: {err.strerror}", path=self.path) from None
            col.keep(self.path, kind, sink)
            if progress is not None:
                progress(done, st.st_size)
        return col.result()


def open_source(
    path: str | os.PathLike[str], *, kind: str | None = None, limits: Limits | None = None
) -> BundleSource:
    """The source for a path, chosen by what the path is (not by its name alone).

    A folder is a :class:`DirSource`; a file named ``.tgz``/``.tar.gz``/``.tar``, or whose
    first bytes are a tar header or gzip of one, is a :class:`TarSource`; any other file is
    a :class:`FileSource` whose kind is sniffed, or ``kind`` when given.

    Raises:
        InputError: the path does not exist, is empty, or ``kind`` is given for a folder.
    """
    name = os.fspath(path)
    try:
        st = os.stat(name)
    except OSError as err:
        raise InputError(f"cannot open: {err.strerror}", path=name) from None
    if stat.S_ISDIR(st.st_mode):
        if kind is not None:
            raise InputError(f"a kind ({kind}) can only be forced on a single file", path=name)
        return DirSource(name, limits=limits)
    if not stat.S_ISREG(st.st_mode):
        raise InputError("not a regular file or folder", path=name)
    if kind is not None:
        return FileSource(name, kind, limits=limits)
    if name.lower().endswith(_ARCHIVE_SUFFIXES):
        return TarSource(name, limits=limits)
    if st.st_size == 0:
        raise InputError("empty file", path=name)
    if _is_tar_header(_head(name)):
        return TarSource(name, limits=limits)
    return FileSource(name, limits=limits)
