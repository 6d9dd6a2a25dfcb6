"""The beat protocol: one short ASCII message per ``SOCK_SEQPACKET`` packet.

A client connects to the monitor's UNIX socket, introduces itself, beats, and says goodbye
when it exits cleanly::

    client -> LB1 HELLO name=lostbeat-hbd interval=1 timeout=30
    monitor -> LB1 OK clt=1 to=30
    client -> LB1 BEAT seq=1 at=1732550000.123456 took=0.000041
    client -> LB1 BYE

``at`` is the wall-clock time (Unix seconds) when the client had its page of memory,
``took`` how long mapping, writing and unmapping it took, in seconds. ``timeout`` is
optional: without it the monitor's ``--timeout`` applies. A refused client reads
``LB1 REFUSED reason=<word>`` and the monitor closes the connection. Who the client is
(pid, uid) is never taken from the message: the monitor asks the kernel (SO_PEERCRED).

A packet longer than :data:`MAX_MESSAGE` bytes is malformed, as is any unknown word. Numbers
are plain decimals (ASCII digits, at most one ``.`` between digits): not the other forms
Python's ``int()`` and ``float()`` take (``1_0``, ``+1``, `` 1``, ``1e3``, ``inf``, digits of
other scripts), so that one packet has one meaning to every reader.

Examples:
    >>> decode(encode(Beat(seq=7, at=1.5, took=0.25)), path="hb.sock")
    Beat(seq=7, at=1.5, took=0.25)
    >>> decode(b"LB1 HELLO name=ha-agent interval=2", path="hb.sock")
    Hello(name='ha-agent', interval=2.0, timeout=None)
    >>> decode(b"LB1 BEAT seq=x", path="hb.sock")
    Traceback (most recent call last):
    ...
    lostbeat.errors.ParseError: hb.sock: expected 'LB1 BEAT seq=N at=T took=S', got 'LB1 BEAT seq=x'
    >>> try:
    ...     decode(b"LB1 HELLO name=x interval=1_0", path="hb.sock")
    ... except ParseError as err:
    ...     print(err)
    hb.sock: interval: expected a plain decimal number (such as 1 or 0.5), got '1_0'
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from lostbeat.errors import ParseError

VERSION = "LB1"
MAX_MESSAGE = 256
NAME_RE = re.compile(r"[A-Za-z0-9._:@+-]{1,32}")
_INTEGER = re.compile(r"[0-9]+")
_DECIMAL = re.compile(r"[0-9]+(?:\.[0-9]+)?")
MIN_TIMEOUT, MAX_TIMEOUT = 0.2, 86400.0
MIN_INTERVAL, MAX_INTERVAL = 0.05, 3600.0

_FORMS = {
    "HELLO": "LB1 HELLO name=NAME interval=S [timeout=S]",
    "BEAT": "LB1 BEAT seq=N at=T took=S",
    "BYE": "LB1 BYE",
    "OK": "LB1 OK clt=N to=S",
    "REFUSED": "LB1 REFUSED reason=WORD",
}


@dataclass(frozen=True, slots=True)
class Hello:
    """A client introduces itself under its own name, interval and (optional) timeout."""

    name: str
    interval: float
    timeout: float | None = None


@dataclass(frozen=True, slots=True)
class Beat:
    """One heartbeat: sequence number, when the page was had, how long that took."""

    seq: int
    at: float
    took: float


@dataclass(frozen=True, slots=True)
class Bye:
    """The client exits cleanly and deregisters."""


@dataclass(frozen=True, slots=True)
class Accepted:
    """The monitor's answer to a HELLO: the client number and the timeout it applies."""

    clt: int
    timeout: float


@dataclass(frozen=True, slots=True)
class Refused:
    """The monitor's refusal; it closes the connection after sending it."""

    reason: str


Message = Hello | Beat | Bye | Accepted | Refused


def _num(value: float) -> str:
    text = f"{value:.6f}".rstrip("0").rstrip(".")
    return text or "0"


def encode(message: Message) -> bytes:
    """The packet for a message.

    >>> encode(Hello(name="hbd", interval=1.0, timeout=30.0))
    b'LB1 HELLO name=hbd interval=1 timeout=30'
    """
    match message:
        case Hello(name=name, interval=interval, timeout=timeout):
            text = f"HELLO name={name} interval={_num(interval)}"
            if timeout is not None:
                text += f" timeout={_num(timeout)}"
        case Beat(seq=seq, at=at, took=took):
            text = f"BEAT seq={seq} at={_num(at)} took={_num(took)}"
        case Bye():
            text = "BYE"
        case Accepted(clt=clt, timeout=timeout):
            text = f"OK clt={clt} to={_num(timeout)}"
        case Refused(reason=reason):
            text = f"REFUSED reason={reason}"
    return f"{VERSION} {text}".encode("ascii")


def decode(data: bytes, *, path: str) -> Message:
    """Parse one packet.

    Args:
        data: the packet as received.
        path: the socket it came from, for the error message.

    Raises:
        ParseError: the packet is not one of the forms above.
    """
    text = data.decode("ascii", "replace")
    words = text.split(" ")
    kind = words[1] if len(words) > 1 and words[0] == VERSION else ""
    form = _FORMS.get(kind, "LB1 HELLO|BEAT|BYE|OK|REFUSED ...")
    fields: dict[str, str] = {}
    for word in words[2:]:
        key, eq, value = word.partition("=")
        if not eq or not value or key in fields:
            raise ParseError(f"expected {form!r}", path=path, line=text)
        fields[key] = value
    message = None if len(data) > MAX_MESSAGE else _build(kind, fields, path)
    if message is None:
        raise ParseError(f"expected {form!r}", path=path, line=text)
    return message


def _decimal(f: dict[str, str], key: str, low: float, high: float, path: str) -> float:
    """A plain decimal within [low, high]; anything else names the field."""
    value = f[key]
    if not _DECIMAL.fullmatch(value):
        raise ParseError(
            f"{key}: expected a plain decimal number (such as 1 or 0.5)", path=path, line=value
        )
    number = float(value)
    if not low <= number <= high:
        raise ParseError(f"{key}: expected {low:g} to {high:g}", path=path, line=value)
    return number


def _integer(f: dict[str, str], key: str, path: str) -> int:
    value = f[key]
    if not _INTEGER.fullmatch(value):
        raise ParseError(
            f"{key}: expected a plain decimal number (such as 1 or 0.5)", path=path, line=value
        )
    return int(value)


def _build(kind: str, f: dict[str, str], path: str) -> Message | None:
    keys = set(f)
    if kind == "HELLO" and keys in ({"name", "interval"}, {"name", "interval", "timeout"}):
        if not NAME_RE.fullmatch(f["name"]):
            return None
        return Hello(
            name=f["name"],
            interval=_decimal(f, "interval", MIN_INTERVAL, MAX_INTERVAL, path),
            timeout=None
            if "timeout" not in f
            else _decimal(f, "timeout", MIN_TIMEOUT, MAX_TIMEOUT, path),
        )
    if kind == "BEAT" and keys == {"seq", "at", "took"}:
        return Beat(
            seq=_integer(f, "seq", path),
            at=_decimal(f, "at", 0.0, 1e11, path),
            took=_decimal(f, "took", 0.0, 1e6, path),
        )
    if kind == "BYE" and not keys:
        return Bye()
    if kind == "OK" and keys == {"clt", "to"}:
        return Accepted(
            clt=_integer(f, "clt", path), timeout=_decimal(f, "to", 0.0, MAX_TIMEOUT, path)
        )
    if kind == "REFUSED" and keys == {"reason"}:
        return Refused(reason=f["reason"])
    return None
