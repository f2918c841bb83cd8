"""Incremental decoding: bytes in, packets out, for one connection (the h11 shape, without I/O).

    decoder = Decoder(role=Role.SERVER, max_packet_size=128 * 1024)
    decoder.feed(chunk)
    for packet in decoder:
        ...

The server side learns the protocol version from CONNECT and keeps it for the connection. Every error is
a :class:`~bastion.mqtt.errors.DecodeError`; after one, the decoder refuses further use.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import cache
from typing import Final

from bastion.mqtt.decode import check_first_byte, decode_body, parse_fixed_header
from bastion.mqtt.enums import PacketType, ProtocolVersion, Role
from bastion.mqtt.errors import DecodeError, PacketTooLarge, ProtocolError
from bastion.mqtt.packets import Connect, Packet, Publish

__all__ = ["DEFAULT_MAX_PACKET_SIZE", "Decoder"]

#: AWS IoT Core refuses publish and connect requests over 128 KB and advertises that maximum in CONNACK.
DEFAULT_MAX_PACKET_SIZE: Final = 128 * 1024

_P = PacketType
# Packets either side may send; the others flow one way only (section 2.1.2).
_EITHER_WAY: Final = frozenset(
    {_P.PUBLISH, _P.PUBACK, _P.PUBREC, _P.PUBREL, _P.PUBCOMP, _P.DISCONNECT, _P.AUTH}
)
_FROM_CLIENT: Final = _EITHER_WAY | {_P.CONNECT, _P.SUBSCRIBE, _P.UNSUBSCRIBE, _P.PINGREQ}
_FROM_SERVER: Final = _EITHER_WAY | {_P.CONNACK, _P.SUBACK, _P.UNSUBACK, _P.PINGRESP}


class Decoder:
    """Turns a byte stream from the peer into packets.

    Args:
        role: our side. A server accepts only what clients send, a client only what servers send.
        max_packet_size: largest whole packet (fixed header included) accepted. A larger one is refused
            with :class:`PacketTooLarge` as soon as its fixed header is complete, before its body arrives.
        version: the protocol version when already known. Required for a client; a server learns it
            from CONNECT.
    """

    __slots__ = (
        "_accepted",
        "_buffer",
        "_chunks",
        "_chunks_size",
        "_error",
        "_header_len",
        "_max_size",
        "_needed",
        "_role",
        "_start",
        "_version",
    )

    def __init__(
        self,
        *,
        role: Role = Role.SERVER,
        max_packet_size: int = DEFAULT_MAX_PACKET_SIZE,
        version: ProtocolVersion | None = None,
    ) -> None:
        if max_packet_size < 2:
            raise ValueError("max_packet_size must allow at least a two-byte packet")
        if role is Role.CLIENT and version is None:
            raise ValueError("a client decoder needs the protocol version it connected with")
        self._role = role
        self._max_size = max_packet_size
        self._version = version
        # Received bytes live in ``_buffer[_start:]`` followed by ``_chunks``. Chunks are joined only once
        # the packet they complete is whole, so a large packet arriving in small pieces costs linear time,
        # and a chunk holding exactly one packet is used without any copy.
        self._buffer = b""
        self._start = 0
        self._chunks: list[bytes] = []
        self._chunks_size = 0
        # Size of the packet at the front once its header has been read and accepted.
        self._needed = 0
        self._header_len = 0
        self._error: DecodeError | None = None
        self._accepted = _accepted_first_bytes(role, version)

    @property
    def version(self) -> ProtocolVersion | None:
        """The connection's protocol version; None on a server until CONNECT arrives."""
        return self._version

    @property
    def pending(self) -> int:
        """Bytes received but not yet returned as a packet (non-zero at EOF means a truncated packet)."""
        return len(self._buffer) - self._start + self._chunks_size

    def feed(self, data: bytes | bytearray | memoryview) -> None:
        """Append bytes received from the peer. Decoding happens when packets are requested."""
        if self._error is not None:
            raise self._error
        if data:
            chunk = data if type(data) is bytes else bytes(data)
            if not self._chunks and self._start == len(self._buffer):
                self._buffer = chunk  # nothing left over: take the chunk as it is
                self._start = 0
            else:
                self._chunks.append(chunk)
                self._chunks_size += len(chunk)

    def __iter__(self) -> Iterator[Packet]:
        """Every packet that the bytes fed so far complete."""
        while (packet := self.next_packet()) is not None:
            yield packet

    def next_packet(self) -> Packet | None:
        """The next complete packet, or None until more bytes are fed."""
        if self._error is not None:
            raise self._error
        try:
            return self._next()
        except DecodeError as exc:
            self._error = exc
            raise

    def _next(self) -> Packet | None:
        available = len(self._buffer) - self._start + self._chunks_size
        if available < self._needed or not available:
            return None
        if self._chunks:
            self._join()
        buffer = self._buffer
        start = self._start
        if not self._needed:
            first = buffer[start]
            if first not in self._accepted:
                _reject(first, self._role, self._version)
            header = parse_fixed_header(buffer, start)
            if header is None:
                return None
            remaining, header_len = header
            size = header_len + remaining
            if size > self._max_size:
                raise PacketTooLarge(size, self._max_size)
            self._needed = size
            self._header_len = header_len
            if available < size:
                return None
        end = start + self._needed
        self._needed = 0
        if end == len(buffer):
            data = buffer if start == 0 else buffer[start:]
            self._buffer = b""
            self._start = 0
        else:
            data = buffer[start:end]
            self._start = end
        packet = decode_body(data, self._header_len, self._version)
        if type(packet) is Publish:
            if self._role is Role.SERVER and packet.properties.subscription_identifiers:
                raise ProtocolError("PUBLISH from a client carries a subscription identifier")  # MQTT-3.3.4-6
        elif type(packet) is Connect:
            self._version = packet.protocol_level
            self._accepted = _accepted_first_bytes(self._role, self._version)
        return packet

    def _join(self) -> None:
        self._buffer = b"".join([self._buffer[self._start :], *self._chunks])
        self._start = 0
        self._chunks.clear()
        self._chunks_size = 0


def _reject(first: int, role: Role, version: ProtocolVersion | None) -> None:
    """Raise the error a packet starting with ``first`` deserves in this state, if any."""
    check_first_byte(first, version)
    kind = PacketType(first >> 4)
    if kind not in (_FROM_CLIENT if role is Role.SERVER else _FROM_SERVER):
        sender = "client" if role is Role.SERVER else "server"
        raise ProtocolError(f"{kind.name} cannot be sent by a {sender}")
    if role is Role.SERVER:
        if version is None and kind is not PacketType.CONNECT:
            raise ProtocolError(f"{kind.name} before CONNECT")  # MQTT-3.1.0-1
        if version is not None and kind is PacketType.CONNECT:
            raise ProtocolError("second CONNECT")  # MQTT-3.1.0-2
    elif kind is PacketType.DISCONNECT and version != ProtocolVersion.MQTT_5:
        raise ProtocolError("MQTT 3.1.1 servers do not send DISCONNECT")


@cache
def _accepted_first_bytes(role: Role, version: ProtocolVersion | None) -> frozenset[int]:
    """First bytes that pass every check of ``_reject``, so the common case costs one set lookup."""
    accepted = set()
    for first in range(256):
        try:
            _reject(first, role, version)
        except DecodeError:
            continue
        accepted.add(first)
    return frozenset(accepted)
