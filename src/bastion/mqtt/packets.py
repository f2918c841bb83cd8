"""The fifteen control packets as frozen values.

One representation serves both protocol versions: the MQTT 5 fields are always there and MQTT 3.1.1 is
the subset that leaves them at their defaults (no properties, success reason codes). The packets carry
no behaviour; decoding and encoding live in :mod:`bastion.mqtt.decode` and :mod:`bastion.mqtt.encode`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

from bastion.mqtt.enums import PacketType, ProtocolVersion, RetainHandling
from bastion.mqtt.properties import NO_PROPERTIES, Properties
from bastion.mqtt.reason_codes import ReasonCode

__all__ = [
    "Auth",
    "Connack",
    "Connect",
    "Disconnect",
    "Packet",
    "Pingreq",
    "Pingresp",
    "Puback",
    "Pubcomp",
    "Publish",
    "Pubrec",
    "Pubrel",
    "Suback",
    "Subscribe",
    "Subscription",
    "Unsuback",
    "Unsubscribe",
    "Will",
]


@dataclass(frozen=True, slots=True)
class Will:
    """The Will Message inside CONNECT."""

    topic: str
    payload: bytes = b""
    qos: int = 0
    retain: bool = False
    properties: Properties = NO_PROPERTIES


@dataclass(frozen=True, slots=True)
class Connect:
    packet_type: ClassVar[PacketType] = PacketType.CONNECT

    client_id: str = ""
    protocol_level: ProtocolVersion = ProtocolVersion.MQTT_5
    #: Clean Start (MQTT 5) or Clean Session (3.1.1): the same bit.
    clean_start: bool = True
    keep_alive: int = 0
    username: str | None = None
    password: bytes | None = None
    will: Will | None = None
    properties: Properties = NO_PROPERTIES


@dataclass(frozen=True, slots=True)
class Connack:
    packet_type: ClassVar[PacketType] = PacketType.CONNACK

    session_present: bool = False
    #: Always an MQTT 5 code; 3.1.1 return codes are translated at the wire edge.
    reason_code: ReasonCode = ReasonCode.SUCCESS
    properties: Properties = NO_PROPERTIES


@dataclass(frozen=True, slots=True)
class Publish:
    packet_type: ClassVar[PacketType] = PacketType.PUBLISH

    topic: str
    payload: bytes = b""
    qos: int = 0
    retain: bool = False
    dup: bool = False
    #: ``None`` exactly when ``qos == 0``.
    packet_id: int | None = None
    properties: Properties = NO_PROPERTIES
    #: The complete packet as received (fixed header included), set by the decoder only. It is not an
    #: init argument, so ``dataclasses.replace`` drops it and a modified copy never carries stale bytes.
    raw: bytes | None = field(default=None, init=False, repr=False, compare=False)


@dataclass(frozen=True, slots=True)
class Puback:
    packet_type: ClassVar[PacketType] = PacketType.PUBACK

    packet_id: int
    reason_code: ReasonCode = ReasonCode.SUCCESS
    properties: Properties = NO_PROPERTIES


@dataclass(frozen=True, slots=True)
class Pubrec:
    packet_type: ClassVar[PacketType] = PacketType.PUBREC

    packet_id: int
    reason_code: ReasonCode = ReasonCode.SUCCESS
    properties: Properties = NO_PROPERTIES


@dataclass(frozen=True, slots=True)
class Pubrel:
    packet_type: ClassVar[PacketType] = PacketType.PUBREL

    packet_id: int
    reason_code: ReasonCode = ReasonCode.SUCCESS
    properties: Properties = NO_PROPERTIES


@dataclass(frozen=True, slots=True)
class Pubcomp:
    packet_type: ClassVar[PacketType] = PacketType.PUBCOMP

    packet_id: int
    reason_code: ReasonCode = ReasonCode.SUCCESS
    properties: Properties = NO_PROPERTIES


@dataclass(frozen=True, slots=True)
class Subscription:
    """One topic filter of SUBSCRIBE with its options (3.1.1 uses only ``qos``)."""

    topic_filter: str
    qos: int = 0
    no_local: bool = False
    retain_as_published: bool = False
    retain_handling: RetainHandling = RetainHandling.SEND_ON_SUBSCRIBE


@dataclass(frozen=True, slots=True)
class Subscribe:
    packet_type: ClassVar[PacketType] = PacketType.SUBSCRIBE

    packet_id: int
    subscriptions: tuple[Subscription, ...]
    properties: Properties = NO_PROPERTIES


@dataclass(frozen=True, slots=True)
class Suback:
    packet_type: ClassVar[PacketType] = PacketType.SUBACK

    packet_id: int
    #: One per subscription: GRANTED_QOS_0/1/2 or a failure code (3.1.1 sends every failure as 0x80).
    reason_codes: tuple[ReasonCode, ...]
    properties: Properties = NO_PROPERTIES


@dataclass(frozen=True, slots=True)
class Unsubscribe:
    packet_type: ClassVar[PacketType] = PacketType.UNSUBSCRIBE

    packet_id: int
    topic_filters: tuple[str, ...]
    properties: Properties = NO_PROPERTIES


@dataclass(frozen=True, slots=True)
class Unsuback:
    packet_type: ClassVar[PacketType] = PacketType.UNSUBACK

    packet_id: int
    #: One per topic filter in MQTT 5; always empty when decoded from 3.1.1, which has none.
    reason_codes: tuple[ReasonCode, ...] = ()
    properties: Properties = NO_PROPERTIES


@dataclass(frozen=True, slots=True)
class Pingreq:
    packet_type: ClassVar[PacketType] = PacketType.PINGREQ


@dataclass(frozen=True, slots=True)
class Pingresp:
    packet_type: ClassVar[PacketType] = PacketType.PINGRESP


@dataclass(frozen=True, slots=True)
class Disconnect:
    packet_type: ClassVar[PacketType] = PacketType.DISCONNECT

    reason_code: ReasonCode = ReasonCode.NORMAL_DISCONNECTION
    properties: Properties = NO_PROPERTIES


@dataclass(frozen=True, slots=True)
class Auth:
    """MQTT 5 only."""

    packet_type: ClassVar[PacketType] = PacketType.AUTH

    reason_code: ReasonCode = ReasonCode.SUCCESS
    properties: Properties = NO_PROPERTIES


Packet = (
    Connect
    | Connack
    | Publish
    | Puback
    | Pubrec
    | Pubrel
    | Pubcomp
    | Subscribe
    | Suback
    | Unsubscribe
    | Unsuback
    | Pingreq
    | Pingresp
    | Disconnect
    | Auth
)


_new_object = object.__new__
_PUBLISH_SETTERS = tuple(
    Publish.__dict__[name].__set__
    for name in ("topic", "payload", "qos", "retain", "dup", "packet_id", "properties", "raw")
)


def make_publish(
    topic: str,
    payload: bytes,
    qos: int,
    retain: bool,
    dup: bool,
    packet_id: int | None,
    properties: Properties,
    raw: bytes | None,
) -> Publish:
    """Build a Publish for the decoder's hot path, ``raw`` included.

    A frozen dataclass's ``__init__`` goes through ``object.__setattr__`` once per field, which costs
    about three times as much as writing the slots directly; the result is the same frozen value.
    """
    message: Publish = _new_object(Publish)
    s_topic, s_payload, s_qos, s_retain, s_dup, s_packet_id, s_properties, s_raw = _PUBLISH_SETTERS
    s_topic(message, topic)
    s_payload(message, payload)
    s_qos(message, qos)
    s_retain(message, retain)
    s_dup(message, dup)
    s_packet_id(message, packet_id)
    s_properties(message, properties)
    s_raw(message, raw)
    return message
