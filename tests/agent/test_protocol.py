"""The beat protocol: every message round-trips; anything else is a ParseError, never a crash."""

from __future__ import annotations

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
    assert str(caught.value).startswith("/run/lostbeat/hb.sock: expected 'LB1 ")


@given(st.binary(max_size=MAX_MESSAGE + 8))
def test_arbitrary_bytes_decode_or_raise_parse_error(packet: bytes) -> None:
    try:
        message = decode(packet, path="s")
    except ParseError:
        return
    assert decode(encode(message), path="s") == message
