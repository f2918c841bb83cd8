"""Encoding packets for one protocol version.

MQTT 3.1.1 is written as the subset of the shared representation: properties are left out (3.1.1 has
nowhere to put them) and informational reason codes (below 0x80) are dropped, but a failure reason code
that 3.1.1 cannot express raises :class:`EncodeError` rather than silently turning into success.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from typing import Any, Final

from bastion.mqtt import _wire
from bastion.mqtt.enums import PacketType, ProtocolVersion
from bastion.mqtt.errors import EncodeError
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
)
from bastion.mqtt.properties import NO_PROPERTIES, WILL_SCOPE, encode_properties
from bastion.mqtt.reason_codes import ALLOWED_REASON_CODES, ReasonCode, connack_return_code_v311

__all__ = ["encode", "encode_publish"]

_V5: Final = ProtocolVersion.MQTT_5
_PROTOCOL_NAMES: Final = {
    ProtocolVersion.MQTT_3_1: _wire.utf8("MQIsdp"),
    ProtocolVersion.MQTT_3_1_1: _wire.utf8("MQTT"),
    ProtocolVersion.MQTT_5: _wire.utf8("MQTT"),
}
_PINGREQ: Final = b"\xc0\x00"
_PINGRESP: Final = b"\xd0\x00"


def encode(packet: Packet, version: ProtocolVersion) -> bytes:
    """The complete wire form of ``packet`` for a connection speaking ``version``."""
    encoder = _ENCODERS.get(type(packet))
    if encoder is None:
        raise TypeError(f"not an MQTT packet: {packet!r}")
    return encoder(packet, version)


def encode_publish(packet: Publish, version: ProtocolVersion) -> bytes:
    """PUBLISH, the hot path of fan-out (see also :class:`~bastion.mqtt.publish_frame.PublishFrame`)."""
    qos = packet.qos
    packet_id = packet.packet_id
    if qos == 0:
        if packet_id is not None:
            raise EncodeError("a QoS 0 PUBLISH has no packet identifier")
        if packet.dup:
            raise EncodeError("DUP must be 0 for QoS 0")
        packet_id_bytes = b""
    elif qos in (1, 2):
        if packet_id is None or not 0 < packet_id <= 0xFFFF:
            raise EncodeError(f"QoS {qos} needs a packet identifier in 1..65535, not {packet_id}")
        packet_id_bytes = packet_id.to_bytes(2, "big")
    else:
        raise EncodeError(f"invalid QoS {qos}")
    topic = _wire.utf8(packet.topic)
    if version == _V5:
        properties = packet.properties
        props = b"\x00" if properties is NO_PROPERTIES else encode_properties(properties, PacketType.PUBLISH)
    else:
        props = b""
    payload = packet.payload
    first = 0x30 | (qos << 1) | (0x08 if packet.dup else 0) | (0x01 if packet.retain else 0)
    remaining = len(topic) + len(packet_id_bytes) + len(props) + len(payload)
    return b"".join((_wire.fixed_header(first, remaining), topic, packet_id_bytes, props, payload))


def _frame(first: int, *parts: bytes) -> bytes:
    body = b"".join(parts)
    return _wire.fixed_header(first, len(body)) + body


def _properties(packet: Any, version: ProtocolVersion, scope: int) -> bytes:
    return encode_properties(packet.properties, scope) if version == _V5 else b""


_PUBACK_SHORT: Final = struct.Struct("!BBH").pack


def encode_puback_success(packet_id: int) -> bytes:
    """A successful PUBACK, the broker's most frequent packet: the same 4 bytes in MQTT 3.1.1 and 5 (the
    short form of MQTT 5 section 3.4.2.1), without building a packet object."""
    if not 0 < packet_id <= 0xFFFF:
        raise EncodeError(f"packet identifier must be in 1..65535, not {packet_id}")
    return _PUBACK_SHORT(0x40, 2, packet_id)


def _check_reason(kind: PacketType, code: int) -> ReasonCode:
    """The enum member for ``code`` (callers may pass plain ints) if ``kind`` may carry it."""
    if code not in ALLOWED_REASON_CODES[kind]:
        raise EncodeError(f"reason code {code!r} is not allowed in {kind.name}")
    return ReasonCode(code)


def _check_v311_reason(kind: PacketType, code: ReasonCode) -> None:
    if code >= 0x80:
        raise EncodeError(f"MQTT 3.1.1 {kind.name} cannot carry the failure {code.name}")


def _packet_id(packet_id: int) -> bytes:
    if not 0 < packet_id <= 0xFFFF:
        raise EncodeError(f"packet identifier must be in 1..65535, not {packet_id}")
    return packet_id.to_bytes(2, "big")


def _qos(qos: int) -> int:
    if qos not in (0, 1, 2):
        raise EncodeError(f"invalid QoS {qos}")
    return qos


def _connect(packet: Connect, version: ProtocolVersion) -> bytes:
    if packet.protocol_level != version:
        raise EncodeError(f"CONNECT says level {packet.protocol_level}, the connection speaks {version}")
    flags = 0x02 if packet.clean_start else 0
    will_part = b""
    will = packet.will
    if will is not None:
        flags |= 0x04 | (_qos(will.qos) << 3) | (0x20 if will.retain else 0)
        will_props = encode_properties(will.properties, WILL_SCOPE) if version == _V5 else b""
        will_part = will_props + _wire.utf8(will.topic) + _wire.binary(will.payload)
    user = b""
    if packet.username is not None:
        flags |= 0x80
        user = _wire.utf8(packet.username)
    password = b""
    if packet.password is not None:
        if packet.username is None and version != _V5:
            raise EncodeError("MQTT 3.1.1 does not allow a password without a user name")
        flags |= 0x40
        password = _wire.binary(packet.password)
    return _frame(
        0x10,
        _PROTOCOL_NAMES[version],
        _wire.u8(version),
        _wire.u8(flags),
        _wire.u16(packet.keep_alive),
        _properties(packet, version, PacketType.CONNECT),
        _wire.utf8(packet.client_id),
        will_part,
        user,
        password,
    )


def _connack(packet: Connack, version: ProtocolVersion) -> bytes:
    code = _check_reason(PacketType.CONNACK, packet.reason_code)
    if packet.session_present and code.is_failure:
        raise EncodeError("a refused connection has no session present")
    flags = b"\x01" if packet.session_present else b"\x00"
    if version != _V5:
        return _frame(0x20, flags, _wire.u8(connack_return_code_v311(code)))
    return _frame(0x20, flags, _wire.u8(code), _properties(packet, version, PacketType.CONNACK))


def _acknowledgement(first: int, kind: PacketType) -> Callable[[Any, ProtocolVersion], bytes]:
    def encode_ack(packet: Puback | Pubrec | Pubrel | Pubcomp, version: ProtocolVersion) -> bytes:
        packet_id = _packet_id(packet.packet_id)
        code = _check_reason(kind, packet.reason_code)
        if version != _V5:
            _check_v311_reason(kind, code)
            return bytes((first, 2)) + packet_id
        props = b"\x00" if packet.properties is NO_PROPERTIES else encode_properties(packet.properties, kind)
        if props == b"\x00":
            if code == ReasonCode.SUCCESS:
                return bytes((first, 2)) + packet_id  # section 3.4.2.1: the short form
            return bytes((first, 3)) + packet_id + _wire.u8(code)
        return _frame(first, packet_id, _wire.u8(code), props)

    return encode_ack


def _subscription_options(sub: Subscription, version: ProtocolVersion) -> int:
    options = _qos(sub.qos)
    if version != _V5:
        return options
    if sub.retain_handling not in (0, 1, 2):
        raise EncodeError(f"invalid retain handling {sub.retain_handling}")
    if sub.no_local and sub.topic_filter.startswith("$share/"):
        raise EncodeError("No Local is not allowed on a shared subscription")
    return (
        options
        | (0x04 if sub.no_local else 0)
        | (0x08 if sub.retain_as_published else 0)
        | (sub.retain_handling << 4)
    )


def _subscribe(packet: Subscribe, version: ProtocolVersion) -> bytes:
    if not packet.subscriptions:
        raise EncodeError("SUBSCRIBE needs at least one subscription")
    entries = [
        _wire.utf8(sub.topic_filter) + _wire.u8(_subscription_options(sub, version))
        for sub in packet.subscriptions
    ]
    return _frame(
        0x82, _packet_id(packet.packet_id), _properties(packet, version, PacketType.SUBSCRIBE), *entries
    )


def _suback(packet: Suback, version: ProtocolVersion) -> bytes:
    if not packet.reason_codes:
        raise EncodeError("SUBACK needs at least one reason code")
    for code in packet.reason_codes:
        _check_reason(PacketType.SUBACK, code)
    if version == _V5:
        codes = bytes(packet.reason_codes)
    else:
        codes = bytes(0x80 if code >= 0x80 else code for code in packet.reason_codes)
    return _frame(0x90, _packet_id(packet.packet_id), _properties(packet, version, PacketType.SUBACK), codes)


def _unsubscribe(packet: Unsubscribe, version: ProtocolVersion) -> bytes:
    if not packet.topic_filters:
        raise EncodeError("UNSUBSCRIBE needs at least one topic filter")
    return _frame(
        0xA2,
        _packet_id(packet.packet_id),
        _properties(packet, version, PacketType.UNSUBSCRIBE),
        *(_wire.utf8(f) for f in packet.topic_filters),
    )


def _unsuback(packet: Unsuback, version: ProtocolVersion) -> bytes:
    codes = [_check_reason(PacketType.UNSUBACK, code) for code in packet.reason_codes]
    if version != _V5:
        for code in codes:
            _check_v311_reason(PacketType.UNSUBACK, code)
        return b"\xb0\x02" + _packet_id(packet.packet_id)
    if not packet.reason_codes:
        raise EncodeError("an MQTT 5 UNSUBACK needs one reason code per topic filter")
    return _frame(
        0xB0,
        _packet_id(packet.packet_id),
        _properties(packet, version, PacketType.UNSUBACK),
        bytes(packet.reason_codes),
    )


def _pingreq(packet: Pingreq, version: ProtocolVersion) -> bytes:
    return _PINGREQ


def _pingresp(packet: Pingresp, version: ProtocolVersion) -> bytes:
    return _PINGRESP


def _reason_and_properties(first: int, kind: PacketType, packet: Disconnect | Auth) -> bytes:
    code = _check_reason(kind, packet.reason_code)
    props = encode_properties(packet.properties, kind)
    if props == b"\x00":
        if code == ReasonCode.SUCCESS:
            return bytes((first, 0))  # sections 3.14.2.1 and 3.15.2.1: the shortest form
        return bytes((first, 1, code))
    return _frame(first, _wire.u8(code), props)


def _disconnect(packet: Disconnect, version: ProtocolVersion) -> bytes:
    if version != _V5:
        _check_v311_reason(PacketType.DISCONNECT, _check_reason(PacketType.DISCONNECT, packet.reason_code))
        return b"\xe0\x00"
    return _reason_and_properties(0xE0, PacketType.DISCONNECT, packet)


def _auth(packet: Auth, version: ProtocolVersion) -> bytes:
    if version != _V5:
        raise EncodeError("AUTH exists only in MQTT 5")
    if packet.properties.authentication_method is None and (
        packet.reason_code != ReasonCode.SUCCESS or packet.properties != NO_PROPERTIES
    ):
        raise EncodeError("AUTH needs an authentication method")
    return _reason_and_properties(0xF0, PacketType.AUTH, packet)


_ENCODERS: Final[dict[type, Callable[[Any, ProtocolVersion], bytes]]] = {
    Connect: _connect,
    Connack: _connack,
    Publish: encode_publish,
    Puback: _acknowledgement(0x40, PacketType.PUBACK),
    Pubrec: _acknowledgement(0x50, PacketType.PUBREC),
    Pubrel: _acknowledgement(0x62, PacketType.PUBREL),
    Pubcomp: _acknowledgement(0x70, PacketType.PUBCOMP),
    Subscribe: _subscribe,
    Suback: _suback,
    Unsubscribe: _unsubscribe,
    Unsuback: _unsuback,
    Pingreq: _pingreq,
    Pingresp: _pingresp,
    Disconnect: _disconnect,
    Auth: _auth,
}
