"""The AWS IoT data plane over HTTP, served by the broker: the ``DataPlane`` the iot-data API front uses.

An HTTP Publish becomes a broker :class:`Message` under the same rules as an MQTT PUBLISH
(``publish.py``): a valid topic name within AWS's limits, reserved ``$`` topics refused except
``$aws/things/...`` and ``$aws/rules/...``, no retained message on any ``$`` topic, the retained message
limit, the 128 KB payload limit. Every delivery is still checked with ``iot:Receive`` against the
subscriber's own connection view, and the answer waits for the store to commit whatever the message made
durable (a retained message, QoS 1 copies queued for persistent sessions), as a PUBACK does. The
caller's own ``iot:Publish`` / ``iot:RetainPublish`` were decided by the API pipeline before this runs.

GetConnection, ListSubscriptions and DeleteConnection answer for the whole deployment: in a cluster, a
client id this node does not hold is asked of the node that does (``ClusterLink.remote_client`` and
``remote_disconnect``), which runs the ``local_*`` methods here for it.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from bastion.broker import will
from bastion.broker.core import Broker, RemoteClient
from bastion.broker.events import DisconnectReason
from bastion.broker.limits import clamp_message_expiry
from bastion.broker.message import Message
from bastion.broker.publish import CLIENT_WRITABLE_RESERVED
from bastion.broker.sessions import Session
from bastion.mqtt import NO_PROPERTIES, Properties, ReasonCode, aws_topic_violation, is_valid_topic_name
from bastion.services.errors import AccessDeniedError, InvalidInputError, LimitExceededError, NotFoundError
from bastion.services.iot_data import (
    ConnectionInfo,
    OutboundMessage,
    PayloadTooLargeError,
    RetainedMessageInfo,
    RetainedPage,
    SubscriptionInfo,
    UnavailableError,
)

# AWS IoT: "The payload for every publish request can be no larger than 128 KB."
MAX_PAYLOAD_BYTES = 128 * 1024


def _ms(seconds: float) -> int:
    return int(seconds * 1000)


def _unknown(client_id: str) -> NotFoundError:
    return NotFoundError(f"No connection or session exists for client id {client_id}.")


def check_topic(topic: str) -> None:
    """The topic rules every publish follows (InvalidInputError, or AccessDeniedError for reserved)."""
    if not is_valid_topic_name(topic):
        raise InvalidInputError(f"Invalid topic name {topic!r}: a topic name has no + or # characters.")
    violation = aws_topic_violation(topic)
    if violation is not None:
        raise InvalidInputError(f"Invalid topic name: {violation}.")
    if topic.startswith("$") and not topic.startswith(CLIENT_WRITABLE_RESERVED):
        raise AccessDeniedError(f"Publishing to the reserved topic {topic!r} is not allowed.")


def _properties(message: OutboundMessage) -> Properties:
    if message.response_topic is not None and not is_valid_topic_name(message.response_topic):
        raise InvalidInputError("responseTopic must be a topic name without wildcard characters.")
    expiry = message.message_expiry
    if expiry is not None:
        if expiry < 0:
            raise InvalidInputError("messageExpiry must not be negative.")
        expiry = clamp_message_expiry(expiry)
    properties = Properties(
        payload_format_indicator=message.payload_format_indicator,
        message_expiry_interval=expiry,
        content_type=message.content_type,
        response_topic=message.response_topic,
        correlation_data=message.correlation_data,
        user_properties=message.user_properties,
    )
    return NO_PROPERTIES if properties == NO_PROPERTIES else properties


class BrokerDataPlane:
    def __init__(self, broker: Broker) -> None:
        self._broker = broker

    # ---- publishing ---------------------------------------------------------------------------------
    async def publish(self, message: OutboundMessage) -> None:
        broker = self._broker
        if broker.stopping:
            raise UnavailableError("The message broker is shutting down.")
        if len(message.payload) > MAX_PAYLOAD_BYTES:
            raise PayloadTooLargeError(f"The payload exceeds the maximum size of {MAX_PAYLOAD_BYTES} bytes.")
        topic = message.topic
        check_topic(topic)
        if message.retain and topic.startswith("$"):
            raise AccessDeniedError(f"Retained messages are not allowed on the reserved topic {topic!r}.")
        properties = _properties(message)
        expires_at = None
        if properties.message_expiry_interval is not None:
            expires_at = time.time() + properties.message_expiry_interval
        routed = Message(
            topic, message.payload, message.qos, message.retain, properties, expires_at=expires_at
        )
        if message.retain and not broker.retained.has_room_for(routed):
            raise LimitExceededError("The account's retained message limit has been reached.")
        if broker.publish(routed):
            await broker.writer.drain()

    # ---- retained messages --------------------------------------------------------------------------
    def retained_message(self, topic: str) -> RetainedMessageInfo:
        if not is_valid_topic_name(topic):
            raise InvalidInputError(f"Invalid topic name: {topic!r}.")
        found = self._retained(topic)
        if found is None:
            raise NotFoundError(f"No retained message exists for topic {topic}.")
        return found

    def retained_messages(self, after: str | None, limit: int) -> RetainedPage:
        store = self._broker.retained
        topics = store.topics_after(after, limit + 1)
        items = [found for topic in topics[:limit] if (found := self._retained(topic)) is not None]
        return RetainedPage(tuple(items), more=len(topics) > limit)

    def _retained(self, topic: str) -> RetainedMessageInfo | None:
        store = self._broker.retained
        message = store.get(topic)
        if message is None:
            return None
        updated = store.updated_at(topic) or time.time()
        return RetainedMessageInfo(
            topic, message.payload, message.qos, _ms(updated), message.properties.user_properties
        )

    # ---- connections --------------------------------------------------------------------------------
    def _session(self, client_id: str) -> Session:
        session = self._broker.sessions.get(client_id)
        if session is not None and session.connection is None:
            expires_at = session.expires_at
            if expires_at is not None and expires_at <= time.time():
                session = None  # expired, not swept yet
        if session is None:
            raise _unknown(client_id)
        return session

    async def connection(self, client_id: str) -> ConnectionInfo:
        if client_id in self._broker.sessions or self._broker.cluster is None:
            return self.local_connection(client_id)
        return (await self._remote(client_id))[0]

    async def subscriptions(self, client_id: str) -> Sequence[SubscriptionInfo]:
        if client_id in self._broker.sessions or self._broker.cluster is None:
            return self.local_subscriptions(client_id)
        return (await self._remote(client_id))[1]

    async def disconnect(self, client_id: str, *, clean_session: bool, prevent_will: bool) -> None:
        cluster = self._broker.cluster
        if client_id in self._broker.sessions or cluster is None or self._broker.stopping:
            await self.local_disconnect(client_id, clean_session=clean_session, prevent_will=prevent_will)
        elif not await cluster.remote_disconnect(
            client_id, clean_session=clean_session, prevent_will=prevent_will
        ):
            raise _unknown(client_id)

    async def _remote(self, client_id: str) -> RemoteClient:
        """In a cluster, a client id this node does not hold: ask the node that does."""
        assert self._broker.cluster is not None
        found = await self._broker.cluster.remote_client(client_id)
        if found is None:
            raise _unknown(client_id)
        return found

    # ---- connections held here (what the node holding a client id runs for the others, too) ---------
    def local_connection(self, client_id: str) -> ConnectionInfo:
        session = self._session(client_id)
        conn = session.connection
        expiry = session.expiry_interval
        if conn is not None:
            return ConnectionInfo(
                client_id,
                connected=True,
                clean_session=not session.persistent,
                session_expiry=expiry,
                keep_alive=conn.keep_alive,
                connected_since_ms=None if conn.connected_at is None else _ms(conn.connected_at),
                source_ip=conn.peer_ip or None,
            )
        left = session.last_disconnect
        return ConnectionInfo(
            client_id,
            connected=False,
            clean_session=False,
            session_expiry=expiry,
            disconnected_since_ms=None if left is None else _ms(left[0]),
            disconnect_reason=None if left is None else left[1],
        )

    async def local_disconnect(self, client_id: str, *, clean_session: bool, prevent_will: bool) -> None:
        broker = self._broker
        if broker.stopping:
            raise UnavailableError("The message broker is shutting down.")
        session = self._session(client_id)
        conn = session.connection
        if conn is None and not clean_session:
            raise NotFoundError(f"The client {client_id} is not connected.")
        if conn is not None:
            if prevent_will:
                conn.will = None
            # The broker's own server-initiated close: MQTT 5 DISCONNECT 0x98, Will, presence event.
            conn.close(DisconnectReason.API_INITIATED_DISCONNECT, code=ReasonCode.ADMINISTRATIVE_ACTION)
        if clean_session and broker.sessions.get(client_id) is session:
            if prevent_will:
                will.cancel(session)  # a delayed Will of an earlier disconnect goes too
            broker.discard_session(session)
        await broker.writer.drain()

    def local_subscriptions(self, client_id: str) -> tuple[SubscriptionInfo, ...]:
        session = self._session(client_id)
        return tuple(SubscriptionInfo(e.topic_filter, e.qos) for e in session.subscriptions.values())
