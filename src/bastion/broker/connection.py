"""One client connection: bytes in, packets through the handlers, bytes out.

The connection is transport-neutral: TCP/TLS (an asyncio ``Protocol``) and WebSocket (aiohttp) feed it
with :meth:`Connection.data_received` and give it a :class:`Sink` to write to. Everything after CONNECT
runs synchronously in the transport's callback: no task per packet. Writes made while handling one
chunk are gathered and handed to the transport once (``writelines``), so a fan-out to one subscriber
costs one system call per event-loop turn, not one per message.

Closing goes through :meth:`Connection.close` only: it sends what the protocol version allows (see
``reactions``), detaches the session, publishes the Will and the lifecycle event, and closes the
transport. It is idempotent, and it runs synchronously, so a session taken over is free the moment the
newer connection needs it.
"""

from __future__ import annotations

import asyncio
import enum
import logging
import time
import uuid
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from bastion.broker import reactions
from bastion.broker.events import DisconnectReason
from bastion.broker.message import Message
from bastion.broker.sessions import Session
from bastion.mqtt import (
    Auth,
    Connect,
    DecodeError,
    Decoder,
    Disconnect,
    Packet,
    Pingreq,
    ProtocolVersion,
    Puback,
    Pubcomp,
    Publish,
    Pubrec,
    Pubrel,
    ReasonCode,
    Subscribe,
    Unsubscribe,
    UnsupportedProtocolVersion,
    Will,
    encode,
    encode_puback_success,
)
from bastion.services.connection_authz import IOT_CONNECT, IOT_RECEIVE, IOT_SUBSCRIBE, ConnectionAuthz
from bastion.services.identity import Principal

if TYPE_CHECKING:
    from bastion.broker.core import Broker

log = logging.getLogger("bastion.broker.connection")

_V5 = ProtocolVersion.MQTT_5
PINGRESP = b"\xd0\x00"
# Gathered writes go to the transport at the end of the event-loop turn, or as soon as this many bytes
# wait, whichever comes first.
FLUSH_AT = 64 * 1024


class Sink(Protocol):
    """Where a connection writes: a TCP/TLS transport or a WebSocket."""

    def writelines(self, chunks: list[bytes]) -> None: ...

    def buffered(self) -> int: ...

    def close(self) -> None: ...

    def abort(self) -> None: ...

    def pause_reading(self) -> None: ...

    def resume_reading(self) -> None: ...


class State(enum.Enum):
    AWAITING_CONNECT = "awaiting-connect"
    CONNECTING = "connecting"  # CONNECT received; authentication and session set-up under way
    CONNECTED = "connected"
    CLOSED = "closed"


class Connection:
    def __init__(
        self,
        broker: Broker,
        sink: Sink,
        *,
        peer_ip: str,
        secure: bool,
        transport: str,
        domain_name: str | None = None,
        websocket_principal: Principal | None = None,
    ) -> None:
        self.broker = broker
        self.sink = sink
        self.peer_ip = peer_ip
        self.secure = secure
        self.transport = transport
        self.domain_name = domain_name
        self.websocket_principal = websocket_principal
        self.loop = asyncio.get_running_loop()
        self.decoder = Decoder(max_packet_size=broker.limits.max_packet_size)
        self.state = State.AWAITING_CONNECT
        self.version = ProtocolVersion.MQTT_3_1_1
        self.client_id = ""
        self.session_id = uuid.uuid4().hex
        # Set at CONNACK: wall-clock second connected, and the keep-alive granted (for GetConnection).
        self.connected_at: float | None = None
        self.keep_alive = 0
        self.session: Session | None = None
        self.authz: ConnectionAuthz | None = None
        self.principal: Principal | None = None
        self.principal_id = ""
        self.will: Will | None = None
        # The client's own limits (MQTT 5 CONNECT): outbound window and largest packet it accepts.
        self.outbound_window = broker.limits.max_inflight_outbound
        self.max_outbound_packet: int | None = None
        self.aliases: dict[int, str] = {}
        # Set while a resumed session's stored messages are being read back.
        self.resuming = False
        self.last_seen = self.loop.time()
        self.keepalive_timeout = broker.limits.connect_timeout
        self._timer: asyncio.TimerHandle | None = self.loop.call_at(
            self.last_seen + self.keepalive_timeout, self._check_idle
        )
        self._out: list[bytes] = []
        self._out_size = 0
        self._flush_scheduled = False
        self.write_paused = False
        self._reading_paused = False
        # PUBACKs owed to this publisher, in order; an entry is None until its writes are committed.
        self._acks: deque[list[bytes | None]] = deque()
        self._acks_waiting = 0
        self._will_suppressed = False
        self._handlers: dict[type, Callable[[Any], None]] = {
            Publish: self._on_publish,
            Puback: self._on_puback,
            Subscribe: self._on_subscribe,
            Unsubscribe: self._on_unsubscribe,
            Pingreq: self._on_pingreq,
            Disconnect: self._on_disconnect,
            Pubrec: self._on_unsupported,
            Pubrel: self._on_unsupported,
            Pubcomp: self._on_unsupported,
            Auth: self._on_unsupported,
        }
        broker.connections.add(self)

    # ---- input ----------------------------------------------------------------------------------------
    def is_closed(self) -> bool:
        return self.state is State.CLOSED

    def data_received(self, data: bytes) -> None:
        if self.state is State.CLOSED:
            return
        self.last_seen = self.loop.time()
        try:
            self.decoder.feed(data)
        except DecodeError as exc:
            self._decode_failed(exc)
            return
        if self.state is not State.CONNECTING:
            self.process()

    def process(self) -> None:
        """Handle every complete packet received so far (stops while CONNECT is being handled)."""
        handlers = self._handlers
        try:
            while self.state is State.CONNECTED:
                packet = self.decoder.next_packet()
                if packet is None:
                    break
                handler = handlers.get(type(packet))
                if handler is None:  # pragma: no cover - the decoder refuses every other packet type
                    self.violation(ReasonCode.PROTOCOL_ERROR, f"unexpected {type(packet).__name__}")
                    return
                handler(packet)
            if self.state is State.AWAITING_CONNECT:
                packet = self.decoder.next_packet()
                if isinstance(packet, Connect):
                    self.state = State.CONNECTING
                    self.version = packet.protocol_level
                    self.pause_reading()
                    self.broker.start_connect(self, packet)
        except DecodeError as exc:
            self._decode_failed(exc)
        except Exception:
            # A bug must cost one connection, never the listener or other clients.
            log.exception("error handling a packet from %s (client id %r)", self.peer_ip, self.client_id)
            self.close(DisconnectReason.SERVER_ERROR, code=ReasonCode.UNSPECIFIED_ERROR)

    def _decode_failed(self, exc: DecodeError) -> None:
        if self.state is State.AWAITING_CONNECT:
            if isinstance(exc, UnsupportedProtocolVersion):
                # MQTT 3.1.1 answers an unknown level with return code 1; an MQTT 5 client understands it.
                level = ProtocolVersion.MQTT_5 if exc.protocol_level == 5 else ProtocolVersion.MQTT_3_1_1
                self.refuse(ReasonCode.UNSUPPORTED_PROTOCOL_VERSION, str(exc), version=level)
            else:
                self.close(DisconnectReason.CLIENT_ERROR)
            return
        self.violation(exc.reason_code, str(exc))

    def connection_lost(self) -> None:
        self.close(DisconnectReason.CONNECTION_LOST, send=False)

    # ---- output ---------------------------------------------------------------------------------------
    def write(self, data: bytes) -> None:
        self._out.append(data)
        self._out_size += len(data)
        if not self._flush_scheduled:
            self._flush_scheduled = True
            self.loop.call_soon(self._scheduled_flush)

    def _scheduled_flush(self) -> None:
        self._flush_scheduled = False
        self.flush()

    def flush(self) -> None:
        if self._out and self.state is not State.CLOSED:
            out = self._out
            self._out = []
            self._out_size = 0
            self.sink.writelines(out)

    def can_take_qos0(self) -> bool:
        return (
            not self.write_paused
            and self._out_size + self.sink.buffered() < self.broker.limits.max_write_buffer
        )

    def send_message(self, message: Message, qos: int, retain: bool, packet_id: int | None = None) -> bool:
        """Stamp and queue one PUBLISH; False when it expired or is larger than the client accepts."""
        frame = message.frame if message.expires_at is None else message.frame_at(time.time())
        if frame is None:
            return False
        head, payload = frame.stamp_parts(self.version, qos, packet_id, retain=retain)
        size = len(head) + len(payload)
        if self.max_outbound_packet is not None and size > self.max_outbound_packet:
            return False  # MQTT 5: a packet larger than the client's maximum is discarded
        self._out.append(head)
        if payload:
            self._out.append(payload)
        self._out_size += size
        if self._out_size >= FLUSH_AT:
            self.flush()  # a big inbound chunk fans out to a lot: let the kernel start on it now
        elif not self._flush_scheduled:
            self._flush_scheduled = True
            self.loop.call_soon(self._scheduled_flush)
        return True

    def receive_allowed(self, message: Message) -> bool:
        authz = self.authz
        return authz is not None and authz.allows(IOT_RECEIVE, message.topic_arn(self.broker.topic_arn))

    def pump(self) -> None:
        """Send queued QoS 1 deliveries while the client's in-flight window has room."""
        session = self.session
        if session is None or self.resuming or self.state is not State.CONNECTED:
            return
        pending = session.pending
        inflight = session.inflight
        while pending and len(inflight) < self.outbound_window and not self.write_paused:
            delivery = pending.popleft()
            message = delivery.message
            if not self.receive_allowed(message):
                self.broker.forget_delivery(session, delivery)
                continue
            packet_id = None
            if message.message_id is not None:
                packet_id = session.packet_ids.pop(message.message_id, None)
            if packet_id is None or packet_id in inflight:
                packet_id = session.allocate_packet_id()
            delivery.packet_id = packet_id
            if not self.send_message(message, 1, delivery.retain, packet_id):
                self.broker.forget_delivery(session, delivery)
                continue
            inflight[packet_id] = delivery

    # ---- acknowledgements owed to a publisher (kept in order) -----------------------------------------
    def ack_publish(self, packet_id: int, code: ReasonCode, *, durable: bool) -> None:
        data = (
            encode_puback_success(packet_id)
            if code is ReasonCode.SUCCESS
            else encode(Puback(packet_id, code), self.version)
        )
        if durable:
            entry: list[bytes | None] = [None]
            self._acks.append(entry)
            self._acks_waiting += 1
            if self._acks_waiting >= self.broker.limits.receive_maximum:
                self.pause_reading()  # bounded: no more inbound work until the store catches up
            self.broker.writer.barrier(lambda: self._ack_ready(entry, data))
        elif self._acks:
            self._acks.append([data])
        else:
            self.write(data)

    def _ack_ready(self, entry: list[bytes | None], data: bytes) -> None:
        entry[0] = data
        self._acks_waiting -= 1
        if self.state is State.CLOSED:
            return
        while self._acks and self._acks[0][0] is not None:
            ready = self._acks.popleft()[0]
            assert ready is not None
            self.write(ready)
        if self._acks_waiting < self.broker.limits.receive_maximum and self.state is State.CONNECTED:
            self.resume_reading()

    def after_commit(self, data: bytes) -> None:
        """Write ``data`` once everything stored so far is committed (SUBACK of a persistent session)."""
        self.broker.writer.barrier(lambda: None if self.is_closed() else self.write(data))

    # ---- flow control ---------------------------------------------------------------------------------
    def pause_reading(self) -> None:
        if not self._reading_paused:
            self._reading_paused = True
            self.sink.pause_reading()

    def resume_reading(self) -> None:
        if self._reading_paused:
            self._reading_paused = False
            self.sink.resume_reading()

    def pause_writing(self) -> None:
        self.write_paused = True

    def resume_writing(self) -> None:
        self.write_paused = False
        self.pump()

    # ---- timers ---------------------------------------------------------------------------------------
    def start_keepalive(self, seconds: float) -> None:
        self.keepalive_timeout = seconds
        if self._timer is not None:
            self._timer.cancel()
        self._timer = self.loop.call_at(self.last_seen + seconds, self._check_idle)

    def _check_idle(self) -> None:
        self._timer = None
        if self.state is State.CLOSED:
            return
        deadline = self.last_seen + self.keepalive_timeout
        if self.loop.time() < deadline:
            self._timer = self.loop.call_at(deadline, self._check_idle)
        elif self.state is State.CONNECTED:
            self.violation(
                ReasonCode.KEEP_ALIVE_TIMEOUT, "keep-alive timeout", DisconnectReason.MQTT_KEEP_ALIVE_TIMEOUT
            )
        else:
            self.close(DisconnectReason.CLIENT_ERROR)  # no CONNECT in time

    # ---- packet handlers (thin: the work is in the handler modules) -----------------------------------
    def _on_publish(self, packet: Publish) -> None:
        self.broker.handle_publish(self, packet)

    def _on_puback(self, packet: Puback) -> None:
        session = self.session
        assert session is not None
        delivery = session.inflight.pop(packet.packet_id, None)
        if delivery is not None:
            self.broker.forget_delivery(session, delivery)
            self.pump()

    def _on_subscribe(self, packet: Subscribe) -> None:
        self.broker.handle_subscribe(self, packet)

    def _on_unsubscribe(self, packet: Unsubscribe) -> None:
        self.broker.handle_unsubscribe(self, packet)

    def _on_pingreq(self, packet: Pingreq) -> None:
        self.write(PINGRESP)

    def _on_disconnect(self, packet: Disconnect) -> None:
        session = self.session
        expiry = packet.properties.session_expiry_interval
        if expiry is not None and session is not None:
            if session.expiry_interval == 0 and expiry > 0:
                # MQTT-3.14.2-2: a session that was not persistent cannot become so at DISCONNECT.
                self.violation(ReasonCode.PROTOCOL_ERROR, "session expiry cannot be set at DISCONNECT")
                return
            self.broker.change_session_expiry(session, min(expiry, self.broker.limits.session_expiry))
        if packet.reason_code != ReasonCode.DISCONNECT_WITH_WILL_MESSAGE:
            self._will_suppressed = True
        self.close(DisconnectReason.CLIENT_INITIATED_DISCONNECT, send=False)

    def _on_unsupported(self, packet: Packet) -> None:
        # AWS IoT supports neither QoS 2 flows nor AUTH; receiving them is a protocol error here.
        self.violation(ReasonCode.PROTOCOL_ERROR, f"{type(packet).__name__.upper()} is not supported")

    # ---- policy changes -------------------------------------------------------------------------------
    async def on_reload(self) -> None:
        """The principal's policies changed: re-check Connect, then each subscription's Subscribe."""
        authz = self.authz
        session = self.session
        if authz is None or session is None or self.state is not State.CONNECTED:
            return
        if not authz.allows(IOT_CONNECT, self.broker.client_arn(self.client_id)):
            self.violation(
                ReasonCode.NOT_AUTHORIZED, "not authorized to connect", DisconnectReason.FORBIDDEN_ACCESS
            )
            return
        for entry in list(session.subscriptions.values()):
            if not authz.allows(IOT_SUBSCRIBE, self.broker.topic_filter_arn(entry.topic_filter)):
                self.broker.remove_subscription(session, entry)

    # ---- ending ---------------------------------------------------------------------------------------
    def refuse(self, code: ReasonCode, reason: str, *, version: ProtocolVersion | None = None) -> None:
        """Refuse a CONNECT the way AWS does for this protocol version."""
        log.info("refused CONNECT from %s (client id %r): %s", self.peer_ip, self.client_id, reason)
        data = reactions.connack_refusal(version or self.version, code, reason)
        if data is not None:
            self.write(data)
        auth = code in reactions.SILENT_V311_REFUSALS
        self.close(DisconnectReason.AUTH_ERROR if auth else DisconnectReason.CLIENT_ERROR, send=False)

    def violation(
        self, code: ReasonCode, reason: str, event_reason: DisconnectReason = DisconnectReason.CLIENT_ERROR
    ) -> None:
        """End the connection for something the client did (or can no longer do)."""
        log.info("closing %s (client id %r): %s", self.peer_ip, self.client_id, reason)
        data = reactions.disconnect(self.version, code, reason)
        if data is not None:
            self.write(data)
        self.close(event_reason, send=False)

    def close(self, reason: DisconnectReason, *, send: bool = True, code: ReasonCode | None = None) -> None:
        """Finish the connection now (idempotent). ``send``: tell an MQTT 5 client why (``code``)."""
        if self.state is State.CLOSED:
            return
        if send and code is not None:
            data = reactions.disconnect(self.version, code)
            if data is not None:
                self.write(data)
        was_connected = self.state is State.CONNECTED
        self.state = State.CLOSED
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._out:
            out = self._out
            self._out = []
            self.sink.writelines(out)
        self.sink.close()
        self.broker.connections.discard(self)
        try:
            self.broker.connection_ended(self, reason, was_connected, publish_will=not self._will_suppressed)
        finally:
            if self.authz is not None:
                self.authz.close()
