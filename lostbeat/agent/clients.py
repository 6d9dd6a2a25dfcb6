"""The monitor's table of heartbeat clients: bounded, and driven by a monotonic clock.

The table holds at most ``max_clients`` entries (a connection that has not said HELLO yet
takes a slot too) and each entry keeps at most ``history`` beats, so no number of
connections or beats makes it grow. Time is passed in by the caller (``now``, monotonic
seconds), which keeps the table free of I/O and easy to test.

No allowed uid can crowd another out: a uid other than root holds at most ``per_uid``
slots (by default an equal share of what is left once :data:`ROOT_ROOM` slots are kept
for root), and a connection is admitted only if the free slots left after it still cover
root's room (:data:`ROOT_ROOM` less the slots root holds) and one slot for each other
allowed uid that holds none. Every admission keeps that cover, so root can always hold
:data:`ROOT_ROOM` slots and every allowed uid one, whatever the others do.

A late client is reported once a second for its first :data:`LATE_LINES` whole seconds,
then each time its silence has doubled, so a client that never beats costs a few lines a
day, not one a second.

States of a client::

    PENDING --HELLO--> ALIVE <--beat-- LATE --timeout--> LOST --beat--> ALIVE (resumed)
       |                 |  \\--BYE--> removed (deregistered)
       |                 \\--connection closed--> DISCONNECTED --process gone--> removed (gone)
       \\--no HELLO in time--> removed
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum

from lostbeat.agent._linux import PeerCred
from lostbeat.agent.protocol import Beat, Hello

ROOT_ROOM = 2  # root's hbd, and its reconnection while its old slot waits out its timeout
LATE_LINES = 5


class Refusal(StrEnum):
    """Why a connection gets no slot (the ``reason`` word of ``LB1 REFUSED``)."""

    FULL = "too-many-clients"  # no free slot, or only the ones kept for others
    QUOTA = "uid-quota"  # this uid holds its share


class ClientState(StrEnum):
    PENDING = "pending"  # connected, no HELLO yet
    ALIVE = "alive"
    LATE = "late"  # a beat is overdue, the timeout has not passed
    LOST = "lost"  # the timeout passed: the heartbeat is declared lost
    DISCONNECTED = "disconnected"  # connection closed without BYE, process still there


class EventKind(StrEnum):
    REGISTERED = "registered"
    DEREGISTERED = "deregistered"
    LATE = "late"
    LOST = "lost"
    RESUMED = "resumed"
    GONE = "gone"  # the client's process exited without BYE: not a hang


@dataclass(frozen=True, slots=True)
class BeatRecord:
    """One beat as the monitor received it."""

    seq: int
    at: float  # wall clock (Unix seconds) when the client had its page
    took: float  # seconds the client's map/write/unmap took
    received: float  # monitor's monotonic clock
    received_uptime: float  # host uptime when received


@dataclass(frozen=True, slots=True)
class ClientView:
    """A read-only copy of one client, for log lines, the screen and tests."""

    clt: int
    name: str
    pid: int
    uid: int
    state: ClientState
    interval: float
    timeout: float
    since: float  # seconds since the last beat (or since HELLO, before the first)
    beats: int
    history: tuple[BeatRecord, ...]


@dataclass(frozen=True, slots=True)
class Event:
    """Something the monitor must log (and, for LOST, act on)."""

    kind: EventKind
    client: ClientView
    key: int | None  # the connection, while it is open


@dataclass(slots=True)
class _Client:
    clt: int
    key: int | None
    cred: PeerCred
    starttime: int | None
    last: float
    name: str = "?"
    interval: float = 1.0
    timeout: float = 30.0
    state: ClientState = ClientState.PENDING
    beats: int = 0
    alerted: int = 0  # whole seconds of silence at the last LATE event
    late: int = 0  # LATE events since the last beat
    bad: int = 0
    history: deque[BeatRecord] = field(default_factory=deque)


class ClientTable:
    """Bounded client registry.

    Args:
        max_clients: most connections held at once (pending ones included).
        default_timeout: seconds, for clients whose HELLO names none.
        history: beats kept per client.
        hello_timeout: seconds a connection may stay silent before its HELLO.
        allowed: the uids allowed to connect (the others never reach the table).
        per_uid: most slots one uid other than root may hold; None for an equal share.
    """

    def __init__(
        self,
        *,
        max_clients: int,
        default_timeout: float,
        history: int = 16,
        hello_timeout: float = 5.0,
        allowed: frozenset[int] = frozenset({0}),
        per_uid: int | None = None,
    ) -> None:
        self._slots: list[_Client | None] = [None] * max_clients
        self._by_key: dict[int, _Client] = {}
        self.default_timeout = default_timeout
        self._history = history
        self._hello_timeout = hello_timeout
        self._allowed = allowed
        others = len(allowed - {0})
        share = (max_clients - (ROOT_ROOM if 0 in allowed else 0)) // max(others, 1)
        self.per_uid = per_uid if per_uid is not None else max(share, 1)

    @staticmethod
    def room_needed(allowed: frozenset[int]) -> int:
        """The fewest slots that leave room for every allowed uid."""
        others = len(allowed - {0})
        return (ROOT_ROOM if 0 in allowed else 0) + others if others else 1

    def held(self, uid: int) -> int:
        """Slots the uid holds (pending, registered, and closed ones still watched)."""
        return sum(1 for c in self._slots if c is not None and c.cred.uid == uid)

    def _refusal(self, uid: int) -> Refusal | None:
        held: dict[int, int] = {}
        for c in self._slots:
            if c is not None:
                held[c.cred.uid] = held.get(c.cred.uid, 0) + 1
        if uid != 0 and held.get(uid, 0) >= self.per_uid:
            return Refusal.QUOTA
        keep = sum(1 for other in self._allowed - {0, uid} if not held.get(other))
        if uid != 0 and 0 in self._allowed:
            # root's hang must never go unwatched for want of a slot
            keep += max(ROOT_ROOM - held.get(0, 0), 0)
        free = len(self._slots) - sum(held.values())
        return Refusal.FULL if free <= keep else None

    def open(self, key: int, cred: PeerCred, *, starttime: int | None, now: float) -> int | Refusal:
        """Take a slot for a new connection; returns its client number, or why not."""
        refusal = self._refusal(cred.uid)
        if refusal is not None:
            return refusal
        index = self._slots.index(None)  # there is one: the refusal counted the free slots
        client = _Client(
            clt=index + 1,
            key=key,
            cred=cred,
            starttime=starttime,
            last=now,
            history=deque(maxlen=self._history),
        )
        self._slots[index] = self._by_key[key] = client
        return client.clt

    def hello(self, key: int, message: Hello, *, now: float) -> Event | None:
        """Register a connection's client; None if it had already said HELLO."""
        client = self._by_key[key]
        if client.state is not ClientState.PENDING:
            return None
        client.name, client.interval = message.name, message.interval
        client.timeout = message.timeout if message.timeout is not None else self.default_timeout
        client.state, client.last = ClientState.ALIVE, now
        return Event(EventKind.REGISTERED, self._view(client, now), key)

    def beat(self, key: int, message: Beat, *, now: float, uptime: float) -> Event | None:
        """Record a beat. Returns RESUMED after a loss, else None.

        Raises:
            KeyError: the connection has not said HELLO (a protocol error).
        """
        client = self._by_key[key]
        if client.state is ClientState.PENDING:
            raise KeyError(key)
        was_lost = client.state is ClientState.LOST
        t = now - client.last
        client.history.append(BeatRecord(message.seq, message.at, message.took, now, uptime))
        client.beats += 1
        client.last, client.state, client.alerted, client.late = now, ClientState.ALIVE, 0, 0
        if was_lost:
            return Event(EventKind.RESUMED, self._view(client, now, since=t), key)
        return None

    def bad_message(self, key: int) -> int:
        """Count a malformed packet on a connection; returns the count so far."""
        client = self._by_key[key]
        client.bad += 1
        return client.bad

    def close(self, key: int, *, clean: bool, now: float) -> Event | None:
        """The connection ended: with BYE (``clean``) the client deregisters."""
        client = self._by_key.pop(key)
        client.key = None
        if client.state is ClientState.PENDING or clean:
            self._slots[client.clt - 1] = None
            if client.state is ClientState.PENDING:
                return None
            return Event(EventKind.DEREGISTERED, self._view(client, now), None)
        if client.state is not ClientState.LOST:
            client.state = ClientState.DISCONNECTED
        else:
            self._slots[client.clt - 1] = None  # already declared; nothing more to watch
        return None

    def expired(self, now: float) -> list[int]:
        """Connections that did not say HELLO in time; the caller closes them."""
        return [
            c.key
            for c in self._by_key.values()
            if c.state is ClientState.PENDING
            and now - c.last > self._hello_timeout
            and c.key is not None
        ]

    def tick(self, now: float, *, alive: Callable[[int, int | None], bool]) -> list[Event]:
        """Check every deadline; returns the events due, in client order.

        Args:
            now: monotonic seconds.
            alive: tells whether a (pid, starttime) process still exists and is not a zombie.
        """
        events: list[Event] = []
        for client in self._slots:
            if client is None or client.state in (ClientState.PENDING, ClientState.LOST):
                continue
            t = now - client.last
            overdue = client.state is ClientState.DISCONNECTED or t >= client.timeout
            if overdue and not alive(client.cred.pid, client.starttime):
                events.append(Event(EventKind.GONE, self._view(client, now), client.key))
                self._drop(client)
                continue
            if t >= client.timeout:
                client.state = ClientState.LOST
                events.append(Event(EventKind.LOST, self._view(client, now), client.key))
                if client.key is None:
                    self._slots[client.clt - 1] = None
            elif t >= max(2 * client.interval, 1.0) and self._late_due(client, int(t)):
                if client.state is ClientState.ALIVE:
                    client.state = ClientState.LATE
                client.alerted, client.late = int(t), client.late + 1
                events.append(Event(EventKind.LATE, self._view(client, now), client.key))
        return events

    @staticmethod
    def _late_due(client: _Client, seconds: int) -> bool:
        """Once a second for the first LATE_LINES, then each time the silence doubles."""
        if client.late < LATE_LINES:
            return seconds > client.alerted
        return seconds >= 2 * client.alerted

    def _drop(self, client: _Client) -> None:
        self._slots[client.clt - 1] = None
        if client.key is not None:
            self._by_key.pop(client.key, None)

    def views(self, now: float) -> tuple[ClientView, ...]:
        """Every registered client (pending connections left out)."""
        return tuple(
            self._view(c, now)
            for c in self._slots
            if c is not None and c.state is not ClientState.PENDING
        )

    def __len__(self) -> int:
        return sum(1 for c in self._slots if c is not None)

    @staticmethod
    def _view(client: _Client, now: float, *, since: float | None = None) -> ClientView:
        return ClientView(
            clt=client.clt,
            name=client.name,
            pid=client.cred.pid,
            uid=client.cred.uid,
            state=client.state,
            interval=client.interval,
            timeout=client.timeout,
            since=now - client.last if since is None else since,
            beats=client.beats,
            history=tuple(client.history),
        )
