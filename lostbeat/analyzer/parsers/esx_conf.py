"""esx.conf - ``etc/vmware/esx.conf``

One ``/path/to/key = "value"`` per line (values may also be unquoted, as in
``/adv/Misc/HostAgentUpdateInterval = 10``). Advanced options live under ``/adv/<Group>/``:
``/adv/Misc/CosCorefile`` is where a Service Console core goes and
``/adv/Misc/PsodOnCosPanic`` whether a COS panic stops the host (KB 308597). The vmkernel
spells the option ``CosCorefile`` while KBs write ``CosCoreFile``, so :meth:`EsxConf.get`
ignores case. ``#`` comment lines are skipped; anything else is an error.

Sample data::

    /adv/Misc/HostName = "esxhostname"
    /adv/Misc/CosCorefile = "/vmfs/volumes/4533e089-1dfcdd21-f1d3-001a140ebdca/cos-core-esx"
    /adv/Misc/HostAgentUpdateInterval = 10

Examples:
    >>> conf = parse_esx_conf([
    ...     '/adv/Misc/HostName = "esxhostname"',
    ...     '/adv/Misc/CosCorefile = "/vmfs/volumes/datastore1/cos-core-esxhostname"',
    ...     "/adv/Misc/HostAgentUpdateInterval = 10",
    ... ], path="etc/vmware/esx.conf")
    >>> conf.get("/adv/Misc/CosCoreFile").value
    '/vmfs/volumes/datastore1/cos-core-esxhostname'
    >>> conf.get("/adv/Misc/HostAgentUpdateInterval").value, conf.get("/adv/Misc/Nope")
    ('10', None)
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from lostbeat.analyzer.findings import Evidence
from lostbeat.analyzer.parsers._lines import head, require_lines
from lostbeat.errors import ParseError

__all__ = ["ConfEntry", "EsxConf", "looks_like_esx_conf", "parse_esx_conf"]


@dataclass(frozen=True, slots=True)
class ConfEntry:
    key: str  # as written: "/adv/Misc/CosCorefile"
    value: str  # unquoted
    evidence: Evidence


@dataclass(frozen=True, slots=True)
class EsxConf:
    entries: tuple[ConfEntry, ...]

    def get(self, key: str) -> ConfEntry | None:
        """Last entry whose key equals ``key`` case-insensitively."""
        wanted = key.casefold()
        for entry in reversed(self.entries):
            if entry.key.casefold() == wanted:
                return entry
        return None


_KEY = re.compile(r"/[^=\s]+")
_SNIFF = re.compile(r'^/[^=\s]+ = (?:"[^"\n]*"|[^\s"]+)\s*$', re.MULTILINE)
_EXPECTED = "expected '/key/path = \"value\"' (esx.conf)"


def looks_like_esx_conf(text: str) -> bool:
    """Whether ``text`` (a file's start) has esx.conf ``/key = "value"`` lines."""
    return _SNIFF.search(head(text)) is not None


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1]
    return value


def parse_esx_conf(lines: Iterable[str], *, path: str) -> EsxConf:
    """Read every ``key = value`` entry of esx.conf, in file order.

    Args:
        lines: the file's lines, with or without newlines.
        path: the file's path in the bundle, for evidence and errors.

    Raises:
        ArtifactMissing: no non-blank line.
        ParseError: a line that is neither a comment nor ``/key = value``.
    """
    numbered = require_lines(lines, artifact="esx_conf", path=path)
    entries: list[ConfEntry] = []
    for line_no, text in numbered:
        if text.lstrip().startswith("#"):
            continue
        # split, not one regex: a lazy value before trailing blanks is quadratic on long lines
        key, sep, value = text.partition("=")
        key = key.strip()
        if not sep or _KEY.fullmatch(key) is None:
            raise ParseError(_EXPECTED, path=path, line_no=line_no, line=text)
        entries.append(ConfEntry(key, _unquote(value.strip()), Evidence(path, line_no, text)))
    if not entries:
        line_no, text = numbered[0]
        raise ParseError(_EXPECTED, path=path, line_no=line_no, line=text)
    return EsxConf(entries=tuple(entries))
