"""The kernel log: ``/dev/kmsg`` as it is written, and the previous boot's log.

Each ``read`` of ``/dev/kmsg`` returns one record (the kernel's
Documentation/ABI/testing/dev-kmsg)::

    6,1234,5678901234,-;Memory cgroup out of memory: Killed process 4300 (leaker) ...
     SUBSYSTEM=...             dictionary lines follow, each starting with a space

``PRIORITY,SEQ,USEC,FLAGS`` then ``;`` then the message: the syslog priority, the record's
sequence number within the boot, microseconds since boot, and ``-`` (or ``c`` for a record
continued with ``KERN_CONT``; the kernel now joins those fragments before a reader sees
them). A read with a buffer smaller than the record fails with EINVAL (linux-mechanisms.md,
VERIFIED), so the buffer is larger than any record (``CONSOLE_EXT_LOG_MAX``, 8 KiB, in
include/linux/printk.h). A read that fails with EPIPE means the ring overwrote records
before they were read; the gap in sequence numbers says how many, and is counted.

The previous boot's log, where it survived: ``journalctl -k -b -1`` (journald keeps it when
its storage is persistent), and the kernel's own records of a crash in pstore
(``/sys/fs/pstore/dmesg-*``, written by a panic or an oops where a backend such as EFI
variables or ramoops is configured).

Examples:
    >>> r = parse_record(b"3,812,2500000,-;Out of memory: Killed process 7 (x)\\n SUBSYSTEM=mem\\n",
    ...                  boot_time=1700000000.0)
    >>> r.priority, r.seq, r.epoch, r.text
    (3, 812, 1700000002.5, 'Out of memory: Killed process 7 (x)')
    >>> [r.text for r in parse_pstore("<0>[ 10.5] Kernel panic - not syncing: Oops\\n", epoch=9.0)]
    ['Kernel panic - not syncing: Oops']
"""

from __future__ import annotations

import errno
import json
import os
import re
from collections.abc import Iterable
from pathlib import Path

from lostbeat.errors import AgentError
from lostbeat.recording.schema import KernelCounts, KernelRecord

__all__ = [
    "KMSG",
    "KmsgReader",
    "parse_journal",
    "parse_pstore",
    "parse_record",
    "previous_boot",
]

KMSG = Path("/dev/kmsg")
PSTORE = Path("/sys/fs/pstore")
READ_SIZE = 16384  # twice CONSOLE_EXT_LOG_MAX: no record is refused for our buffer
MAX_TEXT = 1024  # the kernel's own lines are shorter (PRINTKRB_RECORD_MAX); a user's may not be
_PSTORE_LINE = re.compile(r"^(?:<(\d{1,3})>)?\[\s*(\d+)\.(\d+)\] ?(.*)$")


def parse_record(data: bytes, *, boot_time: float) -> KernelRecord:
    """One ``/dev/kmsg`` record.

    Raises:
        ValueError: not ``PRIORITY,SEQ,USEC,FLAGS;MESSAGE``.
    """
    head, sep, rest = data.partition(b";")
    fields = head.split(b",")
    if not sep or len(fields) < 4:
        raise ValueError("expected 'PRIORITY,SEQ,USEC,FLAGS;MESSAGE'")
    priority, seq, usec = int(fields[0]), int(fields[1]), int(fields[2])
    message = rest.split(b"\n", 1)[0]  # the dictionary lines after it are not the message
    text = message.decode("utf-8", "replace")[:MAX_TEXT]
    return KernelRecord(round(boot_time + usec / 1e6, 6), priority, seq, text)


class KmsgReader:
    """Reads new ``/dev/kmsg`` records without blocking.

    Args:
        boot_time: the boot's epoch (``btime``), to date each record.
        path: the device (a test may give another one).
        after_seq: skip records up to this sequence number (read in an earlier run).
        from_end: start after the last record now in the ring (the monitor wants only
            what happens from now on; the recorder, everything since the boot).

    Raises:
        AgentError: the device cannot be opened (a container without it, no permission).
    """

    def __init__(
        self,
        *,
        boot_time: float,
        path: Path = KMSG,
        after_seq: int | None = None,
        from_end: bool = False,
    ) -> None:
        self.path, self.boot_time = path, boot_time
        try:
            self._fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
        except OSError as err:
            raise AgentError(f"{path}: cannot read the kernel log ({err.strerror})") from err
        if from_end:
            os.lseek(self._fd, 0, os.SEEK_END)
        self.last_seq = after_seq

    def fileno(self) -> int:
        return self._fd

    def read(self, *, most: int = 4096) -> tuple[list[KernelRecord], KernelCounts]:
        """The records written since the last call (at most ``most``), and the ones lost."""
        records: list[KernelRecord] = []
        unparsed = overwritten = 0
        while len(records) < most:
            try:
                data = os.read(self._fd, READ_SIZE)
            except BlockingIOError:
                break
            except OSError as err:
                if err.errno == errno.EPIPE:  # overwritten: the next read gives the oldest left
                    continue
                if err.errno == errno.EINVAL:  # a record larger than any the kernel makes
                    os.lseek(self._fd, 0, os.SEEK_END)
                    unparsed += 1
                    break
                raise AgentError(f"{self.path}: {err.strerror}") from err
            if not data:
                break
            try:
                record = parse_record(data, boot_time=self.boot_time)
            except ValueError:
                unparsed += 1
                continue
            assert record.seq is not None
            if self.last_seq is not None:
                if record.seq <= self.last_seq:
                    continue  # already read, by us or by an earlier run
                overwritten += record.seq - self.last_seq - 1
            self.last_seq = record.seq
            records.append(record)
        return records, KernelCounts(unparsed=unparsed, overwritten=overwritten)

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1


def parse_journal(lines: Iterable[str]) -> tuple[list[KernelRecord], int]:
    """Kernel records from ``journalctl -o json`` lines, and how many lines did not parse.

    journald stores each record's ``MESSAGE`` (a string, or a list of bytes when it is not
    valid UTF-8), ``PRIORITY``, ``SYSLOG_FACILITY`` and ``__REALTIME_TIMESTAMP`` (µs since
    the epoch), systemd.journal-fields(7); it does not keep the kernel's sequence number.

    >>> parse_journal(['{"MESSAGE": "hi", "PRIORITY": "3", "__REALTIME_TIMESTAMP": "1500000"}'])
    ([KernelRecord(epoch=1.5, priority=3, seq=None, text='hi')], 0)
    """
    records: list[KernelRecord] = []
    bad = 0
    for line in lines:
        try:
            entry = json.loads(line)
            message = entry["MESSAGE"]
            if isinstance(message, list):
                message = bytes(message).decode("utf-8", "replace")
            epoch = int(entry["__REALTIME_TIMESTAMP"]) / 1e6
            level = entry.get("PRIORITY")
            facility = entry.get("SYSLOG_FACILITY", "0")
            priority = int(facility) * 8 + int(level) if level is not None else None
        except (ValueError, KeyError, TypeError):
            bad += 1
            continue
        if not isinstance(message, str):
            bad += 1
            continue
        records.append(KernelRecord(epoch, priority, None, message[:MAX_TEXT]))
    return records, bad


def parse_pstore(text: str, *, epoch: float) -> list[KernelRecord]:
    """Kernel records of one pstore ``dmesg-*`` file, each stamped ``epoch`` (the file's
    time: its lines carry only seconds since their own boot)."""
    records = []
    for line in text.splitlines():
        match = _PSTORE_LINE.match(line)
        if match is not None:
            level = int(match[1]) if match[1] is not None else None
            records.append(KernelRecord(epoch, level, None, match[4][:MAX_TEXT]))
    return records


def previous_boot(
    *,
    journalctl: str | None,
    pstore: Path = PSTORE,
    most: int = 5000,
    timeout: float = 10.0,
) -> tuple[list[KernelRecord], list[str], int]:
    """The previous boot's kernel records that survived it, with what could not be read.

    Returns:
        The records (pstore's, then the journal's; at most the last ``most`` of each),
        one note per source that gave nothing and why, and the lines that did not parse.
    """
    records: list[KernelRecord] = []
    notes: list[str] = []
    bad = 0
    dumps = sorted(pstore.glob("dmesg-*")) if pstore.is_dir() else []
    for dump in dumps:
        try:
            text = dump.read_text("utf-8", "replace")
            records += parse_pstore(text, epoch=dump.stat().st_mtime)[-most:]
        except OSError as err:
            notes.append(f"{dump}: {err.strerror}")
    if not dumps:
        notes.append(f"{pstore}: no crash records (no pstore backend, or no crash)")
    if journalctl is None:
        notes.append("journalctl: not installed")
        return records, notes, bad
    import subprocess  # here: once a boot, and the monitor never runs it

    argv = [journalctl, "-k", "-b", "-1", "-o", "json", "--no-pager", "-n", str(most)]
    try:
        done = subprocess.run(
            argv, capture_output=True, text=True, errors="replace", timeout=timeout, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as err:
        notes.append(f"journalctl -k -b -1: {err}")
        return records, notes, bad
    if done.returncode != 0:
        why = (done.stderr.strip().splitlines() or [f"exit status {done.returncode}"])[-1]
        notes.append(f"journalctl -k -b -1: {why}")
        return records, notes, bad
    found, bad = parse_journal(done.stdout.splitlines())
    records += found
    if not found:
        notes.append("journalctl -k -b -1: no kernel records of the previous boot")
    return records, notes, bad
