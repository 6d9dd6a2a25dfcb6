"""Discovery: which files and folders make an incident, and which loose files join it."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from lostbeat.errors import InputError
from lostbeat.fleet.discover import (
    RECORDING_MARKER,
    Discovery,
    Incident,
    IncidentKind,
    archive_stem,
    discover,
)
from tests.fleet.helpers import REAL_LINUX


def touch(path: Path, text: str = "x") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def by_key(found: Discovery) -> dict[str, Incident]:
    return {i.key: i for i in found.incidents}


def test_archive_names() -> None:
    assert archive_stem("case1.tgz") == "case1"
    assert archive_stem("case1.TAR.GZ") == "case1"
    assert archive_stem("case1.tar") == "case1"
    # the analyzer reads these archives too, so discovery takes them (one list for both)
    assert archive_stem("scc_web01_241203_1012.txz") == "scc_web01_241203_1012"
    assert archive_stem("sosreport-db1.tar.bz2") == "sosreport-db1"
    assert archive_stem(".tgz") is None
    assert archive_stem("case1.psod.txt") is None
    assert archive_stem("case1.gz") is None


def test_archives_take_loose_files_of_their_stem(tmp_path: Path) -> None:
    a = touch(tmp_path / "case1.tgz")
    psod = touch(tmp_path / "case1.psod.txt")
    log = touch(tmp_path / "case1.vmkernel.log")
    b = touch(tmp_path / "case10.tar.gz")  # "case1" is a prefix of its name, not its stem
    stray = touch(tmp_path / "notes.txt")
    found = discover([tmp_path])
    assert [i.key for i in found.incidents] == [str(a), str(b)]
    assert by_key(found)[str(a)] == Incident(
        str(a), IncidentKind.ARCHIVE, (str(a), str(psod), str(log))
    )
    assert by_key(found)[str(b)].paths == (str(b),)
    assert found.ignored == (str(stray),)


def test_longest_stem_wins(tmp_path: Path) -> None:
    short = touch(tmp_path / "esx.tgz")
    long = touch(tmp_path / "esx.2010.tgz")
    mine = touch(tmp_path / "esx.2010.psod.txt")
    theirs = touch(tmp_path / "esx.psod.txt")
    found = by_key(discover([tmp_path]))
    assert found[str(long)].paths == (str(long), str(mine))
    assert found[str(short)].paths == (str(short), str(theirs))
    # the same answer when only one archive is named on the command line
    assert discover([short]).incidents[0].paths == (str(short), str(theirs))
    assert discover([long]).incidents[0].paths == (str(long), str(mine))


def test_a_case_folder_gives_all_its_loose_files_to_its_one_anchor(tmp_path: Path) -> None:
    case = tmp_path / "cases" / "1234"
    bundle = touch(case / "esx-2010-03-16--12.51.4711.tgz")
    psod = touch(case / "psod.txt")
    notes = touch(case / "notes" / "mail.txt")  # a sub-folder is a folder of its own
    db = touch(case / "lostbeat-fleet.sqlite")
    found = discover([tmp_path], skip=[db])
    assert found.incidents == (
        Incident(str(bundle), IncidentKind.ARCHIVE, (str(bundle), str(psod))),
    )
    assert found.ignored == (str(notes),)
    assert discover([bundle], skip=[db]).incidents == found.incidents
    # a second archive makes it two incidents, and psod.txt belongs to neither
    other = touch(case / "esx-2010-04-01--08.00.100.tgz")
    found = discover([case], skip=[db])
    assert [i.paths for i in found.incidents] == [(str(bundle),), (str(other),)]
    assert found.ignored == (str(notes), str(psod))


def test_bundle_folders_by_name_or_by_vmksummary_and_not_searched(tmp_path: Path) -> None:
    named = tmp_path / "vm-support-esx01-2010-03-16--12.51.4711"
    touch(named / "etc" / "vmware" / "esx.conf")
    touch(named / "inner.tgz")  # inside a bundle: part of it, not an incident
    unnamed = tmp_path / "sub" / "unpacked"
    touch(unnamed / "var" / "log" / "vmksummary.1.gz")
    psod = touch(tmp_path / "sub" / "unpacked.psod.txt")
    plain = tmp_path / "sub" / "other"
    touch(plain / "var" / "log" / "messages")
    found = discover([tmp_path])
    assert by_key(found) == {
        str(named): Incident(str(named), IncidentKind.BUNDLE_DIR, (str(named),)),
        str(unnamed): Incident(str(unnamed), IncidentKind.BUNDLE_DIR, (str(unnamed), str(psod))),
    }
    assert found.ignored == (str(plain / "var" / "log" / "messages"),)


def test_recording_folders_by_marker(tmp_path: Path) -> None:
    rec = tmp_path / "hosts" / "web1"
    touch(rec / RECORDING_MARKER, '{"schema": "lostbeat.recording/1"}')
    touch(rec / "2026-05-01.jsonl")
    touch(rec / "old" / "case.tgz")  # inside a recording: not searched
    found = discover([tmp_path])
    assert found.incidents == (Incident(str(rec), IncidentKind.RECORDING, (str(rec),)),)
    # named directly, it is the same incident
    assert discover([rec]).incidents == found.incidents


def test_named_paths_hidden_names_and_duplicates(tmp_path: Path) -> None:
    a = touch(tmp_path / "a.tgz")
    touch(tmp_path / ".hidden.tgz")
    touch(tmp_path / ".cache" / "b.tgz")
    psod = touch(tmp_path / "a.psod.txt")
    screen = touch(tmp_path / "elsewhere" / "screen.txt")
    found = discover([tmp_path, a, psod, screen])
    assert found.incidents == (
        Incident(str(a), IncidentKind.ARCHIVE, (str(a), str(psod))),
        Incident(str(screen), IncidentKind.LOOSE, (str(screen),)),
    )
    assert found.ignored == ()


def test_relative_paths_become_absolute_keys(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    touch(tmp_path / "b" / "x.tgz")
    monkeypatch.chdir(tmp_path)
    found = discover(["b"])
    assert found.incidents[0].key == str(tmp_path / "b" / "x.tgz")


def test_order_does_not_depend_on_the_arguments(tmp_path: Path) -> None:
    for name in ("c.tgz", "a.tgz", "b.tar"):
        touch(tmp_path / "d1" / name)
        touch(tmp_path / "d2" / name)
    one = discover([tmp_path / "d2", tmp_path / "d1"])
    two = discover([tmp_path / "d1", tmp_path / "d2"])
    assert one == two
    assert [i.key for i in one.incidents] == sorted(i.key for i in one.incidents)
    assert len(one.incidents) == 6


def test_missing_path_and_nothing_found(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file or folder") as err:
        discover([tmp_path / "nope"])
    assert str(tmp_path / "nope") in str(err.value)
    touch(tmp_path / "empty" / "readme.txt")
    with pytest.raises(
        InputError, match="no vm-support archive, bundle folder, lostbeat recording or folder"
    ):
        discover([tmp_path / "empty"])


def test_a_folder_that_cannot_be_listed_is_reported() -> None:
    # root lists any folder, so as root the search runs in a child without the capabilities
    # that override permissions (util-linux setpriv)
    prefix: list[str] = []
    if os.geteuid() == 0:
        setpriv = shutil.which("setpriv")
        if setpriv is None:
            pytest.skip("running as root without setpriv: cannot drop CAP_DAC_READ_SEARCH")
        drop = "-dac_override,-dac_read_search"
        prefix = [setpriv, f"--bounding-set={drop}", f"--inh-caps={drop}"]
    with tempfile.TemporaryDirectory() as tmp:
        top = Path(tmp)
        top.chmod(0o755)
        touch(top / "ok.tgz").chmod(0o644)
        locked = top / "locked"
        touch(locked / "x.tgz")
        locked.chmod(0)
        code = (
            "import json, sys; from lostbeat.fleet.discover import discover; "
            "f = discover([sys.argv[1]]); "
            "print(json.dumps([[i.key for i in f.incidents], [u.path for u in f.unreadable]]))"
        )
        out = subprocess.run(
            [*prefix, sys.executable, "-c", code, tmp],
            capture_output=True,
            text=True,
            check=True,
            cwd=Path(__file__).resolve().parents[2],
        )
        locked.chmod(0o755)
    assert json.loads(out.stdout) == [[str(top / "ok.tgz")], [str(locked)]]


def test_links_to_folders_are_not_searched_but_a_linked_bundle_counts(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    touch(elsewhere / "plain" / "x.tgz")
    touch(elsewhere / "vm-support-esx09-2010-01-01--00.00.1" / "proc" / "meminfo")
    top = tmp_path / "top"
    top.mkdir()
    (top / "plain").symlink_to(elsewhere / "plain")
    linked = top / "vm-support-esx09-2010-01-01--00.00.1"
    linked.symlink_to(elsewhere / "vm-support-esx09-2010-01-01--00.00.1")
    assert discover([top]).incidents == (
        Incident(str(linked), IncidentKind.BUNDLE_DIR, (str(linked),)),
    )


def test_a_folder_of_loose_evidence_is_one_host_incident(tmp_path: Path) -> None:
    host = tmp_path / "hosts" / "web1"
    dmesg = host / "dmesg.txt"
    dmesg.parent.mkdir(parents=True)
    shutil.copyfile(REAL_LINUX / "034-hung-jbd2-el6-2.6.32" / "dmesg.txt", dmesg)
    notes = touch(host / "notes.txt", "rebooted by hand at 03:12\n")
    empty = touch(host / "empty.log", "")
    fifo = host / "pipe"
    os.mkfifo(fifo)  # never opened: the search must not block on it
    db = touch(host / "lostbeat-fleet.sqlite")
    below = host / "older"
    shutil.copyfile(
        REAL_LINUX / "047-softlockup-kswapd1-syslog-3.5" / "kern.log", touch(below / "kern.log")
    )
    stray = touch(tmp_path / "hosts" / "todo" / "list.txt", "ask for the sosreport\n")
    found = discover([tmp_path], skip=[db])
    assert found.incidents == (
        Incident(
            str(host),
            IncidentKind.HOST_FOLDER,
            (str(dmesg), str(empty), str(notes), str(fifo)),
        ),
        Incident(str(below), IncidentKind.HOST_FOLDER, (str(below / "kern.log"),)),
    )
    assert found.ignored == (str(stray),)
    assert discover([host], skip=[db]).incidents[0] == found.incidents[0]
    # a file named on the command line is still an incident of its own
    assert discover([dmesg]).incidents == (Incident(str(dmesg), IncidentKind.LOOSE, (str(dmesg),)),)
    # content, not names: the same text under a name that tells nothing
    dmesg.rename(host / "a")
    assert discover([host], skip=[db]).incidents[0].kind is IncidentKind.HOST_FOLDER
    (host / "a").unlink()
    assert discover([tmp_path], skip=[db]).incidents[0].key == str(below)


def test_linux_bundles_sosreports_and_captures(tmp_path: Path) -> None:
    packed = touch(tmp_path / "db1" / "sosreport-db1-2024-03-01-abcdef.tar.xz")
    beside = touch(tmp_path / "db1" / "journal.txt")
    renamed = tmp_path / "app1" / "unpacked"
    touch(renamed / "sos_commands" / "kernel" / "dmesg")
    touch(renamed / "var" / "old.tgz")  # inside a bundle: part of it, not an incident
    sos = tmp_path / "app2" / "sosreport-app2-2024-03-01-qwerty"
    touch(sos / "version.txt")
    capture = tmp_path / "datastore" / "lost-heartbeat-web1-20260501T120000Z"
    touch(capture / "screen.txt")
    touch(capture / "proc" / "4711" / "cmdline")
    found = discover([tmp_path])
    assert found.incidents == (
        Incident(str(renamed), IncidentKind.BUNDLE_DIR, (str(renamed),)),
        Incident(str(sos), IncidentKind.BUNDLE_DIR, (str(sos),)),
        Incident(str(capture), IncidentKind.BUNDLE_DIR, (str(capture),)),
        Incident(str(packed), IncidentKind.ARCHIVE, (str(packed), str(beside))),
    )
    assert found.ignored == ()
    assert discover([capture]).incidents == found.incidents[2:3]
