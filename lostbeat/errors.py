"""The whole exception hierarchy of lostbeat.

::

    LostbeatError
    ├── InputError           an input path cannot be read at all (not found, not an archive)
    │   └── UnsafeMember     an archive member that is never followed or written
    ├── ArtifactMissing      absent or empty: a rule is "not applicable", not an error
    ├── ParseError           present but malformed: carries path, line_no, line
    ├── RecordingCorrupt     bad CRC or schema in the recording store
    └── AgentError           the live side (heartbeat, monitor, recorder)
        ├── ProcessGone      the process exited while we looked at it
        ├── AccessDenied     the kernel refused to show a process
        ├── MonitorUnavailable  no monitor answers on the heartbeat socket
        └── HeartbeatRefused    the monitor refused this client (uid, too many clients)

Every error renders as one line that names the file (and line) and what was expected.
"""

from __future__ import annotations

__all__ = [
    "AccessDenied",
    "AgentError",
    "ArtifactMissing",
    "HeartbeatRefused",
    "InputError",
    "LostbeatError",
    "MonitorUnavailable",
    "ParseError",
    "ProcessGone",
    "RecordingCorrupt",
    "UnsafeMember",
]


class LostbeatError(Exception):
    """Base of every error lostbeat raises on purpose."""


def _rebuild(cls: type[Exception], args: tuple[object, ...], kw: dict[str, object]) -> Exception:
    return cls(*args, **kw)


class InputError(LostbeatError):
    """An input cannot be read at all.

    >>> str(InputError("not a tar archive", path="x.tgz"))
    'x.tgz: not a tar archive'
    """

    def __init__(self, message: str, *, path: str) -> None:
        super().__init__(f"{path}: {message}")
        self.path = path
        self.reason = message

    def __reduce__(self) -> tuple[object, ...]:
        # keyword-only fields: rebuild through a helper so errors cross process boundaries
        return (_rebuild, (type(self), (self.reason,), {"path": self.path}))


class UnsafeMember(InputError):
    """An archive member with an absolute path, ``..``, a link or a device node."""


class ArtifactMissing(LostbeatError):
    """The artifact is absent or empty."""

    def __init__(self, artifact: str, *, path: str | None = None) -> None:
        where = f"{path}: " if path else ""
        super().__init__(f"{where}{artifact} is missing or empty")
        self.artifact = artifact
        self.path = path

    def __reduce__(self) -> tuple[object, ...]:
        return (_rebuild, (type(self), (self.artifact,), {"path": self.path}))


class ParseError(LostbeatError):
    """Present but malformed.

    >>> str(ParseError("expected 'Key: value kB'", path="proc/meminfo", line_no=3, line="x"))
    "proc/meminfo:3: expected 'Key: value kB', got 'x'"
    """

    def __init__(
        self, expected: str, *, path: str, line_no: int | None = None, line: str = ""
    ) -> None:
        where = f"{path}:{line_no}" if line_no is not None else path
        got = f", got {line[:80]!r}" if line else ""
        super().__init__(f"{where}: {expected}{got}")
        self.expected = expected
        self.path = path
        self.line_no = line_no
        self.line = line

    def __reduce__(self) -> tuple[object, ...]:
        kw = {"path": self.path, "line_no": self.line_no, "line": self.line}
        return (_rebuild, (type(self), (self.expected,), kw))


class RecordingCorrupt(LostbeatError):
    """A record in the store fails its CRC or schema check."""

    def __init__(self, message: str, *, path: str, line_no: int | None = None) -> None:
        where = f"{path}:{line_no}" if line_no is not None else path
        super().__init__(f"{where}: {message}")
        self.path = path
        self.line_no = line_no
        self.message = message

    def __reduce__(self) -> tuple[object, ...]:
        kw = {"path": self.path, "line_no": self.line_no}
        return (_rebuild, (type(self), (self.message,), kw))


class AgentError(LostbeatError):
    """Raised by the live agent."""


class ProcessGone(AgentError):
    """The process exited while it was being read."""

    def __init__(self, pid: int) -> None:
        super().__init__(f"process {pid} is gone")
        self.pid = pid

    def __reduce__(self) -> tuple[object, ...]:
        return (_rebuild, (type(self), (self.pid,), {}))


class AccessDenied(AgentError):
    """The kernel refused to show a process."""

    def __init__(self, pid: int, what: str = "") -> None:
        super().__init__(f"access to process {pid} denied{': ' + what if what else ''}")
        self.pid = pid
        self.what = what

    def __reduce__(self) -> tuple[object, ...]:
        return (_rebuild, (type(self), (self.pid, self.what), {}))


class MonitorUnavailable(AgentError):
    """No monitor answers on the socket, or the connection to it broke."""


class HeartbeatRefused(AgentError):
    """The monitor refused this client: ``reason`` is ``uid-not-allowed`` or
    ``too-many-clients``."""

    def __init__(self, message: str, *, reason: str) -> None:
        super().__init__(message)
        self.reason = reason

    def __reduce__(self) -> tuple[object, ...]:
        return (_rebuild, (type(self), (str(self),), {"reason": self.reason}))
