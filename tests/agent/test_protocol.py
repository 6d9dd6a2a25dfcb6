"""The beat protocol: every message round-trips; anything else is a ParseError, never a crash;
and its numbers are plain decimals, nothing else Python's int() or float() would take."""

from __future__ import annotations

import socket
from typing import TYPE_CHECKING

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lostbeat.agent.protocol import (
    MAX_MESSAGE,
    Accepted,
    Beat,
    Bye,
    Hello,
    Refused,
    decode,
    encode,
)
from lostbeat.errors import ParseError

if TYPE_CHECKING:
    from conftest import Agent

MESSAGES = [
    Hello(name="lostbeat-hbd", interval=1.0, timeout=30.0),
    Hello(name="ha:agent@host", interval=0.05),
    Beat(seq=1, at=1732550000.123456, took=0.000041),
    Bye(),
    Accepted(clt=3, timeout=30.0),
    Refused(reason="uid-not-allowed"),
]


@pytest.mark.parametrize("message", MESSAGES, ids=lambda m: type(m).__name__)
def test_every_message_round_trips(message: object) -> None:
    packet = encode(message)  # type: ignore[arg-type]
    assert len(packet) <= MAX_MESSAGE
    assert decode(packet, path="s") == message


@pytest.mark.parametrize(
    "packet",
    [
        b"",
        b"LB2 BYE",
        b"LB1",
        b"LB1 BYE now",
        b"LB1 HELLO name=has space interval=1",
        b"LB1 HELLO name= interval=1",
        b"LB1 HELLO name=x interval=0",
        b"LB1 HELLO name=x interval=1 timeout=nan",
        b"LB1 HELLO name=x interval=1 timeout=1e9",
        b"LB1 HELLO name=" + b"n" * 33 + b" interval=1",
        b"LB1 BEAT seq=-1 at=1 took=0",
        b"LB1 BEAT seq=1 seq=2 at=1 took=0",
        b"LB1 BEAT seq=1 at=inf took=0",
        b"LB1 BEAT seq=1 at=1",
        b"LB1 BEAT seq=1 at=1 took=0 " + b"x=1 " * 80,
        b"\xff\xfe",
    ],
)
def test_malformed_packets_are_parse_errors_naming_the_socket(packet: bytes) -> None:
    with pytest.raises(ParseError) as caught:
        decode(packet, path="/run/lostbeat/hb.sock")
    message = str(caught.value)
    assert message.startswith("/run/lostbeat/hb.sock: ") and ": expected " in message, message


@given(st.binary(max_size=MAX_MESSAGE + 8))
def test_arbitrary_bytes_decode_or_raise_parse_error(packet: bytes) -> None:
    try:
        message = decode(packet, path="s")
    except ParseError:
        return
    assert decode(encode(message), path="s") == message


NOT_PLAIN = ["1_0", "+1", "-1", "1e3", "1E3", "0x10", "1.", ".5", "1..5", "\t1", "1\n", "\u0661",
             "\u00b2", "\uff11", "inf", "nan", "Infinity", "1,5", "1.5.5", "0b1", "\u0661.5"]  # fmt: skip


@pytest.mark.parametrize("number", NOT_PLAIN, ids=ascii)
@pytest.mark.parametrize(
    ("field", "template"),
    [
        ("interval", "LB1 HELLO name=x interval={} timeout=5"),
        ("timeout", "LB1 HELLO name=x interval=1 timeout={}"),
        ("seq", "LB1 BEAT seq={} at=1 took=0"),
        ("at", "LB1 BEAT seq=1 at={} took=0"),
        ("took", "LB1 BEAT seq=1 at=1 took={}"),
        ("clt", "LB1 OK clt={} to=5"),
        ("to", "LB1 OK clt=1 to={}"),
    ],
)
def test_numbers_are_plain_decimals_only(field: str, template: str, number: str) -> None:
    with pytest.raises(ParseError) as caught:
        decode(template.format(number).encode(), path="hb.sock")
    message = str(caught.value)
    assert message.startswith(f"hb.sock: {field}: expected a plain decimal number"), message


def test_plain_decimals_are_taken_as_written() -> None:
    assert decode(b"LB1 HELLO name=x interval=007 timeout=0.25", path="s") == Hello(
        name="x", interval=7.0, timeout=0.25
    )
    assert decode(b"LB1 BEAT seq=0 at=1732550000.123456 took=0", path="s") == Beat(
        seq=0, at=1732550000.123456, took=0.0
    )


@pytest.mark.timeout(30)
def test_the_monitor_refuses_a_hello_whose_interval_is_not_plain(agent: Agent) -> None:
    monitor = agent.monitor("--cores", "0")
    with socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET) as conn:
        conn.settimeout(10)
        conn.connect(str(agent.socket))
        for bad in (b"1_0", b"+1", b"1e1", "\u0661".encode()):
            conn.send(b"LB1 HELLO name=x interval=" + bad + b" timeout=7")
        conn.send(b"LB1 HELLO name=x interval=10 timeout=9")
        assert conn.recv(64) == b"LB1 OK clt=1 to=9"  # the first HELLO taken was the plain one
    monitor.wait_line(
        r"HB: bad message from pid=\d+ uid=0: .*hb.sock: interval: expected a plain decimal "
        r"number \(such as 1 or 0.5\), got '1_0'"
    )
