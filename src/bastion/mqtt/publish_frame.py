"""Cheap re-stamping of an encoded PUBLISH for fan-out.

A message delivered to many subscribers differs between them only in the first byte (QoS, RETAIN,
DUP), the packet identifier, the remaining length that follows from those, and whether the MQTT 5
property block is present. :class:`PublishFrame` keeps the encoded topic, property block and payload
once and builds each delivery by concatenation, without re-encoding strings or properties.
"""

from __future__ import annotations

from typing import Final

from bastion.mqtt import _wire
from bastion.mqtt.decode import parse_fixed_header
from bastion.mqtt.enums import PacketType, ProtocolVersion
from bastion.mqtt.errors import DecodeError, EncodeError
from bastion.mqtt.packets import Publish
from bastion.mqtt.properties import NO_PROPERTIES, encode_properties

__all__ = ["PublishFrame", "restamp_publish"]

_V5: Final = ProtocolVersion.MQTT_5


class PublishFrame:
    """The recipient-independent parts of a PUBLISH.

    ``topic_section`` is the length-prefixed topic name, ``properties_section`` the MQTT 5 property block
    with its length prefix (``b"\\x00"`` when empty; left out for 3.1.1 recipients), ``payload`` the bytes
    after them. Build one with :meth:`from_packet` or :meth:`from_raw`.
    """

    __slots__ = ("_size_v5", "_size_v311", "payload", "properties_section", "topic_section")

    def __init__(self, topic_section: bytes, properties_section: bytes, payload: bytes) -> None:
        self.topic_section = topic_section
        self.properties_section = properties_section
        self.payload = payload
        self._size_v311 = len(topic_section) + len(payload)
        self._size_v5 = self._size_v311 + len(properties_section)

    @classmethod
    def from_packet(cls, packet: Publish) -> PublishFrame:
        """Encode the topic and properties once. Reuses the received bytes when the packet has them.

        The properties are forwarded as they are; clear per-hop ones (Topic Alias) first, with
        ``dataclasses.replace``, which also drops ``raw``.
        """
        if packet.raw is not None and packet.properties is not NO_PROPERTIES:
            # Only MQTT 5 packets have properties, so the received bytes hold an MQTT 5 block.
            return cls.from_raw(packet.raw, _V5)
        properties = packet.properties
        block = b"\x00" if properties is NO_PROPERTIES else encode_properties(properties, PacketType.PUBLISH)
        return cls(_wire.utf8(packet.topic), block, packet.payload)

    @classmethod
    def from_raw(cls, raw: bytes, version: ProtocolVersion) -> PublishFrame:
        """Split a complete PUBLISH as received on a connection speaking ``version`` (no re-encoding)."""
        if not raw or raw[0] >> 4 != PacketType.PUBLISH:
            raise EncodeError("not a PUBLISH packet")
        try:
            header = parse_fixed_header(raw)
        except DecodeError as exc:
            raise EncodeError("corrupt PUBLISH header") from exc
        if header is None or header[0] + header[1] != len(raw):
            raise EncodeError("PUBLISH bytes are truncated or carry extra bytes")
        pos = header[1]
        end = len(raw)
        try:
            topic_len, after_len = _wire.read_u16(raw, pos, end)
            topic_end = after_len + topic_len
            body = topic_end + (2 if raw[0] & 0x06 else 0)
            if version == _V5:
                block_len, block_start = _wire.read_varint(raw, body, end)
                block_end = block_start + block_len
            else:
                block_end = body
        except DecodeError as exc:
            raise EncodeError("corrupt PUBLISH body") from exc
        if block_end > end:
            raise EncodeError("PUBLISH property block runs past the end")
        block = raw[body:block_end] if version == _V5 else b"\x00"
        return cls(raw[pos:topic_end], block, raw[block_end:])

    def stamp_parts(
        self,
        version: ProtocolVersion,
        qos: int = 0,
        packet_id: int | None = None,
        *,
        retain: bool = False,
        dup: bool = False,
    ) -> tuple[bytes, bytes]:
        """``(head, payload)``: write both, e.g. with ``writelines``, to avoid copying the payload."""
        if qos == 0:
            if packet_id is not None or dup:
                raise EncodeError("a QoS 0 PUBLISH has neither packet identifier nor DUP")
            id_bytes = b""
        elif qos in (1, 2):
            if packet_id is None or not 0 < packet_id <= 0xFFFF:
                raise EncodeError(f"QoS {qos} needs a packet identifier in 1..65535, not {packet_id}")
            id_bytes = packet_id.to_bytes(2, "big")
        else:
            raise EncodeError(f"invalid QoS {qos}")
        first = 0x30 | (qos << 1) | (0x08 if dup else 0) | (0x01 if retain else 0)
        if version == _V5:
            header = _wire.fixed_header(first, self._size_v5 + len(id_bytes))
            return header + self.topic_section + id_bytes + self.properties_section, self.payload
        header = _wire.fixed_header(first, self._size_v311 + len(id_bytes))
        return header + self.topic_section + id_bytes, self.payload

    def stamp(
        self,
        version: ProtocolVersion,
        qos: int = 0,
        packet_id: int | None = None,
        *,
        retain: bool = False,
        dup: bool = False,
    ) -> bytes:
        """The complete PUBLISH for one recipient."""
        head, payload = self.stamp_parts(version, qos, packet_id, retain=retain, dup=dup)
        return head + payload


def restamp_publish(
    raw: bytes,
    version: ProtocolVersion,
    qos: int = 0,
    packet_id: int | None = None,
    *,
    retain: bool = False,
    dup: bool = False,
    target_version: ProtocolVersion | None = None,
) -> bytes:
    """Re-issue a received PUBLISH with another QoS, packet identifier, RETAIN or DUP.

    ``version`` is the version ``raw`` was received with; ``target_version`` (default: the same) the
    recipient's. Converting 5 -> 3.1.1 drops the property block; 3.1.1 -> 5 adds an empty one.
    """
    frame = PublishFrame.from_raw(raw, version)
    return frame.stamp(target_version or version, qos, packet_id, retain=retain, dup=dup)
