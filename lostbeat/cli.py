"""The ``lostbeat`` command line: a table of subcommands, each in ``lostbeat.commands``.

Only the chosen subcommand's module is imported, so ``lostbeat hbd`` and ``lostbeat monitor``
start without the analyzer's libraries.

Every failure ends in one line on standard error, ``lostbeat COMMAND: ...``, with control
characters and newlines shown escaped as the reports show them, never in a traceback: exit
status 2 for an error of lostbeat's own (an input that cannot be read, an output that cannot
be written, a package that cannot be imported), 130 when interrupted. A reader that closes
the pipe early (``| head``) ends the command quietly, with status 141 as if killed by
SIGPIPE, as ``cat`` or ``yes`` would end.
"""

from __future__ import annotations

import argparse
import importlib
import os
import signal
import sys
from collections.abc import Sequence
from typing import Protocol, cast

from lostbeat import __version__
from lostbeat.errors import LostbeatError
from lostbeat.safetext import clean

# name -> one-line help; the module is lostbeat.commands.<name with - as _>
COMMANDS: dict[str, str] = {
    "analyze": "find why a host lost its heartbeat, crashed or killed a process (ESX, ESXi, Linux)",
    "demo": "analyse a built-in example incident and show the full report",
    "generate": "write a realistic incident (ESX, ESXi or Linux) for a scenario, with its ground "
    "truth",
    "hbd": "heartbeat daemon: beats only while it can get a page of memory",
    "monitor": "protected monitor: declares a lost heartbeat and captures the evidence",
    "record": "record per-process memory history and hourly vmksummary lines",
    "install-units": "install the agent's systemd units (monitor, recorder, hbd) and start them",
    "top": "show the recorded process table at a moment",
    "explain-kill": "say what was using memory when a process was killed (earlyoom -N hook)",
    "simulate": "reproduce a real lost heartbeat in a memory cgroup and diagnose it",
    "fleet": "analyse many bundles or recordings at once, locally or on a Dask cluster",
}


class Command(Protocol):
    def add_arguments(self, parser: argparse.ArgumentParser) -> None: ...

    def run(self, args: argparse.Namespace) -> int: ...


def _load(name: str) -> Command:
    return cast(Command, importlib.import_module(f"lostbeat.commands.{name.replace('-', '_')}"))


_WIDTH = max(len(name) for name in COMMANDS)


def _top_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="lostbeat",
        description="Find out why a host lost its heartbeat, and keep it from happening again.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="commands:\n" + "\n".join(f"  {n:<{_WIDTH}} {h}" for n, h in COMMANDS.items()),
    )
    parser.add_argument("--version", action="version", version=f"lostbeat {__version__}")
    parser.add_argument("command", choices=list(COMMANDS), metavar="COMMAND")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    if not args_list or args_list[0] not in COMMANDS:
        _top_parser().parse_args(args_list)  # prints help, version or a usage error
        return 2
    name, rest = args_list[0], args_list[1:]
    command = _load(name)
    parser = argparse.ArgumentParser(prog=f"lostbeat {name}", description=COMMANDS[name])
    command.add_arguments(parser)
    args = parser.parse_args(rest)
    try:
        status = command.run(args)
    except BrokenPipeError:
        return _closed_pipe()
    except LostbeatError as err:
        status = _fail(name, str(err))
    except ImportError as err:
        missing = err.name or "a package"
        status = _fail(name, f"cannot import {missing} ({err}); reinstall lostbeat with pip")
    except KeyboardInterrupt:
        status = _fail(name, "interrupted", status=130)
    return _flushed(name, status)


def _fail(name: str, message: str, *, status: int = 2) -> int:
    """Print the one line of a failure; control characters and newlines escaped (paths and
    names come from hosts)."""
    print(f"lostbeat {name}: {clean(message)}", file=sys.stderr)
    return status


def _discard_stdout() -> None:
    """Point standard output at /dev/null: what is still buffered cannot be written, and
    must not fail again when the interpreter flushes it at exit."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)


def _closed_pipe() -> int:
    _discard_stdout()
    return 128 + signal.SIGPIPE


def _flushed(name: str, status: int) -> int:
    """Flush standard output now, so that a write error (a full disk) is one line here
    rather than a traceback at exit; the status to exit with."""
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        return _closed_pipe()
    except OSError as err:
        _discard_stdout()
        if status == 0:
            return _fail(name, f"cannot write to standard output: {err.strerror or err}")
    return status


if __name__ == "__main__":
    raise SystemExit(main())
