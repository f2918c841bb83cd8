"""MQTT 5 reason codes, which packets may carry each, and the 3.1.1 equivalents.

The codec speaks MQTT 5 codes everywhere; MQTT 3.1.1 return codes exist only at the wire edge, through
the two tables at the bottom of this module.
"""

from __future__ import annotations

from enum import IntEnum
from types import MappingProxyType
from typing import Final

from bastion.mqtt.enums import PacketType

__all__ = [
    "ALLOWED_REASON_CODES",
    "ConnackReturnCode",
    "ReasonCode",
    "connack_return_code_v311",
    "reason_code_from_connack_v311",
]


class ReasonCode(IntEnum):
    """MQTT 5 reason codes (section 2.4). 0x00-0x02 have several names depending on the packet."""

    SUCCESS = 0x00
    NORMAL_DISCONNECTION = 0x00
    GRANTED_QOS_0 = 0x00
    GRANTED_QOS_1 = 0x01
    GRANTED_QOS_2 = 0x02
    DISCONNECT_WITH_WILL_MESSAGE = 0x04
    NO_MATCHING_SUBSCRIBERS = 0x10
    NO_SUBSCRIPTION_EXISTED = 0x11
    CONTINUE_AUTHENTICATION = 0x18
    RE_AUTHENTICATE = 0x19
    UNSPECIFIED_ERROR = 0x80
    MALFORMED_PACKET = 0x81
    PROTOCOL_ERROR = 0x82
    IMPLEMENTATION_SPECIFIC_ERROR = 0x83
    UNSUPPORTED_PROTOCOL_VERSION = 0x84
    CLIENT_IDENTIFIER_NOT_VALID = 0x85
    BAD_USER_NAME_OR_PASSWORD = 0x86
    NOT_AUTHORIZED = 0x87
    SERVER_UNAVAILABLE = 0x88
    SERVER_BUSY = 0x89
    BANNED = 0x8A
    SERVER_SHUTTING_DOWN = 0x8B
    BAD_AUTHENTICATION_METHOD = 0x8C
    KEEP_ALIVE_TIMEOUT = 0x8D
    SESSION_TAKEN_OVER = 0x8E
    TOPIC_FILTER_INVALID = 0x8F
    TOPIC_NAME_INVALID = 0x90
    PACKET_IDENTIFIER_IN_USE = 0x91
    PACKET_IDENTIFIER_NOT_FOUND = 0x92
    RECEIVE_MAXIMUM_EXCEEDED = 0x93
    TOPIC_ALIAS_INVALID = 0x94
    PACKET_TOO_LARGE = 0x95
    MESSAGE_RATE_TOO_HIGH = 0x96
    QUOTA_EXCEEDED = 0x97
    ADMINISTRATIVE_ACTION = 0x98
    PAYLOAD_FORMAT_INVALID = 0x99
    RETAIN_NOT_SUPPORTED = 0x9A
    QOS_NOT_SUPPORTED = 0x9B
    USE_ANOTHER_SERVER = 0x9C
    SERVER_MOVED = 0x9D
    SHARED_SUBSCRIPTIONS_NOT_SUPPORTED = 0x9E
    CONNECTION_RATE_EXCEEDED = 0x9F
    MAXIMUM_CONNECT_TIME = 0xA0
    SUBSCRIPTION_IDENTIFIERS_NOT_SUPPORTED = 0xA1
    WILDCARD_SUBSCRIPTIONS_NOT_SUPPORTED = 0xA2

    @property
    def is_failure(self) -> bool:
        """Codes from 0x80 up report a failure (section 2.4)."""
        return self.value >= 0x80


def _codes(*values: int) -> frozenset[ReasonCode]:
    return frozenset(ReasonCode(v) for v in values)


_PUBACK_CODES: Final = _codes(0x00, 0x10, 0x80, 0x83, 0x87, 0x90, 0x91, 0x97, 0x99)
_PUBREL_CODES: Final = _codes(0x00, 0x92)

#: Which reason codes each packet type may carry in MQTT 5 (table 2-6 of the specification).
ALLOWED_REASON_CODES: Final = MappingProxyType(
    {
        PacketType.CONNACK: _codes(
            0x00,
            0x80,
            0x81,
            0x82,
            0x83,
            0x84,
            0x85,
            0x86,
            0x87,
            0x88,
            0x89,
            0x8A,
            0x8C,
            0x90,
            0x95,
            0x97,
            0x99,
            0x9A,
            0x9B,
            0x9C,
            0x9D,
            0x9F,
        ),
        PacketType.PUBACK: _PUBACK_CODES,
        PacketType.PUBREC: _PUBACK_CODES,
        PacketType.PUBREL: _PUBREL_CODES,
        PacketType.PUBCOMP: _PUBREL_CODES,
        PacketType.SUBACK: _codes(0x00, 0x01, 0x02, 0x80, 0x83, 0x87, 0x8F, 0x91, 0x97, 0x9E, 0xA1, 0xA2),
        PacketType.UNSUBACK: _codes(0x00, 0x11, 0x80, 0x83, 0x87, 0x8F, 0x91),
        PacketType.DISCONNECT: _codes(
            0x00,
            0x04,
            0x80,
            0x81,
            0x82,
            0x83,
            0x87,
            0x89,
            0x8B,
            0x8C,
            0x8D,
            0x8E,
            0x8F,
            0x90,
            0x93,
            0x94,
            0x95,
            0x96,
            0x97,
            0x98,
            0x99,
            0x9A,
            0x9B,
            0x9C,
            0x9D,
            0x9E,
            0x9F,
            0xA0,
            0xA1,
            0xA2,
        ),
        PacketType.AUTH: _codes(0x00, 0x18, 0x19),
    }
)


class ConnackReturnCode(IntEnum):
    """MQTT 3.1.1 CONNACK return codes (section 3.2.2.3 of 3.1.1)."""

    ACCEPTED = 0
    UNACCEPTABLE_PROTOCOL_VERSION = 1
    IDENTIFIER_REJECTED = 2
    SERVER_UNAVAILABLE = 3
    BAD_USER_NAME_OR_PASSWORD = 4
    NOT_AUTHORIZED = 5


_CONNACK_FROM_V311: Final = MappingProxyType(
    {
        ConnackReturnCode.ACCEPTED: ReasonCode.SUCCESS,
        ConnackReturnCode.UNACCEPTABLE_PROTOCOL_VERSION: ReasonCode.UNSUPPORTED_PROTOCOL_VERSION,
        ConnackReturnCode.IDENTIFIER_REJECTED: ReasonCode.CLIENT_IDENTIFIER_NOT_VALID,
        ConnackReturnCode.SERVER_UNAVAILABLE: ReasonCode.SERVER_UNAVAILABLE,
        ConnackReturnCode.BAD_USER_NAME_OR_PASSWORD: ReasonCode.BAD_USER_NAME_OR_PASSWORD,
        ConnackReturnCode.NOT_AUTHORIZED: ReasonCode.NOT_AUTHORIZED,
    }
)

# MQTT 5 refusals with a direct 3.1.1 counterpart; every other failure becomes "server unavailable",
# the 3.1.1 code that promises the least about why.
_CONNACK_TO_V311: Final = MappingProxyType(
    {
        ReasonCode.SUCCESS: ConnackReturnCode.ACCEPTED,
        ReasonCode.UNSUPPORTED_PROTOCOL_VERSION: ConnackReturnCode.UNACCEPTABLE_PROTOCOL_VERSION,
        ReasonCode.CLIENT_IDENTIFIER_NOT_VALID: ConnackReturnCode.IDENTIFIER_REJECTED,
        ReasonCode.BAD_USER_NAME_OR_PASSWORD: ConnackReturnCode.BAD_USER_NAME_OR_PASSWORD,
        ReasonCode.NOT_AUTHORIZED: ConnackReturnCode.NOT_AUTHORIZED,
        ReasonCode.BANNED: ConnackReturnCode.NOT_AUTHORIZED,
        ReasonCode.BAD_AUTHENTICATION_METHOD: ConnackReturnCode.NOT_AUTHORIZED,
    }
)


def connack_return_code_v311(code: ReasonCode) -> ConnackReturnCode:
    """The MQTT 3.1.1 CONNACK return code that stands for an MQTT 5 CONNACK reason code (total)."""
    return _CONNACK_TO_V311.get(code, ConnackReturnCode.SERVER_UNAVAILABLE)


def reason_code_from_connack_v311(return_code: int) -> ReasonCode | None:
    """The MQTT 5 reason code for a 3.1.1 return code, or None for the reserved values 6-255."""
    if 0 <= return_code <= 5:
        return _CONNACK_FROM_V311[ConnackReturnCode(return_code)]
    return None
