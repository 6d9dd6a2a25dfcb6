"""The archive reader on mutated archives, hostile names and hostile folders.

Every input is a real file handed to ``open_source(path).collect()``, as ``lostbeat analyze``
does: tar archives whose headers and members were mutated (then written plain or gzipped, so
that the mutations reach the tar parser and not only the gzip check), generated ``.tgz``
bundles with their compressed bytes mutated, and loose files. Only ``InputError`` may escape,
and what comes back keeps the documented promises (``sources`` docstring): no member path is
absolute or climbs with ``..``, no member exceeds ``member_bytes``, all of them together not
``kept_bytes``, and the listings stop at ``listed``. Memory is bounded by
``kept_bytes + 3 x 4 MiB + 2 MiB`` per input (the reasoning is in targets.py).
"""

from __future__ import annotations

import gzip
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from lostbeat.analyzer.sources import Collected, MemorySource, open_source
from lostbeat.errors import InputError
from tests.fuzz.corpus import Corpus
from tests.fuzz.harness import Mutator, report, run_inputs, scaled
from tests.fuzz.targets import LIMITS, check_promises
from tests.fuzz.targets import archive_bound as memory_bound


class Files:
    """Writes each input to the same few paths, so that the reader meets a real file."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def collect(self, name: str, data: bytes) -> Collected:
        path = self.folder / name
        path.write_bytes(data)
        collected = open_source(path, limits=LIMITS).collect()
        check_promises(collected, loose=str(path))
        return collected


def tar_inputs(corpus: Corpus, count: int) -> Iterator[bytes]:
    """Mutated tars, each tagged by its first byte: gzip it (1) or not (0)."""
    mutator = Mutator(corpus.tars, seed="tar")
    for i, data in enumerate(mutator.inputs(count)):
        yield bytes([i % 2]) + data


@pytest.mark.timeout(180)
def test_mutated_tar_archives(corpus: Corpus, tmp_path: Path) -> None:
    files = Files(tmp_path)

    def call(tagged: bytes | str) -> object:
        assert isinstance(tagged, bytes)
        if tagged[:1] == b"\x01":
            return files.collect("bundle.tgz", gzip.compress(tagged[1:], mtime=0))
        return files.collect("bundle.tar", tagged[1:])

    failures = run_inputs(
        "archive (tar headers)",
        tar_inputs(corpus, scaled(3000)),
        call,
        cpu_s=5.0,
        memory_bound=memory_bound,
        memory_every=4,
        parser=False,
    )
    assert not failures, report(failures)


@pytest.mark.timeout(180)
def test_mutated_compressed_bundles(corpus: Corpus, tmp_path: Path) -> None:
    files = Files(tmp_path)
    mutator = Mutator(corpus.bundles, seed="tgz")

    def call(data: bytes | str) -> object:
        assert isinstance(data, bytes)
        return files.collect("bundle.tgz", data)

    failures = run_inputs(
        "archive (gzip bytes)",
        mutator.inputs(scaled(600)),
        call,
        cpu_s=5.0,
        memory_bound=memory_bound,
        memory_every=4,
        parser=False,
    )
    assert not failures, report(failures)


@pytest.mark.timeout(120)
def test_mutated_loose_files_are_sniffed_or_refused(corpus: Corpus, tmp_path: Path) -> None:
    files = Files(tmp_path)
    seeds = [
        sample[:2048] for artifact in sorted(corpus.texts) for sample in corpus.texts[artifact]
    ]
    mutator = Mutator(seeds, seed="loose")

    def call(data: bytes | str) -> object:
        assert isinstance(data, bytes)
        if not data:
            with pytest.raises(InputError):
                files.collect("loose.txt", data)
            return None
        return files.collect("loose.txt", gzip.compress(data, mtime=0) if data[0] & 1 else data)

    failures = run_inputs(
        "archive (loose files)",
        mutator.inputs(scaled(1500)),
        call,
        memory_bound=memory_bound,
        memory_every=4,
        parser=False,
    )
    assert not failures, report(failures)


NAME_TOKENS = ("..", ".", "", "/", "//", "\\", "~", "\x00", "\n", "é", "\u202e", "x" * 300)


@pytest.mark.timeout(120)
def test_member_names_never_escape_the_bundle(corpus: Corpus) -> None:
    """Random paths, with every trick a name can play, through the placement code that every
    source shares; the names of generated bundles, mutated, are the seeds."""
    mutator = Mutator(["\n".join(names).encode() for names in corpus.names], seed="names")

    def names_of(data: bytes) -> list[str]:
        text = data.decode("utf-8", "replace")
        names = [line for line in text.split("\n") if line]
        tokens = [NAME_TOKENS[b % len(NAME_TOKENS)] for b in data[:8]]
        return [*names, "/".join(tokens), *("/".join(tokens[i:]) + "/x" for i in range(3))]

    def call(data: bytes | str) -> object:
        assert isinstance(data, bytes)
        files = {name: b"MemTotal: 1 kB\n" for name in names_of(data)}
        collected = MemorySource("fuzz", files, limits=LIMITS).collect()
        check_promises(collected)
        return collected

    failures = run_inputs(
        "archive (member names)",
        mutator.inputs(scaled(8000)),
        call,
        memory_bound=memory_bound,
        memory_every=8,
        parser=False,
    )
    assert not failures, report(failures)


@pytest.mark.timeout(60)
def test_a_folder_with_device_nodes_fifos_sockets_and_links_is_read_safely(
    tmp_path: Path,
) -> None:
    if os.geteuid() != 0:
        print("SKIP: creating device nodes needs root")
        pytest.skip("creating device nodes needs root")
    root = tmp_path / "vm-support-esx1-2010-03-16--12.51.4711"
    (root / "var" / "log").mkdir(parents=True)
    (root / "proc").mkdir()
    (root / "var" / "log" / "vmksummary").write_bytes(b"Nov 13 03:01:35 h logger: x\n")
    # /dev/zero and /dev/urandom under artifact names: reading either would never end
    os.mknod(root / "var" / "log" / "vmkernel", stat.S_IFCHR | 0o600, os.makedev(1, 5))
    os.mknod(root / "proc" / "meminfo", stat.S_IFCHR | 0o600, os.makedev(1, 9))
    os.mknod(root / "var" / "log" / "vmkwarning", stat.S_IFBLK | 0o600, os.makedev(7, 0))
    os.mkfifo(root / "var" / "log" / "vmksummary.1")
    (root / "etc").symlink_to("/etc", target_is_directory=True)
    (root / "var" / "log" / "vmksummary.2").symlink_to("/dev/zero")
    before = sorted(p.name for p in tmp_path.rglob("*"))

    failures = run_inputs(
        "archive (hostile folder)",
        [b"once"],
        lambda _: check_collected_folder(root),
        cpu_s=5.0,
        memory_bound=memory_bound,
        parser=False,
    )
    assert not failures, report(failures)
    assert sorted(p.name for p in tmp_path.rglob("*")) == before  # nothing written


def check_collected_folder(root: Path) -> None:
    collected = open_source(root.parent, limits=LIMITS).collect()
    check_promises(collected)
    assert [m.path for m in collected.members] == ["var/log/vmksummary"]
    reasons = {r.path: r.reason for r in collected.records}
    assert reasons["var/log/vmkernel"].startswith("device node")
    assert reasons["proc/meminfo"].startswith("device node")
    assert reasons["var/log/vmkwarning"].startswith("device node")
    assert reasons["var/log/vmksummary.1"].startswith("FIFO")
    assert reasons["etc"].startswith("symbolic link to '/etc'")
    assert reasons["var/log/vmksummary.2"].startswith("symbolic link to '/dev/zero'")
