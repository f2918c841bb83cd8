"""One routed message as bytes on the bus, tagged with the node it came from.

Layout (big-endian): version (1 byte), flags (1: bit 0 retain, bits 1-2 QoS), origin node id (16 bytes),
message id (8, 0 = none), expiry (8, IEEE double wall-clock second, 0 = none), topic length (2) and
topic (UTF-8), MQTT 5 property block length (4) and block (as ``PublishFrame.properties_section`` holds
it), payload (the rest). The property block travels as received, so user properties, correlation data
and the rest reach subscribers on every node unchanged.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from bastion.broker.message import Message
from bastion.mqtt import NO_PROPERTIES, Properties
from bastion.mqtt.enums import PacketType
from bastion.mqtt.errors import CodecError
from bastion.mqtt.properties import decode_properties

VERSION = 1
_HEAD = struct.Struct(">BB16sQdH")
_LEN = struct.Struct(">I")


class BadBusMessage(ValueError):
    """Bytes on the bus that are not a message this version understands."""


@dataclass(frozen=True, slots=True)
class BusMessage:
    origin: bytes  # 16-byte node id
    message: Message


def encode(origin: bytes, message: Message) -> bytes:
    topic = message.topic.encode()
    block = message.frame.properties_section
    flags = (1 if message.retain else 0) | (message.qos << 1)
    head = _HEAD.pack(
        VERSION,
        flags,
        origin,
        message.message_id or 0,
        message.expires_at or 0.0,
        len(topic),
    )
    return b"".join((head, topic, _LEN.pack(len(block)), block, message.payload))


def decode(data: bytes) -> BusMessage:
    try:
        version, flags, origin, message_id, expires_at, topic_len = _HEAD.unpack_from(data, 0)
        if version != VERSION:
            raise BadBusMessage(f"unknown bus message version {version}")
        at = _HEAD.size
        topic = data[at : at + topic_len].decode()
        at += topic_len
        (block_len,) = _LEN.unpack_from(data, at)
        at += _LEN.size
        block = data[at : at + block_len]
        if len(block) != block_len or len(topic.encode()) != topic_len:
            raise BadBusMessage("truncated bus message")
        payload = data[at + block_len :]
        qos = (flags >> 1) & 3
        if qos > 1:
            raise BadBusMessage(f"QoS {qos} on the bus")
        message = Message(
            topic,
            bytes(payload),
            qos,
            bool(flags & 1),
            _properties(block),
            expires_at=expires_at or None,
            message_id=message_id or None,
        )
    except (struct.error, UnicodeDecodeError, ValueError, CodecError) as exc:
        if isinstance(exc, BadBusMessage):
            raise
        raise BadBusMessage(str(exc)) from exc
    return BusMessage(origin, message)


def _properties(block: bytes) -> Properties:
    if block in (b"", b"\x00"):
        return NO_PROPERTIES
    properties, _ = decode_properties(block, 0, len(block), PacketType.PUBLISH)
    return properties
