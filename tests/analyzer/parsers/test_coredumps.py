from __future__ import annotations

import io
import tarfile

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lostbeat.analyzer.parsers.coredumps import parse_coredumps
from lostbeat.errors import ArtifactMissing, ParseError

TOP = "vm-support-esxhostname-2009-11-13--07.30.4711"
MEMBERS = [
    f"{TOP}/var/log/vmksummary",
    f"{TOP}/root/vmkernel-zdump-111309.07.13.1",
    f"{TOP}/root/old_cores/vmkernel-zdump-020609.04.40.1",
    f"{TOP}/root/old_cores/cos-core-esxhostname.123.core.gz",
    f"{TOP}/var/core/cos-core-esxhostname",
    f"{TOP}/var/core/vmkernel-zdump-010110.01.01.1",
    f"{TOP}/vmkernel-zdump-999999.00.00.1",
    f"{TOP}/root/vmkernel-log.1",
    f"{TOP}/var/log/vmware/notacore.core.gz.txt",
    f"{TOP}/tmp/vmkernel-zdump-elsewhere",
    f"{TOP}/etc/cos-core-config",
]


def test_inventory_from_a_real_tar_archive(tmp_path):
    archive = tmp_path / "esx-2009-11-13--07.30.4711.tgz"
    with tarfile.open(archive, "w:gz") as tar:
        for name in MEMBERS:
            data = b"core"
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        folder = tarfile.TarInfo(f"{TOP}/root/old_cores")
        folder.type = tarfile.DIRTYPE
        tar.addfile(folder)
    with tarfile.open(archive) as tar:
        inventory = parse_coredumps(tar.getnames())
    assert inventory.vmkernel == (
        f"{TOP}/root/old_cores/vmkernel-zdump-020609.04.40.1",
        f"{TOP}/root/vmkernel-zdump-111309.07.13.1",
        f"{TOP}/var/core/vmkernel-zdump-010110.01.01.1",
        f"{TOP}/vmkernel-zdump-999999.00.00.1",
    )
    assert inventory.cos == (
        f"{TOP}/root/old_cores/cos-core-esxhostname.123.core.gz",
        f"{TOP}/var/core/cos-core-esxhostname",
    )


def test_kb_names_at_bundle_root_and_duplicates():
    inventory = parse_coredumps(
        [
            "./root/old_cores/vmkernel-zdump-111309.07.13.1",
            "root/old_cores/vmkernel-zdump-111309.07.13.1",
            "/var/core/cos-core-esxhostname.123.core.gz",
            "vmkernel-zdump-111309.07.13.1",
            "var/cores/x.core.gz",
        ]
    )
    assert inventory.vmkernel == (
        "root/old_cores/vmkernel-zdump-111309.07.13.1",
        "vmkernel-zdump-111309.07.13.1",
    )
    assert inventory.cos == ("var/core/cos-core-esxhostname.123.core.gz", "var/cores/x.core.gz")


def test_no_cores_is_an_empty_inventory():
    inventory = parse_coredumps(["var/log/vmksummary", "proc/meminfo"])
    assert (inventory.vmkernel, inventory.cos) == ((), ())


@pytest.mark.parametrize("names", [[], ["", "  "]])
def test_no_names_is_missing(names):
    with pytest.raises(ArtifactMissing) as err:
        parse_coredumps(names)
    assert err.value.artifact == "coredumps"


@settings(max_examples=200, deadline=None, database=None)
@given(
    st.lists(
        st.lists(
            st.one_of(
                st.sampled_from(
                    ["root/", "old_cores/", "var/core/", "vmkernel-zdump-1", ".core.gz"]
                ),
                st.text(max_size=8),
            ),
            max_size=4,
        ).map("".join)
    )
)
def test_arbitrary_names_raise_only_artifact_missing(names):
    try:
        inventory = parse_coredumps(names)
    except (ParseError, ArtifactMissing):
        return
    assert list(inventory.vmkernel) == sorted(set(inventory.vmkernel))
    assert not set(inventory.vmkernel) & set(inventory.cos)
