"""Property-based fuzzing (hypothesis): inputs built from the pieces of real ones.

Byte mutations mostly break a line's shape early; these strategies keep the shape and vary
what is inside. A parser gets lines assembled from the words and separators of its own
samples, mixed with the harness's troublesome tokens and arbitrary text. The archive reader
gets tar archives written by ``tarfile`` from arbitrary members: every member type, names
and link targets with ``..`` and absolute paths, pax records (``size``, ``path``,
``linkpath`` and others) with arbitrary values, and sizes that lie about the data.

Settings: the ``FUZZ`` profile of conftest.py (derandomized, no database, 2 s deadline).
"""

from __future__ import annotations

import gzip
import io
import re
import tarfile
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lostbeat.analyzer.parsers import Parser
from lostbeat.analyzer.sources import open_source
from tests.fuzz.conftest import FUZZ
from tests.fuzz.corpus import KB_DATA
from tests.fuzz.harness import TALLY, TOKENS, Runner
from tests.fuzz.targets import (
    LIMITS,
    LINE_PARSERS,
    archive_bound,
    bound_of,
    check_promises,
)

_WORD = re.compile(rb"[A-Za-z_]+|[0-9]+|[^A-Za-z0-9_\s]|\s+")


def _fragments(parser: Parser) -> list[str]:
    """The words, numbers, separators and blanks of the KB samples, of the parser's
    description and of a few lines of its kind, deduplicated, in first-seen order."""
    samples = [p.read_bytes() for p in sorted(KB_DATA.glob("kb*.txt"))]
    samples += [line.encode() for line in (parser.doc, *SAMPLE_LINES.get(parser.artifact, ()))]
    seen: dict[str, None] = {}
    for sample in samples:
        for token in _WORD.findall(sample[:20000]):
            seen.setdefault(token.decode("utf-8", "replace"), None)
    return list(seen)


# A few lines of each kind the KB samples lack (from the generated bundles' formats).
SAMPLE_LINES = {
    "capture": (
        "lostbeat 0.1.0 [Linux 6.1.0-28-amd64 x86_64] host=web1",
        "@BlueScreen: Lost heartbeat (comm=lostbeat-hbd pid=4242 t=5 to=5 clt=1)",
        "Declared: 2026-11-25T19:01:02.123Z",
        "Memory: total=24601184 kB available=23000000 kB free=22000000 kB",
        "Cgroup: v1 /lostbeat-sim usage=262144 limit=268435456 under_oom=1",
        "    4300 leaker           D     240000          0     +20480 mem_cgroup_oom",
    ),
    "esx_conf": ('/adv/Misc/HostName = "esx1"', '/boot/memSize = "272"'),
    "version": ("VMware ESX Server 3.5.0 build-123630", "VMware ESX 4.0.0 build-164009"),
    "ps": (
        "USER       PID %CPU %MEM   VSZ  RSS TTY      STAT START   TIME COMMAND",
        "root         1  0.0  0.0  1948  560 ?        S    Nov12   0:01 init [3]",
    ),
    "pstree": ("init,1", "  |-vmware-hostd,1234 -u", "  `-sshd,99"),
    "top": (
        "top - 16:47:47 up 57 min,  1 user,  load average: 0.05, 0.75, 0.36",
        "Mem:   491341k av,  471687k used,   19654k free,       0k shrd,   52409k buff",
        "  PID USER     PRI  NI  SIZE  RSS SHARE STAT %CPU %MEM   TIME CPU COMMAND",
        " 1234 root      15   0 80000  70M  3000 S     0.0 14.1   0:10   0 vmware-hostd",
    ),
}


NUMBERS = ("0", "-1", "1.2.3", "1e999", "nan", "²", "١٢٣", "１２", "9" * 4400, "0x1f", "+7")
"""Numbers that are not quite numbers: each is refused by int() or float(), or accepted by
one of them where a regular expression's ``\\d`` or ``str.isdigit`` did not expect it."""


def _lines_of(parser: Parser) -> st.SearchStrategy[list[str]]:
    words = _fragments(parser)
    piece = st.one_of(
        st.sampled_from(words),
        st.sampled_from(words),
        st.sampled_from(NUMBERS),
        st.sampled_from([t.decode("utf-8", "replace") for t in TOKENS]),
        st.text(max_size=12),
        st.integers(min_value=-(10**20), max_value=10**20).map(str),
    )
    line = st.lists(piece, max_size=14).map("".join)
    lines = st.lists(line, max_size=30)
    heads = SAMPLE_LINES.get(parser.artifact, ())[:1]
    if not heads:
        return lines
    # a parser that wants a header line first (the capture's) gets one half of the time
    return st.one_of(lines, lines.map(lambda rest: [*heads, *rest]))


@pytest.mark.timeout(180)
@pytest.mark.parametrize("parser", LINE_PARSERS, ids=[p.artifact for p in LINE_PARSERS])
def test_lines_made_of_real_words(parser: Parser) -> None:
    target = f"{parser.artifact} (hypothesis)"

    @FUZZ
    @given(_lines_of(parser))
    def check(lines: list[str]) -> None:
        TALLY.inputs[target] += 1
        size = sum(len(line) + 1 for line in lines)
        with Runner(cpu_s=1.0) as runner:
            verdict = runner.check(
                lambda: parser.parse(lines, path="fuzz/structured"),
                memory_bound=bound_of(size),
            )
        assert verdict.kind == "ok", f"{verdict.signature}: {verdict.detail}"

    check()


_TYPES = [
    tarfile.REGTYPE,
    tarfile.AREGTYPE,
    tarfile.LNKTYPE,
    tarfile.SYMTYPE,
    tarfile.CHRTYPE,
    tarfile.BLKTYPE,
    tarfile.DIRTYPE,
    tarfile.FIFOTYPE,
    tarfile.CONTTYPE,
    b"S",
    b"V",
    b"Z",
]
_PARTS = st.sampled_from(
    ["vm-support-esx1-2010-03-16--12.51.4711", "var", "log", "vmkernel", "vmksummary",
     "proc", "meminfo", "root", "old_cores", "..", ".", "", "/", "é", "x" * 120]
)  # fmt: skip
_NAMES = st.lists(_PARTS, min_size=1, max_size=8).map("/".join)
_PAX_VALUES = st.one_of(
    st.sampled_from(NUMBERS),
    st.integers(min_value=0, max_value=10**6).map(str),
    _NAMES,
    st.text(max_size=20),
)
_MEMBERS = st.lists(
    st.tuples(
        _NAMES,
        st.sampled_from(_TYPES),
        _NAMES,
        st.dictionaries(
            # "size" half of the time: the record the reader turns into a number
            st.one_of(
                st.just("size"),
                st.sampled_from(["path", "linkpath", "uid", "mtime", "comment", "x"]),
            ),
            _PAX_VALUES,
            max_size=3,
        ),
        st.binary(max_size=600),
    ),
    min_size=1,
    max_size=6,
)


def _tar(members: list[tuple[str, bytes, str, dict[str, str], bytes]], fmt: int) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=fmt) as tar:
        for name, kind, link, pax, data in members:
            info = tarfile.TarInfo(name)
            info.type, info.linkname, info.size = kind, link, len(data)
            if fmt == tarfile.PAX_FORMAT:
                info.pax_headers = pax
            try:
                tar.addfile(info, io.BytesIO(data))
            except (ValueError, UnicodeError):
                continue  # tarfile itself refuses this member (a name too long for ustar)
    return out.getvalue()


@pytest.mark.timeout(180)
def test_tar_archives_of_arbitrary_members(tmp_path: Path) -> None:
    path = tmp_path / "bundle.tgz"

    @FUZZ
    @given(
        _MEMBERS,
        st.sampled_from([tarfile.GNU_FORMAT, tarfile.PAX_FORMAT, tarfile.USTAR_FORMAT]),
        st.booleans(),
    )
    def check(
        members: list[tuple[str, bytes, str, dict[str, str], bytes]], fmt: int, gz: bool
    ) -> None:
        TALLY.inputs["archive (hypothesis)"] += 1
        raw = _tar(members, fmt)
        path.write_bytes(gzip.compress(raw, mtime=0) if gz else raw)

        def collect() -> None:
            check_promises(open_source(path, limits=LIMITS).collect())

        with Runner(cpu_s=5.0) as runner:
            verdict = runner.check(collect, memory_bound=archive_bound(raw))
        assert verdict.kind == "ok", f"{verdict.signature}: {verdict.detail}"

    check()
