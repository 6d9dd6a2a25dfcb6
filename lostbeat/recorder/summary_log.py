"""Where the summary lines go: the recording's own ``vmksummary`` log and, if asked, syslog.

The log is append-only text, rotated like logrotate does it (``vmksummary`` becomes
``vmksummary.1``, and so on, the oldest dropped) when it would pass its size cap. An hour's
line is about 150 bytes, so the default 1 MiB holds about ten months.

Syslog messages go to the local socket (``/dev/log``) as RFC 3164 datagrams,
``<14>STAMP TAG: (EPOCH) MESSAGE``, tagged ``logger`` and ``vmkhalt`` as ESX's scripts did,
so a syslog file reads exactly like ESX's ``vmksummary``.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path

from lostbeat.errors import AgentError
from lostbeat.recorder.summary import log_line, syslog_stamp

__all__ = ["SummaryLog", "SyslogSender"]

_USER_INFO = 14  # facility user (1) * 8 + severity info (6)


class SyslogSender:
    """Sends lines to the local syslog socket."""

    def __init__(self, address: str = "/dev/log") -> None:
        """
        Raises:
            AgentError: no syslog socket at ``address``.
        """
        self.address = address
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        try:
            self._sock.connect(address)
        except OSError as err:
            self._sock.close()
            raise AgentError(f"{address}: cannot reach syslog ({err.strerror})") from err

    def send(self, *, epoch: float, tag: str, message: str) -> bool:
        """One datagram; ``False`` if syslog went away (the line is still in our log)."""
        payload = f"<{_USER_INFO}>{syslog_stamp(epoch)} {tag}: ({int(epoch)}) {message}"
        data = payload.encode("utf-8", "replace")
        for _ in range(2):
            try:
                self._sock.send(data)
                return True
            except OSError:
                try:  # syslogd restarted: its socket is new
                    self._sock.close()
                    self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
                    self._sock.connect(self.address)
                except OSError:
                    continue
        return False

    def close(self) -> None:
        self._sock.close()


class SummaryLog:
    """Appends summary lines to ``DIR/vmksummary``, rotating by size."""

    def __init__(
        self,
        directory: Path,
        *,
        host: str,
        syslog: SyslogSender | None = None,
        max_bytes: int = 1 << 20,
        keep: int = 4,
    ) -> None:
        self.path = directory / "vmksummary"
        self.host = host
        self._syslog = syslog
        self._max_bytes, self._keep = max_bytes, keep

    def write(self, *, epoch: float, tag: str, message: str) -> str:
        """Log one line (and send it to syslog when configured); returns the line."""
        line = log_line(epoch=epoch, host=self.host, tag=tag, message=message)
        data = (line + "\n").encode("utf-8", "replace")
        try:
            size = self.path.stat().st_size
        except FileNotFoundError:
            size = 0
        if size and size + len(data) > self._max_bytes:
            self._rotate()
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            os.write(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
        if self._syslog is not None:
            self._syslog.send(epoch=epoch, tag=tag, message=message)
        return line

    def _rotate(self) -> None:
        base = self.path
        oldest = base.with_name(f"{base.name}.{self._keep}")
        oldest.unlink(missing_ok=True)
        for n in range(self._keep - 1, 0, -1):
            older = base.with_name(f"{base.name}.{n}")
            if older.exists():
                os.replace(older, base.with_name(f"{base.name}.{n + 1}"))
        os.replace(base, base.with_name(f"{base.name}.1"))

    def last_boot(self) -> float | None:
        """Epoch of the newest ``Starting system...`` line in the log and its rotations."""
        for n in range(self._keep + 1):
            path = self.path if n == 0 else self.path.with_name(f"{self.path.name}.{n}")
            try:
                text = path.read_text("utf-8", "replace")
            except FileNotFoundError:
                continue
            for line in reversed(text.splitlines()):
                head, sep, rest = line.partition(" vmkhalt: (")
                if sep and rest.endswith(") Starting system..."):
                    try:
                        return float(rest.split(")", 1)[0])
                    except ValueError:
                        continue
        return None
