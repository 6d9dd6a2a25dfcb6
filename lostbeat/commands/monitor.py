"""``lostbeat monitor --socket PATH --datastore DIR [--timeout S] [--action ...]``."""

from __future__ import annotations

import argparse
import grp
import pwd
import re
from pathlib import Path

from lostbeat.errors import AgentError

_SIZE = re.compile(r"(\d+)([KMG]?)(i?B)?", re.IGNORECASE)


def parse_size(text: str) -> int:
    """``512M`` -> bytes.

    >>> parse_size("512M"), parse_size("1g"), parse_size("4096")
    (536870912, 1073741824, 4096)
    """
    match = _SIZE.fullmatch(text.strip())
    if match is None:
        raise AgentError(f"--core-limit: expected a size such as 512M or 2G, got {text!r}")
    return int(match[1]) << {"": 0, "K": 10, "M": 20, "G": 30}[match[2].upper()]


def _uid(text: str) -> int:
    if text.isdigit():
        return int(text)
    try:
        return pwd.getpwnam(text).pw_uid
    except KeyError:
        raise AgentError(f"--allow-uid: no user {text!r}") from None


def _gid(text: str) -> int:
    if text.isdigit():
        return int(text)
    try:
        return grp.getgrnam(text).gr_gid
    except KeyError:
        raise AgentError(f"--socket-group: no group {text!r}") from None


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add = parser.add_argument
    add("--socket", required=True, type=Path, help="UNIX socket the clients beat to")
    add("--datastore", required=True, type=Path, help="folder the captures are written to")
    add(
        "--timeout",
        type=float,
        default=30.0,
        help="seconds without a beat before a heartbeat is lost (default 30; a client may ask"
        " for its own)",
    )
    add(
        "--action",
        default="none",
        help="after the capture: none (default), command:CMD or kill-top",
    )
    add(
        "--cgroup",
        help="the watched memory cgroup (path under the cgroup mount, or a cgroup"
        " path such as /lostbeat-watched.slice); default: the whole host",
    )
    add(
        "--allow-uid",
        action="append",
        default=[],
        metavar="UID",
        help="a uid (or user name) allowed to beat; repeatable (default: root only)",
    )
    add("--socket-mode", default="0600", help="permissions of the socket, octal (default 0600)")
    add("--socket-group", help="group owning the socket")
    add("--max-clients", type=int, default=128, help="most clients at once (default 128)")
    add(
        "--max-clients-per-uid",
        type=int,
        default=None,
        help="most clients of one uid other than root (default: an equal share of"
        " --max-clients once 2 are kept for root); root and every allowed uid always have room",
    )
    add("--top", type=int, default=5, help="top consumers shown and captured (default 5)")
    add("--cores", type=int, default=3, help="top consumers to dump core of (default 3)")
    add("--core-limit", default="1G", help="most memory bytes per core (default 1G)")
    add("--step-timeout", type=float, default=5.0, help="bound of each capture step (default 5)")
    add("--core-timeout", type=float, default=30.0, help="bound of each core dump (default 30)")
    add("--action-timeout", type=float, default=60.0, help="bound of the command action")
    add(
        "--sample-interval",
        type=float,
        default=10.0,
        help="seconds between samples of the top consumers, for their growth (default 10)",
    )
    add(
        "--min-capture-interval",
        type=float,
        default=300.0,
        help="seconds from one capture to the next; losses in between are logged only"
        " (default 300)",
    )
    add(
        "--no-gcore",
        action="store_true",
        help="dump cores only by reading /proc/PID/mem, which never stops the process"
        " (default: gcore first, for processes it can stop)",
    )
    add("--no-mlock", action="store_true", help="do not lock the monitor's memory")


def run(args: argparse.Namespace) -> int:
    import os

    from lostbeat.agent.actions import parse_action
    from lostbeat.agent.capture import CaptureConfig
    from lostbeat.agent.clients import ROOT_ROOM, ClientTable
    from lostbeat.agent.monitor import Monitor, MonitorConfig
    from lostbeat.agent.protocol import MAX_TIMEOUT, MIN_TIMEOUT
    from lostbeat.agent.sdnotify import Notifier

    if not MIN_TIMEOUT <= args.timeout <= MAX_TIMEOUT:
        raise AgentError(f"--timeout: expected {MIN_TIMEOUT}-{MAX_TIMEOUT} s, got {args.timeout:g}")
    for name in ("max_clients", "max_clients_per_uid", "top", "cores"):
        value = getattr(args, name)
        if value is not None and value < (1 if name.startswith("max_") else 0):
            raise AgentError(f"--{name.replace('_', '-')}: expected a positive number")
    try:
        mode = int(args.socket_mode, 8)
    except ValueError:
        raise AgentError(
            f"--socket-mode: expected octal such as 0660, got {args.socket_mode!r}"
        ) from None
    if mode & ~0o777:
        raise AgentError(f"--socket-mode: expected permission bits only, got {args.socket_mode}")
    uids = frozenset(_uid(u) for u in args.allow_uid) or frozenset({0, os.getuid()})
    if args.max_clients < (needed := ClientTable.room_needed(uids)):
        root = f"{ROOT_ROOM} kept for root, " if 0 in uids else ""
        raise AgentError(
            f"--max-clients: expected at least {needed} for these --allow-uid ({root}1 for"
            f" each other uid), got {args.max_clients}"
        )
    config = MonitorConfig(
        socket=args.socket,
        datastore=args.datastore,
        timeout=args.timeout,
        action=parse_action(args.action),
        cgroup=args.cgroup,
        allow_uids=uids,
        socket_mode=mode,
        socket_gid=_gid(args.socket_group) if args.socket_group else None,
        max_clients=args.max_clients,
        max_clients_per_uid=args.max_clients_per_uid,
        capture=CaptureConfig(
            datastore=args.datastore,
            top=args.top,
            cores=args.cores,
            core_limit=parse_size(args.core_limit),
            step_timeout=args.step_timeout,
            core_timeout=args.core_timeout,
            gcore=not args.no_gcore,
        ),
        sample_interval=args.sample_interval,
        min_capture_interval=args.min_capture_interval,
        action_timeout=args.action_timeout,
        lock_memory=not args.no_mlock,
    )
    return Monitor(config, notifier=Notifier.from_environ()).serve()
