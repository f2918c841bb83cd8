"""Property tests of the MQTT codec: round trips, arbitrary splits, hostile bytes, announced sizes."""

from __future__ import annotations

import contextlib
import tracemalloc
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bastion.mqtt import (
    Auth,
    Connack,
    Connect,
    DecodeError,
    Decoder,
    Disconnect,
    Packet,
    PacketTooLarge,
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
    Role,
    Suback,
    Subscribe,
    Subscription,
    Unsuback,
    Unsubscribe,
    Will,
    decode_packet,
    encode,
)
from bastion.mqtt.properties import PROPERTY_SPECS, WILL_SCOPE, PropertyType
from bastion.mqtt.reason_codes import ALLOWED_REASON_CODES

V31 = ProtocolVersion.MQTT_3_1
V4 = ProtocolVersion.MQTT_3_1_1
V5 = ProtocolVersion.MQTT_5
VERSIONS = st.sampled_from([V31, V4, V5])

FAST = settings(max_examples=150, deadline=1000, suppress_health_check=[HealthCheck.too_slow])

# codec="utf-8" leaves out lone surrogates, which no MQTT string can carry.
text = st.text(st.characters(codec="utf-8", exclude_characters="\x00"), max_size=12)
blob = st.binary(max_size=40)
packet_ids = st.integers(1, 0xFFFF)
qos = st.integers(0, 2)

_VALUES: dict[PropertyType, st.SearchStrategy[Any]] = {
    PropertyType.BYTE: st.integers(0, 255),
    PropertyType.TWO_BYTE_INTEGER: st.integers(0, 0xFFFF),
    PropertyType.FOUR_BYTE_INTEGER: st.integers(0, 0xFFFF_FFFF),
    PropertyType.VARIABLE_BYTE_INTEGER: st.integers(0, 268_435_455),
    PropertyType.UTF8_STRING: text,
    PropertyType.BINARY_DATA: blob,
}


def properties(scope: int) -> st.SearchStrategy[Properties]:
    """Any valid Properties for ``scope``: each allowed property present or not."""
    fields: dict[str, st.SearchStrategy[Any]] = {}
    for spec in PROPERTY_SPECS:
        if scope not in spec.scopes:
            continue
        if spec.field == "user_properties":
            fields[spec.field] = st.lists(st.tuples(text, text), max_size=3).map(tuple)
            continue
        value = _VALUES[spec.type]
        if spec.rule == "flag":
            value = st.integers(0, 1)
        elif spec.rule == "nonzero":
            value = value.filter(bool)
        if spec.field == "subscription_identifiers":
            fields[spec.field] = st.lists(value, max_size=3 if scope == PacketType.PUBLISH else 1).map(tuple)
        else:
            fields[spec.field] = st.none() | value
    return (
        st.fixed_dictionaries(fields)
        .map(lambda kw: Properties(**kw))
        .filter(lambda p: p.authentication_data is None or p.authentication_method is not None)
    )


def reasons(kind: PacketType, version: ProtocolVersion) -> st.SearchStrategy[ReasonCode]:
    allowed = sorted(ALLOWED_REASON_CODES[kind])
    if version != V5:
        allowed = [c for c in allowed if c < 0x80]
    return st.sampled_from(allowed)


def props_for(version: ProtocolVersion, scope: int) -> st.SearchStrategy[Properties]:
    return properties(scope) if version == V5 else st.just(Properties())


ACKNOWLEDGEMENTS: dict[PacketType, type[Puback | Pubrec | Pubrel | Pubcomp]] = {
    PacketType.PUBACK: Puback,
    PacketType.PUBREC: Pubrec,
    PacketType.PUBREL: Pubrel,
    PacketType.PUBCOMP: Pubcomp,
}


@st.composite
def packets(draw: st.DrawFn, version: ProtocolVersion) -> Packet:
    kind = draw(st.sampled_from([k for k in PacketType if version == V5 or k is not PacketType.AUTH]))

    def p(scope: int) -> Properties:
        return draw(props_for(version, scope))

    if kind is PacketType.CONNECT:
        will = draw(st.none() | st.builds(Will, text, blob, qos, st.booleans(), st.just(p(WILL_SCOPE))))
        username = draw(st.none() | text)
        password = draw(st.none() | blob) if username is not None or version == V5 else None
        return Connect(
            draw(text),
            version,
            draw(st.booleans()),
            draw(st.integers(0, 0xFFFF)),
            username,
            password,
            will,
            p(kind),
        )
    if kind is PacketType.CONNACK:
        code = draw(st.sampled_from(sorted(ALLOWED_REASON_CODES[kind])))
        if version != V5:
            code = draw(st.sampled_from([ReasonCode(c) for c in (0, 0x84, 0x85, 0x88, 0x86, 0x87)]))
        return Connack(draw(st.booleans()) and not code.is_failure, code, p(kind))
    if kind is PacketType.PUBLISH:
        level = draw(qos)
        return Publish(
            draw(text),
            draw(blob),
            level,
            draw(st.booleans()),
            level > 0 and draw(st.booleans()),
            draw(packet_ids) if level else None,
            p(kind),
        )
    if kind in (PacketType.PUBACK, PacketType.PUBREC, PacketType.PUBREL, PacketType.PUBCOMP):
        cls = ACKNOWLEDGEMENTS[kind]
        code = draw(reasons(kind, version)) if version == V5 else ReasonCode.SUCCESS
        return cls(draw(packet_ids), code, p(kind))
    if kind is PacketType.SUBSCRIBE:
        if version == V5:
            sub = st.builds(
                Subscription,
                text.filter(lambda f: not f.startswith("$share/")),
                qos,
                st.booleans(),
                st.booleans(),
                st.sampled_from(list(RetainHandling)),
            )
        else:
            sub = st.builds(Subscription, text, qos)
        return Subscribe(draw(packet_ids), tuple(draw(st.lists(sub, min_size=1, max_size=3))), p(kind))
    if kind is PacketType.SUBACK:
        codes = (
            reasons(kind, V5) if version == V5 else st.sampled_from([ReasonCode(c) for c in (0, 1, 2, 0x80)])
        )
        return Suback(draw(packet_ids), tuple(draw(st.lists(codes, min_size=1, max_size=4))), p(kind))
    if kind is PacketType.UNSUBSCRIBE:
        return Unsubscribe(draw(packet_ids), tuple(draw(st.lists(text, min_size=1, max_size=3))), p(kind))
    if kind is PacketType.UNSUBACK:
        if version != V5:
            return Unsuback(draw(packet_ids))
        return Unsuback(
            draw(packet_ids), tuple(draw(st.lists(reasons(kind, V5), min_size=1, max_size=3))), p(kind)
        )
    if kind is PacketType.PINGREQ:
        return Pingreq()
    if kind is PacketType.PINGRESP:
        return Pingresp()
    if kind is PacketType.DISCONNECT:
        code = draw(reasons(kind, V5)) if version == V5 else ReasonCode.NORMAL_DISCONNECTION
        return Disconnect(code, p(kind))
    auth_props = draw(properties(PacketType.AUTH).filter(lambda q: q.authentication_method is not None))
    return Auth(draw(reasons(PacketType.AUTH, V5)), auth_props)


@st.composite
def versioned_packet(draw: st.DrawFn) -> tuple[ProtocolVersion, Packet]:
    version = draw(VERSIONS)
    return version, draw(packets(version))


@FAST
@given(versioned_packet())
def test_round_trip(case: tuple[ProtocolVersion, Packet]) -> None:
    version, packet = case
    wire = encode(packet, version)
    result = decode_packet(wire, version)
    assert result is not None
    assert result == (packet, len(wire))


@FAST
@given(
    VERSIONS.flatmap(lambda v: st.tuples(st.just(v), st.lists(packets(v), min_size=1, max_size=6))), st.data()
)
def test_arbitrary_splits(case: tuple[ProtocolVersion, list[Packet]], data: st.DataObject) -> None:
    version, sent = case
    stream = b"".join(encode(p, version) for p in sent)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=8)))
    # The ANY-direction view: a client decoder sees server packets and vice versa, so decode one by one.
    received: list[Packet] = []
    buffer = b""
    for start, stop in zip([0, *cuts], [*cuts, len(stream)], strict=True):
        buffer += stream[start:stop]
        while (result := decode_packet(buffer, version)) is not None:
            received.append(result[0])
            buffer = buffer[result[1] :]
    assert received == sent
    assert buffer == b""


def _drain(decoder: Decoder, data: bytes) -> None:
    decoder.feed(data)
    for _ in decoder:
        pass


@FAST
@given(st.binary(max_size=300), VERSIONS, st.sampled_from(list(Role)))
def test_random_bytes_raise_only_decode_errors(data: bytes, version: ProtocolVersion, role: Role) -> None:
    decoder = Decoder(role=role, version=version if role is Role.CLIENT else None, max_packet_size=1024)
    try:
        _drain(decoder, data)
    except DecodeError:
        return
    assert decoder.pending <= len(data)


@FAST
@given(st.binary(max_size=300), st.sampled_from([None, V4, V5]))
def test_random_bytes_decode_packet(data: bytes, version: ProtocolVersion | None) -> None:
    with contextlib.suppress(DecodeError):
        decode_packet(data, version)


@st.composite
def mutated(draw: st.DrawFn) -> tuple[ProtocolVersion, bytes]:
    version, packet = draw(versioned_packet())
    wire = bytearray(encode(packet, version))
    for _ in range(draw(st.integers(1, 4))):
        action = draw(st.sampled_from(["flip", "set", "insert", "delete", "truncate"]))
        at = draw(st.integers(0, max(len(wire) - 1, 0)))
        if action == "flip" and wire:
            wire[at] ^= 1 << draw(st.integers(0, 7))
        elif action == "set" and wire:
            wire[at] = draw(st.integers(0, 255))
        elif action == "insert":
            wire[at:at] = draw(st.binary(min_size=1, max_size=3))
        elif action == "delete" and wire:
            del wire[at]
        elif action == "truncate":
            del wire[at:]
    return version, bytes(wire)


@settings(max_examples=400, deadline=1000, suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
def test_mutated_packets(case: tuple[ProtocolVersion, bytes]) -> None:
    """Damaged packets either fail with a typed error or decode to something the encoder can reproduce."""
    version, wire = case
    try:
        result = decode_packet(wire, version)
    except DecodeError:
        return
    if result is None:
        return
    packet = result[0]
    target = packet.protocol_level if isinstance(packet, Connect) else version
    again = decode_packet(encode(packet, target), target)
    assert again is not None
    assert again[0] == packet


@FAST
@given(
    st.sampled_from([0x10, 0x30, 0x32, 0x82, 0xC0]),
    st.integers(1025, 268_435_455),
    st.integers(0, 3),
)
def test_oversized_announcement_is_refused_without_its_body(first: int, remaining: int, extra: int) -> None:
    decoder = Decoder(role=Role.SERVER, max_packet_size=1024, version=None)
    if first != 0x10:
        decoder.feed(b"\x10\x0c\x00\x04MQTT\x04\x02\x00\x3c\x00\x00")
        assert isinstance(decoder.next_packet(), Connect)
    header = bytearray([first])
    value = remaining
    while True:
        digit, value = value & 0x7F, value >> 7
        header.append(digit | (0x80 if value else 0))
        if not value:
            break
    decoder.feed(bytes(header) + b"\x00" * extra)
    try:
        decoder.next_packet()
    except PacketTooLarge as exc:
        assert exc.size == len(header) + remaining
    else:
        raise AssertionError("the oversized packet was not refused")


@settings(max_examples=25, deadline=2000)
@given(st.integers(1_000_000, 268_435_455), st.binary(max_size=100))
def test_waiting_for_a_huge_packet_allocates_nothing(remaining: int, body_start: bytes) -> None:
    decoder = Decoder(role=Role.CLIENT, version=V4, max_packet_size=268_435_460)
    header = bytearray([0x30])
    value = remaining
    while True:
        digit, value = value & 0x7F, value >> 7
        header.append(digit | (0x80 if value else 0))
        if not value:
            break
    tracemalloc.start()
    try:
        decoder.feed(bytes(header) + body_start)
        assert decoder.next_packet() is None
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert decoder.pending == len(header) + len(body_start)
    assert peak < 64 * 1024
