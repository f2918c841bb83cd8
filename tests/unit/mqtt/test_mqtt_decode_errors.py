"""Every well-formedness rule the decoder enforces, each with the error class (and reason code) it maps to."""

from __future__ import annotations

import pytest

from bastion.mqtt import (
    DecodeError,
    MalformedPacket,
    PacketTooLarge,
    ProtocolError,
    ProtocolVersion,
    ReasonCode,
    UnsupportedProtocolVersion,
    decode_packet,
)

from .mqtt_spec_builders import (
    connect_v5,
    connect_v311,
    p_bin,
    p_byte,
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

V4 = ProtocolVersion.MQTT_3_1_1
V5 = ProtocolVersion.MQTT_5
M = MalformedPacket
P = ProtocolError
U = UnsupportedProtocolVersion


def _connect_raw(name: str, level: int, flags: int, tail: bytes = b"") -> bytes:
    return packet(0x10, s(name), bytes([level, flags]), u16(60), tail)


CASES: list[tuple[str, ProtocolVersion | None, bytes, type[DecodeError]]] = [
    # Fixed header.
    ("reserved-type-0", V4, bytes.fromhex("0000"), M),
    ("auth-in-311", V4, bytes.fromhex("f000"), M),
    ("pubrel-flags-0", V4, bytes.fromhex("60020001"), M),
    ("subscribe-flags-0", V4, packet(0x80, u16(1), s("a"), b"\x00"), M),
    ("unsubscribe-flags-0", V4, packet(0xA0, u16(1), s("a")), M),
    ("puback-flag-set", V4, bytes.fromhex("41020001"), M),
    ("pingreq-flag-set", V4, bytes.fromhex("c800"), M),
    ("publish-qos3", V4, bytes.fromhex("36050003612f62"), M),
    ("publish-dup-qos0", V4, bytes.fromhex("38050003612f62"), M),
    ("remaining-length-5-bytes", V4, bytes.fromhex("30ffffffff01"), M),
    ("remaining-length-not-minimal", V4, bytes.fromhex("308000"), M),
    # Strings (section 1.5.4).
    ("topic-invalid-utf8", V4, bytes.fromhex("30050003") + b"a\xffb", M),
    ("topic-nul", V4, publish("a\x00b", b""), M),
    ("topic-surrogate", V4, bytes.fromhex("30050003eda080"), M),
    ("topic-overlong", V4, bytes.fromhex("30040002c0af"), M),
    ("topic-past-end", V4, bytes.fromhex("3003000561"), M),
    ("topic-length-truncated", V4, bytes.fromhex("300100"), M),
    # PUBLISH.
    ("publish-packet-id-0", V4, publish("t", b"", qos=1, packet_id=0), P),
    ("publish-missing-packet-id", V4, bytes.fromhex("3203000174"), M),
    ("publish-5-missing-properties", V5, bytes.fromhex("3003000174"), M),
    ("publish-5-property-not-allowed", V5, publish("t", b"", properties=props(p_u32(0x11, 1))), M),
    ("publish-5-unknown-property", V5, publish("t", b"", properties=props(bytes([0x05, 0x00]))), M),
    (
        "publish-5-duplicate-property",
        V5,
        publish("t", b"", properties=props(p_u32(0x02, 1), p_u32(0x02, 2))),
        P,
    ),
    ("publish-5-payload-format-2", V5, publish("t", b"", properties=props(p_byte(0x01, 2))), P),
    ("publish-5-subscription-id-0", V5, publish("t", b"", properties=props(p_vbi(0x0B, 0))), P),
    ("publish-5-properties-past-end", V5, bytes.fromhex("30040001740a"), M),
    ("publish-5-property-value-truncated", V5, bytes.fromhex("30 06 0001 74 02 0200"), M),
    (
        "publish-5-property-id-5-bytes",
        V5,
        publish("t", b"", properties=props(bytes.fromhex("8080808001"))),
        M,
    ),
    ("publish-5-property-id-not-minimal", V5, publish("t", b"", properties=props(bytes.fromhex("8100"))), M),
    # CONNECT.
    ("connect-reserved-flag", None, _connect_raw("MQTT", 4, 0x03, s("c")), M),
    ("connect-will-qos3", None, _connect_raw("MQTT", 4, 0x1E, s("c") + s("w") + s("m")), M),
    ("connect-will-retain-without-will", None, _connect_raw("MQTT", 4, 0x22, s("c")), M),
    ("connect-will-qos-without-will", None, _connect_raw("MQTT", 4, 0x0A, s("c")), M),
    ("connect-311-password-without-user", None, connect_v311("c", password=b"p"), M),
    ("connect-bad-name", None, _connect_raw("MQTX", 4, 0x02, s("c")), U),
    ("connect-level-6", None, _connect_raw("MQTT", 6, 0x02, s("c")), U),
    ("connect-mqtt-level-3", None, _connect_raw("MQTT", 3, 0x02, s("c")), U),
    ("connect-mqisdp-level-4", None, _connect_raw("MQIsdp", 4, 0x02, s("c")), U),
    ("connect-trailing-bytes", None, _connect_raw("MQTT", 4, 0x02, s("c") + b"\x00"), M),
    ("connect-truncated-client-id", None, _connect_raw("MQTT", 4, 0x02, u16(5) + b"ab"), M),
    ("connect-missing-will", None, _connect_raw("MQTT", 4, 0x06, s("c")), M),
    ("connect-5-receive-maximum-0", None, connect_v5("c", properties=props(p_u16(0x21, 0))), P),
    ("connect-5-maximum-packet-size-0", None, connect_v5("c", properties=props(p_u32(0x27, 0))), P),
    ("connect-5-request-problem-2", None, connect_v5("c", properties=props(p_byte(0x17, 2))), P),
    ("connect-5-auth-data-without-method", None, connect_v5("c", properties=props(p_bin(0x16, b"x"))), P),
    ("connect-5-topic-alias-not-allowed", None, connect_v5("c", properties=props(p_u16(0x23, 1))), M),
    (
        "connect-5-will-property-not-allowed",
        None,
        connect_v5("c", will=(props(p_u32(0x11, 1)), "w", b"", 0, False)),
        M,
    ),
    ("non-connect-before-version", None, bytes.fromhex("c000"), P),
    # CONNACK.
    ("connack-reserved-flags", V4, bytes.fromhex("20020200"), M),
    ("connack-311-code-6", V4, bytes.fromhex("20020006"), P),
    ("connack-311-session-with-refusal", V4, bytes.fromhex("20020105"), P),
    ("connack-311-too-long", V4, bytes.fromhex("2003000000"), M),
    ("connack-5-code-not-allowed", V5, bytes.fromhex("2003008b00"), P),
    ("connack-5-missing-properties", V5, bytes.fromhex("20020000"), M),
    # Acknowledgements.
    ("puback-311-too-long", V4, bytes.fromhex("4003000100"), M),
    ("puback-packet-id-0", V4, bytes.fromhex("40020000"), P),
    ("puback-truncated", V4, bytes.fromhex("400100"), M),
    ("puback-5-code-not-allowed", V5, bytes.fromhex("4003000192"), P),
    ("pubrel-5-code-not-allowed", V5, bytes.fromhex("6203000187"), P),
    ("puback-5-property-not-allowed", V5, packet(0x40, u16(1), b"\x00", props(p_u16(0x23, 1))), M),
    # SUBSCRIBE / SUBACK.
    ("subscribe-no-filter", V4, packet(0x82, u16(1)), P),
    ("subscribe-5-no-filter", V5, packet(0x82, u16(1), b"\x00"), P),
    ("subscribe-packet-id-0", V4, packet(0x82, u16(0), s("a"), b"\x00"), P),
    ("subscribe-311-reserved-option", V4, packet(0x82, u16(1), s("a"), b"\x04"), M),
    ("subscribe-qos3", V4, packet(0x82, u16(1), s("a"), b"\x03"), M),
    ("subscribe-missing-options", V4, packet(0x82, u16(1), s("a")), M),
    ("subscribe-5-reserved-option", V5, packet(0x82, u16(1), b"\x00", s("a"), b"\x40"), M),
    ("subscribe-5-retain-handling-3", V5, packet(0x82, u16(1), b"\x00", s("a"), b"\x30"), P),
    ("subscribe-5-no-local-shared", V5, packet(0x82, u16(1), b"\x00", s("$share/g/a"), b"\x04"), P),
    (
        "subscribe-5-two-subscription-ids",
        V5,
        packet(0x82, u16(1), props(p_vbi(0x0B, 1), p_vbi(0x0B, 2)), s("a"), b"\x00"),
        P,
    ),
    ("suback-311-code-0x87", V4, bytes.fromhex("9003000187"), P),
    ("suback-empty", V4, bytes.fromhex("90020001"), P),
    ("suback-5-code-not-allowed", V5, bytes.fromhex("900400010011"), P),
    # UNSUBSCRIBE / UNSUBACK.
    ("unsubscribe-no-filter", V4, packet(0xA2, u16(1)), P),
    ("unsuback-311-too-long", V4, bytes.fromhex("b003000100"), M),
    ("unsuback-5-code-not-allowed", V5, bytes.fromhex("b00400010097"), P),
    ("unsuback-5-empty", V5, bytes.fromhex("b0 03 0001 00"), P),
    # PING, DISCONNECT, AUTH.
    ("pingreq-with-body", V4, bytes.fromhex("c00100"), M),
    ("pingresp-with-body", V5, bytes.fromhex("d00100"), M),
    ("disconnect-311-with-body", V4, bytes.fromhex("e00100"), M),
    ("disconnect-5-code-not-allowed", V5, bytes.fromhex("e00184"), P),
    ("disconnect-5-trailing", V5, bytes.fromhex("e003000000"), M),
    ("auth-5-without-method", V5, bytes.fromhex("f0021800"), P),
    ("auth-5-code-not-allowed", V5, packet(0xF0, b"\x87", props(p_str(0x15, "m"))), P),
]


@pytest.mark.parametrize(("version", "wire", "error"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_rule_is_enforced(version: ProtocolVersion | None, wire: bytes, error: type[DecodeError]) -> None:
    with pytest.raises(DecodeError) as caught:
        decode_packet(wire, version)
    assert type(caught.value) is error


def test_error_classes_carry_their_reason_codes() -> None:
    assert MalformedPacket.reason_code is ReasonCode.MALFORMED_PACKET
    assert ProtocolError.reason_code is ReasonCode.PROTOCOL_ERROR
    assert PacketTooLarge.reason_code is ReasonCode.PACKET_TOO_LARGE
    assert UnsupportedProtocolVersion.reason_code is ReasonCode.UNSUPPORTED_PROTOCOL_VERSION
    assert issubclass(UnsupportedProtocolVersion, ProtocolError)


def test_unsupported_version_reports_what_was_asked() -> None:
    with pytest.raises(UnsupportedProtocolVersion) as caught:
        decode_packet(_connect_raw("MQTT", 6, 0x02, s("c")), None)
    assert (caught.value.protocol_name, caught.value.protocol_level) == ("MQTT", 6)


@pytest.mark.parametrize(
    "wire",
    [b"", b"\x30", b"\x30\x80", b"\x30\x05\x00\x03a/"],
    ids=["empty", "first-byte", "half-length", "half-body"],
)
def test_incomplete_input_asks_for_more(wire: bytes) -> None:
    assert decode_packet(wire, V4) is None
