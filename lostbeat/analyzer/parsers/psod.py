"""PSOD screen - a purple diagnostic screen as people give it: whole, cut, pasted or excerpted

A text copy of the screen (typed from a photo, pasted from a KB page, re-logged by ESXi 8 into
``LogEFI.log``) or any part of one: line 1 is the header ``VMware ESX Server
[Releasebuild-N]`` (ESX 3.x), ``VMware ESX [Releasebuild-N X86_64`` (ESX 4.0, KB 303440),
``VMware ESXi 5.0.0 [Releasebuild-N x86_64]`` (ESXi 5-8, KB 324947, KB 372284); then the
message, repeated as ``@BlueScreen: <message>``; registers, the world on each PCPU (``*``
marks the one that panicked), the backtrace, ``VMK uptime: D:HH:MM:SS.mmm`` and the last
vmkernel log lines, which give the same :class:`Signal` s as a vmkernel log (KB 308590,
KB 1009607, KB 1004250). Screens cut at the top or the bottom, one-line pastes, excerpts that
start at the message line, bare and gdb-style backtraces and machine-check screens are all
read: :mod:`~lostbeat.analyzer.parsers._panic` knows their forms. A gdb session on a user
world's core (``Program terminated with signal 11``) is read too, and says it is no purple
screen.

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
    >>> parse_psod(["#DF Exception 8 IP 0x42000c34 SP 0x453a89e4Syscall_Handler@vmkernel#nover"],
    ...            path="paste.txt").message
    '#DF Exception 8 IP 0x42000c34 SP 0x453a89e4'
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass

from lostbeat.analyzer.findings import Evidence
from lostbeat.analyzer.parsers._lines import active_lines, head, parse_uptime, to_int
from lostbeat.analyzer.parsers._panic import (
    LOGGED_BACKTRACE,
    Panic,
    PanicReader,
    bare_frame_line,
    is_panic_line,
    undecorate,
)
from lostbeat.analyzer.parsers._panic_forms import cut_check, message, vmkernel_function
from lostbeat.analyzer.parsers._signals import EraVotes, LineScanner, Signal
from lostbeat.errors import ArtifactMissing, ParseError

__all__ = ["MAX_LINES", "PsodScreen", "looks_like_psod", "parse_psod"]

MAX_CPUS = 1024
"""PCPUs of a screen's world list kept: a bound, not a host's count."""
MAX_LINES = 4000
"""Lines of a screen kept for known-issue signatures (a screen has a few dozen)."""


@dataclass(frozen=True, slots=True)
class PsodScreen:
    build: int | None  # Releasebuild-N
    message: str | None  # the error message (line 2, or @BlueScreen: ...)
    vmk_uptime_s: float | None  # VMK uptime: D:HH:MM:SS.mmm
    signals: tuple[Signal, ...]  # the log lines on the screen, as in a vmkernel log
    cpus: tuple[str, ...]  # "0:1024/console" world-per-PCPU entries
    evidence: tuple[Evidence, ...]  # header and message lines
    panicked_cpu: int | None = None  # the PCPU marked "*" in the world list
    panic: Panic | None = None  # message kind, frames, modules, machine-check details
    lines: tuple[Evidence, ...] = ()  # the screen's lines, for known-issue signatures
    esxi: bool | None = None  # True: forms only ESXi 5+ writes; False: ESX classic's; None


_A = re.ASCII
_UPTIME = re.compile(
    r"VMK uptime:\s*([0-9]+:[0-9]+:[0-9]+:[0-9]+(?:\.[0-9]+)?)", _A | re.IGNORECASE
)
_WORLD = re.compile(r"\*?(?:PCPU)?[0-9]+:[0-9]+/\S*", _A)
_REGISTERS = re.compile(r"\s*[a-z0-9]{2,6}=\S", _A)
# A screen with its top cut off (KB 1009607's excerpt) still shows the dump progress.
_DUMPING = ("Starting coredump to disk", "Dumping console os core")
_LOGISH = re.compile(
    r"\bcpu[0-9]+:[0-9]+(?: opID=\S+)?\)|^[A-Z][a-z]{2} {1,2}[0-9]{1,2} [0-9:]{8} "
    r"|^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z? ",
    _A,
)
_BARE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*", _A)
# not a Linux kernel's version (``#1 SMP PREEMPT_DYNAMIC Fri ...``, scripts/mkcompile_h), which
# a paste that wrapped a ``CPU:`` or ``Linux version`` line sets at a line's start
_GDB_FRAME = re.compile(
    r"#[0-9]+\s+(?!(?:SMP|PREEMPT\w*|Mon|Tue|Wed|Thu|Fri|Sat|Sun)\b)"
    r"(?:0x[0-9a-fA-F]+ in )?(?:\?\?|[A-Za-z_]\w*)",
    _A,
)
_EXPECTED = (
    "expected a purple screen or part of one: 'VMware ESX ... [Releasebuild-N]', a panic message "
    "('@BlueScreen: ...', '#PF Exception 14 ...', 'PCPU n locked up', 'COS Panic: ...') or a "
    "backtrace"
)


def _is_world_list(words: list[str]) -> bool:
    return bool(words) and all(_WORLD.fullmatch(w) for w in words)


def looks_like_psod(text: str) -> bool:
    """Whether ``text`` (a file's start) is a purple screen or a part of one.

    A vmkernel log that shows a panic is left to the vmkernel log parser, which reads the
    panic too: most of its lines carry a log prefix. A screen's header always makes it a
    screen.
    """
    lines = [undecorate(t) for _, t in active_lines(head(text).splitlines()[:400])]
    lines = [t for t in lines if t]
    if not lines:
        return False
    if any("build-" in t and "VMware ESX" in t and is_panic_line(t) for t in lines[:200]):
        return True  # a screen's header (a version line alone, "vmware -vl", is none)
    logged = sum(1 for t in lines if _LOGISH.search(t))
    if logged * 2 >= len(lines) and not any("@BlueScreen:" in t for t in lines):
        return False
    if any(f in t for t in lines for f in LOGGED_BACKTRACE) and not any(map(message, lines)):
        return False  # a warning's logged backtrace, with no panic: a log's excerpt
    if any(is_panic_line(t) for t in lines):
        return True
    # a message a wrap cut after its check word ("NOT_IMPLEMENTED" / "<path>:<line>")
    pairs = zip(lines, lines[1:], strict=False)
    if any(is_panic_line(f"{w} {b}") for a, b in pairs if (w := cut_check(a))):
        return True
    # frames without their addresses, one a line (a KB's "backtrace looks similar to")
    bare_frames = [t for t in lines if bare_frame_line(t)]
    if len(bare_frames) >= 2 and any("@vmkernel" in t for t in bare_frames):
        return True
    gdb = sum(1 for t in lines if _GDB_FRAME.match(t))
    gdb += sum(2 for t in lines if t.startswith("(gdb)") and _GDB_FRAME.search(t))
    bare = [t for t in lines if _BARE.fullmatch(t) and ("_" in t or not t.islower())]
    return gdb >= 2 or (len(bare) >= 3 and any(vmkernel_function(t) for t in bare))


def _is_message(text: str) -> bool:
    """Whether the line after the header is a message, not registers or worlds."""
    words = text.split()
    if _REGISTERS.match(text) or "@BlueScreen:" in text:
        return False
    return not _is_world_list(words)


def parse_psod(lines: Iterable[str], *, path: str) -> PsodScreen:
    """Read build, message, uptime, PCPU worlds, backtrace and log signals of a screen.

    Args:
        lines: the transcription's lines, with or without newlines; indentation is fine.
        path: the file's path, for evidence and errors.

    Raises:
        ArtifactMissing: no non-blank line.
        ParseError: no header, message, backtrace, ``VMK uptime:`` or coredump progress
            line: not a purple screen.
    """
    reader = PanicReader(path=path)
    scanner = LineScanner(path=path)
    kept: deque[Evidence] = deque(maxlen=MAX_LINES)
    first: tuple[int, str] | None = None
    after_header: tuple[int, str] | None = None
    header_seen = False
    uptime: float | None = None
    dumping = False
    cpus: list[str] = []
    panicked: int | None = None
    votes = EraVotes()
    for line_no, raw in active_lines(lines):
        first = first or (line_no, raw)
        kept.append(Evidence(path, line_no, raw))
        reader.feed(line_no, raw)
        scanner.feed(line_no, raw)
        text = undecorate(raw)
        if header_seen and after_header is None:
            after_header = (line_no, raw)
        header_seen = header_seen or ("build-" in text and "VMware ESX" in text)
        if uptime is None and (m := _UPTIME.search(text)):
            uptime = parse_uptime(m[1])
        dumping = dumping or any(d in text for d in _DUMPING)
        votes.add(text)
        words = text.split()
        if _is_world_list(words) and len(cpus) < MAX_CPUS:
            for word in words:
                if word.startswith("*"):
                    panicked = to_int(word.lstrip("*PCU").split(":", 1)[0])
                cpus.append(word.lstrip("*").removeprefix("PCPU"))
    if first is None:
        raise ArtifactMissing("psod", path=path)
    panic = reader.result()
    signals = scanner.finish()
    if not (panic.shown or panic.process_core or signals or uptime is not None or dumping):
        raise ParseError(_EXPECTED, path=path, line_no=first[0], line=first[1])
    evidence: list[Evidence] = []
    if panic.header_evidence is not None:
        evidence.append(panic.header_evidence)
    message = panic.message
    if message is None and after_header is not None and _is_message(undecorate(after_header[1])):
        message = undecorate(after_header[1])
        evidence.append(Evidence(path, *after_header))
    elif panic.message_evidence is not None and panic.message_evidence not in evidence:
        evidence.append(panic.message_evidence)
    return PsodScreen(
        build=panic.build,
        message=message,
        vmk_uptime_s=uptime,
        signals=signals,
        cpus=tuple(cpus),
        evidence=tuple(evidence),
        panicked_cpu=panicked,
        panic=panic,
        lines=tuple(kept),
        esxi=votes.esxi,
    )
