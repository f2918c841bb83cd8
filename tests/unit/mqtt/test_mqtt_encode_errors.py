"""The encoder refuses packets that would be invalid on the wire (the caller's mistake, EncodeError)."""

from __future__ import annotations

from typing import Any

import pytest

from bastion.mqtt import (
    Auth,
    Connack,
    Connect,
    EncodeError,
    Packet,
    Properties,
    ProtocolVersion,
    Puback,
    Publish,
    ReasonCode,
    Suback,
    Subscribe,
    Subscription,
    Unsuback,
    Unsubscribe,
    Will,
    encode,
)

V4 = ProtocolVersion.MQTT_3_1_1
V5 = ProtocolVersion.MQTT_5
RC = ReasonCode

INVALID: list[tuple[str, Packet]] = [
    ("publish-qos3", Publish("t", b"", 3, packet_id=1)),
    ("publish-qos1-no-id", Publish("t", b"", 1)),
    ("publish-qos1-id-0", Publish("t", b"", 1, packet_id=0)),
    ("publish-qos1-id-too-big", Publish("t", b"", 1, packet_id=65536)),
    ("publish-qos0-with-id", Publish("t", b"", 0, packet_id=1)),
    ("publish-qos0-dup", Publish("t", b"", 0, dup=True)),
    ("publish-topic-nul", Publish("a\x00")),
    ("publish-topic-too-long", Publish("x" * 65536)),
    ("publish-property-not-allowed", Publish("t", properties=Properties(session_expiry_interval=1))),
    ("publish-flag-property-2", Publish("t", properties=Properties(payload_format_indicator=2))),
    ("publish-subscription-id-0", Publish("t", properties=Properties(subscription_identifiers=(0,)))),
    ("connect-will-qos3", Connect("c", V5, will=Will("w", qos=3))),
    ("connect-will-property", Connect("c", V5, will=Will("w", properties=Properties(topic_alias=1)))),
    ("connect-keep-alive", Connect("c", V5, keep_alive=70000)),
    ("connect-auth-data-alone", Connect("c", V5, properties=Properties(authentication_data=b"x"))),
    ("connect-receive-maximum-0", Connect("c", V5, properties=Properties(receive_maximum=0))),
    ("connack-session-with-refusal", Connack(True, RC.NOT_AUTHORIZED)),
    ("connack-code-not-allowed", Connack(False, RC.SERVER_SHUTTING_DOWN)),
    ("puback-code-not-allowed", Puback(1, RC.GRANTED_QOS_2)),
    ("puback-id-0", Puback(0)),
    ("subscribe-empty", Subscribe(1, ())),
    ("subscribe-qos3", Subscribe(1, (Subscription("a", 3),))),
    ("subscribe-no-local-shared", Subscribe(1, (Subscription("$share/g/a", 0, no_local=True),))),
    ("subscribe-two-ids", Subscribe(1, (Subscription("a"),), Properties(subscription_identifiers=(1, 2)))),
    ("suback-empty", Suback(1, ())),
    ("suback-code-not-allowed", Suback(1, (RC.NO_SUBSCRIPTION_EXISTED,))),
    ("unsubscribe-empty", Unsubscribe(1, ())),
    ("unsuback-5-empty", Unsuback(1)),
    ("auth-without-method", Auth(RC.CONTINUE_AUTHENTICATION)),
]


@pytest.mark.parametrize("packet", [c[1] for c in INVALID], ids=[c[0] for c in INVALID])
def test_invalid_packets_are_refused(packet: Packet) -> None:
    version = packet.protocol_level if isinstance(packet, Connect) else V5
    with pytest.raises(EncodeError):
        encode(packet, version)


def test_not_a_packet() -> None:
    thing: Any = object()
    with pytest.raises(TypeError):
        encode(thing, V4)


def test_encode_error_is_a_value_error() -> None:
    assert issubclass(EncodeError, ValueError)
