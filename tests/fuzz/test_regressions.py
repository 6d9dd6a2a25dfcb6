"""One minimal reproducer for each bug the fuzzers found (fixed in 9b85483), kept so that
none comes back.

Each test states the documented behaviour: a value or a documented error, within the CPU
bound of the fuzzers (1 s) and within their memory bound. The bugs were: exceptions other
than the documented ones (``int()`` of numbers it refuses, ``float()`` of ``1.2.3``, JSON
nested past the recursion limit, isal's own error class), regular expressions quadratic in
the length of one line, and a doubly gzipped recording shard inflated without a cap.

A new bug found by a fuzz test gets its minimal case here, marked
``xfail(strict=True, reason=...)`` until it is fixed (and the parser its entry in
``targets.KNOWN_BUGS`` or ``KNOWN_QUADRATIC`` meanwhile).
"""

from __future__ import annotations

import gzip
import io
import json
import tarfile
import zlib
from collections.abc import Callable
from pathlib import Path

import pytest

from lostbeat.analyzer.parsers.capture import parse_capture
from lostbeat.analyzer.parsers.esx_conf import parse_esx_conf
from lostbeat.analyzer.parsers.psod import parse_psod
from lostbeat.analyzer.parsers.recordings import parse_recording
from lostbeat.analyzer.parsers.top import parse_top
from lostbeat.analyzer.parsers.vmkernel_log import parse_vmkernel_log
from lostbeat.analyzer.sources import open_source
from lostbeat.recording.marker import read_marker
from tests.fuzz.harness import MiB, Runner, Verdict
from tests.fuzz.targets import LIMITS, archive_bound, bound_of

pytestmark = pytest.mark.timeout(120)

HEADER = "lostbeat 0.1.0 [Linux 6.1.0 x86_64] host=h"
MARKER = '{"schema": "lostbeat.recording/1", "schema_version": 1, "created": %s}'


def verdict(call: Callable[[], object], *, size: int, memory: int | None = None) -> Verdict:
    """The fuzzers' verdict on one call: documented errors are fine, 1 s of CPU at most,
    and the allocation peak within the parsers' bound for ``size`` bytes (or ``memory``)."""
    with Runner(cpu_s=1.0) as runner:
        return runner.check(call, memory_bound=memory if memory is not None else bound_of(size))


def assert_ok(found: Verdict) -> None:
    assert found.kind == "ok", f"{found.kind}: {found.signature}: {found.detail}"


# --- undocumented exceptions -------------------------------------------------------------

CAPTURE_LINES = {
    "float of to=1.2.3": "@BlueScreen: Lost heartbeat (comm=x pid=1 t=5 to=1.2.3 clt=1)",
    "int of a superscript digit in Declared": "Declared: 2026-11-25T19:01:02.\u00b2Z",
    "int of a 4301-digit fraction in Declared": "Declared: 2026-11-25T19:01:02." + "9" * 4301,
    "int of a 4301-digit pid": "@BlueScreen: Lost heartbeat (comm=x pid=" + "1" * 4301
    + " t=5 to=5 clt=1)",
    "int of a 4301-digit pid in a top row": "Top consumers (host):\n" + "1" * 4301
    + " leaker D 1 0 +0 -",
}  # fmt: skip


@pytest.mark.parametrize("line", CAPTURE_LINES.values(), ids=CAPTURE_LINES.keys())
def test_capture_numbers_that_int_or_float_refuse(line: str) -> None:
    """Was: ValueError from float() of ``to=1.2.3``, from int() of ``²`` (which
    ``str.isdigit`` accepts) and of numbers past CPython's 4300-digit limit."""
    lines = [HEADER, *line.split("\n")]
    assert_ok(verdict(lambda: parse_capture(lines, path="screen.txt"), size=len(line)))


MARKERS = {
    "an integer too large for a float": MARKER % ("1" + "0" * 400),
    "nesting deeper than the recursion limit": "[" * 100_000,
}


@pytest.mark.parametrize("text", MARKERS.values(), ids=MARKERS.keys())
def test_recording_marker_that_json_or_float_cannot_take(text: str) -> None:
    """Was: OverflowError from float() of a huge ``created``, RecursionError from
    json.loads of deep nesting."""
    data = text.encode()
    assert_ok(verdict(lambda: read_marker(data, path="lostbeat-recording.json"), size=len(data)))
    files = [("lostbeat-recording.json", data), ("raw/2024-05-01.jsonl", b"x\n")]
    assert_ok(verdict(lambda: parse_recording(files, path="rec"), size=len(data)))


def _framed(payload: bytes) -> bytes:
    return b"%08x %s\n" % (zlib.crc32(payload), payload)


def test_recording_shard_line_nested_too_deep() -> None:
    """Was: RecursionError from json.loads of a line with a right CRC (only BadLine was
    caught), so one line stopped the whole recording instead of being listed."""
    shard = _framed(b"[" * 100_000)
    files = [("raw/2024-05-01.jsonl", shard)]
    assert_ok(verdict(lambda: parse_recording(files, path="rec"), size=len(shard)))


def test_recording_shard_with_corrupt_deflate_data() -> None:
    """Was: isal's IsalError, which is not an OSError, escaping parse_recording."""
    good = gzip.compress(b"x" * 100, mtime=0)
    bad = good[:10] + b"\xff" * 8 + good[18:]  # a reserved block type: "invalid block"
    files = [("raw/2024-05-01.jsonl.gz", bad)]
    assert_ok(verdict(lambda: parse_recording(files, path="rec"), size=len(bad)))


PAX_SIZES = {"a superscript digit": "\u00b2", "4400 digits": "9" * 4400}


@pytest.mark.parametrize("size", PAX_SIZES.values(), ids=PAX_SIZES.keys())
def test_tar_pax_size_that_isdigit_accepts_and_int_refuses(size: str, tmp_path: Path) -> None:
    """Was: ValueError escaping TarSource.collect from int() of a pax ``size`` record that
    ``str.isdigit`` had accepted."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        info = tarfile.TarInfo("proc/meminfo")
        info.size, info.pax_headers = 5, {"size": size}
        tar.addfile(info, io.BytesIO(b"x = 1"))
    path = tmp_path / "bundle.tar"
    path.write_bytes(raw.getvalue())
    assert_ok(
        verdict(
            lambda: open_source(path, limits=LIMITS).collect(),
            size=0,
            memory=archive_bound(None),
        )
    )


# --- quadratic time on one long line ----------------------------------------------------

LONG = 60_000
QUADRATIC: dict[str, tuple[Callable[[list[str]], object], list[str]]] = {
    "capture _KV over a long word": (
        lambda lines: parse_capture(lines, path="screen.txt"),
        [HEADER, "Memory: " + "a" * LONG],
    ),
    "esx_conf _ENTRY over blanks inside a value": (
        lambda lines: parse_esx_conf(lines, path="etc/vmware/esx.conf"),
        ['/a = "b' + "\t" * LONG + 'c"'],
    ),
    "vmkernel_log _COMM over blanks after comm=": (
        lambda lines: parse_vmkernel_log(lines, path="var/log/vmkernel"),
        ["0:00:00:01.000 cpu0:1)HB: Lost heartbeat (comm=" + " " * LONG + "x"],
    ),
    "top _AMOUNT over a long number": (
        lambda lines: parse_top(lines, path="tmp/top.1.txt"),
        ["top - 16:47:47 up 57 min,  1 user,  load average: 0.05", "Mem: " + "9" * LONG],
    ),
    "psod _HEADER where 'VMware ESX' recurs": (
        lambda lines: parse_psod(lines, path="psod.txt"),
        ["VMware ESX Server [Releasebui" * 25_000],
    ),
}


@pytest.mark.parametrize("case", QUADRATIC.values(), ids=QUADRATIC.keys())
def test_one_long_line_is_parsed_in_linear_time(
    case: tuple[Callable[[list[str]], object], list[str]],
) -> None:
    """Was: seconds for a 60 000-character line, days for a 64 MiB one (each regular
    expression rescanned the rest of the line from every position)."""
    parse, lines = case
    assert_ok(verdict(lambda: parse(lines), size=sum(map(len, lines))))


# --- unbounded memory --------------------------------------------------------------------


def test_a_shard_gzipped_twice_in_a_recording_folder(tmp_path: Path) -> None:
    """Was: 272 bytes on disk, 128 MiB in memory: the source inflates a member once, under
    its bomb guard, and the recording parser inflated the inner gzip whole."""
    folder = tmp_path / "rec"
    (folder / "raw").mkdir(parents=True)
    marker = {"schema": "lostbeat.recording/1", "schema_version": 1, "host": "h"}
    (folder / "lostbeat-recording.json").write_text(json.dumps(marker))
    bomb = gzip.compress(gzip.compress(bytes(64 * MiB), compresslevel=9), compresslevel=9)
    (folder / "raw/2024-05-01.jsonl.gz").write_bytes(bomb)
    assert len(bomb) < 1024

    def analyse_recording() -> object:
        members = open_source(folder, limits=LIMITS).collect().of("recording")
        return parse_recording([(m.path, m.data) for m in members], path="rec")

    # what the source may hold, then what the parser may make of what it holds
    bound = archive_bound(None) + bound_of(LIMITS.kept_bytes)
    assert_ok(verdict(analyse_recording, size=0, memory=bound))
