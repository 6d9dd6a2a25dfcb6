"""``lostbeat install-units [--memory-max SIZE] [--timeout S] [--record-interval S] [--dest DIR]
[--no-start] [--print]``

Installs the systemd units of ``contrib/systemd`` (shipped in the wheel as
``lostbeat/data/systemd``) the way docs/agent.md describes: each ``ExecStart=`` runs this
very ``lostbeat`` (the one in the virtual environment it was installed into), the watched
slice gets ``--memory-max``, the monitor ``--timeout`` and the recorder
``--record-interval``. Then ``systemctl daemon-reload`` and ``systemctl enable --now`` of
the monitor, the recorder and the heartbeat daemon. Every other line of the units is
installed as written; the VM suite (``make test-vm``) boots a systemd host and checks what
they do there.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import lostbeat
from lostbeat.commands._args import seconds_between
from lostbeat.errors import LostbeatError

__all__ = ["SERVICES", "Settings", "add_arguments", "render", "run", "templates"]

SERVICES = ("lostbeat-monitor.service", "lostbeat-record.service", "lostbeat-hbd.service")
"""Enabled and started, in this order (the heartbeat daemon beats to a listening monitor)."""
_TEMPLATE_EXEC = "/usr/local/bin/lostbeat"
_SIZE = re.compile(r"[0-9]+[KMGT]?|[0-9]{1,3}%|infinity")


@dataclass(frozen=True, slots=True)
class Settings:
    """What a site sets in the units; everything else is installed as written."""

    executable: Path
    memory_max: str = "2G"
    timeout: float = 60.0
    record_interval: float = 10.0


def templates() -> Path:
    """The folder of the unit files: in the wheel, else in the checkout (editable install)."""
    package = Path(lostbeat.__file__).resolve().parent
    for folder in (package / "data" / "systemd", package.parent / "contrib" / "systemd"):
        if (folder / "lostbeat-monitor.service").is_file():
            return folder
    raise LostbeatError(f"{package}: the systemd unit files are missing from this installation")


def _number(value: float) -> str:
    return f"{value:g}"


# (file, exact text in the template, what it becomes): each must be there exactly once, so
# a template that drifts fails here rather than installing a unit without the setting
_EDITS: tuple[tuple[str, str, Callable[[Settings], str]], ...] = (
    ("lostbeat-watched.slice", "MemoryMax=2G", lambda s: f"MemoryMax={s.memory_max}"),
    ("lostbeat-monitor.service", " --timeout 60 ", lambda s: f" --timeout {_number(s.timeout)} "),
    (
        "lostbeat-record.service",
        " --interval 10\n",
        lambda s: f" --interval {_number(s.record_interval)}\n",
    ),
)


def render(folder: Path, settings: Settings) -> dict[str, str]:
    """Every unit of ``folder`` with the settings applied: file name -> text.

    Raises:
        LostbeatError: a template lacks a line the settings go into.
    """
    units: dict[str, str] = {}
    for path in sorted(folder.iterdir()):
        if path.suffix not in (".service", ".slice"):
            continue
        text = path.read_text(encoding="utf-8")
        for name, old, new in _EDITS:
            if name == path.name:
                if text.count(old) != 1:
                    raise LostbeatError(f"{path}: expected {old.strip()!r} once in the template")
                text = text.replace(old, new(settings))
        if path.suffix == ".service":
            if f"ExecStart={_TEMPLATE_EXEC} " not in text:
                raise LostbeatError(f"{path}: expected ExecStart={_TEMPLATE_EXEC} ...")
            text = text.replace(f"ExecStart={_TEMPLATE_EXEC} ", f"ExecStart={settings.executable} ")
        units[path.name] = text
    missing = {name for name, _, _ in _EDITS} | set(SERVICES)
    if not missing <= set(units):
        raise LostbeatError(
            f"{folder}: expected the units {', '.join(sorted(missing - set(units)))}"
        )
    return units


def _executable() -> Path:
    """This ``lostbeat``: beside the running interpreter (a virtual environment), else on PATH."""
    beside = Path(sys.executable).with_name("lostbeat")
    if beside.is_file() and os.access(beside, os.X_OK):
        return beside
    found = shutil.which("lostbeat")
    if found is None:
        raise LostbeatError("cannot find the lostbeat command; give it with --executable PATH")
    return Path(found).resolve()


_seconds = seconds_between(0.05, 86400, example="30")


def _size(text: str) -> str:
    if _SIZE.fullmatch(text) is None:
        raise argparse.ArgumentTypeError(
            f"expected a systemd size such as 2G, 512M, 80% or infinity, got {text!r}"
        )
    return text


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add = parser.add_argument
    add("--memory-max", type=_size, default="2G", metavar="SIZE",
        help="MemoryMax= of lostbeat-watched.slice, the watched domain (default 2G)")  # fmt: skip
    add("--timeout", type=_seconds, default=60.0, metavar="S",
        help="the monitor's heartbeat timeout in seconds (default 60)")  # fmt: skip
    add("--record-interval", type=_seconds, default=10.0, metavar="S",
        help="seconds between the recorder's samples (default 10)")  # fmt: skip
    add("--executable", type=Path, metavar="PATH",
        help="the lostbeat the units run (default: this one)")  # fmt: skip
    add("--dest", type=Path, default=Path("/etc/systemd/system"), metavar="DIR",
        help="where the unit files go (default /etc/systemd/system)")  # fmt: skip
    add("--no-start", action="store_true",
        help="only write the files: no daemon-reload, enable or start")  # fmt: skip
    add("--print", action="store_true", help="print the units instead of installing them")


def _systemctl(*args: str) -> None:
    try:
        done = subprocess.run(["systemctl", *args], capture_output=True, text=True, check=False)
    except OSError as err:
        raise LostbeatError(f"systemctl {' '.join(args)}: {err.strerror}") from err
    if done.returncode != 0:
        said = (done.stderr or done.stdout).strip().splitlines()
        raise LostbeatError(
            f"systemctl {' '.join(args)}: exit status {done.returncode}"
            + (f": {said[-1]}" if said else "")
        )


def run(args: argparse.Namespace) -> int:
    executable = args.executable or _executable()
    settings = Settings(executable, args.memory_max, args.timeout, args.record_interval)
    units = render(templates(), settings)
    if args.print:
        try:
            sys.stdout.write("".join(f"# {args.dest / n}\n{t}\n" for n, t in units.items()))
            sys.stdout.flush()
        except BrokenPipeError:  # `| head`: the reader has what it wanted
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    try:
        args.dest.mkdir(parents=True, exist_ok=True)
        for name, text in units.items():
            path = args.dest / name
            path.write_text(text, encoding="utf-8")
            path.chmod(0o644)
            print(f"lostbeat install-units: wrote {path}", file=sys.stderr)
    except OSError as err:
        raise LostbeatError(f"{args.dest}: cannot write the units: {err.strerror}") from err
    if args.no_start:
        return 0
    _systemctl("daemon-reload")
    _systemctl("enable", "--now", *SERVICES)
    print(f"lostbeat install-units: enabled and started {', '.join(SERVICES)}", file=sys.stderr)
    return 0
