"""The monitor's table of heartbeat clients: bounded, and driven by a monotonic clock.

The table holds at most ``max_clients`` entries (a connection that has not said HELLO yet
takes a slot too) and each entry keeps at most ``history`` beats, so no number of
connections or beats makes it grow. Time is passed in by the caller (``now``, monotonic
seconds), which keeps the table free of I/O and easy to test.

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
    alerted: int = 0
    bad: int = 0
    history: deque[BeatRecord] = field(default_factory=deque)


class ClientTable:
    """Bounded client registry.

    Args:
        max_clients: most connections held at once (pending ones included).
        default_timeout: seconds, for clients whose HELLO names none.
        history: beats kept per client.
        hello_timeout: seconds a connection may stay silent before its HELLO.
    """

    def __init__(
        self,
        *,
        max_clients: int,
        default_timeout: float,
        history: int = 16,
        hello_timeout: float = 5.0,
    ) -> None:
        self._slots: list[_Client | None] = [None] * max_clients
        self._by_key: dict[int, _Client] = {}
        self.default_timeout = default_timeout
        self._history = history
        self._hello_timeout = hello_timeout

    def open(self, key: int, cred: PeerCred, *, starttime: int | None, now: float) -> int | None:
        """Take a slot for a new connection; returns its client number, None when full."""
        for index, slot in enumerate(self._slots):
            if slot is None:
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
        return None

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
        client.last, client.state, client.alerted = now, ClientState.ALIVE, 0
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
            elif t >= max(2 * client.interval, 1.0) and int(t) > client.alerted:
                if client.state is ClientState.ALIVE:
                    client.state = ClientState.LATE
                client.alerted = int(t)
                events.append(Event(EventKind.LATE, self._view(client, now), client.key))
        return events

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
