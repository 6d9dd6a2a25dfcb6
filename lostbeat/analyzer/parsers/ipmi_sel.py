"""IPMI SEL - ``esxcli hardware ipmi sel list`` (``commands/localcli_hardware-ipmi-sel-list.txt``)

The management controller's System Event Log, as ESXi lists it: one ``Record:<id>:`` block a
record, its fields indented below (Broadcom KB 394465, which confirms a machine check's cause
with it; the bundle path follows vm-support's naming of ``commands/`` files and is DERIVED,
docs/reference/esxi-bundles.md). Each record is kept with its time, severity and message; an
asserted hardware fault (``Assert + Processor Predictive Failure Asserted``) is what a
hardware verdict cites.

Sample data (KB 394465)::

    Record:18318:
     When: 2025-03-14T10:54:53
     Event Type: 4 (Minor)
     SEL Type: 2 (System Event)
     Message: Assert + Processor Predictive Failure Asserted
     Sensor Number: 80

Examples:
    >>> sel = parse_ipmi_sel(["Record:18318:", " When: 2025-03-14T10:54:53",
    ...     " Event Type: 4 (Minor)", " Message: Assert + Processor Predictive Failure Asserted"],
    ...     path="ipmi-sel.txt")
    >>> r = sel.records[0]
    >>> r.record, r.when, r.severity, r.asserted, r.evidence.line_no
    (18318, '2025-03-14T10:54:53', 'Minor', True, 4)
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass

from lostbeat.analyzer.findings import Evidence
from lostbeat.analyzer.parsers._lines import active_lines, head, to_int, undecorate, undecorated
from lostbeat.errors import ArtifactMissing, ParseError

__all__ = ["MAX_RECORDS", "IpmiSel", "SelRecord", "looks_like_ipmi_sel", "parse_ipmi_sel"]

MAX_RECORDS = 2000
"""Records kept, the newest (a controller holds a few thousand at most)."""


@dataclass(frozen=True, slots=True)
class SelRecord:
    record: int | None
    when: str | None
    severity: str | None  # "Minor", "Critical", ...
    message: str
    evidence: Evidence  # the Message: line

    @property
    def asserted(self) -> bool:
        """Whether the record asserts a condition (``Assert + ...``), not its end."""
        return self.message.startswith("Assert")

    @property
    def processor_fatal(self) -> bool:
        """Whether the record asserts a processor's fatal fault (``Processor IERR``, ``CATERR``,
        ``Processor Transition to Non-recoverable``): the processor stopped below the OS, and
        the hardware halted or reset the host before ESXi could write a purple screen or a log
        line (KB 421431, KB 376723)."""
        return self.asserted and _PROCESSOR_FATAL.search(self.message) is not None


@dataclass(frozen=True, slots=True)
class IpmiSel:
    records: tuple[SelRecord, ...]


_A = re.ASCII
# "Record:18318:" with its fields indented, or "Record Id: 185" with them at the margin
# (KB 434881's listing)
# The id may be a KB's placeholder ("Record:X:", "Record Id: ##", KB 421431, KB 376723).
_RECORD = re.compile(r"\s*Record(?: Id)?:\s*([0-9]+|X+|#+):?\s*$", _A)
_FIELD = re.compile(r"\s*(When|Event Type|Message):\s*(.*)", _A)  # stripped after: linear
_SEVERITY = re.compile(r"\(([^)]+)\)", _A)
# its "When:" line next, blank lines between as a double-spaced paste leaves them
_SNIFF = re.compile(
    r"^[ \t]*Record(?: Id)?:[ \t]*(?:[0-9]+|X+|#+):?[ \t]*(?:\r?\n[ \t]*){1,3}When:",
    re.MULTILINE | _A,
)
_PROCESSOR_FATAL = re.compile(
    r"\bProcessor\b.{0,40}\b(?:IERR|CATERR|Transition to Non-?recoverable)\b", _A | re.I
)


def looks_like_ipmi_sel(text: str) -> bool:
    """Whether ``text`` (a file's start) is an IPMI SEL listing, quoted or numbered or not."""
    return _SNIFF.search(undecorated(head(text))) is not None


def parse_ipmi_sel(lines: Iterable[str], *, path: str) -> IpmiSel:
    """Read every record of a SEL listing.

    Raises:
        ArtifactMissing: no non-blank line.
        ParseError: not a single ``Record:`` block with a ``Message:``.
    """
    records: deque[SelRecord] = deque(maxlen=MAX_RECORDS)
    first: tuple[int, str] | None = None
    current: dict[str, str] = {}
    record: int | None = None
    for line_no, raw in active_lines(lines):
        first = first or (line_no, raw)
        text = undecorate(raw)
        if m := _RECORD.match(text):
            record, current = to_int(m[1]), {}
            continue
        field = _FIELD.match(text)
        if field is None:
            continue
        value = field[2].rstrip()
        current[field[1]] = value
        if field[1] == "Message":
            severity = _SEVERITY.search(current.get("Event Type", ""))
            records.append(
                SelRecord(record, current.get("When"), severity[1] if severity else None,
                          value, Evidence(path, line_no, raw.rstrip("\r\n")))
            )  # fmt: skip
    if first is None:
        raise ArtifactMissing("ipmi_sel", path=path)
    if not records:
        raise ParseError(
            "expected IPMI SEL records ('Record:<id>:' then ' Message: ...')",
            path=path,
            line_no=first[0],
            line=first[1],
        )
    return IpmiSel(tuple(records))
