"""Receiving other nodes' messages and routing them to this node's sessions.

QoS 0 arrives on a core NATS subscription (bounded: NATS drops for a slow consumer, as for any QoS 0).
QoS 1 and retained messages arrive from this node's durable JetStream consumer, named by its node id:
a message is acknowledged to the stream only after this node's own store has committed whatever routing
it queued (QoS 1 copies for persistent sessions), so a node killed in between gets it again when it
restarts. At most ``MAX_ACK_PENDING`` messages are unacknowledged at a time, which bounds memory.
Messages this node sent itself are skipped (it routed them when they were published).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from nats.aio.client import Client as Nats
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

from bastion.broker.message import Message
from bastion.cluster.codec import BadBusMessage, decode

log = logging.getLogger("bastion.cluster")

MAX_ACK_PENDING = 2000
ACK_WAIT_SECONDS = 30.0
QOS0_PENDING_MESSAGES = 20_000
QOS0_PENDING_BYTES = 64 * 1024 * 1024


class Inbound:
    def __init__(
        self,
        nats: Nats,
        js: JetStreamContext,
        node_id: bytes,
        *,
        route: Callable[[Message], bool],
        after_commit: Callable[[Callable[[], None]], None],
    ) -> None:
        self._nats = nats
        self._js = js
        self._node_id = node_id
        self._route = route
        self._after_commit = after_commit
        self._subs: list[Subscription] = []
        self._acks: set[asyncio.Task[None]] = set()
        self._stream = ""
        # Highest stream sequence routed here, and who waits for it to pass a point.
        self._routed_seq = 0
        self._seq_moved = asyncio.Event()

    async def start(self, qos0_subject: str, durable_subject: str, stream: str, consumer: str) -> None:
        self._stream = stream
        self._subs.append(
            await self._nats.subscribe(
                qos0_subject,
                cb=self._on_qos0,
                pending_msgs_limit=QOS0_PENDING_MESSAGES,
                pending_bytes_limit=QOS0_PENDING_BYTES,
            )
        )
        config = ConsumerConfig(
            deliver_policy=DeliverPolicy.NEW,
            ack_policy=AckPolicy.EXPLICIT,
            ack_wait=ACK_WAIT_SECONDS,
            max_ack_pending=MAX_ACK_PENDING,
        )
        self._subs.append(
            await self._js.subscribe(
                durable_subject,
                durable=consumer,
                stream=stream,
                cb=self._on_durable,
                manual_ack=True,
                config=config,
            )
        )

    async def stop(self) -> None:
        for sub in self._subs:
            try:
                await sub.unsubscribe()
            except Exception as exc:  # the connection may be gone already
                log.debug("unsubscribing failed: %r", exc)
        self._subs.clear()
        if self._acks:
            await asyncio.gather(*self._acks, return_exceptions=True)

    def _decoded(self, msg: Msg) -> Message | None:
        try:
            bus = decode(msg.data)
        except BadBusMessage as exc:
            log.warning("ignoring a message on the bus that does not decode: %s", exc)
            return None
        if bus.origin == self._node_id:
            return None
        return bus.message

    async def _on_qos0(self, msg: Msg) -> None:
        message = self._decoded(msg)
        if message is not None:
            self._route(message)

    async def _on_durable(self, msg: Msg) -> None:
        message = self._decoded(msg)
        routed = message is not None and self._route(message)
        self._note_routed(msg)
        if not routed:
            await msg.ack()
            return
        # Queued for a persistent session here: acknowledge once our store has it.
        self._after_commit(lambda: self._ack_later(msg))

    def _note_routed(self, msg: Msg) -> None:
        try:
            seq = msg.metadata.sequence.stream
        except Exception:  # not a JetStream delivery: nothing to track
            return
        if seq > self._routed_seq:
            self._routed_seq = seq
            self._seq_moved.set()

    async def catch_up(self, limit: float) -> bool:
        """Wait (at most ``limit`` seconds) until everything the stream held when called is routed
        here: a session handed to another node must first get what was acknowledged before."""
        try:
            info = await self._js.stream_info(self._stream)
        except Exception as exc:
            log.warning("cannot read the stream's position: %r", exc)
            return False
        target = info.state.last_seq
        loop = asyncio.get_running_loop()
        deadline = loop.time() + limit
        while self._routed_seq < target:
            self._seq_moved.clear()
            left = deadline - loop.time()
            if left <= 0:
                log.warning("stream not caught up (%d of %d) before a hand-over", self._routed_seq, target)
                return False
            try:
                await asyncio.wait_for(self._seq_moved.wait(), left)
            except TimeoutError:
                continue
        return True

    def _ack_later(self, msg: Msg) -> None:
        task = asyncio.ensure_future(msg.ack())
        self._acks.add(task)
        task.add_done_callback(self._ack_done)

    def _ack_done(self, task: asyncio.Task[None]) -> None:
        self._acks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.debug("acknowledging to the stream failed (it will be delivered again): %r", task.exception())
