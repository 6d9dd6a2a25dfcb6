"""``lostbeat explain-kill --dir DIR [--pid PID | --name NAME | --cgroup PATH|UNIT]``

The hook a killer calls when it kills, so that lostbeat's account of that moment is written
beside the killer's own log line: what the killed process (or cgroup) held, how fast it
grew, whether it was the fastest grower or a bystander, the top consumers and the memory
left, from the recording's raw samples of the last ``--window``.

earlyoom runs ``-N /PATH/TO/SCRIPT`` after each kill with ``EARLYOOM_PID``,
``EARLYOOM_NAME`` and ``EARLYOOM_UID`` in the environment (earlyoom(1)); those are the
defaults of ``--pid``, ``--name`` and ``--uid``, so the script is one line
(``exec lostbeat explain-kill --dir /var/lib/lostbeat/recording``) and its output goes where
earlyoom's does. For systemd-oomd (or the kernel) killing a service: in the unit,
``ExecStopPost=/bin/sh -c '[ "$SERVICE_RESULT" = oom-kill ] && exec lostbeat explain-kill
--dir /var/lib/lostbeat/recording --cgroup %n'``: the explanation lands in the unit's journal.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from lostbeat.errors import AgentError, InputError
from lostbeat.recording.units import parse_duration, parse_time
from lostbeat.safetext import clean

__all__ = ["add_arguments", "run"]


def _env_int(name: str) -> int | None:
    value = os.environ.get(name, "")
    return int(value) if value.isascii() and value.isdigit() else None


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add = parser.add_argument
    add("--dir", required=True, type=Path, metavar="DIR", help="the recording directory")
    add("--pid", type=int, help="the process killed (default: $EARLYOOM_PID)")
    add("--name", help="its name, when the pid is unknown (default: $EARLYOOM_NAME)")
    add("--uid", type=int, help="its owner, as the killer reports it (default: $EARLYOOM_UID)")
    add("--cgroup", metavar="PATH|UNIT", help="a killed cgroup or systemd unit instead")
    add("--killer", help="who killed, for the first line (default: earlyoom when called by it)")
    add("--at", metavar="TIME", help="the moment of the kill (default: now)")
    add(
        "--window",
        type=parse_duration,
        default=300.0,
        metavar="DURATION",
        help="how far back to look (default 5m)",
    )
    add("--top", type=int, default=5, metavar="N", help="top consumers listed (default 5)")
    add("--log", type=Path, metavar="FILE", help="also append the explanation to FILE")


def _lines(args: argparse.Namespace, now: float) -> list[str]:
    from lostbeat.recorder.explain import explain, sentence

    at = now if args.at is None else parse_time(args.at, now=now)
    pid = args.pid if args.pid is not None else _env_int("EARLYOOM_PID")
    name = args.name if args.name is not None else os.environ.get("EARLYOOM_NAME") or None
    uid = args.uid if args.uid is not None else _env_int("EARLYOOM_UID")
    killer = args.killer or ("earlyoom" if "EARLYOOM_PID" in os.environ else None)
    if pid is None and name is None and args.cgroup is None:
        raise AgentError("expected --pid, --name or --cgroup (or earlyoom's EARLYOOM_PID)")
    seen = explain(args.dir, at=at, window_s=args.window)
    procs = seen.processes
    fastest = max(procs, key=lambda g: g.rate, default=None)
    if args.cgroup is not None:
        unit = args.cgroup.rstrip("/")
        victims = [
            g for g in procs if g.cgroup and (g.cgroup == unit or g.cgroup.endswith("/" + unit))
        ]
        what = f"cgroup {unit}"
    else:
        victims = [g for g in procs if g.pid == pid] or [
            g for g in procs if name and g.name == name
        ][:1]
        what = f"{name or '?'} (pid {pid if pid is not None else '?'}"
        what += f", uid {uid})" if uid is not None else ")"
    stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(seen.at))
    head = f"{killer} killed {what}" if killer else f"killed: {what}"
    lines = [
        f"lostbeat explain-kill: {head}; the recording's last sample before it, {stamp} "
        f"({at - seen.at:.1f} s before), and the {args.window:g} s up to it:"
    ]
    if not victims:
        lines.append("  not in the recording (it lived less than one sample, or elsewhere)")
    for victim in victims:
        lines.append("  " + sentence(victim, fastest=fastest))
    if len(victims) > 1:
        held = sum(v.held for v in victims)
        rate = sum(v.rate for v in victims)
        lines.append(f"  together: {held / (1 << 20):.1f} MiB at {rate / (1 << 20):+.1f} MiB/s")
    if seen.available is not None and seen.total is not None:
        lines.append(
            f"  memory available then: {seen.available / (1 << 20):.1f} MiB of "
            f"{seen.total / (1 << 20):.1f} MiB"
        )
    top = ", ".join(f"{g.name}[{g.pid}] {g.held / (1 << 20):.1f} MiB" for g in procs[: args.top])
    lines.append(f"  top consumers then: {top}")
    return [clean(line) for line in lines]


def run(args: argparse.Namespace) -> int:
    lines = _lines(args, time.time())
    text = "\n".join(lines) + "\n"
    sys.stdout.write(text)
    sys.stdout.flush()
    if args.log is not None:
        try:
            with args.log.open("a", encoding="utf-8") as out:
                out.write(text)
        except OSError as err:
            raise InputError(f"cannot append: {err.strerror}", path=str(args.log)) from err
    return 0
