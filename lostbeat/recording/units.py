"""Sizes, durations and moments as people type them: ``20M``, ``30d``, ``-10m``.

Examples:
    >>> parse_size("20M"), parse_size("1.5k"), parse_size("4096")
    (20971520, 1536, 4096)
    >>> parse_duration("30d"), parse_duration("1h30m"), parse_duration("10")
    (2592000.0, 5400.0, 10.0)
    >>> parse_time("-10m", now=1000.0)
    400.0
    >>> parse_time("2023-11-14T22:13:20+00:00", now=0.0)
    1700000000.0
    >>> parse_size("lots")
    Traceback (most recent call last):
    ...
    ValueError: expected a size such as 20M, 512K or 1G, got 'lots'
"""

from __future__ import annotations

import re
from datetime import datetime

__all__ = ["parse_duration", "parse_size", "parse_time"]

_SIZE = re.compile(r"(\d+(?:\.\d+)?)\s*([kmgt]?)(?:i?b)?", re.IGNORECASE)
_SIZE_UNITS = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}
_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)\s*([smhdw]?)", re.IGNORECASE)
_DURATION_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def parse_size(text: str) -> int:
    """Bytes from ``20M``-style text (binary units; a bare number is bytes).

    Raises:
        ValueError: not a size.
    """
    match = _SIZE.fullmatch(text.strip())
    if not match:
        raise ValueError(f"expected a size such as 20M, 512K or 1G, got {text!r}")
    return int(float(match[1]) * _SIZE_UNITS[match[2].lower()])


def parse_duration(text: str) -> float:
    """Seconds from ``30d``, ``12h``, ``1h30m``, ``90s`` or a bare number of seconds.

    Raises:
        ValueError: not a duration.
    """
    compact = text.strip().replace(" ", "")
    parts = list(_DURATION_PART.finditer(compact))
    if not compact or "".join(p[0] for p in parts) != compact:
        raise ValueError(f"expected a duration such as 30d, 12h, 10m or 90s, got {text!r}")
    return float(sum(float(p[1]) * _DURATION_UNITS[p[2].lower()] for p in parts))


def parse_time(text: str, *, now: float) -> float:
    """An epoch from ISO 8601, ``YYYY-mm-dd HH:MM[:SS]`` (local time unless a zone is
    given), ``@EPOCH``, ``now``, or a time relative to now such as ``-10m`` or ``-2h``.

    Raises:
        ValueError: not a moment.
    """
    stripped = text.strip()
    if stripped == "now":
        return now
    if stripped.startswith("-"):
        try:
            return now - parse_duration(stripped[1:])
        except ValueError:
            pass
    elif stripped.startswith("@"):
        try:
            return float(stripped[1:])
        except ValueError:
            pass
    else:
        try:
            moment = datetime.fromisoformat(stripped.replace("Z", "+00:00"))
        except ValueError:
            pass
        else:
            return moment.timestamp()  # naive: local time, as the person reads a clock
    raise ValueError(
        f"expected a time such as 2024-05-01T13:00, '2024-05-01 13:00:05', -10m or @EPOCH, "
        f"got {text!r}"
    )
