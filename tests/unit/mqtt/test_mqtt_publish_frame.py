"""PublishFrame and restamp_publish: per-recipient variants equal a fresh encoding of the same message."""

from __future__ import annotations

import dataclasses
import itertools

import pytest

from bastion.mqtt import (
    EncodeError,
    Properties,
    ProtocolVersion,
    Publish,
    PublishFrame,
    decode_packet,
    encode,
    restamp_publish,
)

from .mqtt_spec_builders import p_str, p_u32, props, publish

V4 = ProtocolVersion.MQTT_3_1_1
V5 = ProtocolVersion.MQTT_5

MESSAGES = [
    Publish("a/b", b"x" * 64),
    Publish(
        "sensors/\u00e9/t", b"", 1, True, False, 4, Properties(message_expiry_interval=9, content_type="c")
    ),
    Publish("big", b"y" * 20_000, 2, packet_id=7),
]
VARIANTS = [(0, None, False), (0, None, True), (1, 1, False), (1, 65535, True), (2, 300, False)]


def reference(
    message: Publish, qos: int, packet_id: int | None, retain: bool, version: ProtocolVersion
) -> bytes:
    return encode(
        dataclasses.replace(message, qos=qos, packet_id=packet_id, retain=retain, dup=False), version
    )


@pytest.mark.parametrize(("message", "version"), list(itertools.product(MESSAGES, [V4, V5])))
def test_from_packet_matches_encoder(message: Publish, version: ProtocolVersion) -> None:
    frame = PublishFrame.from_packet(message)
    for qos, packet_id, retain in VARIANTS:
        assert frame.stamp(version, qos, packet_id, retain=retain) == reference(
            message, qos, packet_id, retain, version
        )


@pytest.mark.parametrize(
    ("message", "source", "target"), list(itertools.product(MESSAGES, [V4, V5], [V4, V5]))
)
def test_from_raw_matches_encoder(message: Publish, source: ProtocolVersion, target: ProtocolVersion) -> None:
    raw = encode(message, source)
    frame = PublishFrame.from_raw(raw, source)
    # A 3.1.1 packet has no properties to carry over.
    expected_message = message if source == V5 else dataclasses.replace(message, properties=Properties())
    for qos, packet_id, retain in VARIANTS:
        assert frame.stamp(target, qos, packet_id, retain=retain) == reference(
            expected_message, qos, packet_id, retain, target
        )


def test_from_packet_reuses_received_property_bytes() -> None:
    # Properties in a non-canonical order: re-encoding would reorder them, reuse keeps them verbatim.
    block = props(p_str(0x03, "ct"), p_u32(0x02, 5))
    wire = publish("t", b"data", qos=1, packet_id=3, properties=block)
    result = decode_packet(wire, V5)
    assert result is not None
    message = result[0]
    assert isinstance(message, Publish)
    frame = PublishFrame.from_packet(message)
    assert frame.properties_section == block
    assert frame.stamp(V5, 1, 3) == wire


def test_stamp_parts_keep_the_payload_separate() -> None:
    frame = PublishFrame.from_packet(Publish("t", b"payload"))
    head, payload = frame.stamp_parts(V5, 1, 2, dup=True)
    assert payload is frame.payload
    assert head + payload == encode(Publish("t", b"payload", 1, False, True, 2), V5)


def test_restamp_publish() -> None:
    raw = encode(Publish("a/b", b"hi", 1, True, False, 3), V4)
    assert restamp_publish(raw, V4, 1, 9) == encode(Publish("a/b", b"hi", 1, False, False, 9), V4)
    assert restamp_publish(raw, V4, 0, retain=True) == encode(Publish("a/b", b"hi", 0, True), V4)
    assert restamp_publish(raw, V4, 1, 4, target_version=V5) == encode(
        Publish("a/b", b"hi", 1, packet_id=4), V5
    )


def test_remaining_length_grows_across_the_varint_boundary() -> None:
    # 125 bytes of remaining length at QoS 0 become 127 with a packet id and 128 with a property block.
    message = Publish("t", b"z" * 122)
    frame = PublishFrame.from_packet(message)
    assert len(frame.stamp(V4)) == 2 + 125
    assert len(frame.stamp(V5, 1, 1)) == 3 + 128
    assert frame.stamp(V5, 1, 1) == encode(dataclasses.replace(message, qos=1, packet_id=1), V5)


@pytest.mark.parametrize(
    ("qos", "packet_id", "dup"),
    [(0, 1, False), (0, None, True), (1, None, False), (1, 0, False), (3, 1, False)],
)
def test_stamp_refuses_inconsistent_headers(qos: int, packet_id: int | None, dup: bool) -> None:
    with pytest.raises(EncodeError):
        PublishFrame.from_packet(Publish("t")).stamp(V4, qos, packet_id, dup=dup)


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        bytes.fromhex("c000"),
        bytes.fromhex("30050003"),
        bytes.fromhex("300300056162"),
        bytes.fromhex("3003000161ff"),
    ],
    ids=["empty", "not-publish", "truncated", "topic-past-end", "extra-bytes"],
)
def test_from_raw_refuses_corrupt_bytes(raw: bytes) -> None:
    with pytest.raises(EncodeError):
        PublishFrame.from_raw(raw, V4)


def test_from_raw_refuses_a_property_block_past_the_end() -> None:
    with pytest.raises(EncodeError):
        PublishFrame.from_raw(bytes.fromhex("30040001740a"), V5)
