"""Find the incidents under the paths given to ``lostbeat fleet``.

An incident is what one ``lostbeat analyze`` call reads: one host, one crash. The grouping
rule (docs/fleet.md) is:

1. A folder holding ``lostbeat-recording.json`` is a **recording**: one incident; nothing
   below it is searched.
2. A folder named ``vm-support-*``, or holding ``var/log/vmksummary*``, is an **unpacked
   bundle**; so is an unpacked sosreport (named ``sosreport-*``, or holding
   ``sos_commands/``) and a lostbeat capture (``lost-heartbeat-<host>-<stamp>``, a folder
   whose name the analyzer reads a host from): one incident; nothing below it is searched.
3. A file ending in ``.tgz``, ``.tar.gz``, ``.tar``, ``.tar.xz``, ``.txz``, ``.tar.bz2``,
   ``.tbz2`` or ``.tbz`` (the analyzer's archive names) is an **archive**: one incident.
4. A loose file beside one of those, whose name is the anchor's stem plus ``.`` plus
   anything (``case1.tgz`` + ``case1.psod.txt``), belongs to that incident. When several
   stems fit, the longest wins (``a.b.tgz`` takes ``a.b.psod.txt`` before ``a.tgz`` does).
5. In a folder with exactly one anchor (a case folder: ``1234/esx-....tgz``,
   ``1234/psod.txt``), every loose file belongs to it.
6. A folder with no anchor, holding a loose file whose content the analyzer recognises
   (``dmesg.txt``, ``journal.txt``, ``messages``, a ``kubectl describe`` text, a PSOD), is
   a **host folder**: one incident of all its loose files, keyed by the folder. Its
   sub-folders are searched on their own.
7. Other loose files found while searching are ignored and listed; a loose file named on the
   command line is an incident of its own (the analyzer sniffs what it is).

Hidden names (a leading ``.``) and the files in ``skip`` (the fleet database) are left
out, symbolic links to folders are not searched, and everything is visited in sorted order,
so the same tree always gives the same incidents. The incident key is the anchor's absolute
path: the same bundle analysed again is the same incident.

Examples:
    >>> archive_stem("esx-2010-03-16--12.51.4711.tgz")
    'esx-2010-03-16--12.51.4711'
    >>> archive_stem("psod.txt") is None
    True
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from lostbeat.analyzer._unpack import ARCHIVE_SUFFIXES
from lostbeat.errors import InputError
from lostbeat.recording.schema import MARKER_NAME

__all__ = [
    "ARCHIVE_SUFFIXES",
    "Discovery",
    "Incident",
    "IncidentKind",
    "RECORDING_MARKER",
    "Unreadable",
    "archive_stem",
    "discover",
]

RECORDING_MARKER = MARKER_NAME


class IncidentKind(StrEnum):
    ARCHIVE = "archive"
    BUNDLE_DIR = "bundle_dir"
    RECORDING = "recording"
    HOST_FOLDER = "host_folder"
    LOOSE = "loose"


@dataclass(frozen=True, slots=True)
class Incident:
    """One host's inputs for one crash: the anchor first, then the loose files beside it (a
    host folder: its loose files only)."""

    key: str
    """The anchor's absolute path; stable across runs, so the store can upsert on it."""
    kind: IncidentKind
    paths: tuple[str, ...]

    @property
    def folder_host(self) -> str | None:
        """A host folder's name: the host, when its evidence names none."""
        return os.path.basename(self.key) if self.kind is IncidentKind.HOST_FOLDER else None


@dataclass(frozen=True, slots=True)
class Unreadable:
    """A folder the search could not list: it becomes an error row."""

    path: str
    reason: str


@dataclass(frozen=True, slots=True)
class Discovery:
    incidents: tuple[Incident, ...]
    """Sorted by key."""
    ignored: tuple[str, ...] = ()
    """Loose files that belong to no incident."""
    unreadable: tuple[Unreadable, ...] = ()


def archive_stem(name: str) -> str | None:
    """The name without its archive suffix, or None when it is not an archive name."""
    lower = name.lower()
    for suffix in ARCHIVE_SUFFIXES:
        if lower.endswith(suffix) and len(name) > len(suffix):
            return name[: -len(suffix)]
    return None


def _folder_kind(path: Path) -> IncidentKind | None:
    # os.path.isfile, not Path.is_file: it says False for a folder we may not search
    if os.path.isfile(path / RECORDING_MARKER):
        return IncidentKind.RECORDING
    if path.name.startswith(("vm-support-", "sosreport-")) or os.path.isdir(path / "sos_commands"):
        return IncidentKind.BUNDLE_DIR
    try:
        names = os.listdir(path / "var" / "log")
    except OSError:
        return None
    return IncidentKind.BUNDLE_DIR if any(n.startswith("vmksummary") for n in names) else None


def _unanchored(folder: Path, loose: Sequence[str]) -> IncidentKind | None:
    """What a folder without anchors is (rules 2 and 6), as the analyzer judges it: a bundle
    when its name is a bundle's top folder (a lostbeat capture), a host folder when one of
    its loose files is evidence, else nothing."""
    # the analyzer's own tables and sniffers, imported only when such a folder is met
    from lostbeat.analyzer.artifacts import host_of

    if host_of(folder.name) is not None:
        return IncidentKind.BUNDLE_DIR
    return IncidentKind.HOST_FOLDER if any(_is_evidence(folder / n) for n in loose) else None


def _is_evidence(path: Path) -> bool:
    """A regular, non-empty file whose content the analyzer recognises."""
    from lostbeat.analyzer.sources import sniff_file

    try:
        st = os.stat(path)
        return stat.S_ISREG(st.st_mode) and st.st_size > 0 and sniff_file(path) is not None
    except (OSError, InputError):
        return False


def _classify(
    folder: Path, dirnames: Iterable[str], filenames: Iterable[str]
) -> tuple[list[tuple[str, IncidentKind]], list[str], list[str]]:
    """Splits a folder's entries into anchors, loose files and sub-folders to search."""
    anchors: list[tuple[str, IncidentKind]] = []
    search: list[str] = []
    for name in sorted(d for d in dirnames if not d.startswith(".")):
        kind = _folder_kind(folder / name)
        if kind is None:
            search.append(name)
        else:
            anchors.append((name, kind))
    loose: list[str] = []
    for name in sorted(f for f in filenames if not f.startswith(".")):
        if archive_stem(name) is not None:
            anchors.append((name, IncidentKind.ARCHIVE))
        else:
            loose.append(name)
    return anchors, loose, search


def _stem(name: str, kind: IncidentKind) -> str:
    return (archive_stem(name) or name) if kind is IncidentKind.ARCHIVE else name


class _Collector:
    def __init__(self, skip: frozenset[str]) -> None:
        self.skip = skip
        self.incidents: dict[str, Incident] = {}
        self.ignored: set[str] = set()
        self.unreadable: list[Unreadable] = []
        self.claimed: set[str] = set()

    def group(
        self,
        folder: Path,
        anchors: Sequence[tuple[str, IncidentKind]],
        loose: Iterable[str],
        *,
        only: str | None = None,
    ) -> None:
        """Adds a folder's anchors (or just ``only``) with their loose files (rules 4, 5)."""
        stems = {_stem(name, kind): name for name, kind in anchors}
        sole = anchors[0][0] if len(anchors) == 1 else None
        extras: dict[str, list[str]] = {name: [] for name, _ in anchors}
        for name in loose:
            path = str(folder / name)
            if path in self.skip:
                continue
            stem = max((s for s in stems if name.startswith(s + ".")), key=len, default=None)
            owner = stems[stem] if stem is not None else sole
            if owner is None:
                if only is None:
                    self.ignored.add(path)
            elif only is None or owner == only:
                extras[owner].append(path)
                self.claimed.add(path)
        for name, kind in anchors:
            if only is None or name == only:
                key = str(folder / name)
                self.add(Incident(key, kind, (key, *extras[name])))

    def add(self, incident: Incident) -> None:
        known = self.incidents.get(incident.key)
        if known is not None:
            merged = dict.fromkeys(known.paths + incident.paths)
            incident = Incident(incident.key, incident.kind, tuple(merged))
        self.incidents[incident.key] = incident

    def anchor(self, path: Path, kind: IncidentKind) -> None:
        """Adds one anchor named on the command line, with its loose files (rule 4)."""
        folder = path.parent
        try:
            names = os.listdir(folder)
        except OSError as err:
            self.on_error(err)
            names = [path.name]
        dirs = [n for n in names if os.path.isdir(folder / n)]
        files = [n for n in names if n not in dirs]
        anchors, loose, _ = _classify(folder, dirs, files)
        if path.name not in {n for n, _ in anchors}:
            anchors.append((path.name, kind))  # a hidden name, named on purpose
        self.group(folder, anchors, loose, only=path.name)

    def walk(self, top: Path) -> None:
        kind = _folder_kind(top)
        if kind is not None:
            self.anchor(top, kind)
            return
        for folder, dirnames, filenames in os.walk(top, onerror=self.on_error):
            here = Path(folder)
            anchors, loose, search = _classify(here, dirnames, filenames)
            dirnames[:] = search
            if not anchors and self.unanchored(here, loose, dirnames):
                continue
            self.group(here, anchors, loose)

    def unanchored(self, folder: Path, loose: Sequence[str], search: list[str]) -> bool:
        """Adds a folder without anchors as a bundle or a host folder (rules 2 and 6), if it
        is one; ``search`` is emptied for a bundle."""
        files = [n for n in loose if str(folder / n) not in self.skip]
        kind = _unanchored(folder, files) if files else None
        key = str(folder)
        if kind is IncidentKind.BUNDLE_DIR:
            search.clear()
            self.add(Incident(key, kind, (key,)))
        elif kind is IncidentKind.HOST_FOLDER:
            paths = tuple(str(folder / n) for n in files)
            self.claimed.update(paths)
            self.add(Incident(key, kind, paths))
        return kind is not None

    def on_error(self, err: OSError) -> None:
        self.unreadable.append(Unreadable(str(err.filename), err.strerror or str(err)))


def discover(
    paths: Sequence[str | os.PathLike[str]], *, skip: Iterable[str | os.PathLike[str]] = ()
) -> Discovery:
    """Finds every incident under ``paths``, by the rule in the module docstring.

    Args:
        paths: folders to search, archives, bundle folders, recordings or loose files.
        skip: files never to take as loose files (the fleet database and its journals).

    Returns:
        The incidents sorted by key, the loose files that belong to none, and the folders
        that could not be listed.

    Raises:
        InputError: a path does not exist or cannot be read, or nothing to analyse was
            found at all.
    """
    if not paths:
        raise InputError("no path given", path="-")
    collector = _Collector(frozenset(os.path.abspath(os.fspath(p)) for p in skip))
    explicit_files: list[Path] = []
    for raw in paths:
        path = Path(os.path.abspath(os.fspath(raw)))
        try:
            mode = path.stat().st_mode
        except FileNotFoundError:
            raise InputError("no such file or folder", path=os.fspath(raw)) from None
        except OSError as err:
            raise InputError(f"cannot read: {err.strerror}", path=os.fspath(raw)) from err
        if stat.S_ISDIR(mode):
            collector.walk(path)
        elif archive_stem(path.name) is not None:
            collector.anchor(path, IncidentKind.ARCHIVE)
        else:
            explicit_files.append(path)
    for path in explicit_files:
        if str(path) not in collector.claimed and str(path) not in collector.skip:
            collector.add(Incident(str(path), IncidentKind.LOOSE, (str(path),)))
    if not collector.incidents and not collector.unreadable:
        shown = " ".join(os.fspath(p) for p in paths)
        raise InputError(
            "no vm-support archive, bundle folder, lostbeat recording or folder of evidence found",
            path=shown,
        )
    ignored = collector.ignored - collector.claimed - set(collector.incidents)
    return Discovery(
        incidents=tuple(collector.incidents[k] for k in sorted(collector.incidents)),
        ignored=tuple(sorted(ignored)),
        unreadable=tuple(sorted(collector.unreadable, key=lambda u: u.path)),
    )
