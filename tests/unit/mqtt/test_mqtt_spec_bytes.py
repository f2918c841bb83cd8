"""Byte-exact vectors built by hand from the specifications (mqtt_spec_builders), both directions."""

from __future__ import annotations

import pytest

from bastion.mqtt import (
    Auth,
    Connack,
    Connect,
    Disconnect,
    EncodeError,
    Packet,
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

from .mqtt_spec_builders import (
    b,
    connect_v5,
    connect_v311,
    p_bin,
    p_byte,
    p_pair,
    p_str,
    p_u16,
    p_u32,
    p_vbi,
    packet,
    props,
    publish,
    s,
    u16,
)

V31 = ProtocolVersion.MQTT_3_1
V4 = ProtocolVersion.MQTT_3_1_1
V5 = ProtocolVersion.MQTT_5
RC = ReasonCode


def decode_one(data: bytes, version: ProtocolVersion | None) -> Packet:
    result = decode_packet(data, version)
    assert result is not None
    decoded, used = result
    assert used == len(data)
    return decoded


CONNECT_V5_PROPS = props(
    p_u32(0x11, 3600),
    p_str(0x15, "SCRAM-SHA-1"),
    p_bin(0x16, b"\x01\x02"),
    p_byte(0x17, 0),
    p_byte(0x19, 1),
    p_u16(0x21, 20),
    p_u16(0x22, 8),
    p_pair("k", "v"),
    p_pair("k", "w"),
    p_u32(0x27, 131072),
)
WILL_V5_PROPS = props(
    p_byte(0x01, 1),
    p_u32(0x02, 30),
    p_str(0x03, "text/plain"),
    p_str(0x08, "reply/here"),
    p_bin(0x09, b"cid"),
    p_u32(0x18, 10),
    p_pair("w", "1"),
)
CONNACK_V5_PROPS = props(
    p_u32(0x11, 600),
    p_str(0x12, "auto-1"),
    p_u16(0x13, 1200),
    p_str(0x1A, "resp"),
    p_str(0x1C, "other.example"),
    p_str(0x1F, "welcome"),
    p_u16(0x22, 8),
    p_byte(0x24, 1),
    p_byte(0x25, 1),
    p_pair("a", "b"),
    p_u32(0x27, 131072),
    p_byte(0x28, 1),
    p_byte(0x29, 0),
    p_byte(0x2A, 1),
)
PUBLISH_V5_PROPS = props(
    p_byte(0x01, 1),
    p_u32(0x02, 60),
    p_str(0x03, "application/json"),
    p_str(0x08, "resp/topic"),
    p_bin(0x09, b"\x00\xff"),
    p_vbi(0x0B, 1),
    p_vbi(0x0B, 300),
    p_u16(0x23, 4),
    p_pair("z", "1"),
    p_pair("a", "2"),
)

# (id, version, wire bytes, packet). Each pair must hold in both directions.
CANONICAL: list[tuple[str, ProtocolVersion | None, bytes, Packet]] = [
    ("connect-311-min", None, connect_v311("client-1"), Connect("client-1", V4, True, 60)),
    (
        "connect-311-full",
        None,
        connect_v311(
            "dev",
            clean=False,
            keep_alive=0,
            will=("last/will", b"gone", 1, True),
            username="u",
            password=b"p",
        ),
        Connect("dev", V4, False, 0, "u", b"p", Will("last/will", b"gone", 1, True)),
    ),
    (
        "connect-31-mqisdp",
        None,
        connect_v311("old", protocol_name="MQIsdp", level=3, username="u"),
        Connect("old", V31, True, 60, "u"),
    ),
    ("connect-311-empty-client-id", None, connect_v311(""), Connect("", V4, True, 60)),
    (
        "connect-5-full",
        None,
        connect_v5(
            "c5",
            keep_alive=30,
            properties=CONNECT_V5_PROPS,
            will=(WILL_V5_PROPS, "will/t", b"bye", 2, False),
            username="alice",
            password=b"secret",
        ),
        Connect(
            "c5",
            V5,
            True,
            30,
            "alice",
            b"secret",
            Will(
                "will/t",
                b"bye",
                2,
                False,
                Properties(
                    payload_format_indicator=1,
                    message_expiry_interval=30,
                    content_type="text/plain",
                    response_topic="reply/here",
                    correlation_data=b"cid",
                    will_delay_interval=10,
                    user_properties=(("w", "1"),),
                ),
            ),
            Properties(
                session_expiry_interval=3600,
                authentication_method="SCRAM-SHA-1",
                authentication_data=b"\x01\x02",
                request_problem_information=0,
                request_response_information=1,
                receive_maximum=20,
                topic_alias_maximum=8,
                user_properties=(("k", "v"), ("k", "w")),
                maximum_packet_size=131072,
            ),
        ),
    ),
    ("connect-5-password-only", None, connect_v5("p", password=b"x"), Connect("p", V5, True, 60, None, b"x")),
    ("connack-311", V4, bytes.fromhex("20020000"), Connack()),
    ("connack-311-session", V4, bytes.fromhex("20020100"), Connack(session_present=True)),
    ("connack-311-refused", V4, bytes.fromhex("20020005"), Connack(False, RC.NOT_AUTHORIZED)),
    (
        "connack-311-bad-version",
        V4,
        bytes.fromhex("20020001"),
        Connack(False, RC.UNSUPPORTED_PROTOCOL_VERSION),
    ),
    ("connack-5", V5, bytes.fromhex("2003000000"), Connack()),
    ("connack-5-refused", V5, bytes.fromhex("2003008700"), Connack(False, RC.NOT_AUTHORIZED)),
    (
        "connack-5-props",
        V5,
        packet(0x20, b"\x01\x00", CONNACK_V5_PROPS),
        Connack(
            True,
            RC.SUCCESS,
            Properties(
                session_expiry_interval=600,
                assigned_client_identifier="auto-1",
                server_keep_alive=1200,
                response_information="resp",
                server_reference="other.example",
                reason_string="welcome",
                topic_alias_maximum=8,
                maximum_qos=1,
                retain_available=1,
                user_properties=(("a", "b"),),
                maximum_packet_size=131072,
                wildcard_subscription_available=1,
                subscription_identifier_available=0,
                shared_subscription_available=1,
            ),
        ),
    ),
    ("publish-311-qos0", V4, publish("a/b", b"hello"), Publish("a/b", b"hello")),
    (
        "publish-311-qos1",
        V4,
        publish("a/b", b"x", qos=1, packet_id=10),
        Publish("a/b", b"x", 1, packet_id=10),
    ),
    (
        "publish-311-qos2-dup-retain",
        V4,
        publish("t", b"", qos=2, packet_id=65535, retain=True, dup=True),
        Publish("t", b"", 2, True, True, 65535),
    ),
    (
        "publish-311-unicode",
        V4,
        publish("caf\u00e9/\u6e29\u5ea6", b"\x00\x01"),
        Publish("café/温度", b"\x00\x01"),
    ),
    ("publish-5-qos0", V5, publish("a/b", b"hi", properties=b"\x00"), Publish("a/b", b"hi")),
    (
        "publish-5-props",
        V5,
        publish("a/b", b"{}", qos=1, packet_id=3, properties=PUBLISH_V5_PROPS),
        Publish(
            "a/b",
            b"{}",
            1,
            packet_id=3,
            properties=Properties(
                payload_format_indicator=1,
                message_expiry_interval=60,
                content_type="application/json",
                response_topic="resp/topic",
                correlation_data=b"\x00\xff",
                subscription_identifiers=(1, 300),
                topic_alias=4,
                user_properties=(("z", "1"), ("a", "2")),
            ),
        ),
    ),
    (
        "publish-5-alias-only",
        V5,
        publish("", b"v", properties=props(p_u16(0x23, 2))),
        Publish("", b"v", properties=Properties(topic_alias=2)),
    ),
    ("puback-311", V4, bytes.fromhex("40020007"), Puback(7)),
    ("pubrec-311", V4, bytes.fromhex("50020007"), Pubrec(7)),
    ("pubrel-311", V4, bytes.fromhex("62020007"), Pubrel(7)),
    ("pubcomp-311", V4, bytes.fromhex("70020007"), Pubcomp(7)),
    ("puback-5-short", V5, bytes.fromhex("40020007"), Puback(7)),
    ("puback-5-code", V5, bytes.fromhex("4003000710"), Puback(7, RC.NO_MATCHING_SUBSCRIBERS)),
    (
        "puback-5-props",
        V5,
        packet(0x40, u16(7), b"\x87", props(p_str(0x1F, "denied"), p_pair("x", "y"))),
        Puback(7, RC.NOT_AUTHORIZED, Properties(reason_string="denied", user_properties=(("x", "y"),))),
    ),
    ("pubrec-5-code", V5, bytes.fromhex("5003000797"), Pubrec(7, RC.QUOTA_EXCEEDED)),
    ("pubrel-5-code", V5, bytes.fromhex("6203000792"), Pubrel(7, RC.PACKET_IDENTIFIER_NOT_FOUND)),
    ("pubcomp-5-code", V5, bytes.fromhex("7003000792"), Pubcomp(7, RC.PACKET_IDENTIFIER_NOT_FOUND)),
    (
        "subscribe-311",
        V4,
        packet(0x82, u16(10), s("a/b"), b"\x01", s("c/#"), b"\x00"),
        Subscribe(10, (Subscription("a/b", 1), Subscription("c/#", 0))),
    ),
    (
        "subscribe-5",
        V5,
        packet(
            0x82,
            u16(11),
            props(p_vbi(0x0B, 5), p_pair("u", "p")),
            s("a/+"),
            b"\x1d",
            s("$share/g/x"),
            b"\x20",
        ),
        Subscribe(
            11,
            (
                Subscription("a/+", 1, True, True, RetainHandling.SEND_IF_NEW_SUBSCRIPTION),
                Subscription("$share/g/x", 0, False, False, RetainHandling.DO_NOT_SEND),
            ),
            Properties(subscription_identifiers=(5,), user_properties=(("u", "p"),)),
        ),
    ),
    (
        "suback-311",
        V4,
        bytes.fromhex("9005000a000180"),
        Suback(10, (RC.GRANTED_QOS_0, RC.GRANTED_QOS_1, RC.UNSPECIFIED_ERROR)),
    ),
    (
        "suback-5",
        V5,
        packet(0x90, u16(10), props(p_str(0x1F, "r")), b"\x01\x87\x8f\xa1"),
        Suback(
            10,
            (
                RC.GRANTED_QOS_1,
                RC.NOT_AUTHORIZED,
                RC.TOPIC_FILTER_INVALID,
                RC.SUBSCRIPTION_IDENTIFIERS_NOT_SUPPORTED,
            ),
            Properties(reason_string="r"),
        ),
    ),
    ("unsubscribe-311", V4, packet(0xA2, u16(12), s("a/b"), s("c/+")), Unsubscribe(12, ("a/b", "c/+"))),
    (
        "unsubscribe-5",
        V5,
        packet(0xA2, u16(12), props(p_pair("k", "v")), s("a/b")),
        Unsubscribe(12, ("a/b",), Properties(user_properties=(("k", "v"),))),
    ),
    ("unsuback-311", V4, bytes.fromhex("b002000c"), Unsuback(12)),
    (
        "unsuback-5",
        V5,
        bytes.fromhex("b005000c000011"),
        Unsuback(12, (RC.SUCCESS, RC.NO_SUBSCRIPTION_EXISTED)),
    ),
    ("pingreq-311", V4, bytes.fromhex("c000"), Pingreq()),
    ("pingresp-311", V4, bytes.fromhex("d000"), Pingresp()),
    ("pingreq-5", V5, bytes.fromhex("c000"), Pingreq()),
    ("pingresp-5", V5, bytes.fromhex("d000"), Pingresp()),
    ("disconnect-311", V4, bytes.fromhex("e000"), Disconnect()),
    ("disconnect-5", V5, bytes.fromhex("e000"), Disconnect()),
    ("disconnect-5-code", V5, bytes.fromhex("e0018e"), Disconnect(RC.SESSION_TAKEN_OVER)),
    (
        "disconnect-5-props",
        V5,
        packet(0xE0, b"\x9c", props(p_str(0x1C, "elsewhere"), p_str(0x1F, "move"))),
        Disconnect(RC.USE_ANOTHER_SERVER, Properties(server_reference="elsewhere", reason_string="move")),
    ),
    ("auth-5-empty", V5, bytes.fromhex("f000"), Auth()),
    (
        "auth-5",
        V5,
        packet(0xF0, b"\x18", props(p_str(0x15, "SCRAM"), p_bin(0x16, b"xyz"))),
        Auth(
            RC.CONTINUE_AUTHENTICATION, Properties(authentication_method="SCRAM", authentication_data=b"xyz")
        ),
    ),
]


@pytest.mark.parametrize(
    ("version", "wire", "expected"), [c[1:] for c in CANONICAL], ids=[c[0] for c in CANONICAL]
)
def test_decode_matches_hand_built_bytes(
    version: ProtocolVersion | None, wire: bytes, expected: Packet
) -> None:
    assert decode_one(wire, version) == expected


@pytest.mark.parametrize(
    ("version", "wire", "expected"), [c[1:] for c in CANONICAL], ids=[c[0] for c in CANONICAL]
)
def test_encode_matches_hand_built_bytes(
    version: ProtocolVersion | None, wire: bytes, expected: Packet
) -> None:
    target = expected.protocol_level if isinstance(expected, Connect) else version
    assert target is not None
    assert encode(expected, target) == wire


# Longer forms a peer may legally send; the encoder always writes the short form.
NON_CANONICAL: list[tuple[str, ProtocolVersion, bytes, Packet]] = [
    ("puback-5-explicit-success", V5, bytes.fromhex("400400070000"), Puback(7)),
    ("puback-5-code-no-props", V5, bytes.fromhex("4003000700"), Puback(7)),
    ("disconnect-5-explicit", V5, bytes.fromhex("e0020000"), Disconnect()),
    ("disconnect-5-code-only", V5, bytes.fromhex("e00100"), Disconnect()),
    (
        "publish-5-empty-props",
        V5,
        publish("t", b"", qos=1, packet_id=1, properties=props()),
        Publish("t", b"", 1, packet_id=1),
    ),
]


@pytest.mark.parametrize(
    ("version", "wire", "expected"), [c[1:] for c in NON_CANONICAL], ids=[c[0] for c in NON_CANONICAL]
)
def test_decode_accepts_longer_forms(version: ProtocolVersion, wire: bytes, expected: Packet) -> None:
    assert decode_one(wire, version) == expected


def test_spec_connect_example_variable_header() -> None:
    """The CONNECT variable-header example of MQTT 5 section 3.1.2: level 5, flags 0xCE, keep alive 10,
    properties length 5 holding Session Expiry Interval 10."""
    variable_header = bytes.fromhex("0004 4d515454 05 ce 000a 05 11 0000000a")
    payload = s("cid") + b"\x00" + s("w") + b(b"m") + s("user") + b(b"pw")
    wire = bytes([0x10, len(variable_header) + len(payload)]) + variable_header + payload
    decoded = decode_one(wire, None)
    assert decoded == Connect(
        "cid", V5, True, 10, "user", b"pw", Will("w", b"m", 1, False), Properties(session_expiry_interval=10)
    )


def test_remaining_length_boundaries_use_spec_varint() -> None:
    # 127 and 128 bytes of remaining length sit on the one/two byte boundary of section 1.5.5.
    for size in (127, 128, 16383, 16384):
        payload = b"p" * (size - 3)
        wire = publish("t", payload)
        assert encode(Publish("t", payload), V4) == wire
        assert decode_one(wire, V4) == Publish("t", payload)


def test_v311_suback_folds_every_failure_into_0x80() -> None:
    packet_ = Suback(1, (RC.GRANTED_QOS_1, RC.NOT_AUTHORIZED, RC.QUOTA_EXCEEDED))
    assert encode(packet_, V4) == bytes.fromhex("9005000101" + "8080")


def test_v311_connack_maps_v5_refusals() -> None:
    assert encode(Connack(False, RC.BAD_USER_NAME_OR_PASSWORD), V4) == bytes.fromhex("20020004")
    assert encode(Connack(False, RC.CLIENT_IDENTIFIER_NOT_VALID), V4) == bytes.fromhex("20020002")
    assert encode(Connack(False, RC.SERVER_BUSY), V4) == bytes.fromhex("20020003")
    assert encode(Connack(False, RC.BANNED), V4) == bytes.fromhex("20020005")


def test_v311_drops_properties_and_informational_codes() -> None:
    with_props = Publish("t", b"x", properties=Properties(user_properties=(("a", "b"),)))
    assert encode(with_props, V4) == publish("t", b"x")
    assert encode(Puback(3, RC.NO_MATCHING_SUBSCRIBERS), V4) == bytes.fromhex("40020003")
    assert encode(Unsuback(3, (RC.NO_SUBSCRIPTION_EXISTED,)), V4) == bytes.fromhex("b0020003")


@pytest.mark.parametrize(
    "packet_",
    [
        Puback(3, RC.NOT_AUTHORIZED),
        Pubrec(3, RC.QUOTA_EXCEEDED),
        Unsuback(3, (RC.NOT_AUTHORIZED,)),
        Disconnect(RC.SERVER_SHUTTING_DOWN),
        Auth(),
    ],
)
def test_v311_refuses_failure_codes_it_cannot_carry(packet_: Packet) -> None:
    with pytest.raises(EncodeError):
        encode(packet_, V4)


def test_v311_refuses_password_without_user_name() -> None:
    with pytest.raises(EncodeError):
        encode(Connect("x", V4, password=b"p"), V4)


def test_connect_level_must_match_the_connection() -> None:
    with pytest.raises(EncodeError):
        encode(Connect("x", V5), V4)
