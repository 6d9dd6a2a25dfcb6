"""The ESX and ESXi scenarios that are not ESX 3.x/4.x vm-support bundles: each name, its
description and its builder (a random source in, a :class:`~lostbeat.scenarios.loose.Written`
out).

A purple screen is drawn (``panic.py``, ``known.py``), written down (``render.py``) and handed
over in one of the forms people hand it over in (``forms.py``, ``paste.py``); the answer key
is what the written text settles (:func:`~lostbeat.scenarios.esx.forms.settle`).

Examples:
    >>> import random
    >>> "psod-screen" in ESX_SCENARIOS and "esxi-bundle-psod" in ESX_SCENARIOS
    True
    >>> w = ESX_BUILDERS["psod-hardware"](random.Random(1))
    >>> w.expect.crash_class.value in ("hardware", "unknown")
    True
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable
from dataclasses import replace

from lostbeat.analyzer.result import CrashClass
from lostbeat.scenarios.esx import cos, quiet
from lostbeat.scenarios.esx.bundle import esxi_bundle
from lostbeat.scenarios.esx.classic import classic_bundle_psod
from lostbeat.scenarios.esx.forms import (
    bare_backtrace,
    cut_bottom,
    cut_top,
    excerpt,
    flatten,
    garble_header,
    gdb_stack,
    settle,
)
from lostbeat.scenarios.esx.known import known_panic
from lostbeat.scenarios.esx.panic import Panic, draw
from lostbeat.scenarios.esx.quiet import healthy
from lostbeat.scenarios.esx.releases import releases
from lostbeat.scenarios.esx.render import Line, logefi, screen, vmkernel_log
from lostbeat.scenarios.loose import Written
from lostbeat.scenarios.paste import decorate, text_of

__all__ = ["ESX_BUILDERS", "ESX_SCENARIOS", "present"]

Builder = Callable[[random.Random], Written]

SCREEN_FORMS = ("full_screen", "screen_cut_top", "garbled_header", "screen_cut_bottom")
PASTE_FORMS = ("one_line_paste", "message_line_excerpt")
TRACE_FORMS = ("bare_backtrace", "gdb_stack")
LOG_FORMS = ("vmkernel_log_crash", "pf_without_bluescreen", "zdump_log", "logefi")
_KIND_FORMS = {
    "driver": ("driver_psod",),
    "mce": ("mce",),
    "nmi": ("nmi_management_controller",),
    "another_cpu": ("panic_from_another_cpu", "pcpu_no_heartbeat"),
}


def _log_lines(p: Panic, rng: random.Random, form: str) -> tuple[str, list[str]]:
    """(file name, lines) of a log form."""
    day = p.release.released + dt.timedelta(days=rng.randint(20, 800))
    end = int(dt.datetime.combine(day, dt.time(0), dt.UTC).timestamp()) + rng.randrange(86400)
    if form == "logefi":
        return "LogEFI.log", [ln.text for ln in logefi(p, rng, end=end)]
    host = f"esx{rng.randint(1, 40):02}"
    noise = [(end - rng.uniform(1, 3600), healthy(rng, p.release))
             for _ in range(rng.randint(0, 30))]  # fmt: skip
    lines = vmkernel_log(p, rng, end=end, host=host, noise=noise)
    if form == "pf_without_bluescreen":
        head = next(i for i, ln in enumerate(lines) if ln.part == "message")
        pre = lines[head].text.split(")@BlueScreen: ")[0] + ")"
        esc = "^[" if rng.random() < 0.6 else "\x1b"
        header = (f"{pre}{esc}[45m{esc}[33;1mVMware ESXi {p.release.version} "
                  f"[build-{p.release.number} x86_64]{esc}[0m")  # fmt: skip
        details = [Line("detail", ln.text.split(")", 1)[1]) for ln in lines[head + 1 :]
                   if ln.part == "detail"]  # fmt: skip
        rest = [ln for ln in lines[head + 1 :] if ln.part != "detail"]
        lines = [*lines[:head], Line("header", header), Line("message", p.message), *details,
                 *rest]  # fmt: skip
    name = "vmkernel-log.1" if form == "zdump_log" else (
        "vmkernel.log" if p.release.iso_logs else "vmkernel")  # fmt: skip
    return name, [ln.text for ln in lines]


def present(rng: random.Random, p: Panic, form: str) -> Written:
    """``p`` handed over in ``form``."""
    name = "screen.txt"
    forms = [form]
    if form in SCREEN_FORMS or form in PASTE_FORMS:
        lines = screen(p, rng)
        if form == "screen_cut_top":
            lines = cut_top(lines, rng)
        elif form == "garbled_header":
            lines = garble_header(lines, rng)
            forms = ["screen_cut_top", "garbled_header"]
        elif form == "screen_cut_bottom":
            lines = cut_bottom(lines, rng)
        elif form == "one_line_paste":
            lines = flatten(excerpt(lines, rng) if rng.random() < 0.5 else lines, rng)
        elif form == "message_line_excerpt":
            lines = excerpt(lines, rng)
        texts = [ln.text for ln in lines]
    elif form in TRACE_FORMS:
        name = "backtrace.txt"
        texts = bare_backtrace(p, rng) if form == "bare_backtrace" else gdb_stack(p, rng)
    else:
        name, texts = _log_lines(p, rng, form)
        forms = ["vmkernel_log_crash", form] if form != "vmkernel_log_crash" else forms
    text = text_of(decorate(texts, rng), rng)
    forms += [
        f for f in _KIND_FORMS.get(p.kind, ()) if f != "pcpu_no_heartbeat" or "no heartbeat" in text
    ]
    expect = settle(p, text)
    detail = (("kind", p.kind), ("build", str(p.release.number)),
              ("module", p.module or ""))  # fmt: skip
    platform = "esxi" if p.release.esxi else "esx_classic"
    return Written(platform, ((name, text.encode()),), tuple(dict.fromkeys(forms)), expect, detail)


def _form(rng: random.Random, p: Panic, pool: tuple[str, ...]) -> str:
    """A form of ``pool`` that ``p``'s era can be written in."""
    ok = [f for f in pool if not (f == "logefi" and not p.release.syslog_header)
          and not (f == "pf_without_bluescreen" and not (p.message.startswith("#PF")
                                                         and p.release.major >= 6))]  # fmt: skip
    return rng.choice(ok)


def _any(*families: str) -> tuple[str, ...]:
    return families or ("3.0", "3.5", "4.0", "4.1", "5.0", "5.1", "5.5", "6.0", "6.5", "6.7",
                        "7.0", "8.0")  # fmt: skip


def _psod(kinds: tuple[str, ...], pool: tuple[str, ...], families: tuple[str, ...] = ()) -> Builder:
    def build(rng: random.Random) -> Written:
        p = draw(rng, rng.choice(kinds), rng.choice(releases(*_any(*families))))
        return present(rng, p, _form(rng, p, pool))

    return build


def _sel(rng: random.Random, *, mce: bool, apei: bool) -> bytes:
    """``ipmitool sel list`` of the server around the crash: what the BMC logged."""
    day = dt.date(2016, 1, 1) + dt.timedelta(days=rng.randint(0, 3000))
    if mce:
        event = f"Memory #0x{rng.randint(1, 0x20):02x} | Uncorrectable ECC | Asserted"
    elif apei:
        event = f"Critical Interrupt #0x{rng.randint(1, 0x30):02x} | Bus Fatal Error | Asserted"
    else:
        event = (f"Critical Interrupt #0x{rng.randint(1, 0x30):02x} | Front Panel NMI / "
                 "Diagnostic Interrupt | Asserted")  # fmt: skip
    rows = ["System Event #0x20 | OEM System boot event | Asserted",
            "Power Unit #0x01 | Power off/down | Asserted", event,
            "System Event #0x20 | Timestamp Clock Sync | Asserted"]  # fmt: skip
    clock = f"{day:%m/%d/%Y}"
    lines = [f"{i:>4} | {clock} | {rng.randint(0, 23):02}:{rng.randint(0, 59):02}:{rng.randint(0, 59):02} | {r}"  # noqa: E501
             for i, r in enumerate(rows[rng.randint(0, 1) :], rng.randint(1, 300))]  # fmt: skip
    return text_of(lines, rng, crlf=0).encode()


def _hardware(rng: random.Random) -> Written:
    w = _psod(("mce", "nmi"), SCREEN_FORMS + PASTE_FORMS + LOG_FORMS[:3], ("4.1", *_ESXI))(rng)
    if w.expect.crash_class is CrashClass.HARDWARE and rng.random() < 0.4:
        sel = _sel(rng, mce="mce" in w.forms, apei=b"ApeiHEST" in w.files[0][1])
        return replace(w, files=(*w.files, ("ipmi-sel.txt", sel)))
    return w


def _known(rng: random.Random) -> Written:
    p = known_panic(rng)
    pool = SCREEN_FORMS + PASTE_FORMS + LOG_FORMS + ("bare_backtrace",)
    return present(rng, p, _form(rng, p, pool))


_ESXI = ("5.0", "5.1", "5.5", "6.0", "6.5", "6.7", "7.0", "8.0")
_CORE = ("exception", "exception", "lockup", "assert", "heap", "module")

ESX_TABLE: tuple[tuple[str, str, Builder], ...] = (
    ("psod-screen", "a VMkernel purple screen, ESX 3.0 to ESXi 8.0: whole, cut at the top or "
     "the bottom, or with a garbled header", _psod(_CORE, SCREEN_FORMS)),
    ("psod-paste", "the same screens flattened into one line or excerpted from the message "
     "line on (bullets, quotes, numbers, redactions)", _psod(_CORE, PASTE_FORMS)),
    ("psod-backtrace", "only a backtrace: bare frames (with or without @module, quoted, "
     "spaced, names only) or a gdb-style stack", _psod(_CORE + ("driver",), TRACE_FORMS, _ESXI)),
    ("psod-vmkernel-log", "an ESX 4/ESXi 5-8 vmkernel log ending in the panic; #PF without "
     "@BlueScreen; the zdump's extracted log; 8.0 U3's LogEFI.log",
     _psod(_CORE, LOG_FORMS, ("4.0", "4.1", *_ESXI))),
    ("psod-driver", "a vendor's driver faults (i40en, lpfc, be2net, qlnativefc, nmlx5_core...): "
     "class driver, the module named", _psod(("driver",), SCREEN_FORMS + PASTE_FORMS
                                              + TRACE_FORMS[:1] + LOG_FORMS, _ESXI)),
    ("psod-hardware", "Machine Check Exception, LINT1/NMI from the management controller, an "
     "APEI fatal PCIe error, sometimes with the BMC's SEL: class hardware", _hardware),
    ("psod-another-cpu", "Panic from another CPU with a PCPU that had no heartbeat, spin-count "
     "and TLB lockups, as screens and logs", _psod(("another_cpu", "lockup"),
                                                   SCREEN_FORMS + LOG_FORMS[:3], _ESXI[3:])),
    ("psod-known-issue", "a crash a VMware KB documents (world id overflow, TPS race, NetWorld "
     "PktList, prealloc, #DF in syscalls, i40en, iLO NMI, NOT_IMPLEMENTED at boot)", _known),
    ("esxi-bundle-psod", "an ESXi 5.0-8.0 vm-support bundle after a purple screen: var/run/log, "
     "commands/, FRAG files, var/core zdump, vmksummary.log",
     lambda rng: esxi_bundle(rng, crashed=True)),
    ("esx-bundle-psod", "an ESX 3.5/4.x vm-support bundle after a VMkernel purple screen of any "
     "kind: exception, lockup, MCE, NMI, assertion, full heap", classic_bundle_psod),
    ("esxi-bundle-reboot", "an ESXi 5.0-8.0 vm-support bundle of a host its user rebooted or "
     "shut down: no crash", lambda rng: esxi_bundle(rng, crashed=False)),
    ("esx-log-no-crash", "a vmkernel log with link flaps, SCSI aborts, path failures or a NIC "
     "transmit watchdog, and no crash", quiet.no_crash_log),
    ("esx-agent-crash", "hostd or vpxa dumped a user-world core (or hostd hit a full ramdisk): "
     "no purple screen", quiet.agent_crash),
    ("esxi-user-reboot", "an ESXi 5 or 7/8 vmksummary.log showing a user's reboot or shutdown",
     quiet.user_reboot),
    ("esx-lost-heartbeat-screen", "an ESX 3.x/4.x Lost heartbeat screen handed over alone "
     "(whole, cut, one line, from the message on): cause not on it", cos.lost_heartbeat),
    ("esx-lost-heartbeat-storage", "an ESX 4.x Lost heartbeat after storage errors "
     "(KB 2009232): not memory", cos.lost_heartbeat_storage),
    ("esx-cos-crash", "a Service Console Oops screen or a one-line COS Panic paste",
     cos.cos_crash),
)  # fmt: skip

ESX_SCENARIOS: dict[str, str] = {name: text for name, text, _ in ESX_TABLE}
ESX_BUILDERS: dict[str, Builder] = {name: build for name, _, build in ESX_TABLE}
