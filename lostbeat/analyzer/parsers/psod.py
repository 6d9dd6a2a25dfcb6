"""PSOD screen - a transcribed purple diagnostic screen

A text copy of the screen (typed from a photo, or pasted from a KB page with its
indentation). Line 1 is ``VMware ESX Server [Releasebuild-N]``; line 2 the error message
(``Lost heartbeat``, ``Oops``, ``PCPU 1 locked up...``, ``#PF Exception(14)...``,
``NOT_IMPLEMENTED ...``), repeated later as ``@BlueScreen: <message>``; then registers, the
world on each PCPU (``*`` marks the one that panicked), ``VMK uptime: D:HH:MM:SS.mmm``
and the last vmkernel log lines, which give the same :class:`Signal` s as a vmkernel log
(KB 308590, KB 1009607, KB 1004250). ESX 4 headers may read ``VMware ESX 4.0.0
[Releasebuild-N]`` (BACKGROUND), so the header is matched loosely.

Sample data (KB 308590, shortened)::

    VMware ESX Server [Releasebuild-123630]
    Lost heartbeat
    frame=0x1f4fa34 ip=0xc014b306 cr2=0xb6bc5054 cr3=0x34401000 cr4=0x6f0
    *0:1024/console 1:1367/vmware-vm 2:1125/vcpu-0:VM 3:1351/vmware-vm
    @BlueScreen: Lost heartbeat
    VMK uptime: 42:14:03:58.308 TSC: 11010722567976450
    42:14:03:29.508 cpu0:1024)Host: 4781: COS Error: Lost heartbeat

Examples:
    >>> screen = parse_psod([
    ...     "    VMware ESX Server [Releasebuild-123630]",
    ...     "    Lost heartbeat",
    ...     "    *0:1024/console 1:1367/vmware-vm 2:1125/vcpu-0:VM 3:1351/vmware-vm",
    ...     "    @BlueScreen: Lost heartbeat",
    ...     "    VMK uptime: 42:14:03:58.308 TSC: 11010722567976450",
    ...     "    42:14:03:29.508 cpu0:1024)Host: 4781: COS Error: Lost heartbeat",
    ... ], path="psod.txt")
    >>> screen.build, screen.message, screen.vmk_uptime_s, screen.panicked_cpu
    (123630, 'Lost heartbeat', 3679438.308, 0)
    >>> screen.cpus[:2], [s.kind.value for s in screen.signals]
    (('0:1024/console', '1:1367/vmware-vm'), ['bluescreen', 'cos_error'])
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from lostbeat.analyzer.findings import Evidence
from lostbeat.analyzer.parsers._lines import head, parse_uptime, require_lines, to_int
from lostbeat.analyzer.parsers.vmkernel_log import LineScanner, Signal
from lostbeat.errors import ParseError

__all__ = ["PsodScreen", "looks_like_psod", "parse_psod"]


@dataclass(frozen=True, slots=True)
class PsodScreen:
    build: int | None  # Releasebuild-N
    message: str | None  # the error message (line 2, or @BlueScreen: ...)
    vmk_uptime_s: float | None  # VMK uptime: D:HH:MM:SS.mmm
    signals: tuple[Signal, ...]  # the log lines on the screen, as in a vmkernel log
    cpus: tuple[str, ...]  # "0:1024/console" world-per-PCPU entries
    evidence: tuple[Evidence, ...]  # header and message lines
    panicked_cpu: int | None = None  # the PCPU marked "*" in the world list


_A = re.ASCII
# [^\[]*, not .*: a line repeating "VMware ESX" must not be rescanned to its end each time
_HEADER = re.compile(r"VMware ESX[^\[\n]*\[Releasebuild-([0-9]+)\]", _A)
_BLUESCREEN = re.compile(r"@BlueScreen:\s*(.*\S)", _A)
_UPTIME = re.compile(r"VMK uptime:\s*([0-9]+:[0-9]+:[0-9]+:[0-9]+(?:\.[0-9]+)?)", _A)
_WORLD = re.compile(r"\*?[0-9]+:[0-9]+/\S*", _A)
_REGISTERS = re.compile(r"\s*[a-z0-9]{2,6}=\S", _A)
# A screen with its top cut off (KB 1009607's excerpt) still shows the dump progress.
_DUMPING = ("Starting coredump to disk", "Dumping console os core")
_EXPECTED = (
    "expected a purple screen: 'VMware ESX ... [Releasebuild-N]' or '@BlueScreen: <message>'"
)


def looks_like_psod(text: str) -> bool:
    """Whether ``text`` (a file's start) is a transcribed purple screen."""
    start = head(text)
    return _HEADER.search(start) is not None or "@BlueScreen:" in start


def _is_message(text: str) -> bool:
    """Whether the line after the header is a message, not registers or worlds."""
    words = text.split()
    if _REGISTERS.match(text) or "@BlueScreen:" in text:
        return False
    return not all(_WORLD.fullmatch(w) for w in words)


def parse_psod(lines: Iterable[str], *, path: str) -> PsodScreen:
    """Read build, message, uptime, PCPU worlds and log signals of a purple screen.

    Args:
        lines: the transcription's lines, with or without newlines; indentation is fine.
        path: the file's path, for evidence and errors.

    Raises:
        ArtifactMissing: no non-blank line.
        ParseError: no ``Releasebuild`` header, ``@BlueScreen:``, ``VMK uptime:`` or
            coredump progress line: not a purple screen.
    """
    numbered = require_lines(lines, artifact="psod", path=path)
    header: tuple[int, str, int | None] | None = None
    line2: tuple[int, str] | None = None
    bluescreen: tuple[int, str, str] | None = None
    uptime: float | None = None
    dumping = False
    cpus: list[str] = []
    panicked: int | None = None
    scanner = LineScanner(path=path)
    for index, (line_no, text) in enumerate(numbered):
        scanner.feed(line_no, text)
        if header is None and (m := _HEADER.search(text)):
            header = (line_no, text, to_int(m[1]))
            if index + 1 < len(numbered) and _is_message(numbered[index + 1][1]):
                line2 = numbered[index + 1]
        if bluescreen is None and (m := _BLUESCREEN.search(text)):
            bluescreen = (line_no, text, m[1])
        if uptime is None and (m := _UPTIME.search(text)):
            uptime = parse_uptime(m[1])
        dumping = dumping or any(d in text for d in _DUMPING)
        words = text.split()
        if words and all(_WORLD.fullmatch(w) for w in words):
            for word in words:
                if word.startswith("*"):
                    panicked = to_int(word[1:].split(":", 1)[0])
                cpus.append(word.lstrip("*"))
    if header is None and bluescreen is None and uptime is None and not dumping:
        line_no, text = numbered[0]
        raise ParseError(_EXPECTED, path=path, line_no=line_no, line=text)
    evidence: list[Evidence] = []
    message: str | None = None
    if header is not None:
        evidence.append(Evidence(path, header[0], header[1]))
    if line2 is not None:
        message = line2[1].strip()
        evidence.append(Evidence(path, line2[0], line2[1]))
    elif bluescreen is not None:
        message = bluescreen[2]
        evidence.append(Evidence(path, bluescreen[0], bluescreen[1]))
    return PsodScreen(
        build=header[2] if header else None,
        message=message,
        vmk_uptime_s=uptime,
        signals=scanner.finish(),
        cpus=tuple(cpus),
        evidence=tuple(evidence),
        panicked_cpu=panicked,
    )
