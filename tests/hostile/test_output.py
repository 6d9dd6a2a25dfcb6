"""What the command does with its output when the output is hostile too: a full disk, a
reader that goes away, file names that are not UTF-8, a missing package.

Each runs the real command in a child (:mod:`tests.hostile.child`), with the same checks as
the corpus: exit status, the one line on standard error, peak RSS, and nothing written.
"""

from __future__ import annotations

import gzip
import json
import os
import sys
from importlib import metadata
from pathlib import Path

import pytest

from tests.hostile.child import Run, run
from tests.hostile.inputs import MEMINFO, TOP, Prepared
from tests.hostile.tarcraft import END, header, member
from tests.hostile.test_hostile import RSS_MB

pytestmark = pytest.mark.timeout(120)


def _bundle(folder: Path) -> Prepared:
    path = folder / "bundle.tgz"
    path.write_bytes(gzip.compress(member(TOP + b"proc/meminfo", MEMINFO) + END, mtime=0))
    return Prepared([str(path), "--json"], path.stat().st_size)


def _one_line(result: Run) -> str:
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr[-800:]
    assert result.peak_mb <= RSS_MB and not result.killed
    return lines[0]


def test_a_full_disk_is_one_line_and_a_failure(tmp_path: Path) -> None:
    prepared = _bundle(tmp_path)
    with open("/dev/full", "wb") as full:
        result = run(["analyze", *prepared.args], tmp_path / "sandbox", stdout=full.fileno())
    line = _one_line(result)
    assert result.status == 2
    assert line == (
        "lostbeat analyze: standard output: cannot write the report: No space left on device"
    )
    assert result.written == ()


@pytest.mark.parametrize("json_output", [True, False], ids=["json", "terminal"])
def test_a_reader_that_goes_away_ends_it_quietly(tmp_path: Path, json_output: bool) -> None:
    prepared = _bundle(tmp_path)
    args = prepared.args if json_output else prepared.args[:-1]
    read_end, write_end = os.pipe()
    os.close(read_end)  # as `| head` after its lines, before the report is written
    try:
        result = run(["analyze", *args], tmp_path / "sandbox", stdout=write_end)
    finally:
        os.close(write_end)
    assert (result.status, result.stderr) == (141, "")  # 128 + SIGPIPE, as `cat` ends
    assert result.written == ()


NAME = b"link-\xe9t\xe9"  # latin-1, not UTF-8


def _names_folder(folder: Path) -> Path:
    root = folder / "bundle"
    (root / "proc").mkdir(parents=True)
    (root / "proc" / "meminfo").write_bytes(MEMINFO)
    os.symlink(b"/tmp/" + NAME, os.fsencode(root) + b"/" + NAME)
    return root


def _names_tar(folder: Path) -> Path:
    folder.mkdir()
    path = folder / "bundle.tgz"
    data = member(b"proc/meminfo", MEMINFO) + header(NAME, kind=b"2", link=b"/tmp/" + NAME)
    path.write_bytes(gzip.compress(data + END, mtime=0))
    return path


def test_names_that_are_not_utf8_read_the_same_from_a_folder_and_a_tar(tmp_path: Path) -> None:
    docs = []
    for make in (_names_folder, _names_tar):
        source = make(tmp_path / make.__name__)
        result = run(["analyze", str(source), "--json"], tmp_path / f"sandbox{make.__name__}")
        assert (result.status, result.stderr) == (0, ""), result.stderr
        result.stdout.decode("utf-8")  # strict: the document is UTF-8
        doc = json.loads(result.stdout)
        json.dumps(doc, ensure_ascii=False).encode("utf-8")  # and re-encodes as UTF-8
        docs.append({i["path"]: i["reason"] for i in doc["inputs"] if i["path"] != "proc/meminfo"})
    for listed in docs:  # one rule: each byte that is not UTF-8 is U+FFFD, as a tar's name
        assert list(listed) == ["link-\ufffdt\ufffd"]
        assert listed["link-\ufffdt\ufffd"].startswith("symbolic link to '/tmp/link-\ufffdt\ufffd'")


def test_html_needs_no_extra_and_a_missing_package_is_one_line(tmp_path: Path) -> None:
    requires = metadata.requires("lostbeat") or []
    core = {r.split(">")[0].split("[")[0] for r in requires if "extra ==" not in r}
    assert {"jinja2", "matplotlib"} <= core  # `pip install lostbeat` gives a working --html

    prepared = _bundle(tmp_path)
    page = tmp_path / "sandbox" / "cwd" / "report.html"
    result = run(["analyze", *prepared.args, "--html", "report.html"], tmp_path / "sandbox")
    assert (result.status, result.stderr) == (0, ""), result.stderr[-800:]
    assert page.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert result.peak_mb <= RSS_MB
    home = tmp_path / "sandbox" / "home"  # matplotlib's config and font cache
    mpl = (str(home / ".cache"), str(home / ".config"))
    assert [w for w in result.written if w != str(page) and not w.startswith(mpl)] == []

    # an install that lacks jinja2 all the same (removed by hand): one line, no traceback
    fake = tmp_path / "no-jinja2"
    (fake / "jinja2").mkdir(parents=True)
    (fake / "jinja2" / "__init__.py").write_text(
        'raise ModuleNotFoundError("No module named \'jinja2\'", name="jinja2")\n'
    )
    path = os.pathsep.join([str(fake), *(p for p in sys.path if p)])
    result = run(
        ["analyze", *prepared.args, "--html", "again.html"],
        tmp_path / "sandbox2",
        env={"PYTHONPATH": path},
    )
    line = _one_line(result)
    assert result.status == 2
    assert line.startswith("lostbeat analyze: cannot import jinja2 (No module named 'jinja2')")
    assert result.written == ()
