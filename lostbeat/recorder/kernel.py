"""The kernel log, as the recorder keeps it: every record, within a bound.

At each sample the recorder reads what ``/dev/kmsg`` gained since the last one
(``lostbeat.agent.kmsg``) and hands it to the store with the sample, in the same write.
After a reboot it first reads what survived of the previous boot (pstore's crash records,
``journalctl -k -b -1``); within one boot it resumes after the last record it kept (the
sequence number is kept in ``recorder.state``), so a restart neither loses nor repeats
records (a record written twice after a crash is kept once by the reader).

Bounded, and every record not kept is counted in the shard (``drop``): a token bucket lets
through :data:`BURST` records at once and :data:`RATE` a second after that (of a read that
brings more, the newest: a backlog keeps its end, where the news is); what was there before
the recorder started (the ring since the boot, the previous boot's records) is kept within a
bound of its own, :data:`BURST` each, so the bucket is full when the recorder starts; except
the records whose headline the monitor's matcher knows (an OOM report and its kill, a hang,
a lockup, a stall, a panic: ``lostbeat.kernel_forms``), which always pass; and a shard keeps
at most ``KERNEL_CAP`` records whatever their kind (``lostbeat.recording.writer``). A line
that does not parse is skipped and counted (``bad``); records the kernel's ring overwrote
before they were read are counted too (``lost``).

``/dev/kmsg`` unavailable (a container without it, no permission) is said once, at start,
and the recorder records the rest.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from lostbeat.agent.kevents import KernelEvent, Matcher, match
from lostbeat.agent.kmsg import PSTORE, KmsgReader, previous_boot
from lostbeat.errors import AgentError
from lostbeat.recording.schema import KernelCounts, KernelRecord

__all__ = ["BURST", "RATE", "Bound", "KernelLog", "KernelRead"]

BURST = 2000
"""Records let through at once: a boot's whole log, as the recorder reads it after a boot."""
RATE = 5.0
"""Records a second after the burst (a day's flood keeps at most ~430,000, the shard cap
bounds it further)."""


@dataclass(frozen=True, slots=True)
class KernelRead:
    records: tuple[KernelRecord, ...]
    counts: KernelCounts
    events: tuple[tuple[KernelRecord, KernelEvent], ...]
    """What the matcher recognised among the records kept, with the record that completed
    each (for the journal and metrics)."""


class Bound:
    """The token bucket: which records of a read are kept, and the events among them.

    >>> b = Bound(burst=2, rate=0.0)
    >>> lines = ["usb 1-1: new device", "usb 1-1: gone", "usb 1-1: new device",
    ...          "Out of memory: Killed process 7 (x) total-vm:1kB, anon-rss:1kB, "
    ...          "file-rss:0kB, shmem-rss:0kB, UID:0"]
    >>> kept, dropped, events = b.admit([KernelRecord(0.0, 6, n, t) for n, t in
    ...                                  enumerate(lines)], now=0.0)
    >>> [r.seq for r in kept], dropped, [(r.seq, e.pid) for r, e in events]
    ([1, 2, 3], 1, [(3, 7)])
    """

    def __init__(self, *, burst: int = BURST, rate: float = RATE) -> None:
        self._matcher = Matcher()
        self._tokens, self._burst, self._rate = float(burst), burst, rate
        self._last: float | None = None

    def admit(
        self, records: list[KernelRecord], *, now: float
    ) -> tuple[list[KernelRecord], int, list[tuple[KernelRecord, KernelEvent]]]:
        """The records kept, how many were dropped, and the events the kept ones complete.

        Args:
            now: the monotonic clock.
        """
        if self._last is not None:
            self._tokens = min(float(self._burst), self._tokens + (now - self._last) * self._rate)
        self._last = now
        matched = [match(r.text) for r in records]  # an OOM kill's summary line included
        keep = [False] * len(records)
        for n in range(len(records) - 1, -1, -1):  # newest first: a backlog keeps its end
            if matched[n] is not None or self._tokens >= 1.0:
                keep[n] = True
                self._tokens -= 0.0 if matched[n] is not None else 1.0
        kept, events = [], []
        for record, event, k in zip(records, matched, keep, strict=True):
            if k:
                kept.append(record)
                if (paired := self._matcher.pair(event)) is not None:
                    events.append((record, paired))
        dropped = len(records) - len(kept)
        return kept, dropped, events


class KernelLog:
    """Reads the kernel log for the recorder.

    Args:
        boot_time: the boot's epoch.
        path: ``/dev/kmsg``.
        after_seq: the last record kept in this boot by an earlier run (None: a new boot,
            or none kept).
        previous: also read what survived of the previous boot (pstore, the journal).
        journalctl: the ``journalctl`` to run, or None.
        pstore: the pstore mount.
        burst, rate: the token bucket.
    """

    def __init__(
        self,
        *,
        boot_time: float,
        path: Path,
        after_seq: int | None,
        previous: bool,
        journalctl: str | None,
        pstore: Path = PSTORE,
        burst: int = BURST,
        rate: float = RATE,
    ) -> None:
        self.notes: list[str] = []
        """What could not be read, said once."""
        self._bound = Bound(burst=burst, rate=rate)
        self._pending: list[KernelRecord] = []
        self._pending_counts = KernelCounts()
        if previous:
            found, notes, bad = previous_boot(journalctl=journalctl, pstore=pstore)
            self._backlog(found, KernelCounts(unparsed=bad), burst)
            self.notes += [f"previous boot: {n}" for n in notes]
        try:
            self._reader: KmsgReader | None = KmsgReader(
                boot_time=boot_time, path=path, after_seq=after_seq
            )
        except AgentError as err:
            self._reader = None
            self.notes.append(f"{err}; recording without it")
        else:  # the ring's backlog now, not in the first sample's slot
            self._backlog(*self._reader.read(most=1 << 16), burst)

    def _backlog(self, records: list[KernelRecord], counts: KernelCounts, burst: int) -> None:
        """Keep what was there before the recorder started within a bound of its own (the
        newest first), so that what happens from now on starts with a full bucket."""
        kept, dropped, _ = Bound(burst=burst, rate=0.0).admit(records, now=0.0)
        self._pending += kept
        self._pending_counts += counts + KernelCounts(dropped=dropped)

    @property
    def last_seq(self) -> int | None:
        return self._reader.last_seq if self._reader is not None else None

    def read(self, now: float) -> KernelRead:
        """The records since the last call that pass the bound, and the count of the rest.

        Args:
            now: the monotonic clock, for the token bucket.
        """
        backlog, counts = self._pending, self._pending_counts
        self._pending, self._pending_counts = [], KernelCounts()
        fresh: list[KernelRecord] = []
        if self._reader is not None:
            try:
                fresh, fresh_counts = self._reader.read()
            except AgentError as err:
                self.notes.append(f"{err}; no longer read")
                self._reader.close()
                self._reader = None
                fresh_counts = KernelCounts()
            counts += fresh_counts
        kept, dropped, events = self._bound.admit(fresh, now=now)
        counts += KernelCounts(dropped=dropped)
        return KernelRead(tuple(backlog + kept), counts, tuple(events))

    def close(self) -> None:
        if self._reader is not None:
            self._reader.close()
