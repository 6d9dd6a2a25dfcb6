"""proc files - ``proc/<pid>/cmdline`` and ``proc/<pid>/cgroup`` of a capture or a bundle

A lostbeat monitor capture keeps the ``/proc`` state of the lost clients and the top consumers
(docs/agent.md); a vm-support bundle copies all of ``/proc`` (docs/reference/esx-artifacts.md
§3.2). The command line names a process that ``comm`` cuts to 15 characters, and the cgroup
says which systemd unit runs it.

Sample data (``proc/4300/cgroup`` on cgroup v2, then v1)::

    0::/system.slice/leaky.service
    4:memory:/lostbeat-sim

Examples:
    >>> parse_proc_file(["python3\\x00leak.py\\x00--rate\\x0010\\x00"], path="proc/4300/cmdline")
    ProcFile(pid=4300, cmdline='python3 leak.py --rate 10', unit=None)
    >>> parse_proc_file(["0::/system.slice/leaky.service\\n"], path="proc/4300/cgroup").unit
    'leaky.service'
    >>> parse_proc_file(["4:memory:/lostbeat-sim\\n", "0::/\\n"], path="x/proc/7/cgroup").unit
    '/lostbeat-sim'
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from lostbeat.errors import ArtifactMissing, ParseError

__all__ = ["ProcFile", "parse_proc_file", "unit_of"]

_MAX_CHARS = 64 * 1024  # a command line is at most ARG_MAX; this is plenty for a report
_UNIT_SUFFIXES = (".service", ".scope", ".socket", ".mount", ".swap", ".timer")


@dataclass(frozen=True, slots=True)
class ProcFile:
    pid: int
    cmdline: str | None = None
    unit: str | None = None
    """The systemd unit that runs the process, else its memory cgroup's path."""


def unit_of(cgroup: str) -> str | None:
    """The unit (or the cgroup) a ``/proc/PID/cgroup`` text places the process in.

    The unified (``0::``) line wins, then systemd's named hierarchy, then the memory
    controller's; the last path part that is a unit names it, else the path itself.
    """
    paths: dict[str, str] = {}
    for line in cgroup.splitlines():
        _, sep, rest = line.partition(":")
        controllers, sep2, path = rest.partition(":")
        if sep and sep2 and path.startswith("/"):
            for name in controllers.split(",") or [""]:
                paths.setdefault(name, path.strip())
    # on a hybrid host the unified line may say only "/": the next one names the group
    found = [paths.get(k) for k in ("", "name=systemd", "memory")]
    group = next((p for p in found if p and p != "/"), None)
    if group is None:
        return None
    for part in reversed(group.split("/")):
        if part.endswith(_UNIT_SUFFIXES):
            return part
    return group


def parse_proc_file(lines: Iterable[str], *, path: str) -> ProcFile:
    """Parse a ``cmdline`` or ``cgroup`` file of ``proc/<pid>/``.

    Raises:
        ArtifactMissing: the file is empty (a kernel thread's cmdline is).
        ParseError: the path is not ``.../proc/<pid>/cmdline`` or ``.../cgroup``.
    """
    parts = path.split("/")
    if len(parts) < 3 or parts[-3] != "proc" or not parts[-2].isdigit() or len(parts[-2]) > 10:
        raise ParseError("expected a path ending in proc/<pid>/cmdline or cgroup", path=path)
    pid, name = int(parts[-2]), parts[-1]
    text = ""
    for line in lines:
        text += line[: _MAX_CHARS - len(text)]
        if len(text) >= _MAX_CHARS:
            break
    if not text.strip("\0\n "):
        raise ArtifactMissing("proc_file", path=path)
    if name == "cmdline":
        return ProcFile(pid, cmdline=" ".join(a for a in text.split("\0") if a).strip())
    if name == "cgroup":
        return ProcFile(pid, unit=unit_of(text))
    raise ParseError(f"expected cmdline or cgroup, not {name!r}", path=path)
