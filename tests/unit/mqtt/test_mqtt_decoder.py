"""The incremental Decoder: arbitrary splits, size limit before buffering, version and direction rules."""

from __future__ import annotations

import tracemalloc

import pytest

from bastion.mqtt import (
    Auth,
    Connack,
    Connect,
    Decoder,
    Disconnect,
    MalformedPacket,
    Packet,
    PacketTooLarge,
    Pingreq,
    Properties,
    ProtocolError,
    ProtocolVersion,
    Puback,
    Publish,
    ReasonCode,
    Role,
    Suback,
    Subscribe,
    Subscription,
    UnsupportedProtocolVersion,
    encode,
)

from .mqtt_spec_builders import connect_v5, connect_v311, packet, props, publish, s

V4 = ProtocolVersion.MQTT_3_1_1
V5 = ProtocolVersion.MQTT_5


def client_stream(version: ProtocolVersion) -> tuple[bytes, list[Packet]]:
    packets: list[Packet] = [
        Connect("dev-1", version, keep_alive=30, username="u", password=b"pw"),
        Publish("a/b", b"x" * 300, 1, packet_id=1),
        Publish("c", b"", 0, True),
        Subscribe(2, (Subscription("a/#", 1), Subscription("+/b", 0))),
        Puback(9),
        Pingreq(),
        Disconnect(),
    ]
    if version == V5:
        packets.insert(2, Publish("p", b"{}", 0, properties=Properties(user_properties=(("k", "v"),))))
    return b"".join(encode(p, version) for p in packets), packets


def drain(decoder: Decoder) -> list[Packet]:
    return list(decoder)


@pytest.mark.parametrize("version", [V4, V5])
def test_whole_stream_in_one_feed(version: ProtocolVersion) -> None:
    stream, expected = client_stream(version)
    decoder = Decoder()
    decoder.feed(stream)
    assert drain(decoder) == expected
    assert decoder.version == version
    assert decoder.pending == 0


@pytest.mark.parametrize("version", [V4, V5])
def test_byte_by_byte(version: ProtocolVersion) -> None:
    stream, expected = client_stream(version)
    decoder = Decoder()
    seen: list[Packet] = []
    for index in range(len(stream)):
        decoder.feed(stream[index : index + 1])
        seen.extend(decoder)
    assert seen == expected


@pytest.mark.parametrize("version", [V4, V5])
def test_every_split_point(version: ProtocolVersion) -> None:
    stream, expected = client_stream(version)
    for cut in range(len(stream) + 1):
        decoder = Decoder()
        decoder.feed(stream[:cut])
        seen = drain(decoder)
        decoder.feed(stream[cut:])
        seen += drain(decoder)
        assert seen == expected, cut


def test_every_truncation_of_a_packet_waits_for_more() -> None:
    wire = encode(Connect("c", V5, properties=Properties(session_expiry_interval=5)), V5)
    for cut in range(len(wire)):
        decoder = Decoder()
        decoder.feed(wire[:cut])
        assert decoder.next_packet() is None
        assert decoder.pending == cut


def test_huge_announced_packet_is_refused_before_its_body() -> None:
    decoder = Decoder(max_packet_size=1024)
    decoder.feed(connect_v311("c"))
    assert isinstance(decoder.next_packet(), Connect)
    # 268,435,455 bytes announced (the largest remaining length), nothing of it sent.
    tracemalloc.start()
    try:
        decoder.feed(b"\x30\xff\xff")
        assert decoder.next_packet() is None
        decoder.feed(b"\xff\x7f")
        with pytest.raises(PacketTooLarge) as caught:
            decoder.next_packet()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert caught.value.size == 268_435_455 + 5
    assert caught.value.limit == 1024
    assert peak < 64 * 1024


def test_size_limit_counts_the_whole_packet() -> None:
    at_limit = publish("t", b"x" * 95)  # 2 + 3 + 95 = 100 bytes
    assert len(at_limit) == 100
    decoder = Decoder(max_packet_size=100, version=V4, role=Role.CLIENT)
    decoder.feed(at_limit)
    assert isinstance(decoder.next_packet(), Publish)
    decoder.feed(publish("t", b"x" * 96))
    with pytest.raises(PacketTooLarge):
        decoder.next_packet()


def test_limit_applies_to_connect() -> None:
    decoder = Decoder(max_packet_size=64)
    decoder.feed(connect_v311("c" * 100)[:3])
    with pytest.raises(PacketTooLarge):
        decoder.next_packet()


def test_errors_are_sticky() -> None:
    decoder = Decoder()
    decoder.feed(b"\x00\x00")
    with pytest.raises(MalformedPacket):
        decoder.next_packet()
    with pytest.raises(MalformedPacket):
        decoder.feed(connect_v311("c"))
    with pytest.raises(MalformedPacket):
        decoder.next_packet()


def test_bad_first_byte_is_refused_before_the_rest_arrives() -> None:
    decoder = Decoder(version=V4, role=Role.CLIENT)
    decoder.feed(b"\x36")  # PUBLISH QoS 3
    with pytest.raises(MalformedPacket):
        decoder.next_packet()


def test_server_requires_connect_first() -> None:
    decoder = Decoder()
    decoder.feed(b"\xc0")
    with pytest.raises(ProtocolError, match="before CONNECT"):
        decoder.next_packet()


def test_server_refuses_a_second_connect() -> None:
    decoder = Decoder()
    decoder.feed(connect_v311("c") + connect_v311("c"))
    assert isinstance(decoder.next_packet(), Connect)
    with pytest.raises(ProtocolError, match="second CONNECT"):
        decoder.next_packet()


def test_version_is_learned_from_connect_and_kept() -> None:
    decoder = Decoder()
    before = decoder.version
    assert before is None
    decoder.feed(connect_v5("c") + publish("t", b"v", properties=b"\x00") + b"\xf0\x00")
    packets = drain(decoder)
    assert decoder.version == V5
    assert packets[1] == Publish("t", b"v")
    assert packets[2] == Auth()


def test_mqtt31_connect_sets_level_3() -> None:
    decoder = Decoder()
    decoder.feed(connect_v311("c", protocol_name="MQIsdp", level=3) + publish("t", b"v"))
    assert [type(p) for p in decoder] == [Connect, Publish]
    assert decoder.version == ProtocolVersion.MQTT_3_1


def test_auth_is_malformed_after_a_311_connect() -> None:
    decoder = Decoder()
    decoder.feed(connect_v311("c") + b"\xf0\x00")
    assert isinstance(decoder.next_packet(), Connect)
    with pytest.raises(MalformedPacket):
        decoder.next_packet()


def test_unsupported_version_is_typed() -> None:
    decoder = Decoder()
    decoder.feed(packet(0x10, s("MQTT"), b"\x07\x02\x00\x3c", s("c")))
    with pytest.raises(UnsupportedProtocolVersion):
        decoder.next_packet()


@pytest.mark.parametrize("wire", [bytes.fromhex("20020000"), bytes.fromhex("9003000100"), b"\xd0\x00"])
def test_server_refuses_server_packets(wire: bytes) -> None:
    decoder = Decoder()
    decoder.feed(connect_v311("c") + wire)
    assert isinstance(decoder.next_packet(), Connect)
    with pytest.raises(ProtocolError, match="cannot be sent by a client"):
        decoder.next_packet()


def test_client_decoder_needs_a_version() -> None:
    with pytest.raises(ValueError, match="version"):
        Decoder(role=Role.CLIENT)


def test_client_side_decoding() -> None:
    decoder = Decoder(role=Role.CLIENT, version=V5)
    decoder.feed(bytes.fromhex("2003000000") + bytes.fromhex("9004000a0001") + bytes.fromhex("e0018b"))
    assert drain(decoder) == [
        Connack(),
        Suback(10, (ReasonCode.GRANTED_QOS_1,)),
        Disconnect(ReasonCode.SERVER_SHUTTING_DOWN),
    ]


@pytest.mark.parametrize(
    ("version", "wire"),
    [(V5, packet(0x82, b"\x00\x01\x00", s("a"), b"\x00")), (V4, b"\xe0\x00"), (V5, connect_v5("c"))],
    ids=["subscribe", "disconnect-311", "connect"],
)
def test_client_refuses_client_packets(version: ProtocolVersion, wire: bytes) -> None:
    decoder = Decoder(role=Role.CLIENT, version=version)
    decoder.feed(wire)
    with pytest.raises(ProtocolError):
        decoder.next_packet()


def test_subscription_identifier_only_flows_from_server_to_client() -> None:
    wire = publish("t", b"", properties=props(b"\x0b\x05"))
    client_side = Decoder(role=Role.CLIENT, version=V5)
    client_side.feed(wire)
    message = client_side.next_packet()
    assert isinstance(message, Publish)
    assert message.properties.subscription_identifiers == (5,)
    server_side = Decoder()
    server_side.feed(connect_v5("c") + wire)
    server_side.next_packet()
    with pytest.raises(ProtocolError, match="subscription identifier"):
        server_side.next_packet()


def test_feed_accepts_memoryview_and_bytearray() -> None:
    decoder = Decoder()
    wire = connect_v311("c")
    decoder.feed(memoryview(wire)[:5])
    decoder.feed(bytearray(wire[5:]))
    assert decoder.next_packet() == Connect("c", V4, True, 60)


def test_max_packet_size_must_be_sane() -> None:
    with pytest.raises(ValueError, match="max_packet_size"):
        Decoder(max_packet_size=1)


def test_large_packet_in_small_pieces() -> None:
    message = Publish("big", bytes(range(256)) * 400, 1, packet_id=3)
    wire = encode(message, V5)
    decoder = Decoder(role=Role.CLIENT, version=V5)
    for start in range(0, len(wire), 1000):
        assert decoder.next_packet() is None
        decoder.feed(wire[start : start + 1000])
    assert decoder.next_packet() == message
    assert decoder.pending == 0


def test_a_chunk_holding_one_packet_is_not_copied() -> None:
    wire = encode(Publish("t", b"payload", 1, packet_id=1), V4)
    decoder = Decoder(role=Role.CLIENT, version=V4)
    decoder.feed(wire)
    message = decoder.next_packet()
    assert isinstance(message, Publish)
    assert message.raw is wire
