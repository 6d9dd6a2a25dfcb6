"""Every scenario writes a real vm-support .tgz laid out as ESX 3.5/4.x's vm-support does."""

from __future__ import annotations

import gzip
import re
import tarfile
from pathlib import Path

import pytest

from lostbeat.scenarios import GeneratedCase, Truth, generate
from lostbeat.scenarios.model import CrashType
from tests.scenarios.conftest import case_id, case_ids
from tests.scenarios.helpers import entries, members

TOP = re.compile(
    r"^vm-support-(?P<host>[\w-]+)-(?P<date>\d{4}-\d\d-\d\d--\d\d\.\d\d)\.(?P<pid>\d+)$"
)
ZDUMP = re.compile(r"^(root|var/core)/vmkernel-zdump-\d{6}\.\d\d\.\d\d\.\d$")


@pytest.mark.parametrize("key", case_ids(), ids=case_id)
def test_bundle_layout(cases: dict[tuple[str, int], GeneratedCase], key: tuple[str, int]) -> None:
    case = cases[key]
    assert tarfile.is_tarfile(case.bundle)
    top, files = members(case.bundle)
    m = TOP.match(top)
    assert m, top
    assert case.bundle.name == f"esx-{m['date']}.{m['pid']}.tgz"
    assert m["host"] == case.truth.host
    pid = m["pid"]
    for path in (
        "var/log/vmksummary", "var/log/messages", "var/log/vmkernel", "proc/meminfo",
        "etc/vmware/esx.conf", "etc/vmware-release", f"tmp/vmware.{pid}.txt",
        f"tmp/ps.{pid}.txt", f"tmp/pstree.{pid}.txt", f"tmp/top.{pid}.txt",
    ):  # fmt: skip
        assert path in files, path
    assert Truth.from_json(case.truth_path.read_text()) == case.truth
    assert case.truth_path.parent == case.bundle.parent
    for path, data in files.items():
        if path.endswith(".gz"):
            gzip.decompress(data)  # every nested .gz is whole
    zdumps = [p for p in files if ZDUMP.match(p)]
    if case.truth.crash_type is CrashType.NONE:
        assert not zdumps and not case.extras and "root/vmkernel-log.1" not in files
    else:
        assert len(zdumps) == 1, zdumps
        # the crash type is knowable: the zdump's log or a transcribed screen
        assert "root/vmkernel-log.1" in files or case.extras
        assert all(e.parent == case.bundle.parent for e in case.extras)


@pytest.mark.parametrize("key", case_ids(), ids=case_id)
def test_summary_lines_are_well_formed_and_ordered(
    cases: dict[tuple[str, int], GeneratedCase], key: tuple[str, int]
) -> None:
    case = cases[key]
    _, files = members(case.bundle)
    lines = entries(files)
    epochs = [e.epoch for e in lines]
    assert epochs == sorted(epochs)
    hb = [e for e in lines if e.kind == "hb"]
    assert hb
    assert {e.build for e in hb} <= {case.truth.build}
    for e in hb:
        # cron runs at HH:01; syslog stamps the line a few seconds after the epoch was taken
        assert re.match(r"^[A-Z][a-z]{2} {1,2}\d{1,2} \d\d:01:\d\d ", e.text), e.text
        assert all(len(token) <= 8 for token, _ in e.top)
        assert e.swap % 4096 == 0


def test_same_seed_same_bytes_and_other_seed_other_bytes(tmp_path: Path) -> None:
    first = generate("third-party-leak", tmp_path / "a", seed=7)
    again = generate("third-party-leak", tmp_path / "b", seed=7)
    other = generate("third-party-leak", tmp_path / "c", seed=8)
    assert first.bundle.name == again.bundle.name
    assert first.bundle.read_bytes() == again.bundle.read_bytes()
    assert first.truth_path.read_bytes() == again.truth_path.read_bytes()
    assert [e.read_bytes() for e in first.extras] == [e.read_bytes() for e in again.extras]
    assert first.bundle.read_bytes() != other.bundle.read_bytes()


@pytest.mark.parametrize("key", case_ids(), ids=case_id)
def test_meminfo_and_conf_match_the_truth(
    cases: dict[tuple[str, int], GeneratedCase], key: tuple[str, int]
) -> None:
    truth = cases[key].truth
    _, files = members(cases[key].bundle)
    meminfo = files["proc/meminfo"].decode()
    total = int(re.search(r"^MemTotal:\s+(\d+) kB$", meminfo, re.M)[1])  # type: ignore[index]
    swap = int(re.search(r"^SwapTotal:\s+(\d+) kB$", meminfo, re.M)[1])  # type: ignore[index]
    assert 272 <= truth.cos_ram_mb <= 800
    assert 0.95 * truth.cos_ram_mb * 1024 < total < truth.cos_ram_mb * 1024
    assert abs(swap - truth.swap_mb * 1024) < 1024
    conf = files["etc/vmware/esx.conf"].decode()
    core = re.search(r'^/adv/Misc/CosCore[Ff]ile = "(.*)"$', conf, re.M)
    valid = core is not None and core[1].startswith("/vmfs/volumes/")
    assert valid == truth.cos_core_file_valid
    version = files[next(p for p in files if p.startswith("tmp/vmware."))].decode()
    assert version.strip().endswith(f"build-{truth.build}")
