"""Numbers in words, the same wherever they are shown: findings, explanations and reports.

A figure is computed once, and written by one of these functions everywhere, so a report
never says "grew 2.6 MB/h" in one panel and "growing 2 MB/h" in the next.

Examples:
    >>> size_kb(586196), size_kb(799732)
    ('572 MB', '780 MB')
    >>> rate_kb_h(2662.4), rate_kb_h(20480.0), rate_kb_h(700.0)
    ('2.6 MB/h', '20 MB/h', '700 KB/h')
    >>> percent(73.3), percent(0.4)
    ('73 %', '<1 %')
    >>> duration(0.004), duration(0.5), duration(5.25), duration(100)
    ('14 s', '30 min', '5.2 h', '4.2 days')
    >>> when(1258102905.0)
    '2009-11-13 09:01:45 UTC'
"""

from __future__ import annotations

import math
from datetime import UTC, datetime

__all__ = [
    "UNKNOWN",
    "duration",
    "iso_utc",
    "percent",
    "rate_kb_h",
    "size_bytes",
    "size_kb",
    "when",
]

UNKNOWN = "unknown"


def size_kb(kb: float | None) -> str:
    """A size given in KB (1024 bytes), in the unit a person reads.

    Whole MB are rounded down, as KB 308590 does (799732 KB is "780MB").
    """
    if kb is None or not math.isfinite(kb):
        return UNKNOWN
    if abs(kb) < 1024:
        return f"{kb:.0f} KB"
    if abs(kb) < 10 * 1024 * 1024:
        return f"{math.floor(kb / 1024)} MB"
    return f"{kb / 1024 / 1024:.1f} GB"


def size_bytes(n: float | None) -> str:
    """A size given in bytes, as :func:`size_kb` shows it."""
    return UNKNOWN if n is None else size_kb(n / 1024)


def rate_kb_h(kb_per_h: float | None) -> str:
    """A growth rate given in KB per hour; one decimal below 10 MB/h, where it matters."""
    if kb_per_h is None or not math.isfinite(kb_per_h):
        return UNKNOWN
    if abs(kb_per_h) < 1024:
        return f"{kb_per_h:.0f} KB/h"
    mb = kb_per_h / 1024
    if abs(mb) < 10:
        return f"{math.floor(mb * 10) / 10:.1f} MB/h"
    return f"{size_kb(kb_per_h)}/h"


def percent(value: float | None) -> str:
    """A percentage already scaled 0-100."""
    if value is None or not math.isfinite(value):
        return UNKNOWN
    if 0 < value < 1:
        return "<1 %"
    return f"{value:.0f} %"


def duration(value: float | None) -> str:
    """A duration in hours, in hours below three days and in days above; short ones in
    minutes or seconds."""
    if value is None or not math.isfinite(value):
        return UNKNOWN
    if 0 <= value < 1 / 60:
        return f"{value * 3600:.0f} s"
    if 0 <= value < 1:
        return f"{value * 60:.0f} min"
    if value < 72:
        return f"{value:.1f} h" if value < 10 else f"{value:.0f} h"
    return f"{value / 24:.1f} days"


def iso_utc(epoch: float | None) -> str | None:
    """ISO-8601 UTC to the second, or ``None`` when the time is unknown.

    >>> iso_utc(1258114439.0)
    '2009-11-13T12:13:59Z'
    """
    if epoch is None or not math.isfinite(epoch):
        return None
    try:
        return datetime.fromtimestamp(epoch, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    except (OverflowError, OSError, ValueError):
        return None


def when(epoch: float | None) -> str:
    """A readable UTC time, or ``unknown``."""
    iso = iso_utc(epoch)
    return iso.replace("T", " ").replace("Z", " UTC") if iso else UNKNOWN
