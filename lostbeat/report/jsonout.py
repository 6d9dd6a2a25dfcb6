"""The canonical JSON document ``lostbeat.analysis/2``, and back.

The document mirrors :class:`~lostbeat.analyzer.result.AnalysisResult` field for field
(docs/json-schema.md, lostbeat/report/schema/analysis-2.schema.json): enums are written as
their values, tuples as arrays, and every time field ``x`` is written twice, as the epoch
``x`` and as ``x_iso`` (ISO-8601 UTC, derived, ignored when read back). A number that is
not finite is unknown and written as ``null``. Text that is not valid Unicode (a lone
surrogate: a file name that is not UTF-8, as Python decodes it) is written with U+FFFD in its
place, the rule the sources apply to such names, so the document always encodes as UTF-8.
The fleet stores documents and rebuilds
results with :func:`from_document`, so the round trip is exact.

Examples:
    >>> from lostbeat.report.example import example_result
    >>> doc = to_document(example_result())
    >>> doc["schema"], doc["crash"]["type"], doc["root_cause"]["process"]
    ('lostbeat.analysis/2', 'lost_heartbeat', 'VMap')
    >>> doc["crash"]["crashed_at_iso"]
    '2009-11-13T10:00:00Z'
    >>> from_document(doc) == example_result()
    True
"""

from __future__ import annotations

import json
import math
import re
import types
from collections.abc import Mapping
from dataclasses import MISSING, Field, fields, is_dataclass
from enum import Enum
from functools import cache
from pathlib import Path
from typing import Any, Union, get_args, get_origin, get_type_hints

from lostbeat.analyzer.result import SCHEMA, AnalysisResult, Crash
from lostbeat.errors import ParseError
from lostbeat.report._format import iso_utc

__all__ = ["SCHEMA", "SCHEMA_FILE", "dumps", "from_document", "loads", "to_document"]

SCHEMA_FILE = Path(__file__).with_name("schema") / "analysis-2.schema.json"
"""The JSON Schema (draft 2020-12) every document validates against."""

# Fields holding an epoch; each also gets an ``<name>_iso`` twin in the document.
_TIME_FIELDS = frozenset(
    {"at", "crashed_at", "heartbeat_stopped_at", "since", "exhaustion_at"}
    | {"swap_danger_at", "ram_danger_at"}
)
_ISO = "_iso"
_SURROGATE = re.compile("[\ud800-\udfff]")
_READABLE = (SCHEMA, "lostbeat.analysis/1")
"""Documents this version reads: its own, and /1 (stored by earlier fleet runs), whose
fields /2 keeps; /1 put a Linux capture's cores in ``coredumps.cos``, /2 in ``dumps``."""


def to_document(result: AnalysisResult) -> dict[str, Any]:
    """The result as plain JSON types (dict, list, str, int, float, bool, None).

    Args:
        result: the analysis to write.

    Returns:
        A new dict with the keys of docs/json-schema.md, ``schema`` first among equals.
    """
    doc = _encode(result)
    assert isinstance(doc, dict)
    return doc


def dumps(result: AnalysisResult) -> str:
    """The document as stable text: sorted keys, two-space indent, a final newline."""
    text = json.dumps(to_document(result), sort_keys=True, indent=2, allow_nan=False)
    return text + "\n"


def from_document(doc: Mapping[str, Any], *, path: str = "<document>") -> AnalysisResult:
    """Rebuilds the result from a document, checking every value on the way.

    Keys this version does not know are ignored (later ``/1`` documents may add fields);
    missing keys take the field's default when it has one.

    Args:
        doc: a parsed ``lostbeat.analysis/2`` document.
        path: where the document came from, for error messages.

    Raises:
        ParseError: the document is not a ``lostbeat.analysis/2`` document, or a value
            has the wrong type; the message names the key, e.g. ``crash.build``.
    """
    if not isinstance(doc, Mapping) or doc.get("schema") not in _READABLE:
        found = doc.get("schema") if isinstance(doc, Mapping) else doc
        raise ParseError(f"expected a {SCHEMA} document", path=path, line=_show(found))
    result = _decode(AnalysisResult, doc, "", path)
    assert isinstance(result, AnalysisResult)
    return result


def loads(text: str, *, path: str = "<document>") -> AnalysisResult:
    """Parses document text (as written by :func:`dumps`) into a result.

    Raises:
        ParseError: not JSON (with the line of the syntax error), or not a valid document.
    """
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as err:
        raise ParseError(f"expected JSON ({err.msg})", path=path, line_no=err.lineno) from err
    return from_document(doc, path=path)


def _key(f: Field[Any]) -> str:
    """A field's key in the document: its name, or the name its metadata gives (``class_``
    is written ``class``, a word Python keeps for itself)."""
    return str(f.metadata.get("json", f.name))


def _encode(value: object) -> Any:
    if is_dataclass(value) and not isinstance(value, type):
        out: dict[str, Any] = {}
        for f in fields(value):
            item = getattr(value, f.name)
            out[_key(f)] = _encode(item)
            if f.name in _TIME_FIELDS:
                out[f.name + _ISO] = iso_utc(item)
        if isinstance(value, Crash):
            out["at"], out["at" + _ISO] = out["crashed_at"], out["crashed_at" + _ISO]
        return out
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, str):
        return _text(value)
    if value is None or isinstance(value, int):
        return value
    if isinstance(value, tuple | list):
        return [_encode(item) for item in value]
    raise TypeError(f"cannot write {type(value).__name__} to JSON")


def _text(value: str) -> str:
    """``value`` with each lone surrogate replaced by U+FFFD.

    >>> _text("caf\\udce9"), _text("café")
    ('caf\ufffd', 'café')
    """
    if value.isascii():
        return value
    return _SURROGATE.sub("\ufffd", value)


@cache
def _hints(cls: type) -> dict[str, Any]:
    return get_type_hints(cls)


def _show(value: object) -> str:
    try:
        return json.dumps(value)[:80]
    except (TypeError, ValueError):
        return repr(value)[:80]


def _fail(what: str, where: str, value: object, path: str) -> ParseError:
    at = f" at {where}" if where else ""
    return ParseError(f"expected {what}{at}", path=path, line=_show(value))


def _decode(tp: Any, value: Any, where: str, path: str) -> Any:
    origin = get_origin(tp)
    if origin in (Union, types.UnionType):
        options = [a for a in get_args(tp) if a is not type(None)]
        if value is None and len(options) < len(get_args(tp)):
            return None
        if len(options) != 1:
            raise TypeError(f"unsupported union {tp}")
        return _decode(options[0], value, where, path)
    if origin is tuple:
        return _decode_tuple(get_args(tp), value, where, path)
    if isinstance(tp, type) and is_dataclass(tp):
        return _decode_dataclass(tp, value, where, path)
    if isinstance(tp, type) and issubclass(tp, Enum):
        try:
            return tp(value)
        except ValueError:
            choices = ", ".join(repr(m.value) for m in tp)
            raise _fail(f"one of {choices}", where, value, path) from None
    return _decode_scalar(tp, value, where, path)


def _decode_scalar(tp: Any, value: Any, where: str, path: str) -> Any:
    if tp is bool:
        if isinstance(value, bool):
            return value
        raise _fail("true or false", where, value, path)
    number = isinstance(value, int | float) and not isinstance(value, bool)
    if tp is int:
        if number and float(value).is_integer():
            return int(value)
        raise _fail("an integer", where, value, path)
    if tp is float:
        if number:
            return float(value)
        raise _fail("a number", where, value, path)
    if tp is str:
        if isinstance(value, str):
            return value
        raise _fail("a string", where, value, path)
    raise TypeError(f"unsupported type {tp!r} at {where}")


def _decode_tuple(args: tuple[Any, ...], value: Any, where: str, path: str) -> tuple[Any, ...]:
    if not isinstance(value, list):
        raise _fail("an array", where, value, path)
    if len(args) == 2 and args[1] is Ellipsis:
        return tuple(_decode(args[0], v, f"{where}[{i}]", path) for i, v in enumerate(value))
    if len(value) != len(args):
        raise _fail(f"an array of {len(args)}", where, value, path)
    return tuple(
        _decode(a, v, f"{where}[{i}]", path)
        for i, (a, v) in enumerate(zip(args, value, strict=True))
    )


def _decode_dataclass(cls: type, value: Any, where: str, path: str) -> Any:
    if not isinstance(value, Mapping):
        raise _fail("an object", where, value, path)
    hints = _hints(cls)
    kwargs: dict[str, Any] = {}
    for f in fields(cls):
        name = _key(f)
        key = f"{where}.{name}" if where else name
        if name in value:
            kwargs[f.name] = _decode(hints[f.name], value[name], key, path)
        elif f.default is MISSING and f.default_factory is MISSING:
            at = f" in {where}" if where else ""
            raise ParseError(f"expected the key {name!r}{at}", path=path)
    return cls(**kwargs)
