"""The broker's shared state and the operations every connection uses: routing a message to the sessions
it reaches, delivering it to one session, and the life of sessions (attach, detach, expiry).

Listeners and transports live in ``server``, ``transport`` and ``websocket``; per-packet rules in
``connect``, ``publish`` and ``subscribe``. Nothing here touches the store directly except through the
:class:`~bastion.broker.persistence.DurableWriter` and the reads done at start and on resume.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Protocol

from bastion.broker import connect as connect_handler
from bastion.broker import events, publish, subscribe, will
from bastion.broker.authentication import Authenticator, principal_identifier
from bastion.broker.connection import Connection
from bastion.broker.limits import BrokerLimits
from bastion.broker.message import Message, new_message_id
from bastion.broker.persistence import DurableWriter
from bastion.broker.retained import RetainedStore
from bastion.broker.router import Router
from bastion.broker.sessions import Delivery, Session, SubscriptionEntry
from bastion.clock import Clock
from bastion.mqtt import Connect, ProtocolVersion, Publish, ReasonCode, Subscribe, Unsubscribe
from bastion.services.authorizer import Authorizer
from bastion.services.iot_data import ConnectionInfo, SubscriptionInfo
from bastion.storage.mqtt import (
    DeleteSession,
    DeleteSubscription,
    Dequeue,
    Enqueue,
    MqttRepository,
    PutMessage,
    PutSession,
    StoredSession,
)

log = logging.getLogger("bastion.broker")

SWEEP_SECONDS = 5.0
BASIC_INGEST_PREFIX = "$aws/rules/"

# A client held by another node of a cluster, as that node describes it: its connection (or offline
# persistent session) and its session's subscriptions.
RemoteClient = tuple[ConnectionInfo, tuple[SubscriptionInfo, ...]]


class ClusterLink(Protocol):
    """What the broker asks of the bus when several nodes share a store (``bastion.cluster``)."""

    def make_writer(self, repository: MqttRepository) -> DurableWriter:
        """The durable writer, whose barrier also waits for the bus to hold what was sent on it."""
        ...

    def forward(self, message: Message) -> bool:
        """Send a message routed here to the other nodes. True when its publisher's acknowledgement
        must wait (through the writer's barrier) for the bus to confirm it."""
        ...

    async def claim(self, client_id: str) -> None:
        """End ``client_id``'s connection and session on any other node; hold it here."""
        ...

    def hold(self, client_id: str) -> None:
        """This node has a session for ``client_id`` (another node's CONNECT must ask it to let go)."""
        ...

    def release(self, client_id: str) -> None:
        """This node no longer has a session for ``client_id``."""
        ...

    async def remote_client(self, client_id: str) -> RemoteClient | None:
        """``client_id`` as the node holding it describes it; None when no node holds it.
        ``UnavailableError`` when that node does not answer (in time, or sensibly)."""
        ...

    async def remote_disconnect(self, client_id: str, *, clean_session: bool, prevent_will: bool) -> bool:
        """Run DeleteConnection on the node holding ``client_id`` and wait for it; False when no node
        holds it. That node's refusal is raised here (``NotFoundError``, ``UnavailableError``)."""
        ...


class Broker:
    def __init__(
        self,
        *,
        limits: BrokerLimits,
        authorizer: Authorizer,
        authenticator: Authenticator,
        repository: MqttRepository,
        clock: Clock,
        sweep_seconds: float = SWEEP_SECONDS,
    ) -> None:
        self.limits = limits
        self.authorizer = authorizer
        self.authenticator = authenticator
        self.repository = repository
        self.clock = clock
        self.writer = DurableWriter(repository)
        self.retained = RetainedStore(self.writer, limits.max_retained_messages)
        self.router = Router()
        self.sessions: dict[str, Session] = {}
        self.connections: set[Connection] = set()
        self.topic_arn: Callable[[str], str] = authorizer.topic_arn
        self.client_arn: Callable[[str], str] = authorizer.client_arn
        self.topic_filter_arn: Callable[[str], str] = authorizer.topic_filter_arn
        self.last_connects: dict[str, float] = {}
        self._event_versions: dict[str, int] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._sweep_seconds = sweep_seconds
        self._sweeper: asyncio.Task[None] | None = None
        self.stopping = False
        self.cluster: ClusterLink | None = None

    def attach_cluster(self, link: ClusterLink) -> None:
        """Before ``start``: share routing, retained messages and client ids with other nodes."""
        self.cluster = link
        self.writer = link.make_writer(self.repository)
        self.retained = RetainedStore(self.writer, self.limits.max_retained_messages)

    # ---- life ---------------------------------------------------------------------------------------
    async def start(self) -> None:
        self.writer.start()
        self.retained.load(list(await self.repository.list_retained()))
        await self._load_sessions()
        self._sweeper = asyncio.create_task(self._sweep(), name="mqtt-session-sweeper")

    async def stop(self) -> None:
        self.stopping = True
        for conn in list(self.connections):
            conn.close(
                events.DisconnectReason.SERVER_INITIATED_DISCONNECT, code=ReasonCode.SERVER_SHUTTING_DOWN
            )
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._sweeper is not None:
            self._sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sweeper
        await self.writer.stop()

    async def _load_sessions(self) -> None:
        now = time.time()
        for stored in await self.repository.list_sessions():
            if stored.expires is None and self.cluster is not None:
                continue  # connected, maybe to another node: that node (or the client's next CONNECT) has it
            # In a cluster the node then claims each loaded session from the others (ClusterNode.start).
            self._restore_session(stored, now)
        if self.sessions:
            log.info("resumable MQTT sessions: %d", len(self.sessions))

    def _restore_session(self, stored: StoredSession, now: float) -> None:
        if stored.expires is None:  # connected when its node stopped: it disconnected now
            expires_at = now + stored.expiry_interval
            self.writer.submit(
                PutSession(
                    stored.client_id, stored.protocol_version, stored.expiry_interval, _wall(expires_at)
                )
            )
        else:
            expires_at = stored.expires.timestamp()
        if expires_at <= now:
            self.writer.submit(DeleteSession(stored.client_id))
            return
        session = Session(stored.client_id, ProtocolVersion(stored.protocol_version), stored.expiry_interval)
        session.in_store = True
        session.stored_count = stored.queued
        session.expires_at = expires_at
        for sub in stored.subscriptions:
            entry = SubscriptionEntry.from_stored(sub)
            session.subscriptions[entry.topic_filter] = entry
            self.router.add(session, entry)
        self.sessions[session.client_id] = session

    async def adopt_session(self, client_id: str) -> None:
        """Cluster: take ``client_id``'s persistent session from the shared store, where the node that
        had it left it (handed over, or that node is gone)."""
        found = await self.repository.get_session(client_id)
        if found is not None and client_id not in self.sessions:
            self._restore_session(found, time.time())

    async def _sweep(self) -> None:
        while True:
            await asyncio.sleep(self._sweep_seconds)
            self.expire_sessions(time.time())
            cutoff = time.monotonic() - self.limits.min_connect_interval
            for client_id in [c for c, t in self.last_connects.items() if t < cutoff]:
                del self.last_connects[client_id]

    def expire_sessions(self, now: float) -> None:
        for session in [s for s in self.sessions.values() if s.connection is None]:
            if session.expires_at is not None and session.expires_at <= now:
                self.discard_session(session)

    # ---- per-packet entry points --------------------------------------------------------------------
    def start_connect(self, conn: Connection, packet: Connect) -> None:
        task = asyncio.create_task(connect_handler.handle_connect(self, conn, packet))
        self._tasks.add(task)
        task.add_done_callback(self._connect_done(conn))

    def _connect_done(self, conn: Connection) -> Callable[[asyncio.Task[None]], None]:
        def done(task: asyncio.Task[None]) -> None:
            self._tasks.discard(task)
            if task.cancelled():
                conn.close(events.DisconnectReason.SERVER_INITIATED_DISCONNECT, send=False)
            elif task.exception() is not None:
                log.error("CONNECT handling failed", exc_info=task.exception())
                conn.close(events.DisconnectReason.SERVER_ERROR, send=False)

        return done

    def handle_publish(self, conn: Connection, packet: Publish) -> None:
        publish.handle_publish(self, conn, packet)

    def handle_subscribe(self, conn: Connection, packet: Subscribe) -> None:
        subscribe.handle_subscribe(self, conn, packet)

    def handle_unsubscribe(self, conn: Connection, packet: Unsubscribe) -> None:
        subscribe.handle_unsubscribe(self, conn, packet)

    # ---- routing and delivery -----------------------------------------------------------------------
    def publish(self, message: Message) -> bool:
        """Route ``message`` (retained handling included), and send it to the other nodes of a cluster.
        True when writes were submitted that the publisher's acknowledgement must wait for."""
        durable = self._route(message, store_retained=True)
        cluster = self.cluster
        if cluster is not None and not message.topic.startswith(BASIC_INGEST_PREFIX):
            durable = cluster.forward(message) or durable
        return durable

    def route_remote(self, message: Message) -> bool:
        """Route a message another node published (it stored the retained copy itself). True when
        writes were submitted for it (QoS 1 copies queued for persistent sessions here)."""
        return self._route(message, store_retained=False)

    def _route(self, message: Message, *, store_retained: bool) -> bool:
        durable = self.retained.update(message, store=store_retained) if message.retain else False
        if message.topic.startswith(BASIC_INGEST_PREFIX):
            return durable  # Basic Ingest goes to rules, never to subscribers
        origin = message.origin
        for session, entry in self.router.match(message.topic):
            if entry.no_local and origin is session:
                continue
            qos = entry.qos if entry.qos < message.qos else message.qos
            if self.deliver(session, message, qos, message.retain and entry.retain_as_published):
                durable = True
        return durable

    def deliver(self, session: Session, message: Message, qos: int, retain: bool) -> bool:
        """Hand ``message`` to one session. True when a durable write was submitted for it."""
        conn = session.connection
        if conn is None:
            if qos == 0 or not session.persistent:
                return False  # AWS keeps only QoS 1 messages for sessions that are away
            if session.stored_count >= self.limits.max_queued_messages:
                _note_drop(session)
                return False
            self._store(session, message)
            session.stored_count += 1
            return True
        if not conn.receive_allowed(message):
            return False
        if qos == 0:
            if conn.resuming or conn.can_take_qos0():
                conn.send_message(message, 0, retain)
            return False
        if len(session.inflight) + len(session.pending) >= self.limits.max_queued_messages:
            _note_drop(session)
            return False
        durable = False
        if session.persistent:
            self._store(session, message)
            durable = True
        session.pending.append(Delivery(message, retain))
        conn.pump()
        return durable

    def _store(self, session: Session, message: Message) -> None:
        if message.message_id is None:
            message.message_id = new_message_id()
        if not message.stored:
            message.stored = True
            self.writer.submit(PutMessage(message.to_stored()))
        self.writer.submit(Enqueue(session.client_id, message.message_id))

    def forget_delivery(self, session: Session, delivery: Delivery) -> None:
        """A QoS 1 delivery is finished (acknowledged, expired or refused): drop its stored copy."""
        message_id = delivery.message.message_id
        if session.in_store and message_id is not None:
            self.writer.submit(Dequeue(session.client_id, message_id))

    def emit_event(self, topic_and_payload: tuple[str, bytes]) -> None:
        topic, payload = topic_and_payload
        self.publish(Message(topic, payload, 1, False))

    def event_version(self, client_id: str) -> int:
        version = self._event_versions.get(client_id, -1) + 1
        self._event_versions[client_id] = version
        return version

    # ---- sessions -----------------------------------------------------------------------------------
    def new_session(self, client_id: str, version: ProtocolVersion, expiry: int) -> Session:
        session = Session(client_id, version, expiry)
        self.sessions[client_id] = session
        if self.cluster is not None:
            self.cluster.hold(client_id)
            # Another node may have left this client id's session in the shared store: it is not resumed.
            self.writer.submit(DeleteSession(client_id))
        if expiry > 0:
            session.in_store = True
            self.writer.submit(PutSession(client_id, int(version), expiry, None))
        return session

    def discard_session(self, session: Session) -> None:
        self.router.remove_all(session)
        if self.sessions.get(session.client_id) is session:
            del self.sessions[session.client_id]
            if self.cluster is not None:
                self.cluster.release(session.client_id)
        if session.will_handle is not None:
            will.publish_now(self, session)
        if session.in_store:
            session.in_store = False
            self.writer.submit(DeleteSession(session.client_id))

    async def hand_over(self, client_id: str) -> None:
        """Another node takes ``client_id`` over: end its connection here as a local takeover does,
        commit the session's state and forget the session (the store keeps a persistent one)."""
        session = self.sessions.get(client_id)
        if session is not None and session.connection is not None:
            session.connection.close(
                events.DisconnectReason.DUPLICATE_CLIENTID, code=ReasonCode.SESSION_TAKEN_OVER
            )
        session = self.sessions.get(client_id)  # a clean session ended with its connection
        if session is not None and session.connection is None:
            will.cancel(session)  # the client is back (elsewhere) before its Will Delay Interval passed
            self.router.remove_all(session)
            del self.sessions[client_id]
            if self.cluster is not None:
                self.cluster.release(client_id)
        await self.writer.drain()

    def change_session_expiry(self, session: Session, expiry: int) -> None:
        session.expiry_interval = expiry

    def remove_subscription(self, session: Session, entry: SubscriptionEntry) -> None:
        if session.subscriptions.get(entry.topic_filter) is entry:
            del session.subscriptions[entry.topic_filter]
            self.router.remove(session, entry)
            if session.in_store:
                self.writer.submit(DeleteSubscription(session.client_id, entry.topic_filter))

    def connection_ended(
        self, conn: Connection, reason: events.DisconnectReason, was_connected: bool, *, publish_will: bool
    ) -> None:
        session = conn.session
        if session is not None and session.connection is conn:
            session.last_disconnect = (time.time(), str(reason))
            self._detach(session)
            if conn.will is not None and publish_will:
                will.publish_or_schedule(self, session, conn.will, conn.version)
        if was_connected and conn.principal is not None:
            self.emit_event(
                events.disconnected(
                    conn.client_id,
                    timestamp_ms=int(time.time() * 1000),
                    session_id=conn.session_id,
                    principal=principal_identifier(conn.principal),
                    reason=reason,
                    version=self._event_versions.get(conn.client_id, 0),
                )
            )

    def _detach(self, session: Session) -> None:
        session.connection = None
        if not session.persistent:
            self.discard_session(session)
            return
        for packet_id, delivery in session.inflight.items():
            if delivery.message.message_id is not None:
                session.packet_ids[delivery.message.message_id] = packet_id
        session.stored_count += len(session.inflight) + len(session.pending)
        session.inflight.clear()
        session.pending.clear()
        session.expires_at = time.time() + session.expiry_interval
        self.writer.submit(
            PutSession(
                session.client_id, int(session.version), session.expiry_interval, _wall(session.expires_at)
            )
        )


def _note_drop(session: Session) -> None:
    """Count a QoS 1 message dropped at a full queue; log the 1st, 2nd, 4th, 8th... (a flood must not
    turn into a flood of log lines)."""
    session.dropped += 1
    if session.dropped & (session.dropped - 1) == 0:
        log.warning(
            "queue of session %r is full (%d messages): %d dropped so far",
            session.client_id,
            session.queued,
            session.dropped,
        )


def _wall(moment: float) -> datetime:
    return datetime.fromtimestamp(moment, UTC)
