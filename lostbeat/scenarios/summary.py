"""vmksummary text: the lines of esx-artifacts.md §1.2-§1.3, and their weekly rotation.

Sample output (KB 308590's figures)::

    Nov 13 04:01:45 esxhostname logger: (1258102905) hb: vmk loaded, 11798915.64, 11798902.253, 73, 153875, 153875, 567468032, VMap-586196, vmware-h-83180, webAcces-27292
    Nov 13 07:13:58 esxhostname vmkhalt: (1258114439) Starting system...

Rotation names (``vmksummary``, ``vmksummary.1``, ``vmksummary.2.gz``...) follow logrotate's
``compress`` + ``delaycompress``; the real policy of ESX 3.x/4.x was not found (§1.4, open),
so the generated ``etc/logrotate.d/vmksummary`` states the one used here.

Examples:
    >>> syslog_stamp(1258102909, tz_min=-300, pad_day=True)
    'Nov 13 04:01:49'
    >>> syslog_stamp(1257238860, tz_min=0, pad_day=True), syslog_stamp(1257238860, tz_min=0, pad_day=False)
    ('Nov  3 09:01:00', 'Nov 3 09:01:00')
    >>> summary_line(Line("starting", 1258114439, -1), host="esxhostname", tz_min=-300, pad_day=False)
    'Nov 13 07:13:58 esxhostname vmkhalt: (1258114439) Starting system...'
"""  # noqa: E501

from __future__ import annotations

import datetime as dt
import gzip
import time

from lostbeat.scenarios.simulate import Line

__all__ = ["LOGROTATE", "rotate", "summary_line", "syslog_stamp"]

_EVENTS = {
    "starting": "vmkhalt: ({epoch}) Starting system...",
    "rebooting": "vmkhalt: ({epoch}) Rebooting system...",
    "halting": "vmkhalt: ({epoch}) Halting system...",
    "vmkernel_error": "logger: ({epoch}) VMkernel error",
    "loaded": "logger: ({epoch}) loaded VMkernel",
}

LOGROTATE = """/var/log/vmksummary {
    weekly
    rotate 4
    compress
    delaycompress
    missingok
    notifempty
}
"""

_ROTATE_KEEP = 4
_WEEK = 7 * 86400


def local_time(epoch: float, tz_min: int) -> dt.datetime:
    """The host's wall clock at ``epoch`` (naive)."""
    return dt.datetime.fromtimestamp(epoch + tz_min * 60, dt.UTC).replace(tzinfo=None)


_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def syslog_stamp(epoch: float, *, tz_min: int, pad_day: bool) -> str:
    """``Mon DD HH:MM:SS`` in local time; the day space-padded ("Nov  3") or not."""
    t = time.gmtime(epoch + tz_min * 60)
    day = f"{t.tm_mday:>2}" if pad_day else str(t.tm_mday)
    return f"{_MONTHS[t.tm_mon - 1]} {day} {t.tm_hour:02}:{t.tm_min:02}:{t.tm_sec:02}"


def summary_line(line: Line, *, host: str, tz_min: int, pad_day: bool) -> str:
    """One vmksummary line as syslogd writes it."""
    stamp = syslog_stamp(line.epoch + line.delay, tz_min=tz_min, pad_day=pad_day)
    if line.kind != "hb":
        return f"{stamp} {host} " + _EVENTS[line.kind].format(epoch=line.epoch)
    fields = [
        f"{line.cos_uptime:.2f}",
        f"{line.vmk_uptime:.3f}",
        str(line.vms),
        str(line.build),
        str(line.build),
        str(line.swap_bytes),
        *(f"{token}-{kb}" for token, kb in line.top),
    ]
    return f"{stamp} {host} logger: ({line.epoch}) hb: vmk loaded, " + ", ".join(fields)


def _rotation_times(first: int, last: int, tz_min: int, weekday: int) -> list[int]:
    """Epochs of logrotate runs (cron.daily, 04:02 local) on ``weekday`` within the span."""
    start = local_time(first, tz_min).date()
    day = start + dt.timedelta(days=(weekday - start.weekday()) % 7)
    out: list[int] = []
    while True:
        local = dt.datetime.combine(day, dt.time(4, 2), dt.UTC).timestamp()
        epoch = int(local) - tz_min * 60
        if epoch > last:
            return out
        if epoch > first:
            out.append(epoch)
        day += dt.timedelta(days=7)


def rotate(lines: list[tuple[int, str]], *, tz_min: int, weekday: int) -> dict[str, bytes]:
    """The vmksummary files of a bundle, rotated weekly; the oldest beyond 4 are gone.

    Args:
        lines: every summary line as (epoch, text), oldest first.
        tz_min: minutes east of UTC.
        weekday: day logrotate rotates (0 Monday).

    Returns:
        Bundle path -> content (``.gz`` members compressed, deterministic).
    """
    if not lines:
        return {"var/log/vmksummary": b""}
    cuts = _rotation_times(lines[0][0], lines[-1][0], tz_min, weekday)
    chunks: list[list[str]] = [[] for _ in range(len(cuts) + 1)]
    i = 0
    for epoch, text in lines:
        while i < len(cuts) and epoch >= cuts[i]:
            i += 1
        chunks[i].append(text)
    files: dict[str, bytes] = {}
    newest_first = list(reversed(chunks))
    number = 0
    for n, chunk in enumerate(newest_first):
        if not chunk and n:
            continue  # notifempty
        if number > _ROTATE_KEEP:
            break
        data = "".join(f"{text}\n" for text in chunk).encode()
        if number == 0:
            files["var/log/vmksummary"] = data
        elif number == 1:
            files["var/log/vmksummary.1"] = data
        else:
            mtime = cuts[len(cuts) - n] if n <= len(cuts) else 0
            files[f"var/log/vmksummary.{number}.gz"] = gzip.compress(data, 6, mtime=mtime)
        number += 1
    return files
