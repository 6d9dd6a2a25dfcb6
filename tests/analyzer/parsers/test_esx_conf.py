from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lostbeat.analyzer.parsers.esx_conf import looks_like_esx_conf, parse_esx_conf
from lostbeat.errors import ArtifactMissing, ParseError

CONF = """\
/adv/Misc/HostName = "esxhostname"
/adv/Net/followHardwareMac = "true"
# written by the installer
/adv/Misc/HostAgentUpdateInterval = 10

/adv/Misc/CosCoreFile = "/vmfs/volumes/old/cos-core-esxhostname"
/adv/Misc/CosCorefile = "/vmfs/volumes/4533e089-1dfcdd21-f1d3-001a140ebdca/cos-core-esxhostname"
/adv/Misc/PsodOnCosPanic = "0"
/adv/Misc/Empty = ""
"""


@pytest.fixture
def conf(tmp_path):
    file = tmp_path / "esx.conf"
    file.write_text(CONF, encoding="utf-8")
    with open(file, encoding="utf-8") as f:
        return parse_esx_conf(f, path="etc/vmware/esx.conf")


def test_entries_in_order_unquoted(conf):
    assert [e.key for e in conf.entries][:2] == ["/adv/Misc/HostName", "/adv/Net/followHardwareMac"]
    assert conf.entries[0].value == "esxhostname"
    assert conf.entries[2].value == "10"
    assert conf.get("/adv/Misc/Empty").value == ""


def test_get_is_case_insensitive_and_last_wins(conf):
    entry = conf.get("/adv/Misc/CosCoreFile")
    assert entry is not None
    assert entry.key == "/adv/Misc/CosCorefile"
    assert entry.value == "/vmfs/volumes/4533e089-1dfcdd21-f1d3-001a140ebdca/cos-core-esxhostname"
    assert (entry.evidence.path, entry.evidence.line_no) == ("etc/vmware/esx.conf", 7)
    assert entry.evidence.text.startswith('/adv/Misc/CosCorefile = "/vmfs/volumes/4533e089')
    assert conf.get("/ADV/MISC/PSODONCOSPANIC").value == "0"
    assert conf.get("/adv/Misc/CosCore") is None


@pytest.mark.parametrize("lines", [[], ["", "   "]])
def test_empty_is_missing(lines):
    with pytest.raises(ArtifactMissing) as err:
        parse_esx_conf(lines, path="etc/vmware/esx.conf")
    assert err.value.artifact == "esx_conf"


@pytest.mark.parametrize(
    ("lines", "line_no"),
    [
        (['/adv/Misc/HostName = "h"', "", "garbage here"], 3),
        (["MemTotal: 1 kB"], 1),
        (["# only a comment"], 1),
    ],
)
def test_malformed(lines, line_no):
    with pytest.raises(ParseError) as err:
        parse_esx_conf(lines, path="etc/vmware/esx.conf")
    assert err.value.line_no == line_no
    assert str(err.value).startswith(f"etc/vmware/esx.conf:{line_no}: expected '/key/path")


def test_sniffer():
    assert looks_like_esx_conf(CONF)
    assert not looks_like_esx_conf("MemTotal: 1 kB\n")


@settings(max_examples=200, deadline=None, database=None)
@given(
    st.lists(
        st.lists(
            st.one_of(st.sampled_from(["/adv/Misc/X", " = ", '"', "#"]), st.text(max_size=8)),
            max_size=4,
        ).map("".join)
    )
)
def test_arbitrary_text_raises_only_parse_errors(lines):
    try:
        conf = parse_esx_conf(lines, path="x")
    except (ParseError, ArtifactMissing):
        return
    assert all(e.key.startswith("/") for e in conf.entries)
