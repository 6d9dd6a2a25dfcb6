"""The containers a kernel's messages reach people in (docs/reference/linux-logs.md §1): raw
``dmesg``, ``dmesg -T``, ``journalctl`` in ``short``, ``short-precise``, ``short-iso``,
``short-iso-precise``, ``json`` and ``export`` output, ``/var/log/messages`` (no kernel stamp),
Ubuntu's ``kern.log``/``syslog`` (the kernel stamp kept), and a serial console; and the damage
they take: lines chopped by journalctl's pager (``>``) or ellipsized (``…``), other services'
lines in between, long lines wrapped by a paste.

A :class:`Msg` is one message: seconds since boot, the identifier (``kernel`` or a service),
its pid and text. :func:`render` turns a host's messages into one of the forms.

Examples:
    >>> import random
    >>> from lostbeat.scenarios.linux.host import sample_host
    >>> h = sample_host(random.Random(1))
    >>> render([Msg(12.5, "Out of memory: Killed process 1 (x)")], h, "dmesg", random.Random(0))
    ['[   12.500000] Out of memory: Killed process 1 (x)']
"""

from __future__ import annotations

import datetime as dt
import json
import random
from dataclasses import dataclass

from lostbeat.scenarios.linux.host import Host
from lostbeat.scenarios.paste import wrapped

__all__ = ["FORMS", "Msg", "chop", "render", "services", "stamped", "wrap"]

FORMS = (
    "dmesg", "dmesg-T", "journal-short", "journal-short-precise", "journal-short-iso",
    "journal-json", "journal-export", "syslog-messages", "syslog-kernlog", "serial-console",
)  # fmt: skip
"""In the real Linux corpus's vocabulary (tests/corpus/real-linux/README.md)."""


@dataclass(frozen=True, slots=True)
class Msg:
    t: float
    """Seconds since boot."""
    text: str
    ident: str = "kernel"
    pid: int | None = None
    priority: int = 6


_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def _local(h: Host, m: Msg) -> dt.datetime:
    return dt.datetime.fromtimestamp(h.boot + m.t + h.tz_min * 60, dt.UTC).replace(tzinfo=None)


def _zone(h: Host, colon: bool) -> str:
    sign = "+" if h.tz_min >= 0 else "-"
    hours, minutes = divmod(abs(h.tz_min), 60)
    return f"{sign}{hours:02}{':' if colon else ''}{minutes:02}"


def _who(m: Msg) -> str:
    return "kernel" if m.ident == "kernel" else f"{m.ident}[{m.pid}]" if m.pid else m.ident


def _line(h: Host, m: Msg, form: str, *, host: bool, iso_colon: bool) -> str:
    w = _local(h, m)
    name = f" {h.name}" if host else ""
    if form == "dmesg":
        return f"[{m.t:12.6f}] {m.text}"
    if form == "dmesg-T":
        return f"[{w:%a} {_MONTHS[w.month - 1]} {w.day:>2} {w:%H:%M:%S} {w.year}] {m.text}"
    if form == "journal-short":
        return f"{_MONTHS[w.month - 1]} {w.day:02} {w:%H:%M:%S}{name} {_who(m)}: {m.text}"
    if form == "journal-short-precise":
        return (f"{_MONTHS[w.month - 1]} {w.day:02} {w:%H:%M:%S}.{w.microsecond:06}{name} "
                f"{_who(m)}: {m.text}")  # fmt: skip
    if form == "journal-short-iso":
        frac = f".{w.microsecond:06}" if iso_colon else ""
        return f"{w:%Y-%m-%dT%H:%M:%S}{frac}{_zone(h, iso_colon)}{name} {_who(m)}: {m.text}"
    stamp = f"{_MONTHS[w.month - 1]} {w.day:>2} {w:%H:%M:%S}"
    if form == "syslog-messages":
        return f"{stamp}{name} {_who(m)}: {m.text}"
    if form == "syslog-kernlog":
        kernel = f"[{m.t:12.6f}] " if m.ident == "kernel" else ""
        return f"{stamp}{name} {_who(m)}: {kernel}{m.text}"
    # serial console: the kernel's own stamp
    return f"[{m.t:12.6f}] {m.text}" if m.ident == "kernel" else m.text


def _json(h: Host, m: Msg, boot_id: str, n: int) -> str:
    real = int((h.boot + m.t) * 1_000_000)
    doc = {
        "__CURSOR": f"s=5e4b1f0c;i={n:x};b={boot_id};m={int(m.t * 1e6):x};t={real:x};x=0",
        "__REALTIME_TIMESTAMP": str(real),
        "__MONOTONIC_TIMESTAMP": str(int(m.t * 1_000_000)),
        "_BOOT_ID": boot_id,
        "PRIORITY": str(m.priority),
        "_TRANSPORT": "kernel" if m.ident == "kernel" else "stdout",
        "SYSLOG_FACILITY": "0" if m.ident == "kernel" else "3",
        "SYSLOG_IDENTIFIER": m.ident,
        "_HOSTNAME": h.name,
        "MESSAGE": m.text,
    }
    if m.pid:
        doc["_PID"] = str(m.pid)
    return json.dumps(doc, separators=(",", ":"))


def stamped(t: float, lines: list[str], rng: random.Random, *, first: int = 6) -> tuple[Msg, ...]:
    """Kernel messages of one report: ``lines`` from ``t`` on, microseconds apart, in order;
    the first at priority ``first``."""
    out = []
    for i, text in enumerate(lines):
        out.append(Msg(t, text, priority=first if i == 0 else 6))
        t += rng.uniform(1e-6, 4e-5)
    return tuple(out)


def render(msgs: list[Msg], h: Host, form: str, rng: random.Random) -> list[str]:
    """``msgs`` (in time order) as ``form`` writes them. ``dmesg`` forms keep only the
    kernel's messages; ``journal-export`` gives key=value blocks separated by blank lines."""
    if form in ("dmesg", "dmesg-T"):
        msgs = [m for m in msgs if m.ident == "kernel"]
    boot_id = f"{rng.getrandbits(128):032x}"
    if form == "journal-json":
        return [_json(h, m, boot_id, i) for i, m in enumerate(msgs, 1)]
    if form == "journal-export":
        out: list[str] = []
        for i, m in enumerate(msgs, 1):
            doc = json.loads(_json(h, m, boot_id, i))
            out += [f"{k}={v}" for k, v in doc.items()]
            out.append("")
        return out
    host = form in ("syslog-kernlog", "journal-short-iso") or rng.random() < 0.85
    colon = rng.random() < 0.6
    return [_line(h, m, form, host=host, iso_colon=colon) for m in msgs]


def chop(lines: list[str], rng: random.Random) -> list[str]:
    """Long lines cut as journalctl's pager (``>`` at the edge) or its ellipsis (``…``) cut
    them; most lines pass whole."""
    width = rng.choice((120, 150, 180, 200))
    mark = rng.choice((">", "…"))
    return [ln if len(ln) <= width or rng.random() < 0.3 else ln[: width - 1] + mark
            for ln in lines]  # fmt: skip


def wrap(lines: list[str], rng: random.Random) -> list[str]:
    """A paste that broke its longest lines in two."""
    return wrapped(lines, rng.choice((100, 120, 140)))


_SERVICES = (
    ("systemd", 1, "Started Session {n} of User {user}."),
    ("systemd", 1, "Starting Cleanup of Temporary Directories..."),
    ("systemd", 1, "logrotate.service: Succeeded."),
    ("sshd", None, "Accepted publickey for {user} from 10.{a}.{b}.{c} port {port} ssh2"),
    ("sshd", None, "pam_unix(sshd:session): session closed for user {user}"),
    ("CRON", None, "({user}) CMD (/usr/local/bin/backup.sh > /dev/null 2>&1)"),
    ("containerd", None, 'time="{iso}" level=info msg="shim disconnected" id={hexid}'),
    (
        "dockerd",
        None,
        'time="{iso}" level=warning msg="Health check for container {hexid} error: timed out"',
    ),
    (
        "kubelet",
        None,
        'I{md} {hms}.{us}    {port} kubelet.go:2405] "SyncLoop (PLEG): event for pod"',
    ),
    ("NetworkManager", None, "<info>  [{epoch}.{ms}] dhcp4 (eth0): state changed bound -> bound"),
    ("chronyd", None, "Selected source 10.{a}.{b}.{c}"),
    ("rsyslogd", None, "imjournal: {n} messages lost due to rate-limiting"),
)


def services(rng: random.Random, h: Host, *, start: float, end: float, rate_s: float) -> list[Msg]:
    """Other services' messages between ``start`` and ``end`` (seconds since boot)."""
    out: list[Msg] = []
    t = start
    pids = {name: pid or rng.randint(400, 30000) for name, pid, _ in _SERVICES}
    while True:
        t += rng.expovariate(1 / rate_s)
        if t >= end:
            return out
        name, _, template = rng.choice(_SERVICES)
        when = dt.datetime.fromtimestamp(h.boot + t, dt.UTC)
        text = template.format(
            n=rng.randint(2, 4000), user=rng.choice(("deploy", "root", "admin", "ci")),
            a=rng.randint(0, 255), b=rng.randint(0, 255), c=rng.randint(1, 254),
            port=rng.randint(1024, 65000), iso=f"{when:%Y-%m-%dT%H:%M:%S}.{rng.randint(0, 10**9)}Z",
            hexid=f"{rng.getrandbits(256):064x}", md=f"{when:%m%d}", hms=f"{when:%H:%M:%S}",
            us=f"{rng.randint(0, 999999):06}", epoch=int(h.boot + t), ms=f"{rng.randint(0, 9999):04}",  # noqa: E501
        )  # fmt: skip
        pid = pids[name] if name not in ("sshd", "CRON") else rng.randint(1000, 60000)
        out.append(Msg(t, text, name, pid))
