"""Codec errors.

Errors raised while decoding are the peer's fault; each class carries the MQTT 5 reason code a server
should put in its CONNACK or DISCONNECT (h2 puts the wire code on the exception class the same way).
The broker decides what to send; for MQTT 3.1.1 it simply closes the connection.

Errors raised while encoding are the caller's fault and are plain ``ValueError`` subclasses.
"""

from __future__ import annotations

from typing import ClassVar

from bastion.mqtt.reason_codes import ReasonCode

__all__ = [
    "CodecError",
    "DecodeError",
    "EncodeError",
    "MalformedPacket",
    "PacketTooLarge",
    "ProtocolError",
    "UnsupportedProtocolVersion",
]


class CodecError(Exception):
    """Base class of every error this package raises on purpose."""


class DecodeError(CodecError):
    """The bytes received from the peer cannot be accepted."""

    reason_code: ClassVar[ReasonCode] = ReasonCode.UNSPECIFIED_ERROR


class MalformedPacket(DecodeError):
    """The bytes do not parse as the packet they claim to be (MQTT 5 section 1.2, 'Malformed Packet')."""

    reason_code: ClassVar[ReasonCode] = ReasonCode.MALFORMED_PACKET


class ProtocolError(DecodeError):
    """The packet parses but carries something the protocol forbids."""

    reason_code: ClassVar[ReasonCode] = ReasonCode.PROTOCOL_ERROR


class UnsupportedProtocolVersion(ProtocolError):
    """CONNECT names a protocol or level this codec does not speak.

    The server should answer with CONNACK 0x84 (MQTT 5) or return code 1 (MQTT 3.1.1) and close.
    """

    reason_code: ClassVar[ReasonCode] = ReasonCode.UNSUPPORTED_PROTOCOL_VERSION

    def __init__(self, protocol_name: str, protocol_level: int) -> None:
        super().__init__(f"unsupported protocol {protocol_name!r} level {protocol_level}")
        self.protocol_name = protocol_name
        self.protocol_level = protocol_level


class PacketTooLarge(DecodeError):
    """The fixed header announces a packet larger than the configured maximum."""

    reason_code: ClassVar[ReasonCode] = ReasonCode.PACKET_TOO_LARGE

    def __init__(self, size: int, limit: int) -> None:
        super().__init__(f"packet of {size} bytes exceeds the maximum of {limit}")
        self.size = size
        self.limit = limit


class EncodeError(CodecError, ValueError):
    """The packet cannot be written for the requested protocol version."""
