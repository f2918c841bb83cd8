"""One application message inside the broker, shared by every delivery of it.

A message is built once per inbound PUBLISH (or Will, or lifecycle event). Its encoded form is a
:class:`~bastion.mqtt.PublishFrame`, made on first delivery from the bytes as received where possible,
so fan-out only stamps a fixed header and packet id per recipient. The MQTT 5 Message Expiry Interval
is the one property that changes on the way: a copy that waited is sent with the time it has left.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime

from bastion.mqtt import NO_PROPERTIES, Properties, Publish, PublishFrame
from bastion.mqtt.enums import PacketType
from bastion.mqtt.properties import decode_properties
from bastion.storage.mqtt import RetainedMessage, StoredMessage

_last_id = 0
# Low 10 bits of every id: 0 for a single node; a cluster node's own number, so that nodes sharing one
# store never pick the same id in the same microsecond (bastion.cluster sets it).
_node_bits = 0


def set_node_bits(bits: int) -> None:
    global _node_bits
    _node_bits = bits & 1023


def new_message_id() -> int:
    """Strictly increasing ids that also sort in arrival order across restarts: microseconds since
    1970 times 1024 plus the node's bits, moved past the previous id when the clock has not advanced
    (or stepped back)."""
    global _last_id
    candidate = int(time.time() * 1_000_000) * 1024 + _node_bits
    _last_id = candidate if candidate > _last_id else _last_id + 1024
    return _last_id


class Message:
    __slots__ = (
        "_frame",
        "_topic_arn",
        "expires_at",
        "message_id",
        "origin",
        "payload",
        "properties",
        "qos",
        "retain",
        "source",
        "stored",
        "topic",
    )

    def __init__(
        self,
        topic: str,
        payload: bytes,
        qos: int,
        retain: bool,
        properties: Properties = NO_PROPERTIES,
        *,
        expires_at: float | None = None,
        origin: object = None,
        source: Publish | None = None,
        message_id: int | None = None,
    ) -> None:
        self.topic = topic
        self.payload = payload
        self.qos = qos
        self.retain = retain
        self.properties = properties
        # Wall-clock second at which the message expires (MQTT 5 Message Expiry Interval), if any.
        self.expires_at = expires_at
        # The session that published it (for No Local); None for the broker's own messages.
        self.origin = origin
        # The packet as received, when its bytes can be forwarded unchanged.
        self.source = source
        self.message_id = message_id
        # Whether a PutMessage for it has been handed to the store.
        self.stored = False
        self._frame: PublishFrame | None = None
        self._topic_arn: str | None = None

    @classmethod
    def from_publish(cls, packet: Publish, *, now: float, origin: object, forward_raw: bool) -> Message:
        properties = packet.properties
        expires_at = None
        if properties.message_expiry_interval is not None:
            expires_at = now + properties.message_expiry_interval
        return cls(
            packet.topic,
            packet.payload,
            packet.qos,
            packet.retain,
            properties,
            expires_at=expires_at,
            origin=origin,
            source=packet if forward_raw else None,
        )

    def topic_arn(self, make: Callable[[str], str]) -> str:
        """The ``topic/<topic>`` ARN, made once per message (every delivery's Receive check uses it)."""
        arn = self._topic_arn
        if arn is None:
            arn = self._topic_arn = make(self.topic)
        return arn

    @property
    def frame(self) -> PublishFrame:
        frame = self._frame
        if frame is None:
            if self.source is not None:
                frame = PublishFrame.from_packet(self.source)
            else:
                frame = PublishFrame.from_packet(
                    Publish(self.topic, self.payload, properties=self.properties)
                )
            self._frame = frame
        return frame

    def frame_at(self, now: float) -> PublishFrame | None:
        """The frame to send at ``now``: None when expired; a fresh one when the expiry must shrink."""
        if self.expires_at is None:
            return self.frame
        left = int(self.expires_at - now + 0.999)
        if left <= 0:
            return None
        if left >= (self.properties.message_expiry_interval or 0):
            return self.frame
        properties = replace(self.properties, message_expiry_interval=left)
        return PublishFrame.from_packet(Publish(self.topic, self.payload, properties=properties))

    def expired(self, now: float) -> bool:
        return self.expires_at is not None and self.expires_at <= now

    # ---- storage ------------------------------------------------------------------------------------
    def to_stored(self) -> StoredMessage:
        assert self.message_id is not None
        return StoredMessage(
            message_id=self.message_id,
            topic=self.topic,
            payload=self.payload,
            qos=self.qos,
            properties=self.frame.properties_section,
            created=datetime.now(UTC),
            expires=_wall(self.expires_at),
        )

    def to_retained(self, now: float) -> RetainedMessage:
        return RetainedMessage(
            topic=self.topic,
            payload=self.payload,
            qos=self.qos,
            properties=self.frame.properties_section,
            updated=datetime.fromtimestamp(now, UTC),
            expires=_wall(self.expires_at),
        )

    @classmethod
    def from_stored(cls, stored: StoredMessage | RetainedMessage) -> Message:
        properties = _properties(stored.properties)
        message = cls(
            stored.topic,
            stored.payload,
            stored.qos,
            isinstance(stored, RetainedMessage),
            properties,
            expires_at=None if stored.expires is None else stored.expires.timestamp(),
            message_id=stored.message_id if isinstance(stored, StoredMessage) else None,
        )
        message.stored = isinstance(stored, StoredMessage)
        return message


def _wall(moment: float | None) -> datetime | None:
    return None if moment is None else datetime.fromtimestamp(moment, UTC)


def _properties(block: bytes) -> Properties:
    if block in (b"", b"\x00"):
        return NO_PROPERTIES
    properties, _ = decode_properties(block, 0, len(block), PacketType.PUBLISH)
    return properties
