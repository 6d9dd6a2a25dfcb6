"""How a purple screen reaches a support engineer, and what the result still settles.

Forms (the real corpus's vocabulary): ``full_screen``; ``screen_cut_top`` (the header lost,
or garbled so that only the build survives); ``screen_cut_bottom`` (stopped after the
registers or a few frames); ``one_line_paste`` (every line run into one, with or without
spaces); ``message_line_excerpt`` (from the message line on); ``bare_backtrace`` (frames
only: with or without the stack address, ``'@'`` quoted, spaced, names only, under a
``Backtrace for current CPU`` line); ``gdb_stack`` (``#0  Function (args) at file:line``).

:func:`settle` reads the written text back for what the generator itself put there: the
build (only if its number is shown), the suspect module (only if a frame or the module line
naming it is shown), the class (a driver's only with its module; hardware and VMkernel
classes only with their words) and the known issue (only with all its tokens).

Examples:
    >>> import random
    >>> from lostbeat.scenarios.esx.panic import draw
    >>> from lostbeat.scenarios.esx.releases import RELEASES
    >>> p = draw(random.Random(4), "driver", RELEASES[17630552])
    >>> text = "\\n".join(bare_backtrace(p, random.Random(1)))
    >>> settle(p, text).to_doc()["crash.class"]
    'driver'
    >>> settle(p, p.message).to_doc()["crash.class"]
    'unknown'
"""

from __future__ import annotations

import random

from lostbeat.analyzer.result import CrashClass, CrashType
from lostbeat.scenarios.esx.panic import Panic, hexa
from lostbeat.scenarios.esx.render import Line, frame_text
from lostbeat.scenarios.expect import Expect

__all__ = [
    "bare_backtrace",
    "cut_bottom",
    "cut_top",
    "excerpt",
    "flatten",
    "garble_header",
    "gdb_stack",
    "settle",
]


def cut_top(lines: list[Line], rng: random.Random) -> list[Line]:
    """The screen without its header line (a photo or a copy that starts lower)."""
    return [ln for ln in lines if ln.part != "header"]


def garble_header(lines: list[Line], rng: random.Random) -> list[Line]:
    """The header damaged as OCR and pastes damage it, the build number kept."""
    out = []
    for ln in lines:
        if ln.part == "header":
            words = ln.text.split(" [")
            build = words[-1].split()[0].rstrip("]")
            choice = rng.randrange(4)
            if choice == 0:
                text = f"[{words[0].rsplit(' ', 1)[0]} [{build} X86_64"
            elif choice == 1:
                text = ln.text.replace(ln.text.split()[2], "#.#.#") if " ESXi " in ln.text else (
                    ln.text.replace("[", "[ ", 1))  # fmt: skip
            elif choice == 2:
                text = f"\x1b[45m\x1b[33;1m{ln.text}\x1b[0m"
            else:
                text = f"{ln.text.rstrip(']')} {hexa(rng, 4)}"
            ln = Line("header", text)
        out.append(ln)
    return out


def cut_bottom(lines: list[Line], rng: random.Random) -> list[Line]:
    """The screen stopped after the registers, or after a few frames."""
    frames = [i for i, ln in enumerate(lines) if ln.part == "frame"]
    regs = [i for i, ln in enumerate(lines) if ln.part == "regs"]
    if frames and rng.random() < 0.6:
        stop = frames[min(len(frames) - 1, rng.randint(0, 2))] + 1
    elif regs:
        stop = regs[-1] + 1 - rng.randint(0, min(2, len(regs) - 1))
    else:
        stop = max(2, len(lines) // 2)
    return lines[:stop]


def flatten(lines: list[Line], rng: random.Random) -> list[Line]:
    """Every line run into one, as a web page or a chat flattens a screen."""
    glue = rng.choice((" ", " ", " ", ""))
    return [Line("message", glue.join(ln.text for ln in lines))]


def excerpt(lines: list[Line], rng: random.Random) -> list[Line]:
    """From the message line (sometimes as ``@BlueScreen: message``) a few lines on."""
    first = next(i for i, ln in enumerate(lines) if ln.part == "message")
    head = lines[first]
    if rng.random() < 0.35 and not head.text.startswith("@BlueScreen: "):
        head = Line("message", f"@BlueScreen: {head.text}")
    rest = [ln for ln in lines[first + 1 :] if ln.part in ("detail", "frame", "saved", "uptime")]
    return [head, *rest[: rng.choice((0, 1, 3, 6, 12))]]


def bare_backtrace(p: Panic, rng: random.Random) -> list[str]:
    """The frames alone, in one of the ways people quote them."""
    style = rng.randrange(6)
    out: list[str] = []
    if style == 5 and p.release.iso_logs:
        out.append(f"Backtrace for current CPU #{p.pcpu}, worldID={p.world}, "
                   f"fp={hexa(rng, 12)}")  # fmt: skip
    for f in p.frames:
        text = frame_text(p, f, rng, sp=style not in (1, 3))
        if style == 1:  # no stack address, no stack words
            text = text.split(" stack:")[0]
        elif style == 2:  # the '@' quoted by a blog's Markdown
            text = text.replace("@", "'@'")
        elif style == 3:  # function names only
            text = f.function
        elif style == 4:  # spaced as some pages render it
            text = text.replace(":[", " :[ ").replace("]", " ]", 1)
        out.append(text)
    return out


def gdb_stack(p: Panic, rng: random.Random) -> list[str]:
    """gdb's ``bt`` over the VMkernel core: ``#0  Function (args) at file:line``."""
    out = []
    files = ("main/panic.c", "main/world.c", "sched/cpusched.c", "net/uplink.c", "main/heap.c")
    for i, f in enumerate(p.frames):
        if rng.random() < 0.5:
            out.append(f"#{i}  {f.function}")
            continue
        args = ", ".join(f"{a}={hexa(rng, rng.choice((1, 12)))}" for a in
                         rng.sample(("w", "arg", "flags", "pkt", "ctx", "len"), rng.randint(0, 3)))  # fmt: skip # noqa: E501
        where = f" at bora/vmkernel/{rng.choice(files)}:{rng.randint(40, 4000)}"
        addr = f"{hexa(rng, 12)} in " if i else ""
        out.append(f"#{i}  {addr}{f.function} ({args}){where if rng.random() < 0.7 else ''}")
    return out


def _shows_module(p: Panic, text: str) -> bool:
    if p.module is None:
        return False
    text = text.replace("'@'", "@")
    if p.world_name.startswith(f"{p.module}_") and f"{p.world}:{p.world_name}" in text:
        return True  # the driver's own world ("hpsa_isr") faulted, as the message says
    return any(
        form in text for form in (f"@{p.module}#", f"@({p.module})#", f"in panic: [{p.module} ")
    )


_SAYS_SO = ("mce", "nmi", "assert", "heap")
_NO_HEARTBEAT = ("Panic from another CPU", "no heartbeat", "Panic requested by another PCPU")


def settle(p: Panic, text: str, *, crash_type: CrashType = CrashType.VMKERNEL) -> Expect:
    """What ``text`` (everything written of ``p``) settles."""
    build = p.release.number if f"build-{p.release.number}" in text else None
    release = p.release.release if build is not None else None
    module = p.module if _shows_module(p, text) else None
    unquoted = text.replace("'@'", "@")  # a paste's quoted '@' still shows a frame
    known = tuple(k for k in p.known_issues if all(t in unquoted for t in p.tokens))
    if p.known_on is not None and build is not None and p.release.family != p.known_on:
        known = ()
    cls = p.crash_class
    if cls is CrashClass.DRIVER:
        settled = module is not None
    elif cls in (CrashClass.HARDWARE, CrashClass.VMKERNEL):
        # MCE, NMI, assertion and heap screens say so themselves; another crash is of a
        # class only through the known issue it matches
        words = (p.message, *p.details, *p.warnings)
        if p.kind == "heap":  # its screen shows a lockup: only the heap's warning says so
            words = tuple(w for w in p.warnings if "maximum size" in w)
        settled = bool(known) or (p.kind in _SAYS_SO and any(w in text for w in words))
        # a CPU caught by the heartbeat NMI in the management controller's interrupt handler
        # says so too (KB 429117's iLO storm), its message in any form; without the NMI's
        # words, the iLO driver's frame on top is all a reader sees: a driver's fault
        if cls is CrashClass.HARDWARE and p.module == "ilo" and module:
            settled = settled or any(w in text for w in _NO_HEARTBEAT)
            if not settled:
                cls, settled = CrashClass.DRIVER, True
    else:
        settled = True
    if not settled:
        cls = CrashClass.UNKNOWN
    return Expect(crash_type, cls, suspect_module=module, build=build, release=release,
                  known_issues=known)  # fmt: skip
