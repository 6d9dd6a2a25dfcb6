"""ESX 3.x/4.x Service Console crashes handed over loose: the Lost heartbeat screen, the COS
Oops screen and the one-line ``COS Panic: ...`` pastes, and a Lost heartbeat whose cause is
not memory (storage errors before it, as KB 2009232 documents).

What they settle (the real corpus's reading): a Lost heartbeat screen alone says nothing of
the cause (``unknown``), a COS Oops or panic is the Service Console's (``service_console``),
and the storage case is ``service_console`` and ``not_memory`` with its KB.

Examples:
    >>> import random
    >>> w = lost_heartbeat(random.Random(5))
    >>> w.expect.crash_type.value, w.expect.crash_class.value
    ('lost_heartbeat', 'unknown')
"""

from __future__ import annotations

import random

from lostbeat.analyzer.result import CauseKind, CrashClass, CrashType
from lostbeat.scenarios.esx.releases import releases
from lostbeat.scenarios.expect import Expect
from lostbeat.scenarios.loose import Written
from lostbeat.scenarios.paste import decorate, text_of
from lostbeat.scenarios.screens import Crash, crash_screen, uptime_text

__all__ = ["cos_crash", "lost_heartbeat", "lost_heartbeat_storage", "volume"]

_COMMS = (("vmnixhbd", 20), ("kswapd", 5), ("VMap", 0), ("vmware-hostd", 0), ("webAccess", 0),
          ("vpxa", 0), ("sshd", 0), ("crond", 0), ("java", 0))  # fmt: skip
_PANICS = (
    "Kernel panic: Attempted to kill init!",
    "Aiee, killing interrupt handler!",
    "Fatal exception in interrupt",
    "Int3",
    "Kernel BUG at page_alloc.c:{n}",
    "Out of memory and no killable processes...",
)
_SYMBOLS = ("esxsc_panic", "panic", "do_exit", "die", "out_of_memory", "__free_pages_ok")


def volume(rng: random.Random) -> str:
    """A VMFS volume UUID: ``4533e089-1dfcdd21-f1d3-001a140ebdca``."""
    return "-".join(f"{rng.getrandbits(b * 4):0{b}x}" for b in (8, 8, 4, 12))


def _crash(rng: random.Random, kind: str) -> tuple[Crash, str]:
    release = rng.choice(releases("3.5", "4.0", "4.1", esxi=False))
    family = release.family if release.family != "3.0" else "3.5"
    alerts: tuple[tuple[int, str, int], ...] = ()
    if kind == "lost_heartbeat":
        comm, pid = rng.choice(_COMMS)
        first = rng.choice((1, rng.randint(2, 28)))
        alerts = tuple((t, comm if t == 30 else rng.choice(_COMMS)[0], pid or rng.randint(800, 30000))  # noqa: E501
                       for t in range(first, 31))  # fmt: skip
    crash = Crash(kind=kind, build=release.number, family=family,
                  at_uptime=rng.uniform(300, 200 * 86400), pcpus=rng.choice((4, 8, 16)),
                  alerts=alerts, core_target=None,
                  oops_process=(rng.choice(("esxcfg-rescan", "crond", "vmkload_mod")), rng.randint(900, 30000)))  # fmt: skip # noqa: E501
    return crash, release.release or ""


def lost_heartbeat(rng: random.Random) -> Written:
    """A Lost heartbeat screen (full, cut, one line, or from the message on), with or without
    the zdump's log: its cause is not on it."""
    crash, release = _crash(rng, "lost_heartbeat")
    shown = crash_screen(crash, rng, span_s=rng.uniform(600, 3600), volume=volume(rng))
    lines = list(shown.screen)
    forms = ["lost_heartbeat"]
    roll = rng.random()
    if roll < 0.35:
        forms.append("full_screen")
    elif roll < 0.55:
        lines = lines[: rng.randint(6, 12)]
        forms.append("screen_cut_bottom")
    elif roll < 0.7:
        lines = lines[1:]
        forms.append("screen_cut_top")
    elif roll < 0.85:
        lines = [" ".join(lines)]
        forms.append("one_line_paste")
    else:
        start = next(i for i, ln in enumerate(lines) if "HB:" in ln)
        lines = lines[start:]
        forms.append("message_line_excerpt")
    files = [("screen.txt", text_of(decorate(lines, rng), rng).encode())]
    if rng.random() < 0.4:
        files.append(("vmkernel-log.1", "".join(f"{ln}\n" for ln in shown.log).encode()))
        forms.append("zdump_log")
    text = "\n".join(d.decode() for _, d in files)
    build = crash.build if f"build-{crash.build}" in text else None
    expect = Expect(CrashType.LOST_HEARTBEAT, CrashClass.UNKNOWN, build=build,
                    release=(release or None) if build else None, known_issues=())  # fmt: skip
    return Written("esx_classic", tuple(files), tuple(forms), expect,
                   (("last_comm", crash.alerts[-1][1]),))  # fmt: skip


def cos_crash(rng: random.Random) -> Written:
    """A Service Console Oops screen, or a one-line ``COS Panic:`` paste."""
    if rng.random() < 0.45:
        crash, release = _crash(rng, "cos_oops")
        lines = crash_screen(crash, rng, span_s=600, volume=volume(rng)).screen
        forms = ["cos_oops_panic", "full_screen"]
        if rng.random() < 0.4:
            lines = lines[: rng.randint(8, len(lines) - 1)]
            forms[1] = "screen_cut_bottom"
        text = text_of(decorate(list(lines), rng), rng)
        build = crash.build if f"build-{crash.build}" in text else None
        expect = Expect(CrashType.COS_OOPS, CrashClass.SERVICE_CONSOLE, build=build,
                        release=(release or None) if build else None, known_issues=())  # fmt: skip
        return Written("esx_classic", (("screen.txt", text.encode()),), tuple(forms), expect)
    message = rng.choice(_PANICS).format(n=rng.randint(100, 2400))
    symbol = rng.choice(_SYMBOLS)
    line = f"COS Panic: {message} @{symbol}+{rng.randint(0x10, 0x1FF):#x}/{rng.randint(0x200, 0x4FF):#x}"  # noqa: E501
    lines = [line]
    if rng.random() < 0.4:
        up = uptime_text(rng.uniform(300, 100 * 86400))
        lines = [f"{up} cpu0:{rng.randint(1024, 4200)})Host: {rng.randint(3000, 6000)}: {line}"]
    text = text_of(decorate(lines, rng), rng)
    expect = Expect(CrashType.COS_PANIC, CrashClass.SERVICE_CONSOLE, known_issues=())
    return Written("esx_classic", (("screen.txt", text.encode()),),
                   ("cos_oops_panic", "one_line_paste", "message_line_excerpt"), expect)  # fmt: skip # noqa: E501


def lost_heartbeat_storage(rng: random.Random) -> Written:
    """A Lost heartbeat of ESX 4.x after the Service Console lost its storage (KB 2009232):
    SCSI retries in the COS log, ``Can't find serial#`` warnings and the heartbeat alerts in
    the zdump's log, and the one-line ``COS Panic: Lost heartbeat`` screen."""
    handle = rng.choice((2000, 2001, 2010, 4000))
    serials = [rng.randint(10**8, 10**9 - 1) for _ in range(rng.randint(3, 8))]
    adapter = f"{rng.randint(0, 3)}:0:{rng.randint(0, 4)}:{rng.randint(0, 9)}"
    up = rng.uniform(3600, 90 * 86400)
    messages = [f"<3>[{up + 30 * i:.0f}] sd {adapter}: still retrying {s} after 360s"
                for i, s in enumerate(serials)]  # fmt: skip
    cpu = f"cpu0:{rng.choice((4096, 4097))})"
    log = [f"{uptime_text(up + 60 + i)} {cpu}VMNIX: WARNING: VmkDev: {rng.choice((3102, 3117))}: "
           f"Can't find serial# {s} from virt handle {handle}" for i, s in enumerate(serials)]  # fmt: skip # noqa: E501
    comm = rng.choice(("vmware-hostd", "vmkiscsid", "sshd", "crond"))
    for t in range(rng.randint(20, 28), 31):
        at = up + 120 + 60 * t
        log.append(f"{uptime_text(at)} {cpu}VMNIX: ALERT: HB: {rng.choice((362, 427))}: Lost "
                   f"heartbeat (comm={comm} pid={rng.randint(900, 9000)} t={t} to=30 clt=1).")  # fmt: skip # noqa: E501
    screen = f"COS Panic: Lost heartbeat @esxsc_panic+{rng.randint(0x20, 0x80):#x}/{rng.randint(0x90, 0x120):#x}"  # noqa: E501
    files = (
        ("screen.txt", text_of(decorate([screen], rng), rng).encode()),
        ("vmkernel-log.1", text_of(log, rng, crlf=0).encode()),
        ("messages", text_of(messages, rng, crlf=0).encode()),
    )
    expect = Expect(CrashType.LOST_HEARTBEAT, CrashClass.SERVICE_CONSOLE, known_issues=("2009232",),
                    root_cause_kind=CauseKind.NOT_MEMORY)  # fmt: skip
    forms = ("one_line_paste", "lost_heartbeat", "lost_heartbeat_not_memory", "zdump_log",
             "cos_oops_panic")  # fmt: skip
    return Written("esx_classic", files, forms, expect)
