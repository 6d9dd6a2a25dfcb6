"""The systemd notification protocol (``sd_notify``), in the standard library.

Under ``Type=notify`` systemd passes ``NOTIFY_SOCKET`` (a datagram socket; a leading ``@``
means the abstract namespace) and, with ``WatchdogSec=``, ``WATCHDOG_USEC`` (and
``WATCHDOG_PID``, the process meant). The service sends ``READY=1`` once it serves, then
``WATCHDOG=1`` at least every ``WATCHDOG_USEC``; sending it every half of that is the
documented advice (sd_watchdog_enabled(3), peers.md).
"""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping


class Notifier:
    """Sends notifications; every method does nothing when systemd did not ask for them.

    Args:
        address: the notify socket, as in ``NOTIFY_SOCKET``; None to send nothing.
        watchdog_usec: the watchdog interval, as in ``WATCHDOG_USEC``; None if none.
    """

    def __init__(self, address: str | None, *, watchdog_usec: int | None = None) -> None:
        self._address = "\0" + address[1:] if address and address.startswith("@") else address
        self._sock: socket.socket | None = None
        if self._address:
            self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
        self.watchdog_interval = watchdog_usec / 1e6 if watchdog_usec else None

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] | None = None) -> Notifier:
        """Read ``NOTIFY_SOCKET``, ``WATCHDOG_USEC`` and ``WATCHDOG_PID``.

        >>> Notifier.from_environ({"WATCHDOG_USEC": "30000000"}).watchdog_interval
        30.0
        >>> Notifier.from_environ({"WATCHDOG_USEC": "1", "WATCHDOG_PID": "1"}).watchdog_interval
        """
        env = os.environ if environ is None else environ
        usec = env.get("WATCHDOG_USEC", "")
        meant = env.get("WATCHDOG_PID", "")
        mine = not meant or meant == str(os.getpid())
        return cls(
            env.get("NOTIFY_SOCKET") or None,
            watchdog_usec=int(usec) if usec.isdigit() and mine else None,
        )

    def send(self, *lines: str) -> bool:
        """Send one notification of ``KEY=value`` lines; False if it could not be sent."""
        if self._sock is None or self._address is None:
            return False
        try:
            self._sock.sendto("\n".join(lines).encode("utf-8"), self._address)
        except OSError:
            return False
        return True

    def ready(self, status: str) -> bool:
        return self.send("READY=1", f"STATUS={status}")

    def watchdog(self) -> bool:
        return self.send("WATCHDOG=1")

    def status(self, text: str) -> bool:
        return self.send(f"STATUS={text}")

    def stopping(self) -> bool:
        return self.send("STOPPING=1")

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None
