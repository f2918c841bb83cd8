"""decode(encode(packet)) == packet for every packet type, both versions, every property."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from bastion.mqtt import (
    Auth,
    Connack,
    Connect,
    Disconnect,
    Packet,
    PacketType,
    Pingreq,
    Pingresp,
    Properties,
    ProtocolVersion,
    Puback,
    Pubcomp,
    Publish,
    Pubrec,
    Pubrel,
    ReasonCode,
    RetainHandling,
    Suback,
    Subscribe,
    Subscription,
    Unsuback,
    Unsubscribe,
    Will,
    decode_packet,
    encode,
)
from bastion.mqtt.properties import PROPERTY_SPECS, WILL_SCOPE, PropertyType, allowed_fields

V31 = ProtocolVersion.MQTT_3_1
V4 = ProtocolVersion.MQTT_3_1_1
V5 = ProtocolVersion.MQTT_5
RC = ReasonCode

_SAMPLE: dict[PropertyType, Any] = {
    PropertyType.BYTE: 1,
    PropertyType.TWO_BYTE_INTEGER: 0xFFFF,
    PropertyType.FOUR_BYTE_INTEGER: 0xFFFF_FFFF,
    PropertyType.VARIABLE_BYTE_INTEGER: 268_435_455,
    PropertyType.UTF8_STRING: "välue/ü",
    PropertyType.BINARY_DATA: b"\x00\x01\xff",
}


def every_property(scope: int) -> Properties:
    """A Properties value with each property allowed in ``scope`` set (repeatable ones twice)."""
    fields: dict[str, Any] = {}
    types = {spec.field: spec.type for spec in PROPERTY_SPECS}
    for name in allowed_fields(scope):
        if name == "user_properties":
            fields[name] = (("k", "v"), ("k", "v"), ("", ""))
        elif name == "subscription_identifiers":
            fields[name] = (1, 268_435_455) if scope == PacketType.PUBLISH else (42,)
        else:
            fields[name] = _SAMPLE[types[name]]
    return Properties(**fields)


def test_every_property_is_exercised() -> None:
    covered = {name for scope in [*PacketType, WILL_SCOPE] for name in allowed_fields(scope)}
    assert covered == {spec.field for spec in PROPERTY_SPECS}
    assert covered == {field.name for field in dataclasses.fields(Properties)}
    assert len(PROPERTY_SPECS) == 27


def v5_packets() -> list[Packet]:
    p = every_property
    return [
        Connect(
            "cid",
            V5,
            False,
            65535,
            "user",
            b"pw",
            Will("w/t", b"m", 2, True, p(WILL_SCOPE)),
            p(PacketType.CONNECT),
        ),
        Connect("", V5),
        Connect("cid", V5, password=b"only"),
        Connack(True, RC.SUCCESS, p(PacketType.CONNACK)),
        Connack(False, RC.QUOTA_EXCEEDED),
        Publish("a/b", b"payload", 0, True, False, None, p(PacketType.PUBLISH)),
        Publish("a/b", b"", 1, False, True, 1),
        Publish("x", bytes(range(256)) * 10, 2, packet_id=65535),
        Puback(1, RC.SUCCESS, p(PacketType.PUBACK)),
        Puback(2, RC.PAYLOAD_FORMAT_INVALID),
        Pubrec(3, RC.NO_MATCHING_SUBSCRIBERS, p(PacketType.PUBREC)),
        Pubrel(4, RC.PACKET_IDENTIFIER_NOT_FOUND, p(PacketType.PUBREL)),
        Pubcomp(5, RC.SUCCESS, p(PacketType.PUBCOMP)),
        Subscribe(
            6,
            (
                Subscription("a/#", 2, True, True, RetainHandling.DO_NOT_SEND),
                Subscription("$share/g/+/x", 1, False, True, RetainHandling.SEND_IF_NEW_SUBSCRIPTION),
            ),
            p(PacketType.SUBSCRIBE),
        ),
        Suback(6, (RC.GRANTED_QOS_2, RC.WILDCARD_SUBSCRIPTIONS_NOT_SUPPORTED), p(PacketType.SUBACK)),
        Unsubscribe(7, ("a/#", "b"), p(PacketType.UNSUBSCRIBE)),
        Unsuback(7, (RC.SUCCESS, RC.TOPIC_FILTER_INVALID), p(PacketType.UNSUBACK)),
        Pingreq(),
        Pingresp(),
        Disconnect(RC.NORMAL_DISCONNECTION, p(PacketType.DISCONNECT)),
        Disconnect(RC.DISCONNECT_WITH_WILL_MESSAGE),
        Auth(RC.RE_AUTHENTICATE, p(PacketType.AUTH)),
        Auth(),
    ]


def v311_packets(level: ProtocolVersion) -> list[Packet]:
    return [
        Connect("cid", level, False, 10, "user", b"pw", Will("w/t", b"m", 1, True)),
        Connect("", level),
        Connack(True),
        Connack(False, RC.BAD_USER_NAME_OR_PASSWORD),
        Publish("a/b", b"payload", 0, True),
        Publish("a/b", b"", 1, False, True, 1),
        Publish("a", b"x" * 200_000, 2, packet_id=9),
        Puback(1),
        Pubrec(2),
        Pubrel(3),
        Pubcomp(4),
        Subscribe(5, (Subscription("a/#", 2), Subscription("+", 0))),
        Suback(5, (RC.GRANTED_QOS_2, RC.UNSPECIFIED_ERROR, RC.GRANTED_QOS_0)),
        Unsubscribe(6, ("a/#",)),
        Unsuback(6),
        Pingreq(),
        Pingresp(),
        Disconnect(),
    ]


CASES = (
    [(V5, pkt) for pkt in v5_packets()]
    + [(V4, pkt) for pkt in v311_packets(V4)]
    + [(V31, pkt) for pkt in v311_packets(V31)]
)


@pytest.mark.parametrize(("version", "original"), CASES, ids=[f"v{v}-{type(p).__name__}" for v, p in CASES])
def test_round_trip(version: ProtocolVersion, original: Packet) -> None:
    wire = encode(original, version)
    result = decode_packet(wire, version)
    assert result is not None
    decoded, used = result
    assert used == len(wire)
    assert decoded == original
    # Encoding what was decoded gives the same bytes back.
    assert encode(decoded, version) == wire


def test_decoded_publish_keeps_its_raw_bytes() -> None:
    wire = encode(Publish("a/b", b"hi", 1, packet_id=5), V5)
    result = decode_packet(wire, V5)
    assert result is not None
    decoded = result[0]
    assert isinstance(decoded, Publish)
    assert decoded.raw == wire
    # replace() builds a new message whose raw bytes would be stale, so it must not inherit them.
    assert dataclasses.replace(decoded, retain=True).raw is None
