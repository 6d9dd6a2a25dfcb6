from __future__ import annotations

import ast
import inspect
from pathlib import Path

import pytest

import lostbeat.analyzer.parsers as parsers
from lostbeat.analyzer.artifacts import ARTIFACTS
from lostbeat.analyzer.parsers import PARSERS, ParserInput, active_lines, parser_for

DATA = Path(__file__).parent / "data"
PACKAGE = Path(parsers.__file__).parent
SAMPLES = {
    "psod": (DATA / "kb308590-psod.txt").read_text(),
    "vmksummary": (DATA / "kb1019238-crash.txt").read_text(),
    # the log lines of KB 308590's screen (the zdump's log ends with them)
    "vmkernel_log": "".join(
        line.strip() + "\n"
        for line in (DATA / "kb308590-psod.txt").read_text().splitlines()
        if "cpu0:1024)" in line
    ),
    "meminfo": (DATA / "kb308590-meminfo.txt").read_text(),
    "esx_conf": '/adv/Misc/HostName = "esxhostname"\n/adv/Misc/CosCorefile = ""\n',
    "version": "VMware ESX 4.0.0 build-164009\n",
    "ps": "USER       PID %CPU %MEM   VSZ  RSS TTY      STAT START   TIME COMMAND\n"
    "root         1  0.0  0.1  1968  548 ?        S    Nov12   0:04 init [3]\n",
    "pstree": "init,1\n  |-crond,2225\n  `-sshd,2210\n",
    "top": "top - 03:01:35 up 136 days,  2:03,  1 user,  load average: 0.50, 0.40, 0.30\n"
    "Mem:    799732k total,   790000k used,     9732k free,     1024k buffers\n\n"
    "  PID USER      PR  NI  VIRT  RES  SHR S %CPU %MEM    TIME+  COMMAND\n"
    "    1 root      15   0  1968  548  492 S  0.0  0.1   0:04.00 init\n",
}


def test_every_artifact_registered_once():
    names = [p.artifact for p in PARSERS]
    assert sorted(names) == sorted(ARTIFACTS)
    assert len(names) == len(set(names))


def test_every_parser_module_is_registered():
    """A module in parsers/ (other than _private helpers) must provide a registered parse."""
    registered = {p.parse.__module__ for p in PARSERS}
    modules = {
        f"lostbeat.analyzer.parsers.{f.stem}"
        for f in PACKAGE.glob("*.py")
        if not f.stem.startswith("_")
    }
    assert modules == registered


def test_entries_are_documented_and_callable():
    for entry in PARSERS:
        assert entry.doc.strip(), entry.artifact
        assert callable(entry.parse)
        assert inspect.getdoc(entry.parse), entry.artifact
        module = inspect.getmodule(entry.parse)
        assert module is not None and module.__doc__ and "Examples:" in module.__doc__
        assert ast.parse(inspect.getsource(module)).body  # parseable source


def test_parse_signatures_match_what_they_take():
    first = {ParserInput.LINES: "lines", ParserInput.NAMES: "names", ParserInput.FILES: "files"}
    for entry in PARSERS:
        params = inspect.signature(entry.parse).parameters
        assert list(params)[0] == first[entry.takes], entry.artifact
        if entry.takes is not ParserInput.NAMES:
            assert list(params) == [first[entry.takes], "path"]
            assert params["path"].kind is inspect.Parameter.KEYWORD_ONLY
    assert [p.artifact for p in PARSERS if p.takes is not ParserInput.LINES] == [
        "coredumps",
        "recording",
    ]


@pytest.mark.parametrize("artifact", sorted(SAMPLES))
def test_sniffers_recognise_their_own_kind_first(artifact):
    text = SAMPLES[artifact]
    found = parser_for(text)
    assert found is not None and found.artifact == artifact
    found.parse(text.splitlines(), path=f"loose/{artifact}")


def test_unknown_text_has_no_parser():
    assert parser_for("hello\nworld\n") is None
    assert parser_for("") is None


def test_active_lines():
    assert list(active_lines(["a\n", "\n", "  b  \r\n"])) == [(1, "a"), (3, "  b  ")]
    assert list(active_lines("x\n\ny")) == [(1, "x"), (3, "y")]
