"""MQTT 5 properties (section 2.2.2): one table drives decoding, encoding and validation.

Properties are held in a single frozen :class:`Properties` value; a field left at ``None`` (or ``()``
for the two repeatable properties) is absent. MQTT 3.1.1 has no properties, so the 3.1.1 codec ignores
this value entirely.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, fields
from enum import Enum
from types import MappingProxyType
from typing import Any, Final

from bastion.mqtt import _wire
from bastion.mqtt.enums import PacketType
from bastion.mqtt.errors import EncodeError, MalformedPacket, ProtocolError

__all__ = [
    "NO_PROPERTIES",
    "PROPERTY_SPECS",
    "WILL_SCOPE",
    "Properties",
    "PropertyId",
    "PropertySpec",
    "PropertyType",
    "allowed_fields",
    "decode_properties",
    "encode_properties",
]

#: Scope value for the Will Properties of CONNECT (not a packet type: packet type 0 is reserved).
WILL_SCOPE: Final = 0


@dataclass(frozen=True, slots=True)
class Properties:
    """Every MQTT 5 property, each optional. Absent = ``None`` (or ``()`` for the repeatable two)."""

    payload_format_indicator: int | None = None
    message_expiry_interval: int | None = None
    content_type: str | None = None
    response_topic: str | None = None
    correlation_data: bytes | None = None
    subscription_identifiers: tuple[int, ...] = ()
    session_expiry_interval: int | None = None
    assigned_client_identifier: str | None = None
    server_keep_alive: int | None = None
    authentication_method: str | None = None
    authentication_data: bytes | None = None
    request_problem_information: int | None = None
    will_delay_interval: int | None = None
    request_response_information: int | None = None
    response_information: str | None = None
    server_reference: str | None = None
    reason_string: str | None = None
    receive_maximum: int | None = None
    topic_alias_maximum: int | None = None
    topic_alias: int | None = None
    maximum_qos: int | None = None
    retain_available: int | None = None
    user_properties: tuple[tuple[str, str], ...] = ()
    maximum_packet_size: int | None = None
    wildcard_subscription_available: int | None = None
    subscription_identifier_available: int | None = None
    shared_subscription_available: int | None = None

    def __repr__(self) -> str:
        # Only the properties that are present: the full list of 27 fields drowns every log line.
        present = (
            f"{name}={value!r}" for name in _FIELD_NAMES if (value := getattr(self, name)) not in (None, ())
        )
        return f"Properties({', '.join(present)})"


_FIELD_NAMES: Final = tuple(f.name for f in fields(Properties))

#: The shared empty value; the decoder returns this very object when a packet has no properties.
NO_PROPERTIES: Final = Properties()


class PropertyId(int, Enum):
    PAYLOAD_FORMAT_INDICATOR = 0x01
    MESSAGE_EXPIRY_INTERVAL = 0x02
    CONTENT_TYPE = 0x03
    RESPONSE_TOPIC = 0x08
    CORRELATION_DATA = 0x09
    SUBSCRIPTION_IDENTIFIER = 0x0B
    SESSION_EXPIRY_INTERVAL = 0x11
    ASSIGNED_CLIENT_IDENTIFIER = 0x12
    SERVER_KEEP_ALIVE = 0x13
    AUTHENTICATION_METHOD = 0x15
    AUTHENTICATION_DATA = 0x16
    REQUEST_PROBLEM_INFORMATION = 0x17
    WILL_DELAY_INTERVAL = 0x18
    REQUEST_RESPONSE_INFORMATION = 0x19
    RESPONSE_INFORMATION = 0x1A
    SERVER_REFERENCE = 0x1C
    REASON_STRING = 0x1F
    RECEIVE_MAXIMUM = 0x21
    TOPIC_ALIAS_MAXIMUM = 0x22
    TOPIC_ALIAS = 0x23
    MAXIMUM_QOS = 0x24
    RETAIN_AVAILABLE = 0x25
    USER_PROPERTY = 0x26
    MAXIMUM_PACKET_SIZE = 0x27
    WILDCARD_SUBSCRIPTION_AVAILABLE = 0x28
    SUBSCRIPTION_IDENTIFIER_AVAILABLE = 0x29
    SHARED_SUBSCRIPTION_AVAILABLE = 0x2A


class PropertyType(Enum):
    BYTE = "byte"
    TWO_BYTE_INTEGER = "two-byte integer"
    FOUR_BYTE_INTEGER = "four-byte integer"
    VARIABLE_BYTE_INTEGER = "variable byte integer"
    UTF8_STRING = "UTF-8 string"
    BINARY_DATA = "binary data"
    UTF8_STRING_PAIR = "UTF-8 string pair"


def _read_pair(data: bytes, pos: int, end: int) -> tuple[tuple[str, str], int]:
    key, pos = _wire.read_utf8(data, pos, end)
    value, pos = _wire.read_utf8(data, pos, end)
    return (key, value), pos


def _write_pair(pair: tuple[str, str]) -> bytes:
    return _wire.utf8(pair[0]) + _wire.utf8(pair[1])


_Reader = Callable[[bytes, int, int], tuple[Any, int]]
_Writer = Callable[[Any], bytes]

_CODECS: Final[dict[PropertyType, tuple[_Reader, _Writer]]] = {
    PropertyType.BYTE: (_wire.read_u8, _wire.u8),
    PropertyType.TWO_BYTE_INTEGER: (_wire.read_u16, _wire.u16),
    PropertyType.FOUR_BYTE_INTEGER: (_wire.read_u32, _wire.u32),
    PropertyType.VARIABLE_BYTE_INTEGER: (_wire.read_varint, _wire.varint),
    PropertyType.UTF8_STRING: (_wire.read_utf8, _wire.utf8),
    PropertyType.BINARY_DATA: (_wire.read_binary, _wire.binary),
    PropertyType.UTF8_STRING_PAIR: (_read_pair, _write_pair),
}


@dataclass(frozen=True, slots=True)
class PropertySpec:
    """One row of table 2-4: identifier, field name, wire type, where it may appear, value rule."""

    id: PropertyId
    field: str
    type: PropertyType
    scopes: frozenset[int]
    #: ``"flag"`` = must be 0 or 1, ``"nonzero"`` = must not be 0, ``None`` = any value of the type.
    rule: str | None = None

    @property
    def repeatable(self) -> bool:
        """User properties repeat anywhere; subscription identifiers only in PUBLISH."""
        return self.id in (PropertyId.USER_PROPERTY, PropertyId.SUBSCRIPTION_IDENTIFIER)


_P = PacketType
_T = PropertyType
_I = PropertyId
_PUBLISH_AND_WILL = {_P.PUBLISH, WILL_SCOPE}
_CONNECT_CONNACK = {_P.CONNECT, _P.CONNACK}
_AUTH_EXCHANGE = {_P.CONNECT, _P.CONNACK, _P.AUTH}
_EVERY_SCOPE = frozenset({*PacketType, WILL_SCOPE}) - {_P.PINGREQ, _P.PINGRESP}
_ACKS_AND_DISCONNECT = _EVERY_SCOPE - {_P.CONNECT, _P.PUBLISH, WILL_SCOPE, _P.SUBSCRIBE, _P.UNSUBSCRIBE}
# The two repeatable properties are tuples, so their fields have plural names.
_PLURAL = {_I.SUBSCRIPTION_IDENTIFIER: "subscription_identifiers", _I.USER_PROPERTY: "user_properties"}


def _spec(
    ident: PropertyId, kind: PropertyType, scopes: Iterable[int], rule: str | None = None
) -> PropertySpec:
    return PropertySpec(ident, _PLURAL.get(ident, ident.name.lower()), kind, frozenset(scopes), rule)


#: Table 2-4 of MQTT 5 with, per property, where section 3 allows it and the value rule it states.
PROPERTY_SPECS: Final = (
    _spec(_I.PAYLOAD_FORMAT_INDICATOR, _T.BYTE, _PUBLISH_AND_WILL, "flag"),
    _spec(_I.MESSAGE_EXPIRY_INTERVAL, _T.FOUR_BYTE_INTEGER, _PUBLISH_AND_WILL),
    _spec(_I.CONTENT_TYPE, _T.UTF8_STRING, _PUBLISH_AND_WILL),
    _spec(_I.RESPONSE_TOPIC, _T.UTF8_STRING, _PUBLISH_AND_WILL),
    _spec(_I.CORRELATION_DATA, _T.BINARY_DATA, _PUBLISH_AND_WILL),
    _spec(_I.SUBSCRIPTION_IDENTIFIER, _T.VARIABLE_BYTE_INTEGER, {_P.PUBLISH, _P.SUBSCRIBE}, "nonzero"),
    _spec(_I.SESSION_EXPIRY_INTERVAL, _T.FOUR_BYTE_INTEGER, {_P.CONNECT, _P.CONNACK, _P.DISCONNECT}),
    _spec(_I.ASSIGNED_CLIENT_IDENTIFIER, _T.UTF8_STRING, {_P.CONNACK}),
    _spec(_I.SERVER_KEEP_ALIVE, _T.TWO_BYTE_INTEGER, {_P.CONNACK}),
    _spec(_I.AUTHENTICATION_METHOD, _T.UTF8_STRING, _AUTH_EXCHANGE),
    _spec(_I.AUTHENTICATION_DATA, _T.BINARY_DATA, _AUTH_EXCHANGE),
    _spec(_I.REQUEST_PROBLEM_INFORMATION, _T.BYTE, {_P.CONNECT}, "flag"),
    _spec(_I.WILL_DELAY_INTERVAL, _T.FOUR_BYTE_INTEGER, {WILL_SCOPE}),
    _spec(_I.REQUEST_RESPONSE_INFORMATION, _T.BYTE, {_P.CONNECT}, "flag"),
    _spec(_I.RESPONSE_INFORMATION, _T.UTF8_STRING, {_P.CONNACK}),
    _spec(_I.SERVER_REFERENCE, _T.UTF8_STRING, {_P.CONNACK, _P.DISCONNECT}),
    _spec(_I.REASON_STRING, _T.UTF8_STRING, _ACKS_AND_DISCONNECT),
    _spec(_I.RECEIVE_MAXIMUM, _T.TWO_BYTE_INTEGER, _CONNECT_CONNACK, "nonzero"),
    _spec(_I.TOPIC_ALIAS_MAXIMUM, _T.TWO_BYTE_INTEGER, _CONNECT_CONNACK),
    _spec(_I.TOPIC_ALIAS, _T.TWO_BYTE_INTEGER, {_P.PUBLISH}),
    _spec(_I.MAXIMUM_QOS, _T.BYTE, {_P.CONNACK}, "flag"),
    _spec(_I.RETAIN_AVAILABLE, _T.BYTE, {_P.CONNACK}, "flag"),
    _spec(_I.USER_PROPERTY, _T.UTF8_STRING_PAIR, _EVERY_SCOPE),
    _spec(_I.MAXIMUM_PACKET_SIZE, _T.FOUR_BYTE_INTEGER, _CONNECT_CONNACK, "nonzero"),
    _spec(_I.WILDCARD_SUBSCRIPTION_AVAILABLE, _T.BYTE, {_P.CONNACK}, "flag"),
    _spec(_I.SUBSCRIPTION_IDENTIFIER_AVAILABLE, _T.BYTE, {_P.CONNACK}, "flag"),
    _spec(_I.SHARED_SUBSCRIPTION_AVAILABLE, _T.BYTE, {_P.CONNACK}, "flag"),
)

_BY_ID: Final = MappingProxyType({int(spec.id): spec for spec in PROPERTY_SPECS})
# Per scope, the rows allowed there.
_BY_SCOPE: Final = MappingProxyType(
    {scope: tuple(s for s in PROPERTY_SPECS if scope in s.scopes) for scope in _EVERY_SCOPE}
)


def _value_ok(rule: str | None, value: int) -> bool:
    if rule == "flag":
        return value in (0, 1)
    if rule == "nonzero":
        return value != 0
    return True


def decode_properties(data: bytes, pos: int, end: int, scope: int) -> tuple[Properties, int]:
    """Read a property block (length + properties) allowed in ``scope`` (a packet type or WILL_SCOPE)."""
    length, pos = _wire.read_varint(data, pos, end)
    if length == 0:
        return NO_PROPERTIES, pos
    stop = pos + length
    if stop > end:
        raise MalformedPacket("property length runs past the end of the packet")
    found: dict[str, Any] = {}
    user_properties: list[tuple[str, str]] = []
    subscription_ids: list[int] = []
    while pos < stop:
        ident, pos = _wire.read_varint(data, pos, stop)
        spec = _BY_ID.get(ident)
        if spec is None or scope not in spec.scopes:
            # Section 2.2.2.2: an identifier not valid for the packet type is a Malformed Packet.
            raise MalformedPacket(f"property 0x{ident:02X} is not allowed here")
        value, pos = _CODECS[spec.type][0](data, pos, stop)
        if spec.id is PropertyId.USER_PROPERTY:
            user_properties.append(value)
            continue
        if spec.rule is not None and not _value_ok(spec.rule, value):
            raise ProtocolError(f"{spec.field} has the forbidden value {value}")
        if spec.id is PropertyId.SUBSCRIPTION_IDENTIFIER:
            if subscription_ids and scope != PacketType.PUBLISH:
                raise ProtocolError("subscription identifier given twice")
            subscription_ids.append(value)
            continue
        if spec.field in found:
            raise ProtocolError(f"property {spec.field} given twice")
        found[spec.field] = value
    if "authentication_data" in found and "authentication_method" not in found:
        raise ProtocolError("authentication data without an authentication method")
    if user_properties:
        found["user_properties"] = tuple(user_properties)
    if subscription_ids:
        found["subscription_identifiers"] = tuple(subscription_ids)
    return Properties(**found), pos


def encode_properties(props: Properties, scope: int) -> bytes:
    """The property block (length prefix included) for ``scope``; refuses properties not allowed there."""
    if props is NO_PROPERTIES:
        return b"\x00"
    parts: list[bytes] = []
    for spec in PROPERTY_SPECS:
        value = getattr(props, spec.field)
        if value is None or value == ():
            continue
        if scope not in spec.scopes:
            raise EncodeError(f"property {spec.field} is not allowed in this packet")
        head = _wire.u8(spec.id)
        write = _CODECS[spec.type][1]
        if spec.repeatable:
            if (
                len(value) > 1
                and spec.id is PropertyId.SUBSCRIPTION_IDENTIFIER
                and scope != PacketType.PUBLISH
            ):
                raise EncodeError("SUBSCRIBE carries at most one subscription identifier")
            for item in value:
                _check_rule(spec, item)
                parts.append(head + write(item))
        else:
            _check_rule(spec, value)
            parts.append(head + write(value))
    if props.authentication_data is not None and props.authentication_method is None:
        raise EncodeError("authentication data needs an authentication method")
    body = b"".join(parts)
    return _wire.varint(len(body)) + body


def _check_rule(spec: PropertySpec, value: int) -> None:
    if spec.rule is not None and not _value_ok(spec.rule, value):
        raise EncodeError(f"{spec.field} may not be {value}")


def allowed_fields(scope: int) -> tuple[str, ...]:
    """Names of the Properties fields that may be set in ``scope``."""
    return tuple(spec.field for spec in _BY_SCOPE.get(scope, ()))
