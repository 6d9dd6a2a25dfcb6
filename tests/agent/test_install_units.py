"""``lostbeat install-units``: the units it writes run what the commands accept, name the
cgroups systemd will really make, and pass ``systemd-analyze verify``. What they do on a
systemd host is the VM suite's part (``tests/vm/guest/test_units.py``)."""

from __future__ import annotations

import argparse
import configparser
import shlex
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from lostbeat.commands import hbd, install_units, monitor, record
from lostbeat.errors import LostbeatError

LOSTBEAT = Path(sys.executable).with_name("lostbeat")


def _install(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(LOSTBEAT), "install-units", "--dest", str(tmp_path), "--no-start", *args],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip


def _unit(path: Path) -> configparser.ConfigParser:
    unit = configparser.ConfigParser(strict=False, interpolation=None)
    unit.optionxform = str  # type: ignore[assignment,method-assign]
    unit.read_string(path.read_text())
    return unit


def _accepts(command: object, exec_start: str) -> tuple[str, argparse.Namespace]:
    argv = shlex.split(exec_start)
    parser = argparse.ArgumentParser()
    command.add_arguments(parser)  # type: ignore[attr-defined]
    return argv[0], parser.parse_args(argv[2:])


def slice_cgroup(name: str) -> str:
    """The cgroup systemd gives a slice: each dash a level (systemd.slice(5))."""
    parts = name.removesuffix(".slice").split("-")
    return "/" + "/".join("-".join(parts[: i + 1]) + ".slice" for i in range(len(parts)))


def test_the_units_run_this_lostbeat_with_the_settings(tmp_path: Path) -> None:
    done = _install(tmp_path, "--memory-max", "256M", "--timeout", "10", "--record-interval", "1")
    assert done.returncode == 0, done.stderr
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == sorted(p.name for p in install_units.templates().iterdir())
    assert all(stat.S_IMODE(p.stat().st_mode) == 0o644 for p in tmp_path.iterdir())
    mon = _unit(tmp_path / "lostbeat-monitor.service")["Service"]
    program, margs = _accepts(monitor, mon["ExecStart"])
    assert program == str(LOSTBEAT) and margs.timeout == 10.0
    assert margs.cgroup == slice_cgroup("lostbeat-watched.slice")
    program, hargs = _accepts(hbd, _unit(tmp_path / "lostbeat-hbd.service")["Service"]["ExecStart"])
    assert program == str(LOSTBEAT) and hargs.socket == margs.socket
    rec = _unit(tmp_path / "lostbeat-record.service")["Service"]
    program, rargs = _accepts(record, rec["ExecStart"])
    assert program == str(LOSTBEAT) and rargs.interval == 1.0
    assert rec["Slice"] == "lostbeat-monitor.slice"
    assert _unit(tmp_path / "lostbeat-watched.slice")["Slice"]["MemoryMax"] == "256M"
    # the monitor's protection is only as good as its parent slice's
    parent = _unit(tmp_path / "lostbeat.slice")["Slice"]["MemoryMin"]
    assert parent == _unit(tmp_path / "lostbeat-monitor.slice")["Slice"]["MemoryMin"]


def test_slice_cgroup_nesting() -> None:
    assert slice_cgroup("lostbeat-watched.slice") == "/lostbeat.slice/lostbeat-watched.slice"
    assert slice_cgroup("lostbeat.slice") == "/lostbeat.slice"


def test_installed_units_pass_systemd_analyze_verify(tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        print("SKIP: systemd-analyze is not installed")
        pytest.skip("systemd-analyze is not installed")
    assert _install(tmp_path).returncode == 0
    done = subprocess.run([analyze, "verify", *sorted(map(str, tmp_path.iterdir()))],
                          capture_output=True, text=True, timeout=60, check=False)  # fmt: skip
    assert done.returncode == 0 and done.stderr == "", done.stderr


def test_bad_settings_are_one_line(tmp_path: Path) -> None:
    done = _install(tmp_path, "--memory-max", "lots")
    assert done.returncode == 2 and "expected a systemd size such as 2G" in done.stderr
    assert "Traceback" not in done.stderr and not any(tmp_path.iterdir())


def test_a_template_without_the_setting_is_refused(tmp_path: Path) -> None:
    for unit in install_units.templates().iterdir():
        (tmp_path / unit.name).write_text(unit.read_text().replace("MemoryMax=2G", "MemoryMax=1G"))
    settings = install_units.Settings(LOSTBEAT)
    with pytest.raises(LostbeatError, match="lostbeat-watched.slice: expected 'MemoryMax=2G' once"):
        install_units.render(tmp_path, settings)


def test_print_shows_the_units_without_writing(tmp_path: Path) -> None:
    done = subprocess.run([str(LOSTBEAT), "install-units", "--print", "--dest", str(tmp_path / "d")],
                          capture_output=True, text=True, timeout=60, check=False)  # fmt: skip
    assert done.returncode == 0 and not (tmp_path / "d").exists()
    assert f"# {tmp_path / 'd' / 'lostbeat-monitor.service'}" in done.stdout
    assert f"ExecStart={LOSTBEAT} monitor " in done.stdout
