"""The datastore, where captures (process memory, as root) go: checked at start as sshd's
StrictModes checks a user's files.

The monitor refuses a datastore that is a symbolic link, that is owned by anyone but root
(or the monitor's own uid), or that group or others may write to; and any folder above it,
up to ``/``, owned by anyone else or writable by group or others, unless that folder is
sticky (as ``/tmp``): there others cannot rename or remove what is not theirs. Like sshd
(``safe_path`` in ``auth.c``), it resolves the path and checks the resolved folders; it
then writes to the resolved path only, so a link in the path it was given cannot be turned
elsewhere later. A datastore that does not exist is created (mode 0700) once the folders
above it have passed.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from lostbeat.errors import InputError

_OTHERS_WRITE = stat.S_IWGRP | stat.S_IWOTH


def open_datastore(path: Path, *, uid: int) -> Path:
    """Create the datastore if it is missing, check it, and return its resolved path.

    Args:
        path: the ``--datastore`` given.
        uid: the monitor's effective uid, allowed to own the folders besides root.

    Raises:
        InputError: one line naming the datastore, the folder at fault and what was
            expected.
    """
    given, where = Path(os.path.abspath(path)), str(path)
    st = _lstat(given, where)
    if st is None:
        above = _existing_folder_above(given)
        if above is not None:
            _check_above(above, uid=uid, where=where)
        try:
            os.makedirs(given, mode=0o700)
            st = os.lstat(given)
        except OSError as err:
            raise InputError(f"cannot create the datastore: {err.strerror}", path=where) from err
    if stat.S_ISLNK(st.st_mode):
        raise InputError(
            f"the datastore is a symbolic link (to {os.readlink(given)!r}); expected a folder,"
            " not a link",
            path=where,
        )
    if not stat.S_ISDIR(st.st_mode):
        raise InputError("expected a writable directory for the datastore", path=where)
    fault = _fault(st, uid=uid, sticky_ok=False)
    if fault is not None:
        raise InputError(f"the datastore {fault}", path=where)
    real = Path(os.path.realpath(given))
    _check_above(real.parent, uid=uid, where=where)
    if not os.access(real, os.W_OK | os.X_OK):
        raise InputError("expected a writable directory for the datastore", path=where)
    return real


def _lstat(path: Path, where: str) -> os.stat_result | None:
    try:
        return os.lstat(path)
    except (FileNotFoundError, NotADirectoryError):
        return None  # created below (or refused there, when something above is a file)
    except OSError as err:
        raise InputError(f"cannot use the datastore: {err.strerror}", path=where) from err


def _existing_folder_above(path: Path) -> Path | None:
    """The nearest folder above ``path`` that exists, resolved; None if it is not a folder."""
    for above in path.parents:
        if os.path.lexists(above):
            return Path(os.path.realpath(above)) if os.path.isdir(above) else None
    return None


def _check_above(folder: Path, *, uid: int, where: str) -> None:
    """``folder`` (resolved) and every folder above it, up to ``/``."""
    for above in (folder, *folder.parents):
        try:
            st = os.lstat(above)
        except OSError as err:
            raise InputError(
                f"cannot check {above} (above the datastore): {err.strerror}", path=where
            ) from err
        fault = _fault(st, uid=uid, sticky_ok=True)
        if fault is not None:
            raise InputError(f"{above} (above the datastore) {fault}", path=where)


def _fault(st: os.stat_result, *, uid: int, sticky_ok: bool) -> str | None:
    owners = "root" if uid == 0 else f"root or uid {uid} (the monitor's)"
    if st.st_uid not in (0, uid):
        return f"is owned by uid {st.st_uid}; expected {owners}"
    if stat.S_ISLNK(st.st_mode):  # a resolved folder became a link since
        return "is a symbolic link; expected a folder"
    if st.st_mode & _OTHERS_WRITE and not (sticky_ok and st.st_mode & stat.S_ISVTX):
        mode = f"{stat.S_IMODE(st.st_mode):04o}"
        return (
            f"is writable by group or others (mode {mode}"
            + (", not sticky" if sticky_ok else "")
            + f"); expected a folder only {owners} can write to"
        )
    return None
