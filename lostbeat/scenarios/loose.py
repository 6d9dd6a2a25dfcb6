"""Writing an incident that is not an ESX 3.x/4.x vm-support bundle: loose files (a screen, a
log, a paste) or one archive (an ESXi bundle, a sosreport), with ``truth.json`` beside them.

A builder returns a :class:`Written`; :func:`write` puts its files into the output folder, the
main input first, and returns the :class:`GeneratedCase`. Archives are built here in memory,
deterministically: fixed member times and owners, gzip without a name or time, and xz at a
fixed preset, so the same (scenario, seed) always gives the same bytes.

Examples:
    >>> data = tar_bytes("top", {"a/b.txt": b"x"}, mtime=0, compression="xz")
    >>> import io, tarfile
    >>> tarfile.open(fileobj=io.BytesIO(data)).getnames()
    ['top', 'top/a', 'top/a/b.txt']
"""

from __future__ import annotations

import gzip
import io
import lzma
import tarfile
from dataclasses import dataclass
from pathlib import Path

from lostbeat.errors import InputError
from lostbeat.scenarios.expect import Expect
from lostbeat.scenarios.model import CaseTruth, GeneratedCase

__all__ = ["Written", "tar_bytes", "write"]


@dataclass(frozen=True, slots=True)
class Written:
    """One incident as a support engineer receives it."""

    platform: str
    """``esx_classic``, ``esxi`` or ``linux``."""
    files: tuple[tuple[str, bytes], ...]
    """(file name, content), the main input first."""
    forms: tuple[str, ...]
    expect: Expect
    detail: tuple[tuple[str, str], ...] = ()


def tar_bytes(top: str, files: dict[str, bytes], *, mtime: int, compression: str = "gz") -> bytes:
    """A tar of ``files`` (path -> bytes) under the folder ``top``, with directory entries,
    compressed with ``gz`` or ``xz``."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.GNU_FORMAT) as tar:
        seen: set[str] = set()
        for path in sorted(files):
            parts = path.split("/")
            for depth in range(len(parts)):
                folder = "/".join([top, *parts[:depth]])
                if folder not in seen:
                    seen.add(folder)
                    tar.addfile(_info(folder, 0, mtime, directory=True))
            data = files[path]
            tar.addfile(_info(f"{top}/{path}", len(data), mtime), io.BytesIO(data))
    body = raw.getvalue()
    if compression == "xz":
        return lzma.compress(body, format=lzma.FORMAT_XZ, preset=6)
    out = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=out, compresslevel=6, mtime=mtime) as gz:
        gz.write(body)
    return out.getvalue()


def _info(name: str, size: int, mtime: int, *, directory: bool = False) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.size = size
    info.mtime = mtime
    info.uname = info.gname = "root"
    info.mode = 0o755 if directory else 0o644
    if directory:
        info.type = tarfile.DIRTYPE
    return info


def write(name: str, seed: int, written: Written, out_dir: Path) -> GeneratedCase:
    """Write ``written`` and its ``truth.json`` into ``out_dir``.

    Raises:
        InputError: ``out_dir`` cannot be written.
    """
    names = tuple(n for n, _ in written.files)
    truth = CaseTruth(name, seed, written.platform, written.forms, names, written.expect,
                      written.detail)  # fmt: skip
    out_dir = Path(out_dir)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        paths = []
        for file_name, data in written.files:
            (out_dir / file_name).write_bytes(data)
            paths.append(out_dir / file_name)
        truth_path = out_dir / "truth.json"
        truth_path.write_text(truth.to_json(), encoding="utf-8")
    except OSError as err:
        raise InputError(f"cannot write the generated incident ({err.strerror})",
                         path=str(out_dir)) from err  # fmt: skip
    return GeneratedCase(bundle=paths[0], truth=truth, truth_path=truth_path,
                         extras=tuple(paths[1:]))  # fmt: skip
