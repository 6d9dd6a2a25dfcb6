"""The known issues of ESX and ESXi, read from ``esx_known_issues.toml`` (data, not code).

The file says, row by row, which article it is, where its text was read, the lines that show
it, the releases it affects and its workaround; :mod:`lostbeat.analyzer.issues` says how a row
is matched. A malformed row is a bug of this package, found by its tests, so it raises.

Examples:
    >>> len(ESX_ISSUES) >= 25
    True
    >>> issue = next(i for i in ESX_ISSUES if i.kb == "318512")
    >>> issue.class_.value, [str(a) for a in issue.affects][1]
    ('vmkernel', 'ESXi 8.0 before build 21203435')
"""

from __future__ import annotations

import re
import tomllib
from importlib import resources
from typing import Any

from lostbeat.analyzer.issues import Affects, KnownIssue, Pattern, pattern
from lostbeat.analyzer.platforms._esx_modules import prefix_driver
from lostbeat.analyzer.result import CauseKind, CrashClass, CrashType

__all__ = ["ESX_ISSUES", "load_issues"]

_KEYS = frozenset(
    {"kb", "aliases", "title", "source", "signatures", "unless", "crash", "class", "module"}
    | {"vendor"}
    | {"process", "cause", "affects", "at_boot", "fixed", "workaround"}
)
_RANGE_KEYS = frozenset(
    {"product", "line", "first_update", "last_update", "first_build", "fixed_build"}
)


def _line(text: str) -> tuple[int, int]:
    major, _, minor = text.partition(".")
    return int(major), int(minor)


def _affects(row: dict[str, Any]) -> Affects:
    unknown = set(row) - _RANGE_KEYS
    if unknown:
        raise ValueError(f"unknown affects key(s) {sorted(unknown)}")
    return Affects(
        line=_line(row["line"]),
        product=row.get("product"),
        first_update=int(row.get("first_update", 0)),
        last_update=row.get("last_update"),
        first_build=row.get("first_build"),
        fixed_build=row.get("fixed_build"),
    )


_NAME = re.compile(r"[A-Za-z_]\w+", re.ASCII)
_ESCAPE = re.compile(r"\\.")  # a regex's escape (``\b``), not part of a name


def _signature(group: list[str], row: dict[str, Any]) -> tuple[Pattern, ...]:
    """One alternative of a row's signature. A driver's issue found by one of the driver's
    own functions (``i40en_UplinkPrivStatsGet``: its prefix names the driver) also needs the
    driver in sight, a frame's module, the panic's module list or a line it tags (``@(i40en)``,
    ``[i40en 1.8.1]``, ``qlnativefc: vmhba2``): a name alone in a pasted stack is no frame of
    it, and the article is about that driver's code."""
    patterns = tuple(pattern(p) for p in group)
    module = row.get("module")
    if row.get("class") != "driver" or not module:
        return patterns
    names = (n for p in group for n in _NAME.findall(_ESCAPE.sub(" ", p.removeprefix("re:"))))
    if not any(prefix_driver(n) == module for n in names):
        return patterns
    return (*patterns, pattern(rf"re:(?<![\w-]){re.escape(module)}(?![\w-])"))


def _issue(row: dict[str, Any]) -> KnownIssue:
    unknown = set(row) - _KEYS
    if unknown:
        raise ValueError(f"KB {row.get('kb')}: unknown key(s) {sorted(unknown)}")
    cls = row.get("class")
    cause = row.get("cause")
    return KnownIssue(
        kb=str(row["kb"]),
        title=str(row["title"]),
        workaround=str(row["workaround"]),
        source=str(row["source"]),
        signatures=tuple(_signature(group, row) for group in row.get("signatures", ())),
        unless=tuple(pattern(p) for p in row.get("unless", ())),
        affects=tuple(_affects(a) for a in row.get("affects", ())),
        crash=tuple(CrashType(c) for c in row.get("crash", ())),
        process=row.get("process"),
        cause=None if cause is None else CauseKind(cause),
        class_=None if cls is None else CrashClass(cls),
        module=row.get("module"),
        vendor=row.get("vendor"),
        aliases=tuple(str(a) for a in row.get("aliases", ())),
        fixed=str(row.get("fixed", "")),
        at_boot=bool(row.get("at_boot", False)),
    )


def load_issues(text: str) -> tuple[KnownIssue, ...]:
    """The rows of a known-issues TOML document.

    Raises:
        ValueError: a row has an unknown key or value (``tomllib.TOMLDecodeError`` is one).
        KeyError: a row lacks ``kb``, ``title``, ``source`` or ``workaround``.
    """
    return tuple(_issue(row) for row in tomllib.loads(text).get("issue", ()))


ESX_ISSUES: tuple[KnownIssue, ...] = load_issues(
    resources.files("lostbeat.analyzer.platforms")
    .joinpath("esx_known_issues.toml")
    .read_text(encoding="utf-8")
)
"""Every ESX classic and ESXi row; each profile's releases gate them."""
