"""``ClusterNode``: this node's link to the others through NATS (the broker's ``ClusterLink``).

Start-up: ``connect`` (NATS, the JetStream stream) before the broker starts, so the broker's writer
already waits for the bus; ``start`` after it, once retained messages and sessions are loaded, so
routing other nodes' messages finds them. ``stop`` after the broker stopped (its Wills and presence
events are sent), waiting a bounded time for the stream to confirm them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from pathlib import Path

import nats
from nats.aio.client import Client as Nats
from nats.errors import NoServersError
from nats.js import JetStreamContext
from nats.js.api import DiscardPolicy, RetentionPolicy, StorageType, StreamConfig
from nats.js.errors import BadRequestError, NotFoundError

from bastion.broker.core import Broker, RemoteClient
from bastion.broker.data_plane import BrokerDataPlane
from bastion.broker.message import Message, new_message_id, set_node_bits
from bastion.broker.persistence import DurableWriter
from bastion.cluster import codec, node_id
from bastion.cluster.connections import Connections
from bastion.cluster.inbound import Inbound
from bastion.cluster.outbound import Outbound
from bastion.cluster.subjects import Subjects
from bastion.cluster.takeover import Takeover
from bastion.cluster.writer import ClusterWriter
from bastion.config import StartupError
from bastion.storage.mqtt import MqttRepository

log = logging.getLogger("bastion.cluster")


class ClusterUnavailableError(StartupError):
    """The NATS server cannot be reached at start."""


# The stream keeps a message for nodes that are down for at most this long (the longest a persistent
# session waits by default is one hour), and at most this many bytes.
STREAM_MAX_AGE_SECONDS = 3600.0
STREAM_MAX_BYTES = 1024 * 1024 * 1024
STOP_TIMEOUT = 5.0
START_ATTEMPTS = 3
# A hand-over waits at most this long for this node to route what the stream holds (then goes anyway).
HAND_OVER_CATCH_UP_SECONDS = 1.5
CLAIMS_AT_ONCE = 64
# How often a node looks for sessions the store shows as connected that no node holds (their node died
# without marking them disconnected). One is adopted only when two looks in a row found it orphaned, so a
# session created a moment ago (its node still subscribing to its client id) is never taken.
ORPHAN_SWEEP_SECONDS = 60.0


class ClusterNode:
    def __init__(self, url: str, name: str, data_dir: Path) -> None:
        self._urls = [u.strip() for u in url.split(",")]
        self.subjects = Subjects(name)
        self.node_id = node_id.load_or_create(data_dir)
        self._nats: Nats | None = None
        self._js: JetStreamContext | None = None
        self._outbound: Outbound | None = None
        self._inbound: Inbound | None = None
        self._takeover: Takeover | None = None
        self._connections: Connections | None = None
        self._broker: Broker | None = None
        self._orphan_sweeper: asyncio.Task[None] | None = None

    @property
    def consumer_name(self) -> str:
        return f"node-{self.node_id.hex()}"

    async def connect(self, broker: Broker) -> None:
        """Connect to NATS, make sure the stream exists, and hook into ``broker`` (before it starts)."""
        self._broker = broker
        set_node_bits(int.from_bytes(self.node_id[:2], "big"))
        try:
            self._nats = await nats.connect(
                servers=self._urls,
                name=f"bastion {self.consumer_name}",
                max_reconnect_attempts=START_ATTEMPTS,
                connect_timeout=5,
                error_cb=_log_error,
            )
        except NoServersError as exc:
            raise ClusterUnavailableError(f"cannot reach NATS at {', '.join(self._urls)}") from exc
        # Once running, reconnect for as long as it takes (the initial connect must give up, though).
        self._nats.options["max_reconnect_attempts"] = -1
        self._js = self._nats.jetstream()
        await self._ensure_stream()
        self._outbound = Outbound(
            self._nats,
            self._js,
            qos0_subject=self.subjects.qos0,
            durable_subject=self.subjects.durable,
            msg_id_prefix=self.node_id.hex(),
        )
        self._outbound.start()
        self._takeover = Takeover(
            self._nats, self.subjects, hand_over=self._hand_over, answer=self._answer_request
        )
        self._connections = Connections(self._takeover, BrokerDataPlane(broker))
        self._inbound = Inbound(
            self._nats,
            self._js,
            self.node_id,
            route=broker.route_remote,
            after_commit=self._after_commit,
        )
        broker.attach_cluster(self)

    async def start(self) -> None:
        """Receive the other nodes' messages (the broker has loaded its state), and take the persistent
        sessions loaded from the store away from any other node that had them, so that one node holds
        each (a few claims at a time: each is one round trip)."""
        assert self._inbound is not None and self._broker is not None and self._takeover is not None
        subjects = self.subjects
        await self._inbound.start(subjects.qos0, subjects.durable, subjects.stream, self.consumer_name)
        loaded = list(self._broker.sessions)
        for at in range(0, len(loaded), CLAIMS_AT_ONCE):
            await asyncio.gather(*(self._takeover.claim(c) for c in loaded[at : at + CLAIMS_AT_ONCE]))
        self._orphan_sweeper = asyncio.create_task(self._sweep_orphans(), name="cluster-orphan-sweeper")
        log.info("cluster %r: node %s joined", subjects.name, self.node_id.hex())

    async def _sweep_orphans(self) -> None:
        suspects: set[str] = set()
        while True:
            await asyncio.sleep(ORPHAN_SWEEP_SECONDS)
            try:
                suspects = await self.sweep_orphans_once(suspects)
            except asyncio.CancelledError:
                raise
            except Exception:  # the store or the bus is away: the next sweep tries again
                log.exception("looking for orphaned MQTT sessions failed")

    async def sweep_orphans_once(self, suspects: set[str]) -> set[str]:
        """Adopt the sessions found orphaned now that were ``suspects`` already (the session of a client
        that was connected to a node that died: the store shows it connected, no node holds it). Adopted
        sessions count as disconnected now and expire here. Returns the new suspects."""
        assert self._broker is not None and self._takeover is not None
        broker, takeover = self._broker, self._takeover
        stored = await broker.repository.list_sessions()
        candidates = [s.client_id for s in stored if s.expires is None and s.client_id not in broker.sessions]
        orphans: set[str] = set()
        for at in range(0, len(candidates), CLAIMS_AT_ONCE):
            batch = candidates[at : at + CLAIMS_AT_ONCE]
            held = await asyncio.gather(*(takeover.held_elsewhere(c) for c in batch))
            orphans.update(c for c, elsewhere in zip(batch, held, strict=True) if not elsewhere)
        for client_id in sorted(orphans & suspects):
            await takeover.claim(client_id)
            await broker.adopt_session(client_id)
            if client_id in broker.sessions:
                log.info("adopted the session of client id %r: its node is gone", client_id)
            else:
                takeover.release(client_id)
        return orphans - suspects

    async def stop_receiving(self) -> None:
        """Before the broker stops: route nothing more here (what is not acknowledged to the stream
        yet stays there for this node's next start)."""
        if self._orphan_sweeper is not None:
            self._orphan_sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._orphan_sweeper
            self._orphan_sweeper = None
        if self._outbound is not None:
            self._outbound.give_up_after(STOP_TIMEOUT)
        if self._inbound is not None:
            await self._inbound.stop()
            self._inbound = None

    async def stop(self) -> None:
        """After the broker stopped: send its last messages (Wills, presence events), then leave."""
        await self.stop_receiving()
        if self._outbound is not None:
            await self._outbound.stop(STOP_TIMEOUT)
        if self._takeover is not None:
            await self._takeover.stop()
        if self._nats is not None:
            try:
                await self._nats.drain()
            except Exception as exc:
                log.debug("closing the NATS connection: %r", exc)
            self._nats = None

    async def _ensure_stream(self) -> None:
        assert self._js is not None
        config = StreamConfig(
            name=self.subjects.stream,
            subjects=[self.subjects.durable],
            retention=RetentionPolicy.LIMITS,
            storage=StorageType.FILE,
            max_age=STREAM_MAX_AGE_SECONDS,
            max_bytes=STREAM_MAX_BYTES,
            discard=DiscardPolicy.OLD,
            duplicate_window=120.0,
        )
        try:
            await self._js.stream_info(self.subjects.stream)
        except NotFoundError:
            pass
        except Exception as exc:
            raise ClusterUnavailableError(
                f"NATS at {', '.join(self._urls)} has no JetStream (nats-server -js): {exc!r}"
            ) from exc
        else:
            return
        try:
            await self._js.add_stream(config)
        except BadRequestError:  # another node made it meanwhile
            await self._js.stream_info(self.subjects.stream)

    async def _hand_over(self, client_id: str) -> None:
        """Another node's CONNECT takes ``client_id``: a persistent session first gets every message
        the stream already holds (their publishers may have been acknowledged), then goes."""
        assert self._broker is not None
        session = self._broker.sessions.get(client_id)
        if session is not None and session.persistent and self._inbound is not None:
            await self._inbound.catch_up(HAND_OVER_CATCH_UP_SECONDS)
        await self._broker.hand_over(client_id)

    async def _answer_request(self, client_id: str, body: bytes) -> bytes:
        assert self._connections is not None
        return await self._connections.answer(client_id, body)

    def _after_commit(self, callback: Callable[[], None]) -> None:
        """Run ``callback`` once this node's store committed what was submitted so far."""
        assert self._broker is not None
        writer = self._broker.writer
        assert isinstance(writer, ClusterWriter)
        writer.store_barrier(callback)

    # ---- ClusterLink --------------------------------------------------------------------------------
    def make_writer(self, repository: MqttRepository) -> DurableWriter:
        assert self._outbound is not None
        return ClusterWriter(repository, self._outbound)

    def forward(self, message: Message) -> bool:
        outbound = self._outbound
        assert outbound is not None
        if message.qos == 0 and not message.retain:
            outbound.send_qos0(codec.encode(self.node_id, message))
            return False
        if message.message_id is None:  # the same id on every node: a copy queued twice is stored once
            message.message_id = new_message_id()
        outbound.send_durable(codec.encode(self.node_id, message))
        return True

    async def claim(self, client_id: str) -> None:
        assert self._takeover is not None
        await self._takeover.claim(client_id)

    def hold(self, client_id: str) -> None:
        assert self._takeover is not None
        self._takeover.hold(client_id)

    def release(self, client_id: str) -> None:
        if self._takeover is not None:
            self._takeover.release(client_id)

    async def remote_client(self, client_id: str) -> RemoteClient | None:
        assert self._connections is not None
        return await self._connections.describe(client_id)

    async def remote_disconnect(self, client_id: str, *, clean_session: bool, prevent_will: bool) -> bool:
        assert self._connections is not None
        return await self._connections.disconnect(
            client_id, clean_session=clean_session, prevent_will=prevent_will
        )


async def _log_error(exc: Exception) -> None:
    log.warning("NATS: %r", exc)
