"""The client table on a clock the test moves: late, lost, resumed, gone, deregistered; and
its bounds."""

from __future__ import annotations

import pytest

from lostbeat.agent._linux import PeerCred
from lostbeat.agent.clients import ClientState, ClientTable, EventKind
from lostbeat.agent.protocol import Beat, Hello

CRED = PeerCred(pid=4242, uid=0, gid=0)


def alive(pid: int, starttime: int | None) -> bool:
    return True


def dead(pid: int, starttime: int | None) -> bool:
    return False


def table_with_client(timeout: float = 5.0, **kw: int) -> ClientTable:
    table = ClientTable(max_clients=kw.get("max_clients", 4), default_timeout=30.0,
                        history=kw.get("history", 16))  # fmt: skip
    assert table.open(10, CRED, starttime=7, now=0.0) == 1
    event = table.hello(10, Hello(name="hbd", interval=1.0, timeout=timeout), now=0.0)
    assert event is not None and event.kind is EventKind.REGISTERED
    return table


def test_late_alerts_once_per_second_then_lost_once() -> None:
    table = table_with_client()
    table.beat(10, Beat(seq=1, at=1.0, took=0.0), now=1.0, uptime=100.0)
    kinds = []
    for step in range(1, 80):
        now = 1.0 + step * 0.1
        kinds += [
            (round(now, 1), e.kind, int(e.client.since)) for e in table.tick(now, alive=alive)
        ]
    assert kinds == [
        (3.0, EventKind.LATE, 2),
        (4.0, EventKind.LATE, 3),
        (5.0, EventKind.LATE, 4),
        (6.0, EventKind.LOST, 5),
    ]
    (view,) = table.views(9.0)
    assert view.state is ClientState.LOST and view.history[0].received_uptime == 100.0


def test_a_beat_after_the_loss_resumes() -> None:
    table = table_with_client()
    assert [e.kind for e in table.tick(5.0, alive=alive)] == [EventKind.LOST]
    event = table.beat(10, Beat(seq=2, at=1.0, took=0.0), now=7.5, uptime=1.0)
    assert event is not None and event.kind is EventKind.RESUMED and event.client.since == 7.5
    assert table.tick(8.0, alive=alive) == []


def test_bye_deregisters_and_frees_the_slot() -> None:
    table = table_with_client()
    event = table.close(10, clean=True, now=1.0)
    assert event is not None and event.kind is EventKind.DEREGISTERED
    assert len(table) == 0 and table.tick(100.0, alive=alive) == []


def test_closed_without_bye_and_process_gone_is_gone_not_lost() -> None:
    table = table_with_client()
    assert table.close(10, clean=False, now=1.0) is None
    (event,) = table.tick(1.1, alive=dead)
    assert event.kind is EventKind.GONE and event.key is None
    assert len(table) == 0


def test_closed_without_bye_but_process_alive_is_lost_at_the_timeout() -> None:
    table = table_with_client()
    table.close(10, clean=False, now=1.0)
    assert [e.kind for e in table.tick(4.0, alive=alive)] == [EventKind.LATE]
    assert [e.kind for e in table.tick(5.0, alive=alive)] == [EventKind.LOST]
    assert len(table) == 0


def test_a_connected_client_whose_process_died_is_gone_at_the_timeout() -> None:
    table = table_with_client()
    (event,) = table.tick(5.0, alive=dead)
    assert event.kind is EventKind.GONE and event.key == 10


def test_slots_and_history_are_bounded() -> None:
    table = table_with_client(max_clients=3, history=4)
    assert table.open(11, CRED, starttime=None, now=0.0) == 2
    assert table.open(12, CRED, starttime=None, now=0.0) == 3
    assert table.open(13, CRED, starttime=None, now=0.0) is None  # full
    for seq in range(10_000):
        table.beat(10, Beat(seq=seq, at=0.0, took=0.0), now=seq * 1e-4, uptime=0.0)
    (view,) = table.views(1.0)
    assert view.beats == 10_000 and [b.seq for b in view.history] == [9996, 9997, 9998, 9999]
    table.close(11, clean=False, now=0.0)  # pending: frees its slot silently
    assert table.open(14, CRED, starttime=None, now=0.0) == 2


def test_pending_connections_expire_and_beats_need_hello() -> None:
    table = ClientTable(max_clients=2, default_timeout=3.0, hello_timeout=5.0)
    table.open(20, CRED, starttime=None, now=0.0)
    with pytest.raises(KeyError):
        table.beat(20, Beat(seq=1, at=0.0, took=0.0), now=1.0, uptime=0.0)
    assert table.expired(4.0) == [] and table.expired(5.5) == [20]
    event = table.hello(20, Hello(name="x", interval=1.0), now=6.0)
    assert event is not None and event.client.timeout == 3.0  # the monitor's default
    assert table.hello(20, Hello(name="x", interval=1.0), now=6.0) is None  # only once
