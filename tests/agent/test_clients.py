"""The client table on a clock the test moves: late, lost, resumed, gone, deregistered; its
bounds; and the slots each uid may hold."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lostbeat.agent._linux import PeerCred
from lostbeat.agent.clients import ROOT_ROOM, ClientState, ClientTable, EventKind, Refusal
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
    assert table.open(13, CRED, starttime=None, now=0.0) is Refusal.FULL
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


def _fill(table: ClientTable, uid: int, tries: int, first_key: int) -> tuple[int, set[Refusal]]:
    """Open ``tries`` connections of ``uid``; returns how many were taken and the refusals."""
    taken, refusals = 0, set()
    for key in range(first_key, first_key + tries):
        got = table.open(key, PeerCred(pid=key, uid=uid, gid=uid), starttime=None, now=0.0)
        if isinstance(got, Refusal):
            refusals.add(got)
        else:
            taken += 1
    return taken, refusals


def test_each_other_uid_holds_at_most_its_share_and_root_keeps_its_room() -> None:
    assert ROOT_ROOM == 2
    table = ClientTable(max_clients=8, default_timeout=30.0, allowed=frozenset({0, 1000, 1001}))
    assert table.per_uid == 3  # (8 - 2 kept for root) / 2 other uids
    assert _fill(table, 1000, 10, 100) == (3, {Refusal.QUOTA})
    assert _fill(table, 1001, 10, 200) == (3, {Refusal.QUOTA})
    assert _fill(table, 0, 10, 300) == (2, {Refusal.FULL})


def test_a_larger_quota_still_keeps_one_slot_for_each_uid_that_has_none() -> None:
    table = ClientTable(
        max_clients=8, default_timeout=30.0, allowed=frozenset({0, 1000, 1001}), per_uid=8
    )
    assert _fill(table, 1000, 10, 100) == (5, {Refusal.FULL})  # 2 kept for root, 1 for 1001
    assert _fill(table, 1001, 10, 200) == (1, {Refusal.FULL})
    assert _fill(table, 0, 10, 300) == (2, {Refusal.FULL})
    table.close(100, clean=True, now=1.0)  # one of 1000's slots frees: root may take it
    assert _fill(table, 0, 2, 400) == (1, {Refusal.FULL})


def test_root_keeps_one_slot_for_each_other_uid_that_has_none() -> None:
    table = ClientTable(max_clients=8, default_timeout=30.0, allowed=frozenset({0, 1000}))
    assert _fill(table, 0, 10, 100) == (7, {Refusal.FULL})
    assert _fill(table, 1000, 10, 200) == (1, {Refusal.FULL})


def test_room_needed_for_the_allowed_uids() -> None:
    assert ClientTable.room_needed(frozenset({0})) == 1
    assert ClientTable.room_needed(frozenset({0, 1000, 1001})) == ROOT_ROOM + 2
    assert ClientTable.room_needed(frozenset({1000, 1001})) == 2
    assert ClientTable.room_needed(frozenset({1000})) == 1


def test_a_client_that_never_beats_is_late_a_few_times_then_ever_less_often() -> None:
    table = ClientTable(max_clients=2, default_timeout=30.0)
    table.open(10, CRED, starttime=None, now=0.0)
    table.hello(10, Hello(name="quiet", interval=0.05, timeout=86400.0), now=0.0)
    late = []
    for step in range(1, 4001):  # 2000 s, a tick every half second
        late += [int(e.client.since) for e in table.tick(step * 0.5, alive=alive)]
    assert late == [1, 2, 3, 4, 5, 10, 20, 40, 80, 160, 320, 640, 1280]
    table.beat(10, Beat(seq=1, at=1.0, took=0.0), now=2000.0, uptime=1.0)
    again = [int(e.client.since) for s in range(1, 8) for e in table.tick(2000 + s, alive=alive)]
    assert again == [1, 2, 3, 4, 5]  # a new silence is reported from its start again


@settings(max_examples=300, deadline=None)
@given(
    max_clients=st.integers(min_value=5, max_value=12),
    per_uid=st.one_of(st.none(), st.integers(min_value=1, max_value=12)),
    steps=st.lists(st.tuples(st.booleans(), st.sampled_from([0, 1, 2, 3])), max_size=60),
)
def test_root_and_every_uid_without_a_slot_always_get_one(
    max_clients: int, per_uid: int | None, steps: list[tuple[bool, int]]
) -> None:
    allowed = frozenset({0, 1, 2, 3})
    table = ClientTable(max_clients=max_clients, default_timeout=30.0, allowed=allowed,
                        per_uid=per_uid)  # fmt: skip
    keys: dict[int, list[int]] = {uid: [] for uid in allowed}
    for n, (opening, uid) in enumerate(steps):
        if opening:
            got = table.open(n, PeerCred(pid=n, uid=uid, gid=uid), starttime=None, now=0.0)
            if not isinstance(got, Refusal):
                keys[uid].append(n)
        elif keys[uid]:
            table.close(keys[uid].pop(), clean=True, now=0.0)
        for other in allowed:  # a trial connection of each uid that is owed room
            owed = table.held(other) < (ROOT_ROOM if other == 0 else 1)
            if owed:
                trial = PeerCred(pid=-1, uid=other, gid=other)
                assert not isinstance(table.open(-1, trial, starttime=None, now=0.0), Refusal)
                table.close(-1, clean=True, now=0.0)
        assert all(table.held(u) <= table.per_uid for u in allowed - {0})
