"""processes - ``tmp/ps.*.txt`` (ps -auxwww) and ``tmp/pstree.*.txt`` (pstree -ap)

Both are vm-support command outputs taken at collection time, so after the reboot; they
serve to turn a vmksummary token cut to 8 characters (``vmware-h``) back into a full
name and command line. ``name`` is the base name of the executable (``vmware-hostd``);
for an interpreter it stays the interpreter (``python``) and ``command`` tells the rest.
Columns of ``ps`` are found from its header, ``COMMAND`` last, so its spaces are kept.
``pstree`` drawing prefixes (ASCII or Unicode) are dropped and ``{thread}`` lines skipped.
A row that cannot be read goes to ``problems``; the others still count.

Sample data::

    USER       PID %CPU %MEM   VSZ  RSS TTY      STAT START   TIME COMMAND
    root      1234  0.5 10.1 82812 40960 ?     S    Nov12   5:01 /usr/lib/vmware/bin/vmware-hostd -u

    init,1
      |-vmware-hostd,1234 -u
      |   `-{vmware-hostd},1235

Examples:
    >>> table = parse_ps([
    ...     "USER       PID %CPU %MEM   VSZ  RSS TTY      STAT START   TIME COMMAND",
    ...     "root      1234  0.5 10.1 82812 40960 ?     S    Nov12   5:01 "
    ...     "/usr/lib/vmware/bin/vmware-hostd -u",
    ...     "root      4321  0.0  1.0 20000  9000 ?     S    Nov12   0:01 "
    ...     "/usr/bin/python /opt/x/agent.py",
    ... ], path="tmp/ps.4711.txt")
    >>> [(p.pid, p.name, p.vsz_kb, p.rss_kb) for p in table.processes]
    [(1234, 'vmware-hostd', 82812, 40960), (4321, 'python', 20000, 9000)]
    >>> tree = parse_pstree(
    ...     ["init,1", "  |-vmware-hostd,1234 -u", "  |   `-{vmware-hostd},1235"],
    ...     path="tmp/pstree.4711.txt",
    ... )
    >>> [(p.name, p.pid, p.command) for p in tree.processes]
    [('init', 1, 'init'), ('vmware-hostd', 1234, 'vmware-hostd -u')]
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from lostbeat.analyzer.findings import Evidence
from lostbeat.analyzer.parsers._lines import Problems, head, require_lines, to_int
from lostbeat.errors import ParseError

__all__ = [
    "ProcessEntry",
    "ProcessTable",
    "exe_name",
    "looks_like_ps",
    "looks_like_pstree",
    "parse_ps",
    "parse_pstree",
]


@dataclass(frozen=True, slots=True)
class ProcessEntry:
    pid: int | None
    name: str  # executable base name: "vmware-hostd", "cimserver"
    command: str  # the full command line as shown
    rss_kb: int | None
    vsz_kb: int | None
    user: str | None
    evidence: Evidence


@dataclass(frozen=True, slots=True)
class ProcessTable:
    processes: tuple[ProcessEntry, ...]
    problems: tuple[ParseError, ...] = ()  # rows that could not be read (the first 100)
    omitted: str = ""  # what was left out of problems, when anything


_A = re.ASCII
_PS_HEADER = re.compile(r"^\s*USER\s+PID\s+%CPU\s+%MEM\s+VSZ\s+RSS\s+.*\bCOMMAND\s*$", re.M | _A)
# pstree -A draws "|-" and "`-"; -U and UTF-8 locales draw box characters (U+2500-U+257F)
_TREE_CHARS = " \t|`+-" + "".join(chr(c) for c in range(0x2500, 0x2580))
_TREE_BODY = re.compile(r"(\{[^}]*\}|\([^)]*\)|[^\s,]+),([0-9]{1,12})(?:\s+(.*))?", _A)
_PSTREE_ROOT = re.compile(r"\A\s*[^\s,|`]+,[0-9]+(?:\s|$)", _A)
_PSTREE_BRANCH = re.compile(r"^\s*[|`\u251c\u2514]", re.M)
_EXPECTED_PS = "expected a ps -auxwww header 'USER PID %CPU %MEM VSZ RSS ... COMMAND'"
_EXPECTED_ROW = "expected a ps row with a numeric PID, VSZ and RSS and a COMMAND"
_EXPECTED_TREE = "expected a pstree -ap line like '|-name,pid args'"


def exe_name(command: str) -> str:
    """Base name of a command's executable.

    >>> exe_name("/usr/lib/vmware/bin/vmware-hostd -u"), exe_name("[kswapd]"), exe_name("-bash")
    ('vmware-hostd', 'kswapd', 'bash')
    >>> exe_name("sshd: root@pts/0"), exe_name("/usr/bin/python /opt/x/agent.py")
    ('sshd', 'python')
    """
    text = command.strip()
    if len(text) >= 2 and (text[0], text[-1]) in (("[", "]"), ("(", ")"), ("{", "}")):
        return text[1:-1]  # kernel thread / argv-less process: no path to strip
    first = text.split(maxsplit=1)[0] if text else ""
    base = first.rstrip(":").rsplit("/", 1)[-1]
    return base.lstrip("-") or base or first


def looks_like_ps(text: str) -> bool:
    """Whether ``text`` (a file's start) has the ``ps -auxwww`` header."""
    return _PS_HEADER.search(head(text)) is not None


def looks_like_pstree(text: str) -> bool:
    """Whether ``text`` (a file's start) is ``pstree -ap``: ``name,pid`` then branches."""
    start = head(text)
    return _PSTREE_ROOT.search(start) is not None and _PSTREE_BRANCH.search(start) is not None


def _column(cols: list[str], *names: str) -> int | None:
    return next((cols.index(n) for n in names if n in cols), None)


def parse_ps(lines: Iterable[str], *, path: str) -> ProcessTable:
    """Read ``ps -auxwww`` (any ps output whose header has ``PID`` and ends in ``COMMAND``).

    Args:
        lines: the file's lines, with or without newlines.
        path: the file's path in the bundle, for evidence and errors.

    Raises:
        ArtifactMissing: no non-blank line.
        ParseError: no header; or the first bad row when no row could be read.
    """
    numbered = require_lines(lines, artifact="ps", path=path)
    header = next((i for i, (_, t) in enumerate(numbered) if _PS_HEADER.match(t)), None)
    if header is None:
        line_no, text = numbered[0]
        raise ParseError(_EXPECTED_PS, path=path, line_no=line_no, line=text)
    cols = numbered[header][1].split()
    pid_at, user_at = _column(cols, "PID"), _column(cols, "USER")
    vsz_at, rss_at = _column(cols, "VSZ", "VIRT", "SIZE"), _column(cols, "RSS", "RES")
    out: list[ProcessEntry] = []
    problems = Problems()
    for line_no, text in numbered[header + 1 :]:
        parts = text.split(None, len(cols) - 1)
        if len(parts) < len(cols) or pid_at is None:
            problems.append(ParseError(_EXPECTED_ROW, path=path, line_no=line_no, line=text))
            continue
        pid = to_int(parts[pid_at])
        vsz = to_int(parts[vsz_at]) if vsz_at is not None else None
        rss = to_int(parts[rss_at]) if rss_at is not None else None
        if (
            pid is None
            or (vsz_at is not None and vsz is None)
            or (rss_at is not None and rss is None)
        ):
            problems.append(ParseError(_EXPECTED_ROW, path=path, line_no=line_no, line=text))
            continue
        command = parts[-1].strip()
        out.append(
            ProcessEntry(
                pid=pid,
                name=exe_name(command),
                command=command,
                rss_kb=rss,
                vsz_kb=vsz,
                user=parts[user_at] if user_at is not None else None,
                evidence=Evidence(path, line_no, text),
            )
        )
    if not out and problems:
        raise problems.first
    return ProcessTable(tuple(out), tuple(problems.kept), problems.note())


def parse_pstree(lines: Iterable[str], *, path: str) -> ProcessTable:
    """Read ``pstree -ap``: one ``name,pid args`` per line under tree-drawing prefixes.

    Args:
        lines: the file's lines, with or without newlines.
        path: the file's path in the bundle, for evidence and errors.

    Raises:
        ArtifactMissing: no non-blank line.
        ParseError: not a single ``name,pid`` line.
    """
    numbered = require_lines(lines, artifact="pstree", path=path)
    out: list[ProcessEntry] = []
    problems = Problems()
    for line_no, text in numbered:
        body = text.lstrip(_TREE_CHARS)
        if not body:
            continue  # a line of only "|" connectors
        m = _TREE_BODY.fullmatch(body.rstrip())
        if m is None:
            problems.append(ParseError(_EXPECTED_TREE, path=path, line_no=line_no, line=text))
            continue
        name, pid, args = m[1], to_int(m[2]), m[3]
        if name.startswith("{"):
            continue  # a thread of the line above
        name = exe_name(name)
        out.append(
            ProcessEntry(
                pid=pid,
                name=name,
                command=f"{name} {args}" if args else name,
                rss_kb=None,
                vsz_kb=None,
                user=None,
                evidence=Evidence(path, line_no, text),
            )
        )
    if not out:
        if problems:
            raise problems.first
        line_no, text = numbered[0]
        raise ParseError(_EXPECTED_TREE, path=path, line_no=line_no, line=text)
    return ProcessTable(tuple(out), tuple(problems.kept), problems.note())
