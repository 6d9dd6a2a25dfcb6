"""The hostile corpus: one input per class of attack on the archive reader and the analysis,
built on the spot (each in milliseconds to a few seconds, whatever its inflated size).

Each :class:`Case` writes its input under a folder and says how ``lostbeat analyze`` must end:
the exit status, the one line it prints on standard error (a regular expression, or nothing),
and a check of the JSON document when there is one. ``tests/hostile/test_*.py`` run every case
through :mod:`tests.hostile.child`, and ``benchmarks/hostile.py`` measures the same cases
against the 200 MB and 10 s per 100 MB targets. docs/security.md, section 1, lists them.

``scale`` shrinks the costly cases for the test suite (the benchmark runs them at the sizes of
the report, scale 1): every scaled case still exceeds the bounds on a reader that keeps what
it counts, lines, records or names, without a cap.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.hostile.inputs import (
    TOP,
    VMKERNEL,
    MiB,
    Prepared,
    bomb_member,
    bzip2_bundle,
    deep_recording,
    empty_folder,
    escaped_path,
    every_log_wanted,
    long_links,
    long_names,
    loose_lines,
    many_members,
    meminfo_member,
    million_entries,
    nested_bomb,
    one_char_lines,
    real_summary,
    single_line,
    sparse_member,
    stray_text,
    tar,
    trailing,
    truncated,
    unrelated_archive,
    write,
    xz_bundle,
    zstd_bundle,
)
from tests.hostile.tarcraft import (
    base256,
    extended,
    header,
    member,
    octal,
    pad,
    pax_record,
)

LOOKED_FOR = r"nothing read as an artifact .*looked for"


@dataclass(frozen=True)
class Case:
    name: str
    what: str  # the class of attack, as docs/security.md names it
    build: Callable[[Path, float], Prepared]
    status: int
    message: str | None  # regex the one stderr line must match; None: stderr stays empty
    check: Callable[[dict[str, Any]], None] | None = None  # on the JSON document


def _reasons(doc: dict[str, Any]) -> list[str]:
    return [f"{i['status']} {i['path']}: {i['reason']}" for i in doc["inputs"]]


def _has(pattern: str) -> Callable[[dict[str, Any]], None]:
    import re

    def check(doc: dict[str, Any]) -> None:
        reasons = _reasons(doc)
        assert any(re.search(pattern, r) for r in reasons), reasons[:20]

    return check


def _small(limit: int) -> Callable[[dict[str, Any]], None]:
    """The document stays small: at most ``limit`` inputs[] entries and 2 MB of text."""

    def check(doc: dict[str, Any]) -> None:
        assert len(doc["inputs"]) <= limit, len(doc["inputs"])
        assert len(json.dumps(doc)) < 2 * MiB

    return check


def _all(*checks: Callable[[dict[str, Any]], None]) -> Callable[[dict[str, Any]], None]:
    def check(doc: dict[str, Any]) -> None:
        for one in checks:
            one(doc)

    return check


# --- tar size fields: every form must end in a BROKEN record, never a loop ---------------


def _size_case(name: str, what: str, bad: bytes, reason: str, *, gz: bool = False) -> Case:
    def build(folder: Path, scale: float) -> Prepared:
        data = tar(meminfo_member(), bad, member(TOP + b"var/log/vmkernel", VMKERNEL))
        suffix = ".tgz" if gz else ".tar"
        return write(folder / f"{name}{suffix}", gzip.compress(data, mtime=0) if gz else data)

    return Case(name, what, build, 0, None, _has(f"broken .*{reason}"))


_NEG = b"-0001750\0"  # int(..., 8) reads it as -1000
SIZE_CASES = [
    _size_case(
        "gnu-long-name-negative-size",
        "negative size",
        extended(b"L", TOP + b"var/log/x", size=_NEG),
        "negative size",
    ),
    _size_case(
        "gnu-long-link-negative-size",
        "negative size",
        extended(b"K", b"/etc/shadow", size=_NEG),
        "negative size",
    ),
    _size_case(
        "pax-header-negative-size",
        "negative size",
        extended(b"x", pax_record("path", "a"), size=_NEG),
        "negative size",
    ),
    _size_case(
        "gnu-long-name-negative-size-tgz",
        "negative size",
        extended(b"L", TOP + b"var/log/x", size=_NEG),
        "negative size",
        gz=True,
    ),
    _size_case(
        "member-negative-size",
        "negative size",
        header(TOP + b"var/log/messages", size=_NEG),
        "negative size",
    ),
    _size_case(
        "base256-negative-size",
        "negative size",
        header(TOP + b"var/log/messages", size=base256(-1000)),
        "negative size",
    ),
    _size_case(
        "base256-overflowing-size",
        "overflowing size",
        header(TOP + b"var/log/messages", size=base256(2**87)),
        "size of .* bytes in tar header",
    ),
    _size_case(
        "non-octal-size",
        "non-octal size",
        header(TOP + b"var/log/messages", size=b"0000000999x\0"),
        "bad number",
    ),
    _size_case(
        "pax-size-negative",
        "pax size",
        extended(b"x", pax_record("size", "-1000"))
        + header(TOP + b"var/log/messages", size=octal(0)),
        "pax size",
    ),
    _size_case(
        "pax-size-overflowing",
        "pax size",
        extended(b"x", pax_record("size", "9" * 19)) + header(TOP + b"var/log/messages"),
        "size of .* bytes in tar header",
    ),
    _size_case(
        "gnu-long-name-huge-size",
        "overflowing size",
        extended(b"L", b"x" * 600, size=octal(8**11 - 1)),
        "size of .* bytes in tar header",
    ),
    _size_case(
        "member-claims-more-than-there-is",
        "truncated member",
        header(TOP + b"var/log/vmkernel.1", size=octal(10 * MiB)) + pad(VMKERNEL),
        "archive ends inside",
    ),
]


STRICT_CASES = [
    Case(
        "strict-truncated-gzip",
        "--strict",
        truncated,
        2,
        r"gzip stream truncated",
    ),
    Case(
        "strict-trailing-garbage",
        "--strict",
        trailing,
        2,
        r"trailing|not a gzip|garbage|after the end",
    ),
    Case("strict-bomb-member", "--strict", bomb_member, 2, r"gzip bomb"),
]

NOTHING_CASES = [
    Case("nothing-stray-text", "nothing readable", stray_text, 2, LOOKED_FOR),
    Case("nothing-empty-folder", "nothing readable", empty_folder, 2, LOOKED_FOR),
    Case("nothing-unrelated-archive", "nothing readable", unrelated_archive, 2, LOOKED_FOR),
    Case("nothing-zstd-without-suffix", "nothing readable", zstd_bundle, 2, LOOKED_FOR),
    # xz and bzip2 are read (a sosreport's .tar.xz, a .tar.bz2), whatever the name: the
    # archive is told by its bytes
    Case("xz-without-suffix", "xz archive", xz_bundle, 0, None, _has(r"^read proc/meminfo")),
    Case(
        "bzip2-without-suffix", "bzip2 archive", bzip2_bundle, 0, None, _has(r"^read proc/meminfo")
    ),
    Case(
        "nothing-escaped-path",
        "escape sequences in a path",
        escaped_path,
        2,
        r"^[^\x00-\x1f\x7f]*evil\\x1b\[2J\\x1b\]0;owned\\x07\\x0aname\.txt[^\x00-\x1f\x7f]*$",
    ),
]

MEMORY_CASES = [
    Case(
        "one-char-lines",
        "lines, not bytes",
        one_char_lines,
        0,
        None,
        _all(_has(r"read var/log/vmksummary: .*kept the last"), _small(50)),
    ),
    Case(
        "loose-one-char-lines",
        "lines, not bytes",
        loose_lines,
        0,
        None,
        _has(r"read .*x-lines\.txt: .*kept the last"),
    ),
    Case(
        "real-summary-lines",
        "a series kept for the analysis",
        real_summary,
        0,
        None,
        _all(_has(r"read var/log/vmksummary: .*kept the last"), _small(50)),
    ),
    Case(
        "long-link-targets",
        "long names and link targets",
        long_links,
        0,
        None,
        _all(_has(r"symbolic link to '/aaa.*… \(1000000 bytes\)"), _small(1100)),
    ),
    Case(
        "long-member-names",
        "long names and link targets",
        long_names,
        0,
        None,
        _all(_has(r"name of 1000\d+ bytes"), _small(1100)),
    ),
    Case(
        "many-members",
        "kept members",
        many_members,
        0,
        None,
        _all(_has(r"and \d+ more"), _small(1100)),
    ),
    Case(
        "deep-recording-folder",
        "deep folders",
        deep_recording,
        0,
        None,
        _has(r"deeper than \d+ folders"),
    ),
    Case(
        "sparse-4gib-member",
        "big members",
        sparse_member,
        0,
        None,
        _has(r"var/log/vmkernel: no whole line"),
    ),
    Case(
        "single-line-2gib",
        "big members",
        single_line,
        0,
        None,
        _has(r"var/log/vmkernel: no whole line"),
    ),
    Case(
        "nested-gzip-bomb",
        "big members",
        nested_bomb,
        0,
        None,
        _all(
            _has(r"broken var/log/vmkernel\.1\.gz: .*gzip bomb"),
            _has(r"read var/log/vmkernel\.1\.gz: kept the last"),
        ),
    ),
    Case(
        "folder-of-a-million-entries",
        "big folders",
        million_entries,
        0,
        None,
        _has(r"more entries"),
    ),
    Case(
        "every-log-wanted",
        "big members",
        every_log_wanted,
        0,
        None,
        _has(r"read var/log/vmkernel\.1\.gz"),
    ),
]

CASES = [*SIZE_CASES, *MEMORY_CASES, *STRICT_CASES, *NOTHING_CASES]
"""Every case, in the order docs/security.md lists their classes."""

BY_NAME = {case.name: case for case in CASES}
