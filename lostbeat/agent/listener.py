"""The monitor's end of the socket: bind it owner-only, and refuse a connection cleanly."""

from __future__ import annotations

import contextlib
import os
import socket
import stat
from pathlib import Path

from lostbeat.agent.protocol import MAX_MESSAGE, Refused, encode
from lostbeat.errors import InputError


def listen(path: Path, *, mode: int, gid: int | None) -> socket.socket:
    """Bind and listen on ``path`` (non-blocking), replacing a stale socket left there.

    The socket is created ``0600`` under a ``0177`` umask, then given ``gid`` and ``mode``.

    Raises:
        InputError: something else is at ``path``, another monitor answers there, or the
            socket cannot be bound or given its owner and mode.
    """
    if path.exists() or path.is_symlink():
        if not stat.S_ISSOCK(path.lstat().st_mode):
            raise InputError("exists and is not a socket", path=str(path))
        probe = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            probe.connect(str(path))
        except OSError:
            path.unlink()  # a stale socket from a monitor that died
        else:
            raise InputError("another monitor is listening on this socket", path=str(path))
        finally:
            probe.close()
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET | socket.SOCK_CLOEXEC)
    old = os.umask(0o177)
    try:
        sock.bind(str(path))
    except OSError as err:
        sock.close()
        raise InputError(f"cannot bind: {err.strerror}", path=str(path)) from err
    finally:
        os.umask(old)
    try:
        if gid is not None:
            os.chown(path, -1, gid)
        os.chmod(path, mode)
    except OSError as err:
        sock.close()
        raise InputError(f"cannot set owner or mode: {err.strerror}", path=str(path)) from err
    sock.listen(64)
    sock.setblocking(False)
    return sock


def refuse(conn: socket.socket, reason: str) -> None:
    """Send ``LB1 REFUSED reason=<reason>`` and close."""
    with contextlib.suppress(OSError):
        conn.send(encode(Refused(reason)))
        for _ in range(4):  # closing with unread packets would reset the connection
            conn.recv(MAX_MESSAGE)
    conn.close()
