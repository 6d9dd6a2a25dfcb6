"""The two commands from the outside: bad input is one line naming what was expected, never a
traceback; and the unit files run what the commands accept."""

from __future__ import annotations

import argparse
import configparser
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from lostbeat.agent.actions import Action, ActionKind, parse_action, run_action
from lostbeat.agent.capture import CaptureResult
from lostbeat.agent.clients import ClientState, ClientView
from lostbeat.commands import hbd as hbd_command
from lostbeat.commands import monitor as monitor_command
from lostbeat.errors import AgentError

pytestmark = pytest.mark.timeout(60)

UNITS = Path(__file__).resolve().parents[2] / "contrib" / "systemd"


def lostbeat(*args: str, timeout: float = 20) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "lostbeat", *args], capture_output=True,
                          text=True, timeout=timeout, check=False)  # fmt: skip


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--action", "reboot"], "--action: expected none, command:CMD or kill-top, got 'reboot'"),
        (["--timeout", "0"], "--timeout: expected 0.2-86400.0 s, got 0"),
        (["--socket-mode", "rw"], "--socket-mode: expected octal such as 0660, got 'rw'"),
        (["--core-limit", "lots"], "--core-limit: expected a size such as 512M or 2G, got 'lots'"),
        (["--allow-uid", "no-such-user-here"], "--allow-uid: no user 'no-such-user-here'"),
        (["--cgroup", "/no/such/group"], "/no/such/group: expected a memory cgroup"),
        (
            ["--max-clients", "3", "--allow-uid", "0", "--allow-uid", "1", "--allow-uid", "2"],
            "--max-clients: expected at least 4 for these --allow-uid (2 kept for root, 1 for"
            " each other uid), got 3",
        ),
        (["--max-clients-per-uid", "0"], "--max-clients-per-uid: expected a positive number"),
    ],
)
def test_monitor_bad_options_are_one_line(tmp_path: Path, args: list[str], message: str) -> None:
    done = lostbeat("monitor", "--socket", str(tmp_path / "s"), "--datastore",
                    str(tmp_path / "d"), *args)  # fmt: skip
    assert done.returncode == 2
    assert done.stderr.startswith(f"lostbeat monitor: {message}") and done.stderr.count("\n") == 1
    assert "Traceback" not in done.stderr and not (tmp_path / "s").exists()


def test_monitor_datastore_that_is_a_file_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    done = lostbeat("monitor", "--socket", str(tmp_path / "s"), "--datastore",
                    str(tmp_path / "file" / "d"))  # fmt: skip
    assert done.returncode == 2
    assert done.stderr == (
        f"lostbeat monitor: {tmp_path / 'file' / 'd'}: cannot create the datastore: Not a "
        "directory\n"
    )


def test_hbd_bad_name_and_interval_are_one_line(tmp_path: Path) -> None:
    done = lostbeat("hbd", "--socket", str(tmp_path / "s"), "--name", "has space")
    assert done.returncode == 2
    assert done.stderr == (
        "lostbeat hbd: client name 'has space': expected 1-32 of A-Z a-z 0-9 . _ : @ + -\n"
    )
    done = lostbeat("hbd", "--socket", str(tmp_path / "s"), "--interval", "0")
    assert done.returncode == 2 and done.stderr.startswith("lostbeat hbd: interval 0: expected")


def test_actions_parse_and_a_command_sees_the_capture(tmp_path: Path) -> None:
    assert parse_action("none") == Action(ActionKind.NONE)
    assert parse_action("kill-top") == Action(ActionKind.KILL_TOP)
    for bad in ("command:", "command:'unclosed", "kill"):
        with pytest.raises(AgentError):
            parse_action(bad)
    out = tmp_path / "seen"
    action = parse_action(f"command:sh -c 'echo $LOSTBEAT_CAPTURE $LOSTBEAT_CLIENT > {out}'")
    capture = CaptureResult(tmp_path / "cap", tmp_path / "cap" / "manifest.json", (), (), (), True)
    lost = ClientView(1, "hbd", 42, 0, ClientState.LOST, 1.0, 5.0, 5.0, 3, ())
    from lostbeat.procfs import Procfs

    said = run_action(action, capture, lost, procfs=Procfs(), timeout=10, keepalive=lambda: None)
    assert said == "command: sh exited with 0"
    assert out.read_text() == f"{tmp_path / 'cap'} hbd\n"
    slow = parse_action("command:sleep 30")
    said = run_action(slow, capture, lost, procfs=Procfs(), timeout=0.3, keepalive=lambda: None)
    assert said == "command: sleep killed after 0.3 s"
    assert run_action(parse_action("kill-top"), capture, lost, procfs=Procfs(), timeout=1,
                      keepalive=lambda: None) == "kill-top: no top consumer to kill"  # fmt: skip


def _unit(name: str) -> configparser.ConfigParser:
    unit = configparser.ConfigParser(strict=False, interpolation=None)
    unit.optionxform = str  # type: ignore[assignment,method-assign]
    unit.read_string((UNITS / name).read_text())
    return unit


def _accepts(command: object, exec_start: str) -> argparse.Namespace:
    argv = shlex.split(exec_start)
    assert argv[0].endswith("/lostbeat") and argv[1] in ("monitor", "hbd")
    parser = argparse.ArgumentParser()
    command.add_arguments(parser)  # type: ignore[attr-defined]
    return parser.parse_args(argv[2:])


def test_unit_files_protect_the_monitor_and_run_what_the_commands_accept() -> None:
    monitor = _unit("lostbeat-monitor.service")["Service"]
    assert monitor["Type"] == "notify" and int(monitor["WatchdogSec"].rstrip("s")) > 0
    assert monitor["OOMScoreAdjust"] == "-1000" and monitor["Slice"] == "lostbeat-monitor.slice"
    args = _accepts(monitor_command, monitor["ExecStart"])
    assert args.cgroup == "/lostbeat.slice/lostbeat-watched.slice"  # systemd nests by name
    hbd = _unit("lostbeat-hbd.service")["Service"]
    assert hbd["Slice"] == "lostbeat-watched.slice"
    assert _accepts(hbd_command, hbd["ExecStart"]).socket == args.socket
    assert "lostbeat-monitor.service" in _unit("lostbeat-hbd.service")["Unit"]["After"]
    watched = _unit("lostbeat-watched.slice")
    assert "MemoryMax" in watched["Slice"]


def test_unit_files_pass_systemd_analyze_verify(tmp_path: Path) -> None:
    import shutil

    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        print("SKIP: systemd-analyze is not installed")
        pytest.skip("systemd-analyze is not installed")
    program = Path(sys.executable).with_name("lostbeat")  # the installed entry point
    for unit in UNITS.iterdir():
        text = unit.read_text().replace("/usr/local/bin/lostbeat", str(program))
        (tmp_path / unit.name).write_text(text)
    done = subprocess.run([analyze, "verify", *sorted(map(str, tmp_path.iterdir()))],
                          capture_output=True, text=True, timeout=60, check=False)  # fmt: skip
    assert done.returncode == 0 and done.stderr == "", done.stderr
