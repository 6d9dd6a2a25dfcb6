"""Send heartbeats of your own to a ``lostbeat monitor``.

Any program can watch itself the way the HA agent did on ESX: it beats under its own
client name and timeout, and if it stops beating the monitor declares its heartbeat lost
and captures the evidence. Standard library only.

Example::

    from lostbeat.heartbeat import Heartbeat

    with Heartbeat("/run/lostbeat/hb.sock", name="ha-agent", interval=5, timeout=60) as hb:
        while serving():
            do_work()
            hb.beat()              # or hb.beat(page=True): beat only if a page can be had

Leaving the ``with`` block (or :meth:`Heartbeat.close`) deregisters the client, so a clean
exit is never taken for a hang.
"""

from __future__ import annotations

import contextlib
import errno
import os
import socket
import time
from pathlib import Path
from types import TracebackType

from lostbeat.agent._linux import touch_page
from lostbeat.agent.protocol import (
    MAX_INTERVAL,
    MAX_TIMEOUT,
    MIN_INTERVAL,
    MIN_TIMEOUT,
    NAME_RE,
    Accepted,
    Beat,
    Bye,
    Hello,
    Refused,
    decode,
    encode,
)
from lostbeat.errors import AgentError, HeartbeatRefused, MonitorUnavailable, ParseError

__all__ = ["Heartbeat", "HeartbeatRefused", "MonitorUnavailable"]


_PAGE_RETRY = 0.05  # seconds between tries to get a page
_BROKEN = frozenset({errno.EPIPE, errno.ECONNRESET, errno.ENOTCONN, errno.EBADF})


class Heartbeat:
    """One client of the monitor.

    Args:
        socket_path: the monitor's ``--socket``.
        name: the client name shown in alert lines (``comm=``), 1-32 of ``[A-Za-z0-9._:@+-]``.
        interval: how often you intend to beat, in seconds (alerts start after two missed).
        timeout: seconds without a beat before the monitor declares the heartbeat lost; None
            for the monitor's ``--timeout``.
        connect_timeout: seconds to wait for the monitor's answer.
    """

    def __init__(
        self,
        socket_path: str | os.PathLike[str],
        *,
        name: str,
        interval: float = 1.0,
        timeout: float | None = None,
        connect_timeout: float = 5.0,
    ) -> None:
        self.path = Path(socket_path)
        if not NAME_RE.fullmatch(name):
            raise AgentError(f"client name {name!r}: expected 1-32 of A-Z a-z 0-9 . _ : @ + -")
        if not MIN_INTERVAL <= interval <= MAX_INTERVAL:
            raise AgentError(f"interval {interval:g}: expected {MIN_INTERVAL}-{MAX_INTERVAL} s")
        if timeout is not None and not MIN_TIMEOUT <= timeout <= MAX_TIMEOUT:
            raise AgentError(f"timeout {timeout:g}: expected {MIN_TIMEOUT}-{MAX_TIMEOUT} s")
        self.hello = Hello(name=name, interval=interval, timeout=timeout)
        self._connect_timeout = connect_timeout
        self._sock: socket.socket | None = None
        self.seq = 0
        self.clt: int | None = None
        self.timeout: float | None = None

    def connect(self) -> None:
        """Connect and register.

        Raises:
            MonitorUnavailable: nothing listens, or the monitor did not answer.
            HeartbeatRefused: the monitor said no.
        """
        self.close(say_bye=False)
        try:
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET | socket.SOCK_CLOEXEC)
        except OSError as err:
            raise MonitorUnavailable(f"{self.path}: no socket: {err.strerror}") from err
        sock.settimeout(self._connect_timeout)
        try:
            sock.connect(str(self.path))
        except OSError as err:
            sock.close()
            raise MonitorUnavailable(f"{self.path}: cannot connect: {err.strerror}") from err
        with contextlib.suppress(OSError):  # a refusal may already be waiting to be read
            sock.send(encode(self.hello))
        try:
            reply = decode(_recv_reply(sock), path=str(self.path))
        except (OSError, ParseError) as err:
            sock.close()
            raise MonitorUnavailable(f"{self.path}: no answer from the monitor ({err})") from err
        if isinstance(reply, Refused):
            sock.close()
            raise HeartbeatRefused(
                f"{self.path}: the monitor refused this client: {reply.reason}",
                reason=reply.reason,
            )
        if not isinstance(reply, Accepted):
            sock.close()
            raise MonitorUnavailable(f"{self.path}: unexpected answer {encode(reply)!r}")
        self.clt, self.timeout = reply.clt, reply.timeout
        self._sock = sock

    @property
    def connected(self) -> bool:
        return self._sock is not None

    def beat(self, *, page: bool = False) -> int:
        """Send one beat; returns its sequence number.

        Args:
            page: first map one page of memory, write to it and unmap it (as
                ``lostbeat hbd`` does). When the kernel cannot give a page, this call
                blocks until it can (in the page fault, or retrying a refused ``mmap``),
                and the silence is the signal.

        Raises:
            MonitorUnavailable: not connected, or the connection broke (call
                :meth:`connect` again).
            AgentError: the beat could not be sent for now (the kernel had no memory for
                it, or the monitor's queue is full); the connection stays open. Seen on a
                cgroup-v1 group out of memory with its OOM killer disabled: a page fault
                waits, but a kernel allocation in a system call fails with ENOMEM.
        """
        if self._sock is None:
            raise MonitorUnavailable(f"{self.path}: not connected")
        started = time.monotonic()
        while page:
            try:
                touch_page()
                break
            except OSError as err:
                # With a full cgroup-v1 group and its OOM killer disabled, mmap itself fails
                # with ENOMEM (the kernel cannot charge the new mapping) rather than waiting
                # in the page fault (strace on these hosts); either way: stay stuck here.
                if err.errno not in (errno.ENOMEM, errno.EAGAIN):
                    raise
                time.sleep(_PAGE_RETRY)
        took = time.monotonic() - started
        self.seq += 1
        try:
            self._sock.send(encode(Beat(seq=self.seq, at=time.time(), took=took)))
        except (ConnectionError, OSError) as err:
            if isinstance(err, ConnectionError) or err.errno in _BROKEN:
                self.close(say_bye=False)
                raise MonitorUnavailable(f"{self.path}: connection lost: {err}") from err
            raise AgentError(f"{self.path}: beat {self.seq} not sent: {err}") from err
        return self.seq

    def close(self, *, say_bye: bool = True) -> None:
        """Deregister (unless ``say_bye`` is False) and disconnect."""
        sock, self._sock = self._sock, None
        if sock is None:
            return
        if say_bye:
            with contextlib.suppress(OSError):
                sock.send(encode(Bye()))
        sock.close()

    def __enter__(self) -> Heartbeat:
        self.connect()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


def _recv_reply(sock: socket.socket) -> bytes:
    """The monitor's answer. A monitor that refused and closed before reading our HELLO
    leaves ECONNRESET pending, which the kernel reports before the queued refusal; the
    next read returns the refusal itself."""
    try:
        return sock.recv(256)
    except ConnectionResetError:
        return sock.recv(256)
