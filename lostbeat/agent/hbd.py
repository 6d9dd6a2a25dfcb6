"""The heartbeat daemon: beats only while it can get a page of memory.

Each beat maps one page, writes to it and unmaps it, then sends the beat (sequence number,
when the page was had, how long that took) to the monitor. When the kernel cannot give a
page the daemon stays stuck in the page fault, as ``vmnixhbd`` stayed stuck in
``alloc_pages`` (seed KB): it does not time out or report, because the silence is the
signal. Beats follow a fixed schedule on the monotonic clock; a late beat is not followed
by a burst of catch-up beats.
"""

from __future__ import annotations

import contextlib
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path
from types import FrameType

from lostbeat.agent._linux import set_comm
from lostbeat.errors import AgentError
from lostbeat.heartbeat import Heartbeat, HeartbeatRefused


class _Stopped(Exception):
    """Raised by the SIGTERM/SIGINT handler to leave the beat loop cleanly."""


def _stop(signum: int, frame: FrameType | None) -> None:
    raise _Stopped


def run_hbd(
    socket_path: Path,
    *,
    interval: float,
    name: str,
    timeout: float | None = None,
    say: Callable[[str], None] | None = None,
) -> int:
    """Beat until SIGTERM or SIGINT, then deregister; returns the exit status.

    Nothing but a refused uid ends the loop: under memory exhaustion a system call can fail
    with ENOMEM (a kernel allocation charged to a full cgroup fails where a page fault
    would wait), and a daemon that exited then would be reported as "client gone" instead
    of as the hang it is.

    Raises:
        HeartbeatRefused: the monitor does not accept this uid. (A monitor with no room
            is retried, as one that is not there.)
    """
    tell = say or _stderr
    hb = Heartbeat(socket_path, name=name, interval=interval, timeout=timeout)
    set_comm(name)
    previous = {s: signal.signal(s, _stop) for s in (signal.SIGTERM, signal.SIGINT)}
    complained = ""
    try:
        due = time.monotonic()
        while True:
            try:
                if not hb.connected:
                    hb.connect()
                    _safely(
                        tell,
                        f"beating as {name} clt={hb.clt} to={hb.timeout:g} every {interval:g} s",
                    )
                    complained = ""
                hb.beat(page=True)
            except HeartbeatRefused as err:
                if err.reason == "uid-not-allowed":
                    raise
                text = str(err)
                if text != complained:
                    _safely(tell, f"{text}; retrying every {interval:g} s")
                    complained = text
            except (AgentError, OSError, MemoryError) as err:
                text = str(err)
                if text != complained:  # one line per distinct trouble, not one per beat
                    _safely(tell, f"{text}; retrying every {interval:g} s")
                    complained = text
            due += interval
            now = time.monotonic()
            if due < now:
                due = now + interval
            time.sleep(due - now)
    except _Stopped:
        hb.close()
        _safely(tell, "stopped; deregistered")
        return 0
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def _stderr(text: str) -> None:
    print(f"lostbeat hbd: {text}", file=sys.stderr, flush=True)


def _safely(tell: Callable[[str], None], text: str) -> None:
    """Report, unless reporting itself fails for want of memory."""
    with contextlib.suppress(OSError, MemoryError, ValueError):
        tell(text)
