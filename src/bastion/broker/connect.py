"""CONNECT: checks, authentication, iot:Connect, the Will, takeover, the session, CONNACK.

This is the one asynchronous step of a connection (credentials and policies may need the store, a
resumed session reads its queue back). Each ``await`` may find the connection gone; the handler stops
there. Order of the checks, and AWS's answers (MQTT 5 CONNACK code / MQTT 3.1.1):

1. packet-level rules: authentication method (0x8C), Will QoS 2 (0x9B / close), client id empty with a
   persistent 3.1.1 session, starting with ``$`` or over 128 bytes (0x85 / return code 2), invalid Will
   topic (0x90 / close);
2. authentication (0x86 bad credentials, 0x87 no credentials / close without CONNACK);
3. iot:Connect on ``client/<id>``, then iot:Publish (+ iot:RetainPublish) on the Will topic (0x87 / close);
4. one CONNECT per second per client id (0x97 / return code 3);
5. takeover of an existing connection with the same client id (DISCONNECT 0x8E / close), the session
   (resumed when persistent, of the same protocol version, and not asked to start clean), CONNACK.
"""

from __future__ import annotations

import logging
import time
import uuid
from typing import TYPE_CHECKING

from bastion.broker import events, will
from bastion.broker.authentication import AuthenticationFailed, principal_identifier
from bastion.broker.connection import Connection, State
from bastion.broker.events import DisconnectReason
from bastion.broker.limits import clamp_keepalive
from bastion.broker.message import Message
from bastion.broker.sessions import Delivery, Session
from bastion.mqtt import (
    Connack,
    Connect,
    Properties,
    ProtocolVersion,
    ReasonCode,
    aws_client_id_violation,
    aws_topic_violation,
    encode,
    is_valid_topic_name,
)
from bastion.services.connection_authz import (
    IOT_CONNECT,
    IOT_PUBLISH,
    IOT_RECEIVE,
    IOT_RETAIN_PUBLISH,
    ConnectionFacts,
)
from bastion.storage.mqtt import DeleteSession, Dequeue, PutSession

if TYPE_CHECKING:
    from bastion.broker.core import Broker

log = logging.getLogger("bastion.broker.connect")

_V5 = ProtocolVersion.MQTT_5
# The broker assigns ids with AWS's reserved prefix, which clients may not use themselves.
ASSIGNED_ID_PREFIX = "$"


def _session_expiry(broker: Broker, packet: Connect) -> tuple[int, bool]:
    """(seconds the session outlives the connection, whether CONNACK must say so)."""
    cap = broker.limits.session_expiry
    if packet.protocol_level != _V5:
        return (0 if packet.clean_start else cap), False
    requested = packet.properties.session_expiry_interval or 0
    granted = min(requested, cap)
    return granted, granted != requested


def _packet_problem(packet: Connect) -> tuple[ReasonCode, str] | None:
    if packet.protocol_level == _V5 and packet.properties.authentication_method is not None:
        return ReasonCode.BAD_AUTHENTICATION_METHOD, "enhanced authentication is not supported"
    client_id = packet.client_id
    if not client_id and not packet.clean_start and packet.protocol_level != _V5:
        return ReasonCode.CLIENT_IDENTIFIER_NOT_VALID, "a persistent session needs a client id"
    if client_id.startswith(ASSIGNED_ID_PREFIX):
        return ReasonCode.CLIENT_IDENTIFIER_NOT_VALID, "client ids starting with $ are reserved"
    violation = aws_client_id_violation(client_id)
    if violation is not None:
        return ReasonCode.CLIENT_IDENTIFIER_NOT_VALID, str(violation)
    w = packet.will
    if w is not None:
        if w.qos == 2:
            return ReasonCode.QOS_NOT_SUPPORTED, "a Will with QoS 2 is not supported"
        if not is_valid_topic_name(w.topic) or aws_topic_violation(w.topic) is not None:
            return ReasonCode.TOPIC_NAME_INVALID, f"invalid Will topic {w.topic!r}"
    return None


async def handle_connect(broker: Broker, conn: Connection, packet: Connect) -> None:
    v5 = packet.protocol_level == _V5
    problem = _packet_problem(packet)
    if problem is not None:
        code, why = problem
        if not v5 and code in (ReasonCode.QOS_NOT_SUPPORTED, ReasonCode.TOPIC_NAME_INVALID):
            conn.violation(code, why)  # AWS closes a 3.1.1 connection over a QoS 2 Will
        else:
            conn.refuse(code, why)
        return
    client_id = packet.client_id or ASSIGNED_ID_PREFIX + uuid.uuid4().hex
    conn.client_id = client_id
    expiry, expiry_adjusted = _session_expiry(broker, packet)

    try:
        authenticated = await broker.authenticator.for_connect(
            packet.username, packet.password, conn.websocket_principal
        )
    except AuthenticationFailed as exc:
        conn.refuse(exc.reason_code, f"authentication failed: {exc}")
        return
    if conn.is_closed():
        return
    principal = authenticated.principal
    conn.principal = principal
    conn.principal_id = principal_identifier(principal)

    attributes = []
    if expiry > 0:
        attributes.append("PersistentConnect")
    if packet.will is not None:
        attributes.append("LastWill")
    facts = ConnectionFacts(client_id, conn.peer_ip, conn.secure, conn.domain_name, tuple(attributes))
    view = await broker.authorizer.for_connection(principal, facts, conn.on_reload, now=broker.clock.now())
    if conn.is_closed():
        view.close()
        return
    conn.authz = view
    if not view.allows(IOT_CONNECT, broker.client_arn(client_id)):
        conn.refuse(ReasonCode.NOT_AUTHORIZED, f"{principal.arn} may not connect as {client_id!r}")
        return
    w = packet.will
    if w is not None:
        arn = broker.topic_arn(w.topic)
        reserved = w.topic.startswith("$")
        if (
            reserved
            or not view.allows(IOT_PUBLISH, arn)
            or (w.retain and not view.allows(IOT_RETAIN_PUBLISH, arn))
        ):
            conn.refuse(ReasonCode.NOT_AUTHORIZED, f"{principal.arn} may not publish its Will to {w.topic!r}")
            return
    interval = broker.limits.min_connect_interval
    now_mono = time.monotonic()
    last = broker.last_connects.get(client_id)
    if interval > 0 and last is not None and now_mono - last < interval:
        conn.refuse(ReasonCode.QUOTA_EXCEEDED, f"more than one CONNECT per {interval:g}s for {client_id!r}")
        return
    broker.last_connects[client_id] = now_mono
    if broker.cluster is not None:
        await broker.cluster.claim(client_id)  # another node's connection with this id ends first
        if conn.is_closed():
            return
        if not packet.clean_start and client_id not in broker.sessions:
            await broker.adopt_session(client_id)  # its session moves here with it
            if conn.is_closed():
                return

    # From here on nothing awaits until the session is attached: takeover and attach are one step.
    existing = broker.sessions.get(client_id)
    if existing is not None and existing.connection is not None:
        existing.connection.close(DisconnectReason.DUPLICATE_CLIENTID, code=ReasonCode.SESSION_TAKEN_OVER)
    session, present = _attach_session(broker, conn, packet, client_id, expiry)
    conn.will = packet.will
    conn.version = packet.protocol_level
    keepalive = clamp_keepalive(packet.keep_alive)
    if v5:
        conn.outbound_window = min(
            packet.properties.receive_maximum or 65535, broker.limits.max_inflight_outbound
        )
        conn.max_outbound_packet = packet.properties.maximum_packet_size
    conn.write(_connack(broker, packet, present, expiry if expiry_adjusted else None, keepalive, client_id))
    conn.state = State.CONNECTED
    conn.connected_at = time.time()
    conn.keep_alive = keepalive
    conn.start_keepalive(keepalive * 1.5)
    broker.emit_event(
        events.connected(
            client_id,
            timestamp_ms=int(time.time() * 1000),
            session_id=conn.session_id,
            principal=conn.principal_id,
            ip_address=conn.peer_ip,
            version=broker.event_version(client_id),
        )
    )
    if present and session.in_store:
        conn.resuming = True
        conn.resume_reading()
        conn.process()
        await _resume(broker, conn, session)
        if conn.is_closed():
            return
        conn.resuming = False
        conn.pump()
    else:
        conn.resume_reading()
        conn.process()


def _attach_session(
    broker: Broker, conn: Connection, packet: Connect, client_id: str, expiry: int
) -> tuple[Session, bool]:
    existing = broker.sessions.get(client_id)
    if existing is not None:
        will.cancel(existing)
        now = time.time()
        stale = existing.expires_at is not None and existing.connection is None and existing.expires_at <= now
        if packet.clean_start or stale or existing.version != packet.protocol_level:
            broker.discard_session(existing)
            existing = None
    if existing is None:
        session = broker.new_session(client_id, packet.protocol_level, expiry)
        present = False
    else:
        session = existing
        present = True
        session.expiry_interval = expiry
        session.expires_at = None
        if expiry > 0:
            session.in_store = True
            broker.writer.submit(PutSession(client_id, int(session.version), expiry, None))
    session.connection = conn
    conn.session = session
    return session, present


def _connack(
    broker: Broker, packet: Connect, present: bool, expiry: int | None, keepalive: int, client_id: str
) -> bytes:
    if packet.protocol_level != _V5:
        return encode(Connack(session_present=present), packet.protocol_level)
    limits = broker.limits
    properties = Properties(
        session_expiry_interval=expiry,
        receive_maximum=limits.receive_maximum,
        maximum_qos=1,
        retain_available=1,
        maximum_packet_size=limits.max_packet_size,
        assigned_client_identifier=client_id if not packet.client_id else None,
        topic_alias_maximum=limits.topic_alias_maximum,
        wildcard_subscription_available=1,
        subscription_identifier_available=0,
        shared_subscription_available=1,
        server_keep_alive=keepalive if keepalive != packet.keep_alive else None,
    )
    return encode(Connack(session_present=present, properties=properties), _V5)


async def _resume(broker: Broker, conn: Connection, session: Session) -> None:
    """Read the session's stored QoS 1 messages back, ahead of anything that arrived meanwhile."""
    await broker.writer.drain()
    if conn.is_closed():
        return
    stored = await broker.repository.list_queue(session.client_id, broker.limits.max_queued_messages)
    if conn.is_closed() or session.connection is not conn:
        return
    live = {d.message.message_id for d in session.pending if d.message.message_id is not None}
    loaded: list[Delivery] = []
    now = time.time()
    topic_arn = broker.topic_arn
    authz = conn.authz
    assert authz is not None
    for item in stored:
        if item.message_id in live:
            continue
        message = Message.from_stored(item)
        if message.expired(now) or not authz.allows(IOT_RECEIVE, topic_arn(message.topic)):
            broker.writer.submit(Dequeue(session.client_id, item.message_id))
            continue
        loaded.append(Delivery(message, False))
    session.stored_count = 0
    session.pending.extendleft(reversed(loaded))
    if not session.persistent and session.in_store:
        # Resumed with Session Expiry 0: the stored copy has served its purpose.
        session.in_store = False
        broker.writer.submit(DeleteSession(session.client_id))
