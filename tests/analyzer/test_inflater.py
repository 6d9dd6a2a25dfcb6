"""The archive's inflater in a thread of its own and in the reader's give the same."""

from __future__ import annotations

import gzip
import io
import lzma
import threading
from pathlib import Path

import pytest

from lostbeat.analyzer._gunzip import _Broken, _Gunzip
from lostbeat.analyzer._inflater import _Inflater, _Inline, _Reader
from lostbeat.analyzer._limits import Limits
from lostbeat.analyzer._unpack import _Unxz

MiB = 1024 * 1024


def _read_all(reader: _Reader) -> tuple[list[bytes], list[int], str]:
    """Every chunk, the compressed position after each, and the error at the end if any."""
    chunks, used, error = [], [], ""
    try:
        while chunk := reader.next():
            chunks.append(chunk)
            used.append(reader.used)
    except _Broken as err:
        error = f"{err} (at {reader.used})"
    finally:
        reader.close()
    return chunks, used, error


def _both(data: bytes, limits: Limits, unpack: type[_Gunzip] = _Gunzip) -> tuple[object, ...]:
    inline = _read_all(_Inline(io.BytesIO(data), unpack(limits)))
    threaded = _read_all(_Inflater(io.BytesIO(data), unpack(limits)))
    return inline, threaded


_TEXT = b"".join(b"line %d of a log that goes on\n" % n for n in range(400_000))  # 12 MiB


@pytest.mark.parametrize(
    ("name", "data", "limits", "unpack"),
    [
        ("whole", gzip.compress(_TEXT, 1), Limits(), _Gunzip),
        ("two members", gzip.compress(_TEXT[:5000]) + gzip.compress(_TEXT), Limits(), _Gunzip),
        ("truncated", gzip.compress(_TEXT, 1)[:200_000], Limits(), _Gunzip),
        ("garbage after", gzip.compress(_TEXT, 1) + b"garbage", Limits(), _Gunzip),
        ("bomb", gzip.compress(bytes(64 * MiB)), Limits(inflated_bytes=20 * MiB), _Gunzip),
        ("xz", lzma.compress(_TEXT, preset=0), Limits(), _Unxz),
        ("xz truncated", lzma.compress(_TEXT, preset=0)[:50_000], Limits(), _Unxz),
    ],
)
def test_an_archive_inflates_the_same_in_a_thread_and_inline(
    name: str, data: bytes, limits: Limits, unpack: type[_Gunzip]
) -> None:
    inline, threaded = _both(data, limits, unpack)
    assert inline == threaded
    chunks, _, error = inline  # type: ignore[misc]
    assert chunks or error


def test_a_read_error_comes_after_the_bytes_before_it(tmp_path: Path) -> None:
    class Failing(io.BytesIO):
        def read(self, size: int | None = -1) -> bytes:
            if self.tell() > 100_000:
                raise OSError(5, "Input/output error")
            return super().read(size)

    data = gzip.compress(_TEXT, 1)
    inline = _read_all(_Inline(Failing(data), _Gunzip(Limits())))
    threaded = _read_all(_Inflater(Failing(data), _Gunzip(Limits())))
    assert inline == threaded
    assert inline[2].startswith("read error (Input/output error)")
    assert inline[0]


def test_an_inline_inflater_starts_no_thread() -> None:
    before = threading.active_count()
    reader = _Inline(io.BytesIO(gzip.compress(_TEXT[:1000])), _Gunzip(Limits()))
    assert reader.next() == _TEXT[:1000]
    assert threading.active_count() == before
