"""The archive inflated before the analysis is imported: taken over by the reader of the
same unchanged file under the same caps, and otherwise stopped, never read in its place."""

from __future__ import annotations

import gzip
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from lostbeat.analyzer import _inflater, early
from lostbeat.analyzer.sources import Limits, TarSource
from tests.analyzer.test_sources import BUNDLE, EXPECTED, as_dict, tar_bytes, write_tar


@pytest.fixture(autouse=True)
def _none_left() -> Iterator[None]:
    yield
    early.stop()
    assert not _inflater._early


def _threads() -> int:
    return sum(t.name == "lostbeat-inflate" for t in threading.enumerate())


def test_the_reader_takes_over_the_early_inflation(tmp_path: Path) -> None:
    bundle = write_tar(tmp_path / "b.tgz", BUNDLE)
    early.start([bundle])
    ((_key, (inflater, _limits)),) = _inflater._early.items()
    collected = TarSource(bundle).collect()
    assert not _inflater._early  # taken, not dropped
    assert inflater.done and not inflater._thread.is_alive() and inflater.fp.closed
    assert as_dict(collected) == EXPECTED


def test_a_file_changed_since_is_read_afresh(tmp_path: Path) -> None:
    bundle = write_tar(tmp_path / "b.tgz", {"proc/meminfo": b"MemTotal: 1 kB\n"})
    early.start([bundle])
    (old,) = _inflater._early.values()
    write_tar(tmp_path / "new.tgz", BUNDLE)
    os.replace(tmp_path / "new.tgz", bundle)
    assert as_dict(TarSource(bundle).collect()) == EXPECTED
    assert not old[0]._thread.is_alive() and old[0].fp.closed


def test_other_caps_are_not_taken_over(tmp_path: Path) -> None:
    bundle = write_tar(tmp_path / "b.tgz", BUNDLE)
    early.start([bundle])
    (first,) = _inflater._early.values()
    collected = TarSource(bundle, limits=Limits(members=2)).collect()
    assert len(collected.members) == 2
    assert not first[0]._thread.is_alive()


def test_only_gzip_files_are_started(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe")  # would block an open() without a writer
    plain = tmp_path / "b.tar"
    plain.write_bytes(tar_bytes(BUNDLE))
    for path in (tmp_path / "pipe", plain, tmp_path, tmp_path / "missing.tgz"):
        early.start([path])
        assert not _inflater._early
    early.start([])
    assert not _inflater._early


def test_stop_ends_an_inflation_no_reader_took(tmp_path: Path) -> None:
    before = _threads()
    bundle = tmp_path / "big.gz"
    bundle.write_bytes(gzip.compress(bytes(256 * 1024 * 1024), compresslevel=1))
    early.start([bundle])
    (inflater, _limits) = next(iter(_inflater._early.values()))
    early.stop()
    assert not _inflater._early and inflater.fp.closed and _threads() == before


def test_the_command_reads_a_bundle_whole_with_the_early_start(tmp_path: Path) -> None:
    bundle = write_tar(tmp_path / "b.tgz", BUNDLE)
    done = subprocess.run(
        [sys.executable, "-m", "lostbeat", "analyze", "--json", str(bundle)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert '"lostbeat.analysis/2"' in done.stdout, done.stderr
    assert "Traceback" not in done.stderr
