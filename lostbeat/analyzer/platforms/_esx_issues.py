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

import tomllib
from importlib import resources
from typing import Any

from lostbeat.analyzer.issues import Affects, KnownIssue, pattern
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
        signatures=tuple(tuple(pattern(p) for p in group) for group in row.get("signatures", ())),
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
