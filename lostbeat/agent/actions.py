"""What the monitor does after a capture is on disk: nothing (the default), run a command,
or kill the top consumer.

``--action command:CMD`` runs CMD (split as a shell would, but run without a shell) with
the capture folder and the lost client in its environment, bounded by ``--action-timeout``.
``--action kill-top`` sends SIGKILL to the largest process of the watched scope, checked to
be the very process the capture named (pid and start time), never the monitor itself.
"""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from lostbeat.agent._linux import kill_process
from lostbeat.agent.capture import CaptureResult
from lostbeat.agent.clients import ClientView
from lostbeat.errors import AgentError
from lostbeat.procfs import Procfs


class ActionKind(StrEnum):
    NONE = "none"
    COMMAND = "command"
    KILL_TOP = "kill-top"


@dataclass(frozen=True, slots=True)
class Action:
    kind: ActionKind
    argv: tuple[str, ...] = ()


def parse_action(text: str) -> Action:
    """Parse ``--action``.

    >>> parse_action("command:/usr/bin/logger -t lostbeat 'heartbeat lost'").argv
    ('/usr/bin/logger', '-t', 'lostbeat', 'heartbeat lost')
    >>> parse_action("reboot")
    Traceback (most recent call last):
    ...
    lostbeat.errors.AgentError: --action: expected none, command:CMD or kill-top, got 'reboot'
    """
    if text in (ActionKind.NONE, ActionKind.KILL_TOP):
        return Action(ActionKind(text))
    if text.startswith("command:"):
        try:
            argv = tuple(shlex.split(text.removeprefix("command:")))
        except ValueError as err:
            raise AgentError(f"--action: cannot split {text!r}: {err}") from err
        if argv:
            return Action(ActionKind.COMMAND, argv)
    raise AgentError(f"--action: expected none, command:CMD or kill-top, got {text!r}")


def run_action(
    action: Action,
    capture: CaptureResult,
    lost: ClientView,
    *,
    procfs: Procfs,
    timeout: float,
    keepalive: Callable[[], None],
) -> str:
    """Carry out the action; returns a line saying what happened (never raises)."""
    if action.kind is ActionKind.NONE:
        return "none"
    if action.kind is ActionKind.KILL_TOP:
        victims = [c for c in capture.top if c.pid not in (os.getpid(), 1)]
        if not victims:
            return "kill-top: no top consumer to kill"
        top = victims[0]
        sent = kill_process(top.pid, top.starttime, procfs=procfs)
        what = "killed" if sent else "did not kill (already gone)"
        return f"kill-top: {what} {top.comm} pid={top.pid} rss={top.rss_kb} kB"
    env = dict(os.environ)
    env.update(
        LOSTBEAT_CAPTURE=str(capture.folder),
        LOSTBEAT_CLIENT=lost.name,
        LOSTBEAT_CLIENT_PID=str(lost.pid),
        LOSTBEAT_TOP_PID=str(capture.top[0].pid) if capture.top else "",
    )
    try:
        proc = subprocess.Popen(
            action.argv, env=env, stdin=subprocess.DEVNULL, start_new_session=True
        )
    except OSError as err:
        return f"command: could not start {action.argv[0]}: {err.strerror}"
    until = time.monotonic() + timeout
    while proc.poll() is None:
        if time.monotonic() >= until:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            return f"command: {action.argv[0]} killed after {timeout:g} s"
        keepalive()
        time.sleep(0.05)
    return f"command: {action.argv[0]} exited with {proc.returncode}"
