"""The forms a VMkernel panic takes, on a screen, in a log and in a paste (not a parser itself).

Shared by the purple-screen and the vmkernel-log parsers. A panic shows, in any order and any
part of it: a header ``VMware ESX[i] [<version>] [Releasebuild-N x86_64]``; a message
(``@BlueScreen: <message>``, or the message alone: ``#PF Exception 14 in world <id>:<name> IP
0x.. addr 0x..``, ``PCPU 3 locked up. ...``, ``COS Panic: ...``, ``NOT_IMPLEMENTED <path>:<line>``,
``Machine Check Exception on PCPU<n> ...``, ``LINT1/NMI ...``, ``Panic from another CPU ...``);
backtrace frames (``0x..:[0x..]<Function>@<module>#<version>+0x..``, with or without the
address or the ``@``, or gdb's ``#0  <Function> (args...)``); ``Module(s) involved in panic:
[<module> <version>]``; and the machine-check lines of the log (``MCA: ... UC Excp G4 B6 ...
I/O error reported by PCI 0000:00:03.0``); the messages and the header are read by
:mod:`._panic_forms`. Sources of each form: docs/reference/esx-builds.md
(headers) and the KB quotations in tests/corpus/kb/ (messages, frames, machine checks).

What people paste is decorated: bullets, Markdown quotes (``>\\t``), pastebin line numbers
(``  1. ``), terminal colour codes (``^[[45m``), a quoted ``'@'``, and screens flattened into
one line whose records run together. :func:`undecorate` takes the decoration off and
:func:`segments` cuts a flattened line where the next record begins, so that a message ends
where the message ends.

Examples:
    >>> reader = PanicReader(path="psod.txt")
    >>> for n, text in enumerate([
    ...     "  • cpu34:9213)VMware ESXi 5.0.0 [Releasebuild-702118 x86_64] PCPU 18 locked up. "
    ...     "Failed to ack TLB invalidate (total of 5 locked up, PCPU(s): 0,10).cpu34:9213)cr0=0x1",
    ...     "0x4122:[0x4180]i40en_UplinkPrivStatsGet@(i40en)#<None>+0x45f stack: 0x43",
    ... ], 1):
    ...     reader.feed(n, text)
    >>> panic = reader.result()
    >>> panic.build, panic.version, panic.product, panic.kind.value
    (702118, '5.0.0', 'VMware ESXi', 'lockup')
    >>> panic.message
    'PCPU 18 locked up. Failed to ack TLB invalidate (total of 5 locked up, PCPU(s): 0,10).'
    >>> [(f.function, f.module) for f in panic.frames]
    [('i40en_UplinkPrivStatsGet', 'i40en')]
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from lostbeat.analyzer.findings import Evidence
from lostbeat.analyzer.parsers._gate import Gated
from lostbeat.analyzer.parsers._lines import undecorate
from lostbeat.analyzer.parsers._panic_forms import (
    HEADER,
    MAX_MESSAGE,
    MESSAGE_WORDS,
    SUMMARY_VERSION,
    PanicKind,
    cut_check,
    message,
    segments,
    vmkernel_function,
)

__all__ = [
    "LOGGED_BACKTRACE",
    "MAX_FRAMES",
    "MAX_MESSAGE",
    "Frame",
    "Involved",
    "Panic",
    "PanicKind",
    "PanicReader",
    "bare_frame_line",
    "is_panic_line",
    "segments",
    "undecorate",
]

MAX_FRAMES = 64
"""Frames kept per backtrace (a screen shows a dozen or two)."""

_A = re.ASCII
_ORDER = tuple(PanicKind)


@dataclass(frozen=True, slots=True)
class Frame:
    """One backtrace frame; ``module`` is None where the frame names none (``<None>``)."""

    function: str | None
    module: str | None
    version: str | None
    evidence: Evidence
    at_module: bool = True
    """The frame has its ``@<module>`` part, if blank (``be_probe@#``); a gdb or bare name's
    has none."""


@dataclass(frozen=True, slots=True)
class Involved:
    """A module the panic report names (``Module(s) involved in panic: [lpfc 900.14
    (External)]``)."""

    module: str
    version: str | None
    external: bool
    evidence: Evidence


@dataclass(frozen=True, slots=True)
class Panic:
    """Everything of one panic that the lines show; any part may be missing."""

    kind: PanicKind | None
    message: str | None
    message_evidence: Evidence | None
    build: int | None
    version: str | None  # "5.0.0", "7.X.X", as the header writes it
    product: str | None  # "VMware ESXi", "VMware ESX Server"
    header_evidence: Evidence | None
    frames: tuple[Frame, ...]
    involved: tuple[Involved, ...]
    mce_bank: int | None
    device: str | None  # the PCI address a machine check or HEST error names
    hardware: tuple[Evidence, ...]  # machine-check, NMI and hardware-error lines
    process_core: bool  # a gdb session on a user-world core: no purple screen
    context: bool  # panic-time register or dump lines (PRDA, Code start, coredump progress)

    @property
    def shown(self) -> bool:
        """Whether the lines show a VMkernel panic at all: a backtrace the VMkernel only
        logged (a warning's, its first frame the logging call), with no message, is none."""
        logged = (
            self.kind is None and bool(self.frames) and self.frames[0].function in LOGGED_BACKTRACE
        )
        frames = bool(self.frames) and not logged
        return self.kind is not None or frames or bool(self.involved) or self.context

    @property
    def panicking(self) -> bool:
        """Whether the backtrace runs through the VMkernel's panic functions (``PanicvPanicInt``,
        ``Panic_NoSave``, ``Panic_OnAssertAt``, ``vmk_PanicWithModuleID``): a panic's own, never
        a warning's (KB 404789 quotes such a backtrace with no message above it)."""
        return any(f.function and _PANIC_FUNC.fullmatch(f.function) for f in self.frames)


# The VMkernel's call that logs a backtrace beside a warning and goes on (vmklinux's
# "WARNING: at .../netdev_watchdog()" is followed by one): never a panic's first frame
LOGGED_BACKTRACE = frozenset({"vmk_LogBacktraceMessage"})
_PANIC_FUNC = re.compile(r"(?:vmk_)?Panic\w*", _A)
# A frame's "[0x...]" follows its frame address ("0x4100:[0x4180]"), a log prefix ("cpu0:1)")
# or nothing: never a word ("libvmacore.so[0x0037ACD3]" is a user world's backtrace).
_FRAME_AT = Gated(
    re.compile(
        r"(?:^|(?<=[:)\s]))\[\s*0[xX][0-9A-Za-z#]*\s*\]\s*(?P<fn>[A-Za-z_][\w.$]*|<unknown>)?"
        r"(?:@(?P<mod>\([^)\s]*\)|<None>|[\w.\-]*)(?:[#:](?P<ver>nover|<None>|[0-9v][\w.\-]*)?)?)?",
        _A,
    ),
    ("[",),
)
# A frame without its address, glued after a message
# ("SP 0x453a89e4####Syscall_InstructionHandler@vmkernel#nover")
_FRAME_BARE = Gated(
    re.compile(
        r"(?<!\w)(?P<fn>[A-Za-z_]\w*)@(?P<mod>\([\w.\-]+\)|<None>|vmkernel|[a-z][\w.\-]*)"
        r"[#:](?P<ver>nover|<None>|[0-9v][\w.\-]*)",
        _A,
    ),
    ("@",),
)
_GDB = re.compile(
    r"#[0-9]+\s+(?:0x[0-9a-fA-F*]+ in )?(?P<fn>\?\?|[A-Za-z_][\w.$]*)\s*(?:\(.*)?$", _A
)
_BARE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*", _A)
_INVOLVED = re.compile(r"Module\(s\) involved in panic:\s*(?P<list>.*)", _A)
_MCA = re.compile(r"\bMCA: [0-9]+: (?P<what>\w+) (?:Excp|Intr|Poll) G[0-9]+ B(?P<bank>[0-9]+)", _A)
_BANK = re.compile(r"\bin bank\s?(?P<bank>[0-9]+)|\bMC: ?PCPU[0-9]+ B:(?P<mc>[0-9]+)", _A)
_PCI = re.compile(
    r"(?:reported by PCI|error from)\s+"
    r"(?P<pci>[0-9a-fA-F]{4}:[0-9a-fA-FX#]{2}:[0-9a-fA-F]{2}\.[0-9])",
    _A,
)
_HARDWARE = re.compile(
    r"MCA: |MCAIntel|Machine Check|machine check|ApeiHEST|HestNMI|LINT1/NMI|Hardware Error"
    r"|memory error|\bMC: ?PCPU",
    _A,
)
_CONTEXT_WORDS = (
    "prda 0x", "resettovmkonpanic", "code start", "vmk uptime:", "saved backtrace",
    "starting coredump", "coredump to disk", "panic details:",
)  # fmt: skip
# Lines a panic prints besides its message: a backtrace among them is the panic's, not a
# warning's (KB 1004250's screen, KB 367534's ResetToVMKOnPanic, KB 435833's "Panic Details").
_CONTEXT = Gated(
    re.compile(
        r"\bPRDA 0x|ResetToVMKOnPanic|\bCode start(?:s at)?:|VMK uptime:|Saved backtrace|"
        r"Starting coredump|Coredump to disk|Panic Details:",
        _A | re.IGNORECASE,
    ),
    _CONTEXT_WORDS,
    fold=True,
)
_CORE_SIGNAL = re.compile(r"Program terminated with signal", _A)


# Every form the reader takes holds one of these, or is a bare name: a cheap test before its
# regexes, which cost tens of microseconds a line. "build-" (a header), "[0", "[ " (a frame at
# its address), "@" (a frame glued after a message), "#" (a gdb frame), the message words,
# the hardware forms (their bank and device are read on those lines only) and the context's
# (in lower case: it is matched so).
_PANIC_WORDS = (
    *MESSAGE_WORDS, "build-", "[0", "[ ", "@", "#", "Module(s) involved", "MCA", "achine Check",
    "ApeiHEST", "HestNMI", "Hardware Error", "memory error", "Program terminated",
)  # fmt: skip


def _may_be_panic(text: str) -> bool:
    """Whether an undecorated line may hold part of a panic (else it holds none)."""
    if " " not in text.strip() or any(w in text for w in _PANIC_WORDS):
        return True
    low = text.lower()
    return any(w in low for w in _CONTEXT_WORDS)


def _module(raw: str | None) -> str | None:
    if not raw:
        return None
    name = raw.strip("()")
    return None if name in ("", "<None>") else name


def bare_frame_line(text: str) -> bool:
    """Whether an undecorated line is one frame without its address and nothing else
    (KB 341164: ``NFS41_SMEventCreate@(nfs41client)#<None>+0x7d``)."""
    line = text.strip()
    m = _FRAME_BARE.search(line)
    return (
        m is not None
        and m.start() == 0
        and re.fullmatch(r"(?:\+0x[0-9a-fA-F]+)?", line[m.end() :]) is not None
    )


def is_panic_line(text: str) -> bool:
    """Whether an undecorated line shows part of a panic (a cheap test for sniffers)."""
    return bool(
        HEADER.search(text)
        or message(text)
        or _FRAME_AT.search(text)
        or _INVOLVED.search(text)
        or _MCA.search(text)
    )


class PanicReader:
    """Reads a panic out of numbered lines fed in order (a screen, or a log's lines).

    The first message of the most telling kind wins (``Lost heartbeat`` over a ``#PF``); the
    first backtrace is kept, or the one right after the message when the message comes later.
    """

    def __init__(self, *, path: str) -> None:
        self.path = path
        self._message: tuple[PanicKind, str, Evidence] | None = None
        self._rank: tuple[int, int] = (len(_ORDER), 0)
        self._header: tuple[int | None, str | None, str | None, Evidence] | None = None
        self._frames: list[Frame] = []
        self._block: list[Frame] = []
        self._after_message: list[Frame] | None = None
        self._names: list[tuple[str, Evidence]] = []
        self._involved: list[Involved] = []
        self._hardware: list[Evidence] = []
        self._bank: int | None = None
        self._device: str | None = None
        self._core = False
        self._context = False
        self._gdb_lines = 0
        self._held: str | None = None

    def feed(self, line_no: int, raw: str) -> None:
        """Read one line (with or without its newline); a line a wrap began with the path of
        the check word the line before ended with is read with that word before it."""
        text = undecorate(raw)
        if not text:
            return
        held, self._held = self._held, cut_check(text)
        if held is not None:
            text = f"{held} {text}"
        if not _may_be_panic(text):
            self._end_block()  # as any line that is no frame does
            return
        ev = Evidence(self.path, line_no, raw.rstrip("\r\n"))
        if _CORE_SIGNAL.search(text):
            self._core = True
        framed = False
        for seg in segments(text):
            framed |= self._segment(seg, ev)
        if not framed:
            self._end_block()

    def _segment(self, seg: str, ev: Evidence) -> bool:
        """Read one record; whether it was a frame."""
        if self._header is None and (h := HEADER.search(seg)):
            self._header = (int(h["build"]), h["version"], h["product"], ev)
            seg = seg[h.end() :].split("]", 1)[-1]
        elif self._header is None and (h := SUMMARY_VERSION.search(seg)):
            self._header = (int(h["build"]), h["version"], h["product"], ev)
        found = message(seg)
        if found is not None and (_ORDER.index(found[0]), found[2]) < self._rank:
            self._message = (found[0], found[1], ev)
            self._rank = (_ORDER.index(found[0]), found[2])
            self._after_message = []
        if _CONTEXT.search(seg):
            self._context = True
        if _HARDWARE.search(seg):
            self._hardware_line(seg, ev)
        if m := _INVOLVED.search(seg):
            self._involved_list(m["list"], ev)
        frame = self._frame(seg, ev)
        if frame is None:
            return False
        if len(self._block) < MAX_FRAMES:  # a block's first frames: the panic's deepest
            self._block.append(frame)
        if self._after_message is not None and len(self._after_message) < MAX_FRAMES:
            self._after_message.append(frame)
        return True

    def _frame(self, seg: str, ev: Evidence) -> Frame | None:
        if m := _FRAME_AT.search(seg):
            return Frame(m["fn"], _module(m["mod"]), m["ver"], ev, m["mod"] is not None)
        if seg.startswith("#") and (g := _GDB.match(seg)):
            self._gdb_lines += 1
            fn = g["fn"]
            return Frame(None if fn == "??" else fn, None, None, ev, at_module=False)
        if m := _FRAME_BARE.search(seg):
            return Frame(m["fn"], _module(m["mod"]), m["ver"], ev)
        if (
            len(self._names) < MAX_FRAMES
            and _BARE_NAME.fullmatch(seg)
            and ("_" in seg or not seg.islower())
        ):
            self._names.append((seg, ev))
        return None

    def _end_block(self) -> None:
        if self._block and not self._frames:
            self._frames = self._block
        self._block = []

    def _hardware_line(self, seg: str, ev: Evidence) -> None:
        if len(self._hardware) < MAX_FRAMES:
            self._hardware.append(ev)
        if self._bank is None and (m := _MCA.search(seg) or _BANK.search(seg)):
            self._bank = int(m["bank"] or m["mc"])
        if self._device is None and (m := _PCI.search(seg)):
            self._device = m["pci"]

    def _involved_list(self, text: str, ev: Evidence) -> None:
        for item in re.findall(r"\[([^\]]*)\]", text) or [text]:
            words = item.replace(",", " ").split()
            if not words or len(self._involved) >= MAX_FRAMES:
                continue
            version = words[1] if len(words) > 1 and words[1][:1].isdigit() else None
            self._involved.append(Involved(words[0], version, "(External)" in item, ev))

    def result(self) -> Panic:
        """What was read; call once all lines are fed."""
        self._end_block()
        frames = self._frames
        if self._after_message:
            frames = self._after_message
        if not frames and self._bare_stack():
            frames = [
                Frame(n, None, None, ev, at_module=False) for n, ev in self._names[:MAX_FRAMES]
            ]
        header = self._header
        message = self._message
        return Panic(
            kind=message[0] if message else None,
            message=message[1] if message else None,
            message_evidence=message[2] if message else None,
            build=header[0] if header else None,
            version=header[1] if header else None,
            product=header[2] if header else None,
            header_evidence=header[3] if header else None,
            frames=tuple(frames),
            involved=tuple(self._involved),
            mce_bank=self._bank,
            device=self._device,
            hardware=tuple(self._hardware),
            process_core=self._core,
            context=self._context or self._header is not None,
        )

    def _bare_stack(self) -> bool:
        """Function names one a line are a backtrace when a message heads them or one of
        them is a function only the VMkernel has (KB 430676's bare stack)."""
        if len(self._names) < 2:
            return False
        return self._message is not None or any(vmkernel_function(n) for n, _ in self._names)
