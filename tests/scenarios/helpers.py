"""Reading generated bundles back, independently of the analyzer's parsers."""

from __future__ import annotations

import gzip
import re
import tarfile
from dataclasses import dataclass
from pathlib import Path

HB = re.compile(
    r"^(?P<stamp>[A-Z][a-z]{2} {1,2}\d{1,2} \d\d:\d\d:\d\d) (?P<host>\S+) logger: "
    r"\((?P<epoch>\d+)\) hb: vmk loaded, (?P<cos>[\d.]+), (?P<vmk>[\d.]+), (?P<vms>\d+), "
    r"(?P<build>\d+), (?P<vmm>\d+), (?P<swap>\d+)(?P<top>(, \S+-\d+)*)$"
)
EVENT = re.compile(
    r"^[A-Z][a-z]{2} {1,2}\d{1,2} \d\d:\d\d:\d\d \S+ (?:vmkhalt|logger): \((?P<epoch>\d+)\) "
    r"(?P<text>Starting system\.\.\.|Rebooting system\.\.\.|Halting system\.\.\.|VMkernel error"
    r"|loaded VMkernel)$"
)
SUMMARY = re.compile(r"^var/log/vmksummary(\.(?P<n>\d+))?(?P<gz>\.gz)?$")


@dataclass(frozen=True)
class Entry:
    """One vmksummary line: ``kind`` is hb or the event text."""

    kind: str
    epoch: int
    text: str
    vms: int = 0
    build: int = 0
    swap: int = 0
    top: tuple[tuple[str, int], ...] = ()


def members(bundle: Path) -> tuple[str, dict[str, bytes]]:
    """The top folder and every regular file (bundle-relative path -> bytes)."""
    with tarfile.open(bundle) as tar:
        tops = {m.name.split("/", 1)[0] for m in tar.getmembers()}
        assert len(tops) == 1, tops
        files = {}
        for m in tar.getmembers():
            if m.isfile():
                handle = tar.extractfile(m)
                assert handle is not None
                files[m.name.split("/", 1)[1]] = handle.read()
    return tops.pop(), files


def summary_files(files: dict[str, bytes]) -> list[tuple[str, str]]:
    """(path, text) of every vmksummary file, oldest first (highest rotation number first)."""
    found = []
    for path, data in files.items():
        m = SUMMARY.match(path)
        if m:
            text = (gzip.decompress(data) if m["gz"] else data).decode()
            found.append((-int(m["n"] or 0), path, text))
    return [(path, text) for _, path, text in sorted(found)]


def entries(files: dict[str, bytes]) -> list[Entry]:
    """Every vmksummary line of every file, oldest file first; any other line fails."""
    out = []
    for path, text in summary_files(files):
        for line in text.splitlines():
            hb = HB.match(line)
            if hb:
                top = tuple(
                    (tok.rpartition("-")[0], int(tok.rpartition("-")[2]))
                    for tok in hb["top"].split(", ")[1:]
                )
                out.append(
                    Entry(
                        "hb",
                        int(hb["epoch"]),
                        line,
                        int(hb["vms"]),
                        int(hb["build"]),
                        int(hb["swap"]),
                        top,
                    )  # fmt: skip
                )
                continue
            ev = EVENT.match(line)
            assert ev, f"{path}: unexpected line {line!r}"
            out.append(Entry(ev["text"], int(ev["epoch"]), line))
    return out


def crashed_boot(lines: list[Entry], crashed_at: float) -> list[Entry]:
    """Hourly lines of the boot that ended with the crash."""
    boot: list[Entry] = []
    for e in lines:
        if e.epoch >= crashed_at:
            break
        if e.kind == "Starting system...":
            boot = []
        elif e.kind == "hb":
            boot.append(e)
    return boot
