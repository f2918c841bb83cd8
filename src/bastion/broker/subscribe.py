"""SUBSCRIBE and UNSUBSCRIBE, with AWS IoT's rules and reactions.

* iot:Subscribe is checked per filter on ``topicfilter/<filter as sent>`` (``$share/...`` included).
  Denied: MQTT 5 SUBACK 0x87 for that filter; MQTT 3.1.1 closes the connection (nothing is subscribed).
* QoS 2 requested: no SUBACK at all (AWS).
* At most 8 filters per SUBSCRIBE and 50 subscriptions per connection: MQTT 5 answers 0x97 for the
  excess; MQTT 3.1.1 closes the connection. Invalid filters (or past AWS's topic limits): 0x8F / close.
* MQTT 5 Subscription Identifiers are not supported: DISCONNECT 0xA1.
* Retained messages follow the SUBACK, only for filters equal to a topic (no wildcards, not shared),
  with RETAIN=1, subject to iot:Receive and to MQTT 5 Retain Handling.
* For a persistent session the SUBACK waits until the subscription is stored.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from bastion.broker import events
from bastion.broker.authentication import principal_identifier
from bastion.broker.events import DisconnectReason
from bastion.broker.sessions import Session, SubscriptionEntry
from bastion.mqtt import (
    ProtocolVersion,
    ReasonCode,
    RetainHandling,
    Suback,
    Subscribe,
    Subscription,
    Unsuback,
    Unsubscribe,
    aws_topic_violation,
    encode,
    is_valid_topic_filter,
)
from bastion.mqtt.topics import has_wildcard
from bastion.services.connection_authz import IOT_SUBSCRIBE
from bastion.storage.mqtt import DeleteSubscription, PutSubscription

if TYPE_CHECKING:
    from bastion.broker.connection import Connection
    from bastion.broker.core import Broker

_V5 = ProtocolVersion.MQTT_5
_GRANTED = (ReasonCode.GRANTED_QOS_0, ReasonCode.GRANTED_QOS_1)


def _filter_ok(topic_filter: str) -> bool:
    return is_valid_topic_filter(topic_filter) and aws_topic_violation(topic_filter) is None


def handle_subscribe(broker: Broker, conn: Connection, packet: Subscribe) -> None:
    v5 = conn.version == _V5
    if v5 and packet.properties.subscription_identifiers:
        conn.violation(
            ReasonCode.SUBSCRIPTION_IDENTIFIERS_NOT_SUPPORTED, "subscription identifiers are not supported"
        )
        return
    if any(sub.qos == 2 for sub in packet.subscriptions):
        return  # AWS: no SUBACK for a QoS 2 request
    session = conn.session
    authz = conn.authz
    assert session is not None and authz is not None
    limits = broker.limits
    codes: list[ReasonCode] = []
    accepted: list[Subscription] = []
    new_filters: set[str] = set()
    for index, sub in enumerate(packet.subscriptions):
        topic_filter = sub.topic_filter
        if index >= limits.max_filters_per_subscribe:
            code = ReasonCode.QUOTA_EXCEEDED
        elif not _filter_ok(topic_filter):
            code = ReasonCode.TOPIC_FILTER_INVALID
        elif not authz.allows(IOT_SUBSCRIBE, broker.topic_filter_arn(topic_filter)):
            code = ReasonCode.NOT_AUTHORIZED
        elif (
            topic_filter not in session.subscriptions
            and topic_filter not in new_filters
            and len(session.subscriptions) + len(new_filters) >= limits.max_subscriptions_per_connection
        ):
            code = ReasonCode.QUOTA_EXCEEDED
        else:
            code = _GRANTED[sub.qos]
            if topic_filter not in session.subscriptions:
                new_filters.add(topic_filter)
            accepted.append(sub)
        if code.is_failure and not v5:
            event = (
                DisconnectReason.FORBIDDEN_ACCESS
                if code == ReasonCode.NOT_AUTHORIZED
                else DisconnectReason.CLIENT_ERROR
            )
            conn.violation(code, f"SUBSCRIBE {topic_filter!r} refused ({code.name})", event)
            return
        codes.append(code)
    added: list[tuple[SubscriptionEntry, bool]] = []
    for sub in accepted:
        entry = SubscriptionEntry.from_subscription(sub)
        old = session.subscriptions.get(sub.topic_filter)
        if old is not None:
            broker.router.remove(session, old)
        session.subscriptions[sub.topic_filter] = entry
        broker.router.add(session, entry)
        if session.in_store:
            broker.writer.submit(PutSubscription(session.client_id, entry.to_stored()))
        added.append((entry, old is None))
    suback = encode(Suback(packet.packet_id, tuple(codes)), conn.version)
    if session.in_store and added:
        conn.after_commit(suback)
        broker.writer.barrier(lambda: _after_suback(broker, conn, session, added))
    else:
        conn.write(suback)
        _after_suback(broker, conn, session, added)


def _after_suback(
    broker: Broker, conn: Connection, session: Session, added: list[tuple[SubscriptionEntry, bool]]
) -> None:
    if conn.is_closed() or not added:
        return
    for entry, is_new in added:
        _send_retained(broker, session, entry, is_new)
    if conn.principal is not None:
        broker.emit_event(
            events.subscriptions(
                conn.client_id,
                subscribed=True,
                timestamp_ms=int(time.time() * 1000),
                session_id=conn.session_id,
                principal=principal_identifier(conn.principal),
                topics=[entry.topic_filter for entry, _ in added],
            )
        )


def _send_retained(broker: Broker, session: Session, entry: SubscriptionEntry, is_new: bool) -> None:
    if entry.share_name is not None or has_wildcard(entry.match_filter):
        return
    if entry.retain_handling == RetainHandling.DO_NOT_SEND:
        return
    if entry.retain_handling == RetainHandling.SEND_IF_NEW_SUBSCRIPTION and not is_new:
        return
    message = broker.retained.get(entry.match_filter)
    if message is not None:
        broker.deliver(session, message, min(message.qos, entry.qos), True)


def handle_unsubscribe(broker: Broker, conn: Connection, packet: Unsubscribe) -> None:
    v5 = conn.version == _V5
    session = conn.session
    assert session is not None
    codes: list[ReasonCode] = []
    removed: list[str] = []
    for topic_filter in packet.topic_filters:
        if not is_valid_topic_filter(topic_filter):
            if not v5:
                conn.violation(ReasonCode.TOPIC_FILTER_INVALID, f"invalid topic filter {topic_filter!r}")
                return
            codes.append(ReasonCode.TOPIC_FILTER_INVALID)
            continue
        entry = session.subscriptions.pop(topic_filter, None)
        if entry is None:
            codes.append(ReasonCode.NO_SUBSCRIPTION_EXISTED)
            continue
        broker.router.remove(session, entry)
        if session.in_store:
            broker.writer.submit(DeleteSubscription(session.client_id, topic_filter))
        removed.append(topic_filter)
        codes.append(ReasonCode.SUCCESS)
    unsuback = encode(Unsuback(packet.packet_id, tuple(codes) if v5 else ()), conn.version)
    if session.in_store and removed:
        conn.after_commit(unsuback)
    else:
        conn.write(unsuback)
    if removed and conn.principal is not None:
        broker.emit_event(
            events.subscriptions(
                conn.client_id,
                subscribed=False,
                timestamp_ms=int(time.time() * 1000),
                session_id=conn.session_id,
                principal=principal_identifier(conn.principal),
                topics=removed,
            )
        )
