"""Pre-encoded MQTT 3.1.1 packets and a cheap packet walker for the load clients.

Everything a load client sends in its hot loop is encoded here once, with ``bastion.mqtt``, so that the
clients spend their time on the socket and not on encoding. Received bytes are walked packet by packet
without building packet objects: a benchmark client only needs the type, the QoS and, for QoS 1, the
packet identifier.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator

from bastion.mqtt import (
    Connect,
    Disconnect,
    ProtocolVersion,
    Publish,
    Subscribe,
    Subscription,
    encode,
    encode_publish,
)

V311 = ProtocolVersion.MQTT_3_1_1

CONNACK = 0x20
PUBLISH = 0x30
PUBACK = 0x40
SUBACK = 0x90
PINGRESP = 0xD0
DISCONNECT = encode(Disconnect(), V311)
PINGREQ = b"\xc0\x00"

_STAMP = struct.Struct(">Q")


def connect_packet(
    client_id: str, username: str | None = None, password: bytes | None = None, keep_alive: int = 600
) -> bytes:
    return encode(
        Connect(
            client_id=client_id,
            protocol_level=V311,
            clean_start=True,
            keep_alive=keep_alive,
            username=username,
            password=password,
        ),
        V311,
    )


def subscribe_packet(topic_filters: list[str], qos: int, packet_id: int = 1) -> bytes:
    subscriptions = tuple(Subscription(f, qos) for f in topic_filters)
    return encode(Subscribe(packet_id=packet_id, subscriptions=subscriptions), V311)


def publish_packet(topic: str, payload: bytes, qos: int = 0, packet_id: int | None = None) -> bytes:
    return encode_publish(Publish(topic, payload, qos, packet_id=packet_id if qos else None), V311)


def qos1_cycle(topic: str, payload: bytes) -> list[bytes]:
    """PUBLISH QoS 1 for every packet identifier 1..65535, index ``i`` holding identifier ``i + 1``."""
    return [publish_packet(topic, payload, 1, pid) for pid in range(1, 65536)]


def puback(packet_id_bytes: bytes) -> bytes:
    return b"\x40\x02" + packet_id_bytes


def stamped_payload(size: int, now_ns: int) -> bytes:
    """A payload of ``size`` bytes (at least 8) starting with a CLOCK_MONOTONIC timestamp."""
    return _STAMP.pack(now_ns) + bytes(size - 8)


def read_stamp(payload: memoryview) -> int:
    value: int = _STAMP.unpack_from(payload)[0]
    return value


class Walker:
    """Splits a byte stream into packets: ``(first byte, body)`` without copying complete ones."""

    __slots__ = ("_buffer",)

    def __init__(self) -> None:
        self._buffer = b""

    def take(self, data: bytes) -> bytes:
        """Pending bytes plus ``data``; the caller hands back what it did not use with :meth:`keep`."""
        buffer = self._buffer + data if self._buffer else data
        self._buffer = b""
        return buffer

    def keep(self, rest: bytes) -> None:
        self._buffer = rest

    def feed(self, data: bytes) -> Iterator[tuple[int, memoryview]]:
        buffer = self._buffer + data if self._buffer else data
        view = memoryview(buffer)
        end = len(buffer)
        i = 0
        while i + 2 <= end:
            first = buffer[i]
            length = buffer[i + 1]
            head = 2
            if length & 0x80:
                # Remaining length over 127: up to three more varint bytes.
                length &= 0x7F
                shift = 7
                while True:
                    if i + head >= end:
                        self._buffer = buffer[i:]
                        return
                    byte = buffer[i + head]
                    length |= (byte & 0x7F) << shift
                    head += 1
                    shift += 7
                    if not byte & 0x80:
                        break
            stop = i + head + length
            if stop > end:
                break
            yield first, view[i + head : stop]
            i = stop
        self._buffer = buffer[i:] if i < end else b""


def publish_parts(first: int, body: memoryview) -> tuple[memoryview, bytes | None, memoryview]:
    """Topic, packet identifier bytes (QoS > 0) and payload of a 3.1.1 PUBLISH body."""
    topic_len = (body[0] << 8) | body[1]
    at = 2 + topic_len
    topic = body[2:at]
    packet_id: bytes | None = None
    if first & 0x06:
        packet_id = bytes(body[at : at + 2])
        at += 2
    return topic, packet_id, body[at:]
