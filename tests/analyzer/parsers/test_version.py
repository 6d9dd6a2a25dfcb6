from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lostbeat.analyzer.parsers.version import looks_like_version, parse_version
from lostbeat.errors import ArtifactMissing, ParseError


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("VMware ESX Server 3.5.0 build-123630\n", ("VMware ESX Server", "3.5.0", None, 123630)),
        ("VMware ESX 4.0.0 build-164009\n", ("VMware ESX", "4.0.0", None, 164009)),
        ("VMware ESX Server 3.5.0 Update 2\n", ("VMware ESX Server", "3.5.0", 2, None)),
        ("VMware ESX 4.1.0 Update 1 build-348481\n", ("VMware ESX", "4.1.0", 1, 348481)),
        (
            "VMware ESX Server 3.5.0 [Releasebuild-110268]\n"
            "vmkernel build: 110268, vmkcall: 0.0 esx-3.5.0, kernel: 2.4.21-57.ELvmnix\n",
            ("VMware ESX Server", "3.5.0", None, 110268),
        ),
        (
            "VMware ESX Server 3.5.0\nvmkernel build: 153875, vmkcall: 0.0\n",
            ("VMware ESX Server", "3.5.0", None, 153875),
        ),
        ("vmkernel build: 208167, vmkcall: 0.0\n", (None, None, None, 208167)),
    ],
)
def test_forms(tmp_path, text, expected):
    file = tmp_path / "version"
    file.write_text(text, encoding="utf-8")
    with open(file, encoding="utf-8") as f:
        info = parse_version(f, path="tmp/vmware.4711.txt")
    assert (info.product, info.version, info.update, info.build) == expected
    assert info.evidence.line_no == 1
    assert info.evidence.text == text.splitlines()[0]


@pytest.mark.parametrize("lines", [[], ["\n"]])
def test_empty_is_missing(lines):
    with pytest.raises(ArtifactMissing) as err:
        parse_version(lines, path="etc/vmware-release")
    assert err.value.artifact == "version"


def test_malformed():
    with pytest.raises(ParseError) as err:
        parse_version(["", "Red Hat Enterprise Linux ES release 3"], path="etc/vmware-release")
    assert err.value.line_no == 2
    assert str(err.value).startswith("etc/vmware-release:2: expected 'VMware ESX")


def test_sniffer_tells_version_from_psod_header():
    assert looks_like_version("VMware ESX 4.0.0 build-164009\n")
    assert looks_like_version("vmkernel build: 1, vmkcall: 0.0\n")
    assert not looks_like_version("VMware ESX Server [Releasebuild-123630]\nLost heartbeat\n")


@settings(max_examples=200, deadline=None, database=None)
@given(
    st.lists(
        st.lists(
            st.one_of(
                st.sampled_from(["VMware ESX Server ", "3.5.0", " Update ", " build-", "9" * 40]),
                st.text(max_size=8),
            ),
            max_size=5,
        ).map("".join)
    )
)
def test_arbitrary_text_raises_only_parse_errors(lines):
    try:
        info = parse_version(lines, path="x")
    except (ParseError, ArtifactMissing):
        return
    assert info.evidence.path == "x"


def test_a_quoted_or_numbered_paste_of_vmware_v_is_still_the_version() -> None:
    for pasted in (["> VMware ESXi 6.5.0 build-4564106"], ["  1. VMware ESXi 6.5.0 build-4564106"]):
        assert looks_like_version("\n".join(pasted) + "\n")
        info = parse_version(pasted, path="vmware-v.txt")
        assert (info.product, info.version, info.build) == ("VMware ESXi", "6.5.0", 4564106)
        assert info.evidence.text == pasted[0]
