"""mountinfo - ``/proc/PID/mountinfo``, the kernel's table of mounts (proc(5))

The one parser of this file for the agent, the recorder and ``lostbeat simulate``. Each line
has six fixed fields, optional fields, a ``-`` separator, then the file system type, the
source and the super-block options. The kernel writes a space, a tab, a newline and a
backslash inside a path as an octal escape (``\\040``, ``\\011``, ``\\012``, ``\\134``;
``mangle_path``/``seq_path`` in fs/proc_namespace.c), and every other byte as it is.

Sample data::

    35 31 0:32 / /sys/fs/cgroup/memory rw,relatime shared:17 - cgroup cgroup rw,memory
    29 23 0:26 / /sys/fs/cgroup rw,nosuid,nodev shared:4 - cgroup2 cgroup2 rw,nsdelegate
    61 29 0:26 /lostbeat.slice /mnt/my\\040cgroup rw,relatime - cgroup2 cgroup2 rw

Examples:
    >>> mounts = parse_mountinfo(__doc__.split("::")[1].split("Examples")[0])
    >>> [(m.fs_type, str(m.mount_point), m.root) for m in mounts]  # doctest: +NORMALIZE_WHITESPACE
    [('cgroup', '/sys/fs/cgroup/memory', '/'), ('cgroup2', '/sys/fs/cgroup', '/'),
     ('cgroup2', '/mnt/my cgroup', '/lostbeat.slice')]
    >>> sorted(mounts[0].super_options)
    ['memory', 'rw']
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Mount", "parse_mountinfo", "unescape"]

_ESCAPE = re.compile(r"\\([0-3][0-7]{2})")


def unescape(field: str) -> str:
    """Undo the kernel's octal escapes of one mountinfo field.

    >>> unescape(r"/mnt/a\\040b\\011c\\134d\\012e")
    '/mnt/a b\\tc\\\\d\\ne'
    >>> unescape(r"/no\\escape\\9")
    '/no\\\\escape\\\\9'
    """
    return _ESCAPE.sub(lambda m: chr(int(m[1], 8)), field)


@dataclass(frozen=True, slots=True)
class Mount:
    """One line of mountinfo."""

    mount_id: int
    parent_id: int
    root: str
    """The path inside the file system that this mount shows (``/`` for all of it)."""
    mount_point: Path
    fs_type: str
    source: str
    super_options: frozenset[str]


def parse_mountinfo(text: str) -> tuple[Mount, ...]:
    """Every well-formed line of ``text``, in order; a line that is not one is left out.

    The file comes from the kernel, so a malformed line is not expected: skipping it keeps
    a reader of the other mounts working on a kernel that adds a field this parser does not
    know.
    """
    mounts = []
    for line in text.splitlines():
        left, sep, right = line.partition(" - ")
        fields, tail = left.split(), right.split()
        if not sep or len(fields) < 6 or len(tail) < 2:
            continue
        try:
            mount_id, parent_id = int(fields[0]), int(fields[1])
        except ValueError:
            continue
        mounts.append(
            Mount(
                mount_id=mount_id,
                parent_id=parent_id,
                root=unescape(fields[3]),
                mount_point=Path(unescape(fields[4])),
                fs_type=tail[0],
                source=unescape(tail[1]),
                super_options=frozenset(tail[2].split(",")) if len(tail) > 2 else frozenset(),
            )
        )
    return tuple(mounts)
