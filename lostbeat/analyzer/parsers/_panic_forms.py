"""The words of a VMkernel panic: its messages, its header and where a flattened paste runs one
record into the next (not a parser itself; :mod:`._panic` reads them line by line).

Sources of each form: docs/reference/esx-builds.md (headers) and the KB quotations in
tests/corpus/kb/ (messages).

Examples:
    >>> message("@BlueScreen: PCPU 3 locked up. Failed to ack TLB invalidate.cpu1:2)x")
    (<PanicKind.LOCKUP: 'lockup'>, 'PCPU 3 locked up. Failed to ack TLB invalidate.', 17)
"""

from __future__ import annotations

import re
from enum import StrEnum

from lostbeat.analyzer.parsers._gate import has_any

__all__ = [
    "HEADER",
    "SUMMARY_VERSION",
    "cut_check",
    "MAX_MESSAGE",
    "MESSAGE_WORDS",
    "PanicKind",
    "message",
    "segments",
    "vmkernel_function",
]

MAX_MESSAGE = 240
"""A message is never longer: a flattened paste must not run into the next record."""


class PanicKind(StrEnum):
    """What the message says, most telling first (a screen may show several)."""

    LOST_HEARTBEAT = "lost_heartbeat"  # Lost heartbeat (KB 308590)
    COS_OOPS = "cos_oops"  # Oops, COS Error: Oops (KB 1006802)
    COS_PANIC = "cos_panic"  # COS Panic: <reason> (KB 1016070, KB 2009232)
    MCE = "mce"  # Machine Check Exception, uncorrectable machine check error (KB 372284)
    NMI = "nmi"  # LINT1/NMI (KB 1804), NMI ... requested PSOD (KB 399748)
    # the VMkernel refusing the processors it boots on: "HW feature incompatibility detected;
    # cannot start", "Fatal CPU mismatch on feature ..." (cores of unlike kinds, virten.net)
    CPU_MISMATCH = "cpu_mismatch"
    ASSERT = "assert"  # ASSERT <path>:<line> (KB 311064), Failed at ... -- VMK_ASSERT(...)
    NOT_IMPLEMENTED = "not_implemented"  # NOT_IMPLEMENTED <path>:<line> (KB 1016239)
    FAILURE = "failure"  # BUG: failure at ..., Failed at ... -- NOT REACHED (KB 2011474)
    EXCEPTION = "exception"  # #PF Exception 14 in world ... (KB 2012404, KB 303440)
    LOCKUP = "lockup"  # PCPU 3 locked up (KB 324947)
    NO_HEARTBEAT = "no_heartbeat"  # Panic from another CPU, PCPU n: no heartbeat (KB 385615)
    SPIN = "spin"  # Spin count exceeded - possible deadlock (KB 380959)
    FORCED = "forced"  # CrashMe: forced from vsish (esxi-bundles.md B6)
    OTHER = "other"  # any other @BlueScreen: message


_A = re.ASCII
_HEX = r"0[xX#][0-9A-Fa-f#nNX]*|#+"  # "0xnnnnnnnn": a KB's placeholder digits
# Where the next record of a flattened line begins: a log prefix, a frame, a panic section.
_CUT = re.compile(
    r"(?<=\S)(?=cpu[0-9#]+:[0-9#]*(?: opID=\S+)?\))"
    r"|(?<=\s)(?=(?:0[xX][0-9A-Za-z#]+|#{2,})\s*:\s*\[\s*(?:0[xX]|#))"
    # a frame glued to the line number before it by a flattened paste ("util.c:830xfe215:[0x")
    r"|(?<=[0-9])(?=0[xX][0-9A-Fa-f]+:\[0[xX])"
    r"|(?<!\s)\s+(?=(?:PTEs:|Code start:|VMK uptime:|Backtrace for |Saved backtrace|@BlueScreen:))"
    # the next record's ISO time before its log prefix ("... 2015-08-17T14:19:25.710Z cpu2:")
    r"|(?<!\s)\s+(?=[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z cpu[0-9]+:)"
    r"|(?<=\S)(?=System has encountered a Hardware Error)"
    r"|(?<=:\s)>?\s*(?=#0\s+(?:0x[0-9a-fA-F]+ in )?[A-Za-z_])",  # a gdb stack after a sentence
    _A,
)
# Every cut of _CUT but its first form's is at one of these (a hex number or "##" before a
# frame, a section's words, a stamp's "Z cpu", a gdb frame's "#0"); its first form is a log
# prefix glued to what went before it (``_glued_prefix``).
_CUT_WORDS = (
    "0x", "0X", "##", "#0", "PTEs:", "Code start:", "VMK uptime:", "Backtrace for ",
    "Saved backtrace", "@BlueScreen:", "Z cpu", "System has encountered a Hardware Error",
)  # fmt: skip
_SPACE = " \t\n\r\f\v"  # ASCII whitespace: what _CUT's \s and \S mean


def _glued_prefix(text: str) -> bool:
    """Whether a "cpu" in ``text`` follows a character that is no blank (the start of a log
    prefix glued to the record before it)."""
    at = text.find("cpu", 1)
    while at > 0:
        if text[at - 1] not in _SPACE:
            return True
        at = text.find("cpu", at + 3)
    return False


def _may_cut(text: str) -> bool:
    """Whether ``text`` may hold a place _CUT cuts at (else a line is one record)."""
    return has_any(text, _CUT_WORDS) or _glued_prefix(text)


HEADER = re.compile(
    r"(?P<product>VMware ESXi?(?: Server)?)(?: (?P<version>[0-9#][0-9Xx#.]*))?\s*"
    r"\[\s*(?:VMware ESXi?\s*\[)?(?:Release)?build-(?P<build>[0-9]{1,9})",
    _A,
)
# A coredump summary's version line, with no brackets (KB 318022: "Version Details: VMware
# ESXi 6.7.0 build-16075168" above its "Panic Details:" and "Panic Message:")
SUMMARY_VERSION = re.compile(
    r"Version Details:\s*(?P<product>VMware ESXi?)\s+(?P<version>[0-9][0-9.]*)\s+"
    r"build-(?P<build>[0-9]{1,9})\b",
    _A,
)
_BLUESCREEN = re.compile(r"@BlueScreen:\s*(?P<text>.*)", _A)
_SYMBOL = r"(?:@\s*[\w.$]+(?:\+0x[0-9a-fA-F]+(?:/0x[0-9a-fA-F]+)?)?)?"
_WORLD = r"(?:\s+in\s+world\s+[^\s:]+:.{0,40}?(?=\s+(?:IP|ip)\s|\s*@\s*0|\s*$))?"
_WHERE = rf"(?:\s+(?:IP|ip|SP|addr)\s+(?:{_HEX})|\s*@\s*0[xX][0-9A-Fa-f#]+)*"
_MESSAGES: tuple[tuple[PanicKind, re.Pattern[str]], ...] = tuple(
    (kind, re.compile(rx, _A))
    for kind, rx in (
        (PanicKind.COS_PANIC, rf"\b(?:COS Panic|CosPanic):?\s*[^@\s][^@]{{0,120}}{_SYMBOL}"),
        (PanicKind.COS_OOPS, r"(?:COS Error:\s*|^(?:<[0-9]>)?)Oops\b[^@]{0,80}"),
        # the screen's message, or the Service Console's own words: never a heartbeat another
        # component (a datastore, HA) says it lost
        (
            PanicKind.LOST_HEARTBEAT,
            r"(?:^|(?:COS Error:|HB:(?: ?[0-9]+:)?) ?)(?P<said>Lost heartbeat)\b",
        ),
        (PanicKind.MCE, r"Machine Check Exception(?: on \S+(?: in world [^\s:]+:[\w.\-]*)?)?"),
        (PanicKind.MCE, r"Uncorrectable/unrecoverable machine check error"),
        (PanicKind.MCE, r"MCA: [0-9#]+: UC Excp .*"),
        # ESX 4/5's machine-check line: "MC: PCPU18 B:13 S:0xfe20004000011166 M:0x... A:0x..."
        # (Dell KB 000215212), a panic when MCi_STATUS has VAL, UC and PCC set (its top hex
        # digits: VAL=8, UC=2 of the first, PCC=2 of the second; Intel SDM vol. 3B 16.3.2.2)
        (
            PanicKind.MCE,
            r"\bMC: ?PCPU[0-9]+ B:[0-9]+ S:0[xX][ABEFabef][2367ABEFabef][0-9A-Fa-f]{14}\b"
            r"(?: M:0[xX][0-9A-Fa-f]+)?(?: A:0[xX][0-9A-Fa-f]+)?",
        ),
        (PanicKind.NMI, r"LINT1(?:/NMI)? ?\(?motherboard (?:nonmaskable )?interrupt\)?[^.]*\.?"),
        (PanicKind.NMI, r"NMI: [0-9]+: \w+ requested PSOD"),
        (
            PanicKind.CPU_MISMATCH,
            r"HW feature incompatibility detected; cannot start"
            r"|Fatal CPU mismatch on feature \"[^\"]{1,80}\"(?:; cpu[0-9]+ value = \S+, but "
            r"cpu[0-9]+ value = [0-9A-Za-z]+)?",
        ),
        (PanicKind.ASSERT, r"ASSERT \S+:[0-9]+"),
        # a module's assertion as the coredump summary words it (KB 391216):
        # "Failed at bora/modules/vmkernel/<mod>/<file>.c:<line> -- VMK_ASSERT(<condition>)"
        (PanicKind.ASSERT, r"Failed at \S{1,300}?:[0-9]+ -- (?:VMK_)?ASSERT\b.{0,160}"),
        (PanicKind.NOT_IMPLEMENTED, r"NOT_IMPLEMENTED \S+:[0-9]+"),
        (PanicKind.FAILURE, r"BUG: failure at \S+(?: \(inside \w+\))?"),
        (PanicKind.FAILURE, r"Failed at \S+ -- NOT REACHED"),
        # the same after a wrap put "Failed at" on the line before: a source path, its line
        # and the check's "--" (its words possibly on the next line)
        (
            PanicKind.FAILURE,
            r"\b(?:bora|vmkdrivers)/\S{1,300}?:[0-9]+ --"
            r"(?: (?:NOT REACHED|(?:VMK_)?ASSERT\b.{0,160}))?",
        ),
        (
            PanicKind.EXCEPTION,
            rf"#[A-Z]{{2,3}}\s+Exception\s*\(?\s*[0-9]+(?:\s*\))?{_WORLD}{_WHERE}",
        ),
        (PanicKind.LOCKUP, r"PCPU [0-9]+ locked up\.[^.(]*\.?(?: ?\((?:[^()]|\([^()]*\))*\)\.?)?"),
        (PanicKind.NO_HEARTBEAT, r"Panic from another CPU(?: \(cpu [0-9]+, world [0-9]+\))?"),
        (PanicKind.NO_HEARTBEAT, r"PCPU [0-9]+: no heartbeat[^.]*"),
        (PanicKind.NO_HEARTBEAT, r"NMI IPI: Panic requested by another PCPU\.?"),
        (PanicKind.SPIN, r"Spin count exceeded[^-\n]{0,40}- possible deadlock with PCPU [0-9#]+"),
        (PanicKind.SPIN, r"Spin count exceeded"),  # its tail overwritten on the screen
        (PanicKind.FORCED, r"\bCrashMe\b"),
        # a device's DMA refused by the IOMMU, its owner after the slash (KB 394974:
        # "IOMMU Fault detected for (vmgpX/nvidia) Reason: 0x6 (PTE not set to allow Read.)")
        (
            PanicKind.EXCEPTION,
            r"IOMMU Fault detected for \S+(?: \([^()\s]+\))?(?: Reason: 0[xX][0-9A-Fa-f]+)?"
            r"(?: \([^()]{1,80}\))?",
        ),
    )
)
# A sentence that names a message to say it is absent ("you see no Machine Check Exception
# (MCE) ... entries", KB 441951): the words just before the match
_NEGATED = re.compile(r"\b(?:no|not|nor|without|never)\s+(?:an?\s+|any\s+)?$", _A | re.I)
_GDB_SPLIT = re.compile(r"(?=#[0-9]+\s+(?:0x[0-9a-fA-F*]+ in )?(?:\?\?|[A-Za-z_]))", _A)


# A check's word a wrap left at the end of its line, its source path on the next
# ("NOT_IMPLEMENTED" / "/build/mts/release/bora-84374/bora/vmkernel/main/util.c:83")
_CHECK_CUT = re.compile(r"(?:^|\s)(NOT_IMPLEMENTED|ASSERT|Failed at)$", _A)


def cut_check(text: str) -> str | None:
    """The check word ending ``text`` whose path a wrap moved to the next line, if any.

    >>> cut_check("@BlueScreen: Failed at"), cut_check("Failed at bora/x.c:1 -- NOT REACHED")
    ('Failed at', None)
    """
    m = _CHECK_CUT.search(text)
    return m[1] if m else None


def segments(text: str) -> list[str]:
    """A line cut where a flattened paste runs the next record into it.

    >>> segments("#PF Exception 14 in world 1:vmast IP 0x1 addr 0x0 PTEs:0x8; Code start: 0x4")
    ['#PF Exception 14 in world 1:vmast IP 0x1 addr 0x0', 'PTEs:0x8;', 'Code start: 0x4']
    """
    if len(text) < 60:
        return [text]
    out: list[str] = []
    start = 0
    for m in _CUT.finditer(text, 1) if _may_cut(text) else ():
        if m.start() > start:
            out.append(text[start : m.start()].strip())
        start = m.end()
    out.append(text[start:].strip())
    if "(gdb)" in text:  # a gdb session pasted as one line: "(gdb) where#0 F (...) at x.c:1#1 ..."
        out = [piece for seg in out for piece in _GDB_SPLIT.split(seg)]
    return [s for s in out if s]


# Every message form holds one of these: a cheap test before the regexes.
MESSAGE_WORDS = (
    "xception", "locked up", "Lost heartbeat", "no heartbeat", "Oops", "COS ", "CosPanic",
    "ASSERT", "NOT_", "BUG:", "NOT REACHED", "anic", "NMI", "LINT1", "achine check", "MCA",
    "Spin count", "CrashMe", "@BlueScreen", " --", "CPU mismatch", "HW feature", "MC:",
    "IOMMU",
)  # fmt: skip


def message(text: str) -> tuple[PanicKind, str, int] | None:
    """The panic message a segment holds, cut where its grammar ends, and its form's rank
    (a screen's ``Machine Check Exception`` line over the log's ``MCA: ... UC Excp``)."""
    if not any(w in text for w in MESSAGE_WORDS):
        return None
    bluescreen = _BLUESCREEN.search(text)
    body = bluescreen["text"] if bluescreen else text
    for index, (kind, rx) in enumerate(_MESSAGES):
        m = rx.search(body)
        if m is not None and not _NEGATED.search(body, max(0, m.start() - 24), m.start()):
            said = m["said"] if "said" in rx.groupindex else m[0]
            return kind, said.strip()[:MAX_MESSAGE], index
    if bluescreen and body.strip():
        return PanicKind.OTHER, body.strip()[:MAX_MESSAGE], len(_MESSAGES)
    return None


# Functions only the VMkernel has, that a backtrace of it runs through: the panic and its
# interrupt gates, NMI and heartbeat handlers, and the entry points at the bottom of its worlds
# (the scheduler, helper queues, bottom halves, worldlets, interrupt cookies, the boot's
# Init_Start); seen in the
# backtraces of the KB quotations in tests/corpus/kb/ and of the real corpus.
_VMKERNEL_FUNCS = re.compile(
    r"Panic\w*|gate_entry_?|IDT\w+|Int[0-9]+_\w+|NMI_\w+|CpuSched\w*|HelperQueueFunc|helpFunc"
    r"|BH_\w+|vmkWorldFunc|Worldlet\w+|IntrCookie_\w+|AsyncPopCallbackFrameInt|Heartbeat_\w+"
    r"|Init_VMKernel|Init_Start",
    _A,
)


def vmkernel_function(name: str) -> bool:
    """Whether ``name`` is a function only the VMkernel has (a bare stack naming one is the
    VMkernel's).

    >>> vmkernel_function("HelperQueueFunc"), vmkernel_function("main")
    (True, False)
    """
    return _VMKERNEL_FUNCS.fullmatch(name) is not None
