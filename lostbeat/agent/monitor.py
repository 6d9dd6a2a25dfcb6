"""The protected monitor: keeps each client's last beat, declares a lost heartbeat, captures.

One thread, one ``epoll`` loop over a ``SOCK_SEQPACKET`` UNIX socket. Each turn reads what
is ready (at most :data:`BURST` packets per connection, so no client can starve the
rest), then checks every deadline on the monotonic clock. A client whose last beat is older
than its timeout is declared lost, the capture is written and fsync'ed, and only then does
the action run.

Bounded by construction: at most ``max_clients`` connections (one more is refused), shared
so that no allowed uid can crowd out root or another uid (``lostbeat.agent.clients``), at
most 16 beats of history per client, one fixed receive buffer, a fixed-size log ring, one
log line per second per kind of complaint, the lines about one uid's clients held to a
burst and then one a second (root's excepted), and a connection that keeps sending
malformed packets is dropped after :data:`MAX_BAD`. ``--min-capture-interval`` applies per
uid, so that another uid's loss does not use up the capture of root's.
"""

from __future__ import annotations

import dataclasses
import os
import selectors
import signal
import socket
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from lostbeat import __version__
from lostbeat.agent import cgroup as cg
from lostbeat.agent._linux import boottime, current_cpu, peer_credentials, set_comm
from lostbeat.agent.actions import Action, ActionKind, run_action
from lostbeat.agent.alerts import AlertLog
from lostbeat.agent.capture import CaptureConfig, Capturer, Incident
from lostbeat.agent.clients import ClientTable, ClientView, Event, EventKind, Refusal
from lostbeat.agent.consumers import Sampler
from lostbeat.agent.datastore import open_datastore
from lostbeat.agent.journal import alert_stream
from lostbeat.agent.listener import listen, refuse
from lostbeat.agent.protect import protect
from lostbeat.agent.protocol import (
    MAX_MESSAGE,
    Accepted,
    Beat,
    Bye,
    Hello,
    decode,
    encode,
)
from lostbeat.agent.sdnotify import Notifier
from lostbeat.errors import AgentError, InputError, ParseError
from lostbeat.procfs import Procfs

BURST = 32
MAX_BAD = 16
_ACCEPT_BURST = 64


@dataclass(frozen=True, slots=True)
class MonitorConfig:
    """Everything ``lostbeat monitor`` is told on its command line."""

    socket: Path
    datastore: Path
    timeout: float = 30.0
    action: Action = field(default_factory=lambda: Action(ActionKind.NONE))
    cgroup: str | None = None
    allow_uids: frozenset[int] = frozenset({0})
    socket_mode: int = 0o600
    socket_gid: int | None = None
    max_clients: int = 128
    max_clients_per_uid: int | None = None  # None: an equal share (lostbeat.agent.clients)
    capture: CaptureConfig | None = None
    sample_interval: float = 10.0
    min_capture_interval: float = 300.0
    action_timeout: float = 60.0
    tick: float = 0.1
    lock_memory: bool = True
    procfs_root: Path = Path("/proc")


class Monitor:
    """The monitor; :meth:`serve` runs it until SIGTERM or SIGINT."""

    def __init__(self, config: MonitorConfig, *, notifier: Notifier | None = None) -> None:
        self.config = config
        self.procfs = Procfs(config.procfs_root)
        self.log = AlertLog(
            uptime=boottime, cpu=current_cpu, pid=os.getpid(), stream=alert_stream()
        )
        self.notifier = notifier or Notifier(None)
        self.table = ClientTable(
            max_clients=config.max_clients,
            default_timeout=config.timeout,
            allowed=config.allow_uids,
            per_uid=config.max_clients_per_uid,
        )
        self._conns: dict[int, socket.socket] = {}
        self._buffer = bytearray(MAX_MESSAGE + 1)
        self._stop = False
        self._last_ping = self._last_sample = 0.0
        self._last_capture: dict[int, float] = {}  # uid -> when a loss of its was captured
        self.captures = 0

    def _prepare(self) -> tuple[cg.MemoryCgroup | None, Path, socket.socket]:
        watched = None
        if self.config.cgroup is not None:
            hierarchy = cg.memory_hierarchy(self.procfs)
            if hierarchy is None:
                raise InputError(
                    "no memory cgroup controller on this host", path=self.config.cgroup
                )
            watched = cg.resolve(self.config.cgroup, hierarchy)
        datastore = open_datastore(self.config.datastore, uid=os.geteuid())
        guard = protect(procfs=self.procfs, watched=watched, lock_memory=self.config.lock_memory)
        self.log.line(
            "Monitor",
            f"protection: mlocked={'yes' if guard.mlocked else 'no'}"
            f" oom_score_adj={guard.oom_score_adj} cgroup={guard.cgroup_after}"
            + (f" (moved out of {guard.cgroup_before})" if guard.moved else "")
            + "".join(f"; {e}" for e in (guard.mlock_error, guard.oom_error) if e),
        )
        listener = listen(
            self.config.socket, mode=self.config.socket_mode, gid=self.config.socket_gid
        )
        return watched, datastore, listener

    def stop(self, *_: object) -> None:
        """Ask :meth:`serve` to return (a signal handler)."""
        self._stop = True

    def serve(self) -> int:
        """Run until stopped; returns the exit status."""
        os.umask(0o077)  # captures and cores hold process memory: root only
        set_comm("lostbeat-mon")
        if not sys.stderr.isatty():
            # a stalled reader of our log (journald short of memory) must not stall the
            # monitor: a line that cannot be written now is dropped, and kept in the ring
            os.set_blocking(sys.stderr.fileno(), False)
        watched, datastore, listener = self._prepare()
        scope = (lambda: cg.member_pids(watched)) if watched else self.procfs.pids
        sampler = Sampler(self.procfs, scope=scope, exclude=frozenset({os.getpid()}))
        capture_config = self.config.capture or CaptureConfig(datastore=datastore)
        self.capturer = Capturer(
            procfs=self.procfs,
            config=dataclasses.replace(capture_config, datastore=datastore),
            sampler=sampler,
            cgroup=watched,
            keepalive=self._keepalive,
            say=self.log.line,
        )
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, self.stop)
        selector = selectors.DefaultSelector()
        selector.register(listener, selectors.EVENT_READ, None)
        uids = ",".join(str(u) for u in sorted(self.config.allow_uids))
        self.log.line(
            "Monitor",
            f"lostbeat {__version__} listening on {self.config.socket} timeout="
            f"{self.config.timeout:g} allow_uids={uids} scope="
            f"{'host' if watched is None else watched.path} datastore={datastore}",
        )
        self.notifier.ready(f"watching {self.config.socket}")
        try:
            checked = 0.0
            while not self._stop:
                wait = max(0.0, checked + self.config.tick - time.monotonic())
                for key, _ in selector.select(wait):
                    if key.data is None:
                        self._accept(listener, selector)
                    else:
                        self._read(key.fileobj, selector)  # type: ignore[arg-type]
                now = time.monotonic()
                if now - checked < self.config.tick:
                    continue  # deadlines are checked once a tick, not after every packet
                checked = now
                for fd in self.table.expired(now):
                    self.log.limited(
                        "hello", "HB", "dropped a connection: no HELLO in time", now=now
                    )
                    self._close(fd, selector, clean=False)
                self._deadlines(now, selector)
                self._keepalive()
                if now - self._last_sample >= self.config.sample_interval:
                    self._last_sample = now
                    sampler.sample()
        finally:
            self.notifier.stopping()
            for fd in list(self._conns):
                self._conns.pop(fd).close()
            listener.close()
            self.config.socket.unlink(missing_ok=True)
            self.log.line("Monitor", "stopped")
        return 0

    def _keepalive(self) -> None:
        interval = self.notifier.watchdog_interval
        now = time.monotonic()
        if interval is not None and now - self._last_ping >= interval / 2:
            self._last_ping = now
            self.notifier.watchdog()

    def _accept(self, listener: socket.socket, selector: selectors.BaseSelector) -> None:
        now = time.monotonic()
        for _ in range(_ACCEPT_BURST):
            try:
                conn, _ = listener.accept()
            except (BlockingIOError, InterruptedError):
                return
            conn.setblocking(False)
            cred = peer_credentials(conn)
            if cred.uid not in self.config.allow_uids:
                refuse(conn, "uid-not-allowed")
                self.log.limited(
                    "uid", "HB", f"refused pid={cred.pid} uid={cred.uid}: uid not allowed", now=now
                )
                continue
            try:
                starttime: int | None = self.procfs.stat(cred.pid).starttime
            except AgentError:
                starttime = None
            taken = self.table.open(conn.fileno(), cred, starttime=starttime, now=now)
            if isinstance(taken, Refusal):
                refuse(conn, taken)
                free = self.config.max_clients - len(self.table)
                why = (
                    f"uid {cred.uid} holds {self.table.per_uid} clients, its share"
                    if taken is Refusal.QUOTA
                    else f"{len(self.table)} clients already"
                    + (f", {free} kept for root and uids that hold none" if free else "")
                )
                self.log.limited(
                    taken.name.lower(),
                    "HB",
                    f"refused pid={cred.pid} uid={cred.uid}: {why}",
                    now=now,
                )
                continue
            self._conns[conn.fileno()] = conn
            selector.register(conn, selectors.EVENT_READ, conn.fileno())

    def _read(self, conn: socket.socket, selector: selectors.BaseSelector) -> None:
        fd = conn.fileno()
        for _ in range(BURST):
            try:
                size = conn.recv_into(self._buffer)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                size = 0
            if size == 0:
                self._close(fd, selector, clean=False)
                return
            now = time.monotonic()
            try:
                message = decode(bytes(self._buffer[:size]), path=str(self.config.socket))
                if isinstance(message, Hello):
                    event = self.table.hello(fd, message, now=now)
                    if event is None:
                        raise ParseError(
                            "expected one HELLO per connection", path=str(self.config.socket)
                        )
                    conn.send(encode(Accepted(event.client.clt, event.client.timeout)))
                    self._report(event)
                elif isinstance(message, Beat):
                    try:
                        resumed = self.table.beat(fd, message, now=now, uptime=boottime())
                    except KeyError:
                        raise ParseError(
                            "expected HELLO before BEAT", path=str(self.config.socket)
                        ) from None
                    if resumed is not None:
                        self._report(resumed)
                elif isinstance(message, Bye):
                    self._close(fd, selector, clean=True)
                    return
                else:
                    raise ParseError("expected HELLO, BEAT or BYE", path=str(self.config.socket))
            except ParseError as err:
                if self._bad(fd, err, selector, now):
                    return
            except OSError:
                self._close(fd, selector, clean=False)
                return

    def _bad(self, fd: int, err: ParseError, selector: selectors.BaseSelector, now: float) -> bool:
        count = self.table.bad_message(fd)
        peer = self._peer(fd)
        self.log.limited("bad", "HB", f"bad message from {peer}: {err}", now=now)
        if count >= MAX_BAD:
            self.log.limited("drop", "HB", f"dropped {peer}: {count} bad messages", now=now)
            self._close(fd, selector, clean=False)
            return True
        return False

    def _peer(self, fd: int) -> str:
        conn = self._conns.get(fd)
        if conn is None:
            return "?"
        cred = peer_credentials(conn)
        return f"pid={cred.pid} uid={cred.uid}"

    def _close(self, fd: int, selector: selectors.BaseSelector, *, clean: bool) -> None:
        conn = self._conns.pop(fd, None)
        if conn is not None:
            selector.unregister(conn)
            conn.close()
        event = self.table.close(fd, clean=clean, now=time.monotonic())
        if event is not None:
            self._report(event)

    def _report(self, event: Event) -> None:
        self.log.report(event, now=time.monotonic())

    def _deadlines(self, now: float, selector: selectors.BaseSelector) -> None:
        lost: list[ClientView] = []
        for event in self.table.tick(now, alive=self.procfs.is_alive):
            self._report(event)
            if event.kind is EventKind.GONE and event.key is not None:
                conn = self._conns.pop(event.key, None)
                if conn is not None:
                    selector.unregister(conn)
                    conn.close()
            if event.kind is EventKind.LOST:
                lost.append(event.client)
        if lost:
            self._declare(tuple(lost), now)

    def _declare(self, lost: tuple[ClientView, ...], now: float) -> None:
        # a loss is captured unless every uid among the lost had one captured lately
        since = max(now - self._last_capture.get(c.uid, -1e18) for c in lost)
        if since < self.config.min_capture_interval:
            self.log.limited(
                "nocapture",
                "Dump",
                f"no capture: the last one was {since:.0f} s ago (--min-capture-interval "
                f"{self.config.min_capture_interval:g}); no action",
                now=now,
            )
            return
        lost = tuple(sorted(lost, key=lambda c: c.uid != 0))  # root's first, if any
        first = lost[0]
        self._last_capture.update((c.uid, now) for c in lost)
        incident = Incident(
            lost=lost,
            clients=self.table.views(now),
            alerts=self.log.recent(),
            declared_monotonic=now,
            deadline_monotonic=now - first.since + first.timeout,
            declared_wall=time.time(),
            uptime=boottime(),
            monitor_cpu=current_cpu(),
        )
        self.notifier.status(f"capturing: lost heartbeat of {first.name} pid={first.pid}")
        try:
            result = self.capturer.capture(incident)
        except OSError as err:  # the datastore itself failed: log it, keep watching
            self.log.line("Dump", f"capture failed: {err}; no action")
            return
        self.captures += 1
        state = "complete" if result.complete else "incomplete (see manifest)"
        self.log.line(
            "Dump",
            f"Capture {state}: '{result.manifest}' files={len(result.files)} "
            f"cores={sum(1 for c in result.cores if c.path)}",
        )
        outcome = run_action(
            self.config.action,
            result,
            first,
            procfs=self.procfs,
            timeout=self.config.action_timeout,
            keepalive=self._keepalive,
        )
        self.log.line("Action", outcome)
        self.notifier.status(f"{len(self.table)} clients, {self.captures} captures")
