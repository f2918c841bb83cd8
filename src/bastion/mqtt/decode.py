"""Decoding one complete packet, with every check the specifications make on the bytes.

What is *not* checked here, because the answer depends on broker state or policy: topic name and filter
syntax (see :mod:`bastion.mqtt.topics`; the broker chooses between a negative ack and a disconnect),
topic alias ranges, and client identifier rules.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

from bastion.mqtt import _wire
from bastion.mqtt.enums import PacketType, ProtocolVersion, RetainHandling
from bastion.mqtt.errors import MalformedPacket, ProtocolError, UnsupportedProtocolVersion
from bastion.mqtt.packets import (
    Auth,
    Connack,
    Connect,
    Disconnect,
    Packet,
    Pingreq,
    Pingresp,
    Puback,
    Pubcomp,
    Publish,
    Pubrec,
    Pubrel,
    Suback,
    Subscribe,
    Subscription,
    Unsuback,
    Unsubscribe,
    Will,
    make_publish,
)
from bastion.mqtt.properties import NO_PROPERTIES, WILL_SCOPE, Properties, decode_properties
from bastion.mqtt.reason_codes import ALLOWED_REASON_CODES, ReasonCode, reason_code_from_connack_v311

__all__ = ["check_first_byte", "decode_packet", "parse_fixed_header"]

_V5: Final = ProtocolVersion.MQTT_5

_PROTOCOLS: Final = {
    ("MQIsdp", 3): ProtocolVersion.MQTT_3_1,
    ("MQTT", 4): ProtocolVersion.MQTT_3_1_1,
    ("MQTT", 5): ProtocolVersion.MQTT_5,
}

# Reserved flag bits of the fixed header (section 2.1.3): PUBREL, SUBSCRIBE and UNSUBSCRIBE carry
# 0b0010, PUBLISH has its own flags, every other packet 0.
_TWO_FLAG: Final = (PacketType.PUBREL, PacketType.SUBSCRIBE, PacketType.UNSUBSCRIBE)
_FIXED_FLAGS: Final[dict[int, int]] = {
    t: (0b0010 if t in _TWO_FLAG else 0) for t in PacketType if t is not PacketType.PUBLISH
}

_SUBACK_V311: Final = {code: ReasonCode(code) for code in (0x00, 0x01, 0x02, 0x80)}
# Per packet type, wire byte -> enum member, to turn a validity check and a conversion into one lookup.
_REASONS: Final = {t: {int(c): c for c in codes} for t, codes in ALLOWED_REASON_CODES.items()}


def check_first_byte(first: int, version: ProtocolVersion | None) -> None:
    """Reject a fixed header's first byte as soon as it arrives, before any body is awaited."""
    kind = first >> 4
    flags = first & 0x0F
    if kind == 0 or (kind == PacketType.AUTH and version is not None and version != _V5):
        raise MalformedPacket(f"reserved packet type {kind}")
    if kind == PacketType.PUBLISH:
        if flags & 0b0110 == 0b0110:
            raise MalformedPacket("PUBLISH with QoS 3")
        if flags & 0b1000 and not flags & 0b0110:
            raise MalformedPacket("PUBLISH with DUP set at QoS 0")
    elif flags != _FIXED_FLAGS[kind]:
        raise MalformedPacket(f"reserved flags 0x{flags:X} in {PacketType(kind).name}")


def _first_bytes_passing(version: ProtocolVersion | None) -> frozenset[int]:
    valid = set()
    for first in range(256):
        try:
            check_first_byte(first, version)
        except MalformedPacket:
            continue
        valid.add(first)
    return frozenset(valid)


# The common case of check_first_byte as one set lookup.
_VALID_FIRST_BYTES: Final = {version: _first_bytes_passing(version) for version in (None, *ProtocolVersion)}


def parse_fixed_header(data: bytes | bytearray, pos: int = 0) -> tuple[int, int] | None:
    """``(remaining_length, header_length)`` of the packet starting at ``pos``, or None if incomplete."""
    end = len(data)
    if pos + 1 < end and data[pos + 1] < 0x80:
        return data[pos + 1], 2  # most packets are shorter than 128 bytes
    value = 0
    for index, shift in enumerate((0, 7, 14, 21), start=1):
        at = pos + index
        if at >= end:
            return None
        byte = data[at]
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            if byte == 0 and shift:
                raise MalformedPacket("remaining length is not minimally encoded")
            return value, index + 1
    raise MalformedPacket("remaining length longer than four bytes")


def decode_packet(data: bytes | bytearray, version: ProtocolVersion | None) -> tuple[Packet, int] | None:
    """Decode the packet at the start of ``data``; None when ``data`` does not hold all of it yet.

    Returns the packet and the number of bytes it used. ``version`` may be None only for CONNECT, which
    carries its own version. Unlike :class:`~bastion.mqtt.decoder.Decoder` this applies no size limit
    and no connection rules (direction, CONNECT first): it decodes whatever packet type it is given.
    """
    if not data:
        return None
    if data[0] not in _VALID_FIRST_BYTES[version]:
        check_first_byte(data[0], version)
    header = parse_fixed_header(data)
    if header is None:
        return None
    remaining, header_len = header
    size = header_len + remaining
    if len(data) < size:
        return None
    packet = bytes(data[:size])
    return decode_body(packet, header_len, version), size


def decode_body(packet: bytes, start: int, version: ProtocolVersion | None) -> Packet:
    """Decode a complete packet whose first byte passed :func:`check_first_byte`; body begins at ``start``."""
    kind = packet[0] >> 4
    if kind == PacketType.PUBLISH:
        if version is None:
            raise ProtocolError("PUBLISH before CONNECT")
        return _publish(packet, start, version)
    if kind == PacketType.CONNECT:
        return _connect(packet, start)
    if version is None:
        raise ProtocolError(f"{PacketType(kind).name} before CONNECT")
    return _DECODERS[kind](packet, start, version)


def _publish(packet: bytes, start: int, version: ProtocolVersion) -> Publish:
    # The hot path: no helper calls for the common shape (no properties, short topic).
    end = len(packet)
    flags = packet[0]
    qos = (flags >> 1) & 3
    pos = start + 2
    if pos > end:
        raise MalformedPacket("PUBLISH ends inside the topic length")
    topic_end = pos + ((packet[start] << 8) | packet[start + 1])
    if topic_end > end:
        raise MalformedPacket("PUBLISH ends inside the topic")
    try:
        topic = packet[pos:topic_end].decode("utf-8")
    except UnicodeDecodeError as exc:
        raise MalformedPacket("topic is not well-formed UTF-8") from exc
    if "\x00" in topic:
        raise MalformedPacket("topic contains U+0000")
    pos = topic_end
    packet_id = None
    if qos:
        if pos + 2 > end:
            raise MalformedPacket("PUBLISH ends inside the packet identifier")
        packet_id = (packet[pos] << 8) | packet[pos + 1]
        if packet_id == 0:
            raise ProtocolError("PUBLISH with QoS > 0 and packet identifier 0")
        pos += 2
    properties = NO_PROPERTIES
    if version == _V5:
        if pos < end and packet[pos] == 0:
            pos += 1
        else:
            properties, pos = decode_properties(packet, pos, end, PacketType.PUBLISH)
    return make_publish(
        topic, packet[pos:], qos, bool(flags & 1), bool(flags & 8), packet_id, properties, packet
    )


def _connect(packet: bytes, start: int) -> Connect:
    end = len(packet)
    name, pos = _wire.read_utf8(packet, start, end)
    level, pos = _wire.read_u8(packet, pos, end)
    version = _PROTOCOLS.get((name, level))
    if version is None:
        raise UnsupportedProtocolVersion(name, level)
    flags, pos = _wire.read_u8(packet, pos, end)
    if flags & 0x01:
        raise MalformedPacket("CONNECT reserved flag is set")
    has_will = bool(flags & 0x04)
    will_qos = (flags >> 3) & 3
    will_retain = bool(flags & 0x20)
    has_password = bool(flags & 0x40)
    has_username = bool(flags & 0x80)
    if will_qos == 3:
        raise MalformedPacket("Will QoS 3")
    if not has_will and (will_qos or will_retain):
        raise MalformedPacket("Will QoS or Retain set without a Will")
    if has_password and not has_username and version != _V5:
        raise MalformedPacket("password without user name (3.1.1)")
    keep_alive, pos = _wire.read_u16(packet, pos, end)
    properties = NO_PROPERTIES
    if version == _V5:
        properties, pos = decode_properties(packet, pos, end, PacketType.CONNECT)
    client_id, pos = _wire.read_utf8(packet, pos, end)
    will = None
    if has_will:
        will_properties = NO_PROPERTIES
        if version == _V5:
            will_properties, pos = decode_properties(packet, pos, end, WILL_SCOPE)
        will_topic, pos = _wire.read_utf8(packet, pos, end)
        will_payload, pos = _wire.read_binary(packet, pos, end)
        will = Will(will_topic, will_payload, will_qos, will_retain, will_properties)
    username = password = None
    if has_username:
        username, pos = _wire.read_utf8(packet, pos, end)
    if has_password:
        password, pos = _wire.read_binary(packet, pos, end)
    _expect_end(pos, end)
    return Connect(client_id, version, bool(flags & 0x02), keep_alive, username, password, will, properties)


def _expect_end(pos: int, end: int) -> None:
    if pos != end:
        raise MalformedPacket(f"{end - pos} unexpected bytes at the end of the packet")


def _reason(kind: PacketType, code: int) -> ReasonCode:
    member = _REASONS[kind].get(code)
    if member is None:
        raise ProtocolError(f"reason code 0x{code:02X} is not allowed in {kind.name}")
    return member


def _packet_id(packet: bytes, pos: int, end: int) -> tuple[int, int]:
    packet_id, pos = _wire.read_u16(packet, pos, end)
    if packet_id == 0:
        raise ProtocolError("packet identifier 0")
    return packet_id, pos


def _connack(packet: bytes, start: int, version: ProtocolVersion) -> Connack:
    end = len(packet)
    ack_flags, pos = _wire.read_u8(packet, start, end)
    if ack_flags & 0xFE:
        raise MalformedPacket("CONNACK reserved flags are set")
    code, pos = _wire.read_u8(packet, pos, end)
    properties = NO_PROPERTIES
    if version == _V5:
        reason = _reason(PacketType.CONNACK, code)
        properties, pos = decode_properties(packet, pos, end, PacketType.CONNACK)
    else:
        mapped = reason_code_from_connack_v311(code)
        if mapped is None:
            raise ProtocolError(f"reserved CONNACK return code {code}")
        reason = mapped
    _expect_end(pos, end)
    if ack_flags and reason.is_failure:
        raise ProtocolError("CONNACK refuses the connection yet claims a session is present")
    return Connack(bool(ack_flags), reason, properties)


def _acknowledgement(
    kind: PacketType, cls: type[Puback | Pubrec | Pubrel | Pubcomp]
) -> Callable[[bytes, int, ProtocolVersion], Packet]:
    def decode(packet: bytes, start: int, version: ProtocolVersion) -> Packet:
        end = len(packet)
        packet_id, pos = _packet_id(packet, start, end)
        reason = ReasonCode.SUCCESS
        properties = NO_PROPERTIES
        if version == _V5 and pos < end:  # section 3.4.2.1: both may be omitted
            code, pos = _wire.read_u8(packet, pos, end)
            reason = _reason(kind, code)
            if pos < end:
                properties, pos = decode_properties(packet, pos, end, kind)
        _expect_end(pos, end)
        return cls(packet_id, reason, properties)

    return decode


def _subscribe(packet: bytes, start: int, version: ProtocolVersion) -> Subscribe:
    end = len(packet)
    packet_id, pos = _packet_id(packet, start, end)
    properties = NO_PROPERTIES
    if version == _V5:
        properties, pos = decode_properties(packet, pos, end, PacketType.SUBSCRIBE)
    subscriptions: list[Subscription] = []
    while pos < end:
        topic_filter, pos = _wire.read_utf8(packet, pos, end)
        options, pos = _wire.read_u8(packet, pos, end)
        subscriptions.append(_subscription(topic_filter, options, version))
    if not subscriptions:
        raise ProtocolError("SUBSCRIBE without a topic filter")
    return Subscribe(packet_id, tuple(subscriptions), properties)


def _subscription(topic_filter: str, options: int, version: ProtocolVersion) -> Subscription:
    if options & (0xC0 if version == _V5 else 0xFC):
        raise MalformedPacket("reserved subscription option bits are set")
    qos = options & 0x03
    if qos == 3:
        raise MalformedPacket("subscription with QoS 3")
    if version != _V5:
        return Subscription(topic_filter, qos)
    retain_handling = (options >> 4) & 0x03
    if retain_handling == 3:
        raise ProtocolError("retain handling 3")
    no_local = bool(options & 0x04)
    if no_local and topic_filter.startswith("$share/"):
        raise ProtocolError("No Local on a shared subscription")  # MQTT-3.8.3-4
    return Subscription(topic_filter, qos, no_local, bool(options & 0x08), RetainHandling(retain_handling))


def _suback(packet: bytes, start: int, version: ProtocolVersion) -> Suback:
    end = len(packet)
    packet_id, pos = _packet_id(packet, start, end)
    properties = NO_PROPERTIES
    if version == _V5:
        properties, pos = decode_properties(packet, pos, end, PacketType.SUBACK)
        table = _REASONS[PacketType.SUBACK]
    else:
        table = _SUBACK_V311
    codes: list[ReasonCode] = []
    for code in packet[pos:end]:
        member = table.get(code)
        if member is None:
            raise ProtocolError(f"SUBACK code 0x{code:02X} is not allowed")
        codes.append(member)
    if not codes:
        raise ProtocolError("SUBACK without a reason code")
    return Suback(packet_id, tuple(codes), properties)


def _unsubscribe(packet: bytes, start: int, version: ProtocolVersion) -> Unsubscribe:
    end = len(packet)
    packet_id, pos = _packet_id(packet, start, end)
    properties = NO_PROPERTIES
    if version == _V5:
        properties, pos = decode_properties(packet, pos, end, PacketType.UNSUBSCRIBE)
    filters: list[str] = []
    while pos < end:
        topic_filter, pos = _wire.read_utf8(packet, pos, end)
        filters.append(topic_filter)
    if not filters:
        raise ProtocolError("UNSUBSCRIBE without a topic filter")
    return Unsubscribe(packet_id, tuple(filters), properties)


def _unsuback(packet: bytes, start: int, version: ProtocolVersion) -> Unsuback:
    end = len(packet)
    packet_id, pos = _packet_id(packet, start, end)
    if version != _V5:
        _expect_end(pos, end)
        return Unsuback(packet_id)
    properties, pos = decode_properties(packet, pos, end, PacketType.UNSUBACK)
    codes = tuple(_reason(PacketType.UNSUBACK, code) for code in packet[pos:end])
    if not codes:
        raise ProtocolError("UNSUBACK without a reason code")
    return Unsuback(packet_id, codes, properties)


def _empty(cls: type[Pingreq | Pingresp]) -> Callable[[bytes, int, ProtocolVersion], Packet]:
    def decode(packet: bytes, start: int, version: ProtocolVersion) -> Packet:
        _expect_end(start, len(packet))
        return cls()

    return decode


def _reason_and_properties(packet: bytes, start: int, kind: PacketType) -> tuple[ReasonCode, Properties]:
    """DISCONNECT and AUTH bodies: both parts may be omitted (sections 3.14.2.1, 3.15.2.1)."""
    end = len(packet)
    if start == end:
        return ReasonCode.SUCCESS, NO_PROPERTIES
    code, pos = _wire.read_u8(packet, start, end)
    properties = NO_PROPERTIES
    if pos < end:
        properties, pos = decode_properties(packet, pos, end, kind)
    _expect_end(pos, end)
    return _reason(kind, code), properties


def _disconnect(packet: bytes, start: int, version: ProtocolVersion) -> Disconnect:
    if version != _V5:
        _expect_end(start, len(packet))
        return Disconnect()
    reason, properties = _reason_and_properties(packet, start, PacketType.DISCONNECT)
    return Disconnect(reason, properties)


def _auth(packet: bytes, start: int, version: ProtocolVersion) -> Auth:
    reason, properties = _reason_and_properties(packet, start, PacketType.AUTH)
    if start < len(packet) and properties.authentication_method is None:
        raise ProtocolError("AUTH without an authentication method")  # section 3.15.2.2.2
    return Auth(reason, properties)


_DECODERS: Final[dict[int, Callable[[bytes, int, ProtocolVersion], Packet]]] = {
    PacketType.CONNACK: _connack,
    PacketType.PUBACK: _acknowledgement(PacketType.PUBACK, Puback),
    PacketType.PUBREC: _acknowledgement(PacketType.PUBREC, Pubrec),
    PacketType.PUBREL: _acknowledgement(PacketType.PUBREL, Pubrel),
    PacketType.PUBCOMP: _acknowledgement(PacketType.PUBCOMP, Pubcomp),
    PacketType.SUBSCRIBE: _subscribe,
    PacketType.SUBACK: _suback,
    PacketType.UNSUBSCRIBE: _unsubscribe,
    PacketType.UNSUBACK: _unsuback,
    PacketType.PINGREQ: _empty(Pingreq),
    PacketType.PINGRESP: _empty(Pingresp),
    PacketType.DISCONNECT: _disconnect,
    PacketType.AUTH: _auth,
}
