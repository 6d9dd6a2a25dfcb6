"""``lostbeat generate`` through the real command line entry point."""

from __future__ import annotations

from pathlib import Path

import pytest

from lostbeat.cli import main
from lostbeat.scenarios import SCENARIOS, CaseTruth, Truth


def test_list(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["generate", "--list"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in out] == list(SCENARIOS)


def test_generate_writes_bundle_truth_and_extras(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["generate", "cimserver-35", "--out", str(tmp_path / "out"), "--seed", "3"]) == 0
    printed = [Path(p) for p in capsys.readouterr().out.split()]
    assert printed[0].suffix == ".tgz" and printed[0].is_file()
    truth = Truth.from_json((tmp_path / "out" / "truth.json").read_text())
    assert (truth.scenario, truth.seed, truth.culprit) == ("cimserver-35", 3, "cimserver")
    assert all(p.is_file() for p in printed)


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["generate", "no-such-scenario", "--out", "{tmp}"], "unknown scenario"),
        (["generate", "spike", "--out", "{tmp}/afile/sub"], "cannot write"),
        (["generate", "spike"], "--out DIR is needed"),
        (["generate", "--out", "{tmp}"], "a scenario is needed"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str], needle: str
) -> None:
    (tmp_path / "afile").write_text("not a folder\n")
    assert main([a.replace("{tmp}", str(tmp_path)) for a in argv]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and needle in err and "Traceback" not in err
    assert err.startswith("lostbeat generate: ")


@pytest.mark.parametrize(
    ("scenario", "suffix"), [("psod-paste", ".txt"), ("linux-sosreport", ".tar")]
)
def test_generate_writes_loose_files_and_says_what_they_settle(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], scenario: str, suffix: str
) -> None:
    assert main(["generate", scenario, "--out", str(tmp_path), "--seed", "4"]) == 0
    out, err = capsys.readouterr()
    printed = [Path(p) for p in out.split()]
    assert suffix in printed[0].name and printed[0].is_file()
    assert printed[1] == tmp_path / "truth.json"
    truth = CaseTruth.from_json(printed[1].read_text())
    assert truth.inputs[0] == printed[0].name
    assert err.startswith(f"{scenario} seed 4: crash.type {truth.expect.crash_type.value}")
