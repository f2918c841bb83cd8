"""Inbound PUBLISH: topic alias, topic checks, authorization (iot:Publish, iot:RetainPublish), routing,
and the PUBACK, which waits for the store when the message was retained or queued for a persistent
session.

AWS reactions: QoS 2 is never acknowledged (MQTT 5: DISCONNECT 0x9B, since CONNACK said Maximum QoS 1);
a denied publish closes an MQTT 3.1.1 connection and gets PUBACK 0x87 (QoS 1) or is dropped (QoS 0) on
MQTT 5; client publishes to reserved ``$`` topics other than ``$aws/things/...`` and ``$aws/rules/...``
and retained publishes to any ``$`` topic are refused as not authorized.
"""

from __future__ import annotations

import time
from dataclasses import replace
from typing import TYPE_CHECKING

from bastion.broker.events import DisconnectReason
from bastion.broker.limits import clamp_message_expiry
from bastion.broker.message import Message
from bastion.mqtt import ProtocolVersion, Publish, ReasonCode, aws_topic_violation, is_valid_topic_name
from bastion.services.connection_authz import IOT_PUBLISH, IOT_RETAIN_PUBLISH

if TYPE_CHECKING:
    from bastion.broker.connection import Connection
    from bastion.broker.core import Broker

_V5 = ProtocolVersion.MQTT_5
# Reserved topics a client may publish to (device shadows and jobs; Basic Ingest).
CLIENT_WRITABLE_RESERVED = ("$aws/things/", "$aws/rules/")


def refuse_publish(conn: Connection, packet: Publish, code: ReasonCode, why: str) -> None:
    """AWS's reaction to a publish it will not take."""
    if conn.version != _V5:
        event = (
            DisconnectReason.FORBIDDEN_ACCESS
            if code == ReasonCode.NOT_AUTHORIZED
            else DisconnectReason.CLIENT_ERROR
        )
        conn.violation(code, why, event)
    elif packet.qos == 1:
        assert packet.packet_id is not None
        conn.ack_publish(packet.packet_id, code, durable=False)


def _resolve_alias(conn: Connection, packet: Publish) -> Publish | None:
    alias = packet.properties.topic_alias
    if alias is None:
        return packet
    if alias == 0 or alias > conn.broker.limits.topic_alias_maximum:
        conn.violation(
            ReasonCode.TOPIC_ALIAS_INVALID,
            f"topic alias {alias} is outside 1..{conn.broker.limits.topic_alias_maximum}",
        )
        return None
    topic = packet.topic
    if topic:
        conn.aliases[alias] = topic
    else:
        found = conn.aliases.get(alias)
        if found is None:
            conn.violation(ReasonCode.PROTOCOL_ERROR, f"topic alias {alias} was never set")
            return None
        topic = found
    # The alias is per hop: subscribers get the topic name, so the packet is re-encoded for them.
    return replace(packet, topic=topic, properties=replace(packet.properties, topic_alias=None))


def handle_publish(broker: Broker, conn: Connection, packet: Publish) -> None:
    if packet.qos == 2:
        if conn.version == _V5:
            conn.violation(ReasonCode.QOS_NOT_SUPPORTED, "QoS 2 is not supported")
        return  # MQTT 3.1.1: AWS neither acknowledges nor forwards it
    if conn.version == _V5:
        resolved = _resolve_alias(conn, packet)
        if resolved is None:
            return
        packet = resolved
    topic = packet.topic
    if not is_valid_topic_name(topic):
        conn.violation(ReasonCode.TOPIC_NAME_INVALID, f"invalid topic name {topic!r}")
        return
    violation = aws_topic_violation(topic)
    if violation is not None:
        refuse_publish(conn, packet, ReasonCode.TOPIC_NAME_INVALID, str(violation))
        return
    authz = conn.authz
    assert authz is not None
    arn = broker.topic_arn(topic)
    reserved = topic.startswith("$")
    allowed = (not reserved or topic.startswith(CLIENT_WRITABLE_RESERVED)) and authz.allows(IOT_PUBLISH, arn)
    if allowed and packet.retain:
        allowed = not reserved and authz.allows(IOT_RETAIN_PUBLISH, arn)
    if not allowed:
        refuse_publish(conn, packet, ReasonCode.NOT_AUTHORIZED, f"not authorized to publish to {topic!r}")
        return
    properties = packet.properties
    expiry = properties.message_expiry_interval
    if expiry is not None and clamp_message_expiry(expiry) != expiry:
        packet = replace(
            packet, properties=replace(properties, message_expiry_interval=clamp_message_expiry(expiry))
        )
    message = Message.from_publish(packet, now=time.time(), origin=conn.session, forward_raw=True)
    if packet.retain and not broker.retained.has_room_for(message):
        refuse_publish(conn, packet, ReasonCode.QUOTA_EXCEEDED, "retained message limit reached")
        return
    durable = broker.publish(message)
    if packet.qos == 1:
        assert packet.packet_id is not None
        conn.ack_publish(packet.packet_id, ReasonCode.SUCCESS, durable=durable)
