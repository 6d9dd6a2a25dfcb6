"""Structure-aware fuzzing of the tar reader: archives built header by header, field by field.

Byte mutation rarely gets a tar header past its checksum, and ``tarfile`` refuses to write
the headers an attacker writes; so hypothesis builds them here from their fields
(:mod:`tests.hostile.tarcraft`): names and link targets (long, ``..``, absolute, not UTF-8),
size fields in every form (true, lying larger or smaller, negative octal, GNU base-256
positive, negative and huge, not octal, blank), typeflags (regular, links, devices, folders,
GNU long name and link, pax local and global, sparse and the unknown), pax records
(``size=``, ``path=``, ``linkpath=`` with any value, and records whose length lies), members
that claim more data than there is, nested gzip members (some inflating a thousand times),
wrong checksums, cut archives, gzip or not, and garbage after the end.

Every archive is read as ``lostbeat analyze`` reads it (``open_source(path).collect()``
handing each member to a consumer that reads its lines), under a bound of 2 s of CPU and
200 MB of peak RSS growth (``VmHWM``, reset before each input through
``/proc/self/clear_refs``); only ``InputError`` may escape, and the result keeps the promises
of :func:`tests.fuzz.targets.check_promises`. A tenth of the archives then go through the
whole analysis (``engine.analyze``).
"""

from __future__ import annotations

import contextlib
import gzip
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lostbeat.analyzer.engine import analyze
from lostbeat.analyzer.sources import open_source
from lostbeat.errors import InputError
from tests.fuzz.conftest import FUZZ
from tests.fuzz.harness import TALLY, MiB, Runner, scaled
from tests.fuzz.targets import LIMITS, check_promises
from tests.hostile.tarcraft import (
    BLOCK,
    END,
    GNU_MAGIC,
    USTAR_MAGIC,
    base256,
    gzip_repeated,
    header,
    octal,
    pad,
    pax_record,
)

if TYPE_CHECKING:
    from lostbeat.analyzer.sources import Text

CPU_S = 2.0
RSS_MB = 200.0
TARGET = "archive (tar headers, structured)"

_PARTS = [
    b"vm-support-esx1-2010-03-16--12.51.4711", b"var", b"log", b"vmkernel", b"vmksummary",
    b"vmkernel.1.gz", b"proc", b"meminfo", b"etc", b"vmware", b"esx.conf", b"tmp",
    b"ps.1.txt", b"psod.txt", b"lostbeat-recording.json", b"raw", b"2024-05-01.jsonl",
    b"..", b".", b"", b"/", b"\xe9\xff", b"x" * 120,
]  # fmt: skip
_NAMES = st.one_of(
    st.lists(st.sampled_from(_PARTS), min_size=1, max_size=7).map(b"/".join),
    st.binary(max_size=120),
    st.integers(min_value=90, max_value=5000).map(lambda n: b"var/log/" + b"n" * n),
)
_CONTENT = [
    b"",
    b"MemTotal:799732 kB\nSwapTotal:554168 kB\n",
    b"Nov 13 03:01:35 esx01 logger: (1258099291) hb: vmk loaded, 1.0, 2.0, 3, 4, 5, 6, a-1\n",
    b"42:14:02:29.347 cpu0:1024)VMNIX: ALERT: HB: 365: Lost heartbeat (comm=x\npid=2 t=3).\n",
    b"x\n" * 300,
    b"\x00" * 700,
    b"no newline at all " * 40,
    "\u00e9\u2028\r\n\r".encode() * 50,
]
_DATA = st.one_of(
    st.sampled_from(_CONTENT),
    st.sampled_from(_CONTENT).map(lambda d: gzip.compress(d, mtime=0)),
    st.binary(max_size=700),
)
# members whose nested gzip inflates far more than it weighs: 1 to 64 MiB of one line, of
# many, or of zeros, up to 1000 to 1 (the bomb guard's ratio is 500); made once
_INFLATING = st.sampled_from(
    [
        gzip_repeated(block, times)
        for block in (b"x" * (MiB - 1) + b"\n", b"ab\n" * (MiB // 3), bytes(MiB))
        for times in (1, 16, 64)
    ]
)
_SIZE_FORMS = [
    "true", "larger", "smaller", "negative", "base256", "base256-negative", "base256-huge",
    "not-octal", "blank", "huge-octal", "signed",
]  # fmt: skip
_KINDS = [b"0", b"\0", b"1", b"2", b"3", b"4", b"5", b"6", b"7", b"S", b"V", b"M", b"D", b"\xff"]
_PAX_KEYS = ["size", "path", "linkpath", "uid", "mtime", "comment", "GNU.sparse.size", ""]
_PAX_VALUES = st.one_of(
    st.sampled_from(["0", "-1", "-1000", "1_0", "+7", "\u00b2", "1e3", "9" * 19, "9" * 40, ""]),
    st.integers(min_value=0, max_value=10**6).map(str),
    _NAMES.map(lambda b: b.decode("utf-8", "replace")),
)


def size_field(form: str, true: int, extra: int) -> bytes:
    """The 12-byte size field for a member of ``true`` bytes, in the given form."""
    return {
        "true": octal(true),
        "larger": octal(min(true + extra, 8**11 - 1)),
        "smaller": octal(max(true - extra, 0)),
        "negative": b"-%010o\0" % (extra or 1),
        "base256": base256(true),
        "base256-negative": base256(-(extra or 1)),
        "base256-huge": base256(2**80 + extra),
        "not-octal": b"00000000%03d\0" % (extra % 1000) if extra % 2 else b"0000000x12\0",
        "blank": b" " * 12,
        "huge-octal": b"77777777777\0",
        "signed": b"+%010o\0" % true,
    }[form]


@st.composite
def _record(draw: st.DrawFn) -> bytes:
    """One header and what follows it."""
    what = draw(st.sampled_from(["member", "member", "member", "L", "K", "x", "g", "bad-pax"]))
    form = draw(st.sampled_from(_SIZE_FORMS))
    extra = draw(st.integers(min_value=0, max_value=3000))
    checksum = None if draw(st.integers(0, 19)) else b"0000000\0"
    magic = draw(st.sampled_from([GNU_MAGIC, GNU_MAGIC, USTAR_MAGIC, b"garbage!"]))
    if what == "member":
        kind = draw(st.sampled_from(_KINDS))
        data = draw(st.one_of(_DATA, _DATA, _DATA, _INFLATING))
        link = draw(_NAMES) if kind in (b"1", b"2") else b""
        prefix = draw(st.sampled_from([b"", b"", b"vm-support-h-2010-01-01--00.00.1", b"/"]))
        block = header(
            draw(_NAMES),
            size=size_field(form, len(data), extra),
            kind=kind,
            link=link,
            magic=magic,
            prefix=prefix,
            checksum=checksum,
        )
        cut = draw(st.integers(min_value=0, max_value=len(data))) if form == "larger" else None
        return block + (pad(data) if cut is None else data[:cut])
    if what == "bad-pax":
        payload = draw(st.sampled_from([b"0 path=x\n", b"3 path=x\n", b"99 a=b\n", b"x y\n"]))
        kind = b"x"
    elif what in ("L", "K"):
        payload = draw(_NAMES) + b"\0"
        kind = what.encode()
    else:
        records = draw(st.lists(st.tuples(st.sampled_from(_PAX_KEYS), _PAX_VALUES), max_size=4))
        payload = b"".join(pax_record(k, v) for k, v in records)
        kind = what.encode()
    name = b"././@LongLink" if kind in (b"L", b"K") else b"././@PaxHeader"
    size = size_field(form, len(payload), extra)
    return header(name, size=size, kind=kind, magic=magic, checksum=checksum) + pad(payload)


@st.composite
def archives(draw: st.DrawFn) -> bytes:
    """An archive of 1 to 8 records, perhaps cut, gzipped, padded or followed by garbage."""
    raw = b"".join(draw(st.lists(_record(), min_size=1, max_size=8)))
    if draw(st.booleans()):
        raw += END
    if draw(st.integers(0, 4)) == 0:
        raw = raw[: draw(st.integers(min_value=0, max_value=len(raw)))]
    tail = draw(st.sampled_from([b"", b"", bytes(BLOCK), b"garbage after the end\n"]))
    if draw(st.booleans()):
        return gzip.compress(raw, mtime=0) + tail
    return raw + tail


def _hwm_kb() -> int:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    raise AssertionError("no VmHWM in /proc/self/status")


def _reset_hwm() -> int:
    """Reset the peak RSS to the current RSS (Linux 4.0 and later); the peak after it."""
    with open("/proc/self/clear_refs", "w", encoding="ascii") as refs:
        refs.write("5")
    return _hwm_kb()


def _read_lines(text: Text) -> None:
    count = 0
    for line in text.lines():
        count += 1
        assert len(line) <= 1024 * 1024 + 1, f"{text.path}: a line of {len(line)} characters"
    limit = LIMITS.member_lines if text.note else LIMITS.member_lines + 1
    assert count <= limit, f"{text.path}: {count} lines handed over"


def read_archive(path: Path, *, whole: bool) -> None:
    """Collect ``path`` as the engine does (and analyse it, when ``whole``)."""
    check_promises(open_source(path, limits=LIMITS).collect(consume=_read_lines))
    if whole:
        with contextlib.suppress(InputError):  # nothing read as an artifact: documented
            analyze([path])


@pytest.mark.timeout(600)
def test_archives_built_field_by_field(tmp_path: Path) -> None:
    path = tmp_path / "bundle.tgz"
    count = 0

    # the CPU bound is the Runner's: a wall-clock deadline would fail on a loaded machine
    @settings(FUZZ, max_examples=scaled(2000), deadline=None)
    @given(archives())
    def check(data: bytes) -> None:
        nonlocal count
        count += 1
        TALLY.inputs[TARGET] += 1
        path.write_bytes(data)
        start = _reset_hwm()
        with Runner(cpu_s=CPU_S) as runner:
            whole = count % 10 == 0
            verdict = runner.check(lambda: read_archive(path, whole=whole), memory_bound=None)
        grown = (_hwm_kb() - start) / 1024
        assert verdict.kind == "ok", f"{verdict.signature}: {verdict.detail}"
        assert grown <= RSS_MB, f"peak RSS grew by {grown:.0f} MB"

    check()
