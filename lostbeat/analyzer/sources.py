"""Bundle sources: a vm-support archive, an unpacked folder, loose files, or memory (tests).

Every source yields a :class:`Collected`: the names of all regular members, a record for each
member that was skipped or broken, and the wanted members (files of a content artifact in
``ARTIFACTS``). Given a consumer (``collect(consume=...)``, as the engine does), each wanted
member is handed to it as soon as it is read, as a :class:`Text` whose lines are read once,
and nothing of it is kept; without one, members are kept with their bytes. Nothing is ever
written anywhere, and no link is ever followed.

Archives (``.tgz``, ``.tar.gz``, ``.tar``) are read as one forward stream: isal inflates,
the tar headers are parsed in ``_tarstream`` (over twice as fast as ``tarfile`` in stream
mode, see docs/benchmarks.md), unwanted members are skipped without keeping their bytes.
Memory is bounded by :class:`Limits`, each cap counting what is kept:

* a member keeps at most ``member_bytes`` (16 MiB) and ``member_lines`` lines (a million).
  Logs (``Artifact.tail``) keep their newest part, cut to a whole line, since the newest
  lines precede the crash; other artifacts over 16 MiB or ``file_lines`` (20 000) lines are
  skipped as "too large". A member is parsed before the next is read.
* members kept whole (recording shards, kept compressed; all members without a consumer)
  hold at most ``kept_bytes`` (32 MiB) together; members handed to a consumer at most
  ``parsed_bytes`` (128 MiB), a bound on the time spent parsing; at most ``members`` (1 000)
  wanted members are read.
* names listed stop at ``listed`` (100 000) or ``listed_chars`` (8 MiB), records at
  ``recorded`` (1 000) per source, then one "and N more" record counts the rest; a name or
  link target over 4 096 bytes is shown cut, with its length.
* folders are walked ``depth`` (32) levels down, ``entries`` (200 000) entries in all.
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
from functools import partial
from typing import BinaryIO, Protocol

from lostbeat.analyzer import artifacts
from lostbeat.analyzer._collect import (
    Collected,
    Consume,
    Member,
    Progress,
    Text,
    _Collector,
)
from lostbeat.analyzer._folder import is_real_dir, read_file, shown_path, walk_folder
from lostbeat.analyzer._gunzip import _Broken, _size
from lostbeat.analyzer._handoff import walk_beside
from lostbeat.analyzer._inflater import THREAD_MIN
from lostbeat.analyzer._journal import JOURNAL_MAGIC, export_hint, read_journal
from lostbeat.analyzer._limits import Limits
from lostbeat.analyzer._paste import head_text
from lostbeat.analyzer._tarstream import _CHUNK, _is_tar_header, _Stream, _walk
from lostbeat.analyzer._unpack import ARCHIVE_SUFFIXES, MAGIC_BYTES, unpacker
from lostbeat.analyzer.artifacts import ARTIFACTS
from lostbeat.analyzer.result import InputRecord, InputStatus
from lostbeat.errors import InputError

__all__ = [
    "BundleSource",
    "Collected",
    "Consume",
    "DirSource",
    "FileSource",
    "Limits",
    "Member",
    "MemorySource",
    "Progress",
    "TarSource",
    "Text",
    "open_source",
    "shown_path",
    "sniff_file",
]

_HEAD = 64 * 1024  # bytes of a loose file its kind is sniffed from
_PACKED = (  # archives and compressions lostbeat does not read (magic numbers)
    (b"\x28\xb5\x2f\xfd", "is zstd data"),
    (b"PK\x03\x04", "is a zip archive"),
    (b"7z\xbc\xaf\x27\x1c", "is a 7-Zip archive"),
)


class BundleSource(Protocol):
    label: str

    def collect(
        self, *, progress: Progress | None = None, consume: Consume | None = None
    ) -> Collected: ...


def _open(path: str) -> BinaryIO:
    try:
        return open(path, "rb", buffering=0)
    except OSError as err:
        raise InputError(f"cannot read: {err.strerror}", path=shown_path(path)) from None


class TarSource:
    """A vm-support archive (``.tgz``, ``.tar.gz`` or ``.tar``), read as one forward stream."""

    __slots__ = ("label", "limits", "path")

    def __init__(self, path: str | os.PathLike[str], *, limits: Limits | None = None) -> None:
        self.path = os.fspath(path)
        self.label = shown_path(self.path)
        self.limits = limits or Limits()

    def collect(
        self, *, progress: Progress | None = None, consume: Consume | None = None
    ) -> Collected:
        """Read the archive once; see the module docstring for what is kept.

        Raises:
            InputError: not a readable gzip or tar archive, or broken before any member.
        """
        col = _Collector(self.label, self.limits, consume)
        with _open(self.path) as fp:
            total = os.fstat(fp.fileno()).st_size
            magic = fp.read(MAGIC_BYTES)
            fp.seek(0)
            if total == 0:
                raise InputError("empty file; expected a .tgz or .tar bundle", path=self.label)
            stream = _Stream(fp, head=magic, total=total, limits=self.limits)
            stream.progress, stream.check = progress, col.check
            packed = stream.kind is not None
            try:
                if consume is None or total < THREAD_MIN:
                    end = self._walk(stream, col, packed=packed, total=total)
                else:  # parsed beside the inflation and the walk
                    walk = partial(self._walk, stream, col, packed=packed, total=total)
                    end = walk_beside(walk, col, consume)
            finally:
                stream.close()
            if progress is not None:
                progress(end, total)
        return col.result()

    def _walk(self, stream: _Stream, col: _Collector, *, packed: bool, total: int) -> int:
        """Walk the archive to its end; the compressed bytes read.

        Raises:
            InputError: broken before any member.
        """
        try:
            _walk(stream, col)
            while packed and stream.pass_on(_CHUNK):
                pass  # read to the end so that the gzip or xz check and length are checked
        except _Broken as err:
            end = stream.compressed()
            if not col.started:
                raise InputError(str(err), path=self.label) from None
            where = f" at compressed byte {end} of {total}" if packed else ""
            at = stream.position() if err.at is None else err.at
            reason = (
                f"{err}{where} (tar offset {at}; last member {col.current!r}); "
                f"the {len(col.names)} members before it were kept"
            )
            col.record(InputRecord(self.label, InputStatus.BROKEN, None, reason))
            return end
        return total


class DirSource:
    """An unpacked bundle folder, walked with ``os.scandir``; links are never followed."""

    __slots__ = ("label", "limits", "path")

    def __init__(self, path: str | os.PathLike[str], *, limits: Limits | None = None) -> None:
        self.path = os.fspath(path)
        self.label = shown_path(self.path)
        self.limits = limits or Limits()

    def collect(
        self, *, progress: Progress | None = None, consume: Consume | None = None
    ) -> Collected:
        """Walk the folder; a folder holding the recording marker yields "recording" members.

        Raises:
            InputError: the folder cannot be listed.
        """
        col = _Collector(self.label, self.limits, consume)
        try:
            with os.scandir(self.path) as it:
                top = [e.name for _, e in zip(range(2), it, strict=False)]
        except OSError as err:
            raise InputError(f"cannot list folder: {err.strerror}", path=self.label) from None
        root = self.path
        folder = artifacts.top_folder(shown_path(top[0]), is_dir=True) if len(top) == 1 else None
        if folder is not None and is_real_dir(os.path.join(root, top[0])):
            col.set_top(folder)
            root = os.path.join(root, top[0])
        else:
            col.set_top(None)
            col.host = artifacts.host_of(shown_path(os.path.basename(os.path.abspath(self.path))))
        walk_folder(root, col, lambda path, rel: self._read(col, path, rel), progress)
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
            done = read_file(path, sink, size=size)
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

    def collect(
        self, *, progress: Progress | None = None, consume: Consume | None = None
    ) -> Collected:
        """Match every file as a bundle member (sorted by path)."""
        col = _Collector(self.label, self.limits, consume)
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


def _head(path: str) -> tuple[bytes, str]:
    """The first bytes of a file, decompressed when it is gzip, xz or bzip2 (a compressed
    tar, or a compressed log whose kind is sniffed from its text), and the compression ("" for
    none); no bytes when the compressed data ends or breaks before any."""
    with _open(path) as fp:
        raw = fp.read(_HEAD)
    unpack = unpacker(raw, Limits())
    if unpack is None:
        return raw, ""
    unpack.feed(raw)
    try:
        return unpack.pull(_HEAD), unpack.kind
    except _Broken:
        return b"", unpack.kind


def _kind_of(head: bytes) -> str | None:
    """The artifact a loose file's first bytes show (a binary journal is a host log)."""
    if head.startswith(JOURNAL_MAGIC):
        return "host_log"
    return artifacts.sniff_kind(head_text(head))


def sniff_file(path: str | os.PathLike[str]) -> str | None:
    """The artifact :class:`FileSource` reads a loose file as, judged from its first 64 KiB
    (decompressed when gzip, xz or bzip2), or ``None`` when its content is not recognised.

    Raises:
        InputError: the file cannot be read.
    """
    return _kind_of(_head(os.fspath(path))[0])


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
        self.path = os.fspath(path)
        self.label = shown_path(self.path)
        self.kind, self.limits = kind, limits or Limits()

    def collect(
        self, *, progress: Progress | None = None, consume: Consume | None = None
    ) -> Collected:
        """Read the file (inflated if gzip) as its artifact.

        Raises:
            InputError: unreadable, empty, not a regular file, or an unknown forced kind.
        """
        label = self.label
        if self.kind is not None and self.kind not in ARTIFACTS:
            known = ", ".join(ARTIFACTS)
            raise InputError(f"unknown kind {self.kind!r}; expected one of {known}", path=label)
        try:
            st = os.stat(self.path)
        except OSError as err:
            raise InputError(f"cannot read: {err.strerror}", path=label) from None
        if not stat.S_ISREG(st.st_mode):
            raise InputError("not a regular file", path=label)
        head, packed_as = _head(self.path)
        if st.st_size == 0 and not head:  # /proc's files say 0 and have text: read, not sized
            raise InputError("empty file", path=label)
        col = _Collector(label, self.limits, consume)
        col.set_top(None)
        if self.kind is None and head.startswith(JOURNAL_MAGIC):
            return self._journal(col, progress)
        kind = self.kind or _kind_of(head)
        col.name(label)
        if kind is None:
            packed = next((what for magic, what in _PACKED if head.startswith(magic)), None)
            reason = f"{packed}: unpack it first" if packed else "not recognised as any artifact"
            if packed_as and not head:
                reason = (
                    f"is {packed_as} data that breaks off before any text (truncated or corrupt)"
                )
            col.skip(label, f"content {reason}")
            return col.result()
        col.recording_dirs = [""] if kind == "recording" else []
        target = col.sink(label, kind) if ARTIFACTS[kind].content else None
        if target is not None:
            try:
                done = read_file(self.path, target[1], size=st.st_size)
            except OSError as err:
                raise InputError(f"cannot read: {err.strerror}", path=label) from None
            col.keep(label, kind, target[1])
            if progress is not None:
                progress(done, max(st.st_size, done))
        return col.result()

    def _journal(self, col: _Collector, progress: Progress | None) -> Collected:
        """A binary journal, as journalctl exports it (``_journal``)."""
        col.name(self.label)
        target = col.sink(self.label, "host_log")
        if target is None:
            return col.result()
        try:
            done, error = read_journal(self.path, target[1])
        except FileNotFoundError:
            col.skip(self.label, export_hint(self.label), "host_log")
            return col.result()
        except OSError as err:
            raise InputError(f"cannot run journalctl: {err.strerror}", path=self.label) from None
        if error:
            col.record(InputRecord(self.label, InputStatus.BROKEN, "host_log", error))
        col.keep(self.label, "host_log", target[1])
        if progress is not None:
            progress(done, done)
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
    shown = shown_path(name)
    try:
        st = os.stat(name)
    except OSError as err:
        raise InputError(f"cannot open: {err.strerror}", path=shown) from None
    if stat.S_ISDIR(st.st_mode):
        if kind is not None:
            raise InputError(f"a kind ({kind}) can only be forced on a single file", path=shown)
        return DirSource(name, limits=limits)
    if not stat.S_ISREG(st.st_mode):
        raise InputError("not a regular file or folder", path=shown)
    if kind is not None:
        return FileSource(name, kind, limits=limits)
    if name.lower().endswith(ARCHIVE_SUFFIXES):
        return TarSource(name, limits=limits)
    if st.st_size == 0:
        raise InputError("empty file", path=shown)
    if _is_tar_header(_head(name)[0]):
        return TarSource(name, limits=limits)
    return FileSource(name, limits=limits)
