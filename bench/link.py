"""One MQTT 3.1.1 client connection for load generation: an asyncio Protocol over TCP or WebSocket.

Callbacks, not streams: received bytes are split into packets by :class:`bench.wire.Walker` and handed
to :meth:`Link.on_publish` / :meth:`Link.on_puback` without building packet objects. Writes honour
the transport's flow control (``pause_writing``), so a flooding publisher runs at the speed the broker
reads and never buffers without bound.

WebSocket (RFC 6455) is done by hand to keep it cheap: the upgrade request, then every write becomes one
binary frame. Client frames must be masked; the masking key is all zeros, which leaves the payload as it
is, so the load client never XORs bytes in Python. A server cannot tell (it unmasks either way).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import os
import struct
from dataclasses import dataclass
from typing import cast

from bench import wire

_WS_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
_ZERO_MASK = b"\x00\x00\x00\x00"
#: Longest wait for a connection, an upgrade, a CONNACK or a SUBACK.
HANDSHAKE_LIMIT_S = 30.0


@dataclass(frozen=True, slots=True)
class Endpoint:
    """Where and how to connect: TCP, or WebSocket with a request target (path and query)."""

    host: str
    port: int
    ws_target: str | None = None


class LinkError(RuntimeError):
    pass


class Link(asyncio.Protocol):
    def __init__(self, endpoint: Endpoint) -> None:
        loop = asyncio.get_running_loop()
        self.endpoint = endpoint
        self.transport: asyncio.Transport | None = None
        self.walker = wire.Walker()
        self.ready: asyncio.Future[None] = loop.create_future()
        self.connack: asyncio.Future[int] = loop.create_future()
        self.suback: asyncio.Future[bytes] = loop.create_future()
        self.lost: asyncio.Future[None] = loop.create_future()
        self.writable = asyncio.Event()
        self.writable.set()
        self._ws = endpoint.ws_target is not None
        self._ws_open = False
        self._ws_key = ""
        self._ws_buffer = b""
        # Fast path for a stream of equal packets (see data_received); 0 = off.
        self._stride = 0
        self._stride_first = 0
        self._stride_length = 0

    def expect_stride(self, packet: bytes) -> None:
        """Most packets received will look like ``packet`` (same type, flags and size)."""
        if len(packet) - 2 < 128:  # a one-byte remaining length keeps the check simple
            self._stride = len(packet)
            self._stride_first = packet[0]
            self._stride_length = packet[1]

    # asyncio.Protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports do not subclass asyncio.Transport, but have its methods.
        self.transport = cast(asyncio.Transport, transport)
        if self._ws:
            self._ws_key = base64.b64encode(os.urandom(16)).decode()
            request = (
                f"GET {self.endpoint.ws_target} HTTP/1.1\r\n"
                f"Host: {self.endpoint.host}:{self.endpoint.port}\r\n"
                "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                f"Sec-WebSocket-Key: {self._ws_key}\r\nSec-WebSocket-Version: 13\r\n"
                "Sec-WebSocket-Protocol: mqtt\r\n\r\n"
            )
            self.transport.write(request.encode())
        else:
            self.ready.set_result(None)

    def data_received(self, data: bytes) -> None:
        if self._ws:
            data = self._unframe(data)
            if not data:
                return
        if self._stride:
            if self._take_strided(data):
                self.after_batch()
                return
            data = b""  # the chunk went back into the walker's buffer
        for first, body in self.walker.feed(data):
            kind = first & 0xF0
            if kind == wire.PUBLISH:
                self.on_publish(first, body)
            elif kind == wire.PUBACK:
                self.on_puback(body)
            elif kind == wire.CONNACK:
                if not self.connack.done():
                    self.connack.set_result(body[1])
            elif kind == wire.SUBACK and not self.suback.done():
                self.suback.set_result(bytes(body[2:]))
        self.after_batch()

    def _take_strided(self, data: bytes) -> bool:
        """Handle a chunk made of whole packets like the expected one (plus a partial one) in C.

        A broker sending a steady stream writes packets of one size, so a chunk is ``n`` of them and
        the start of the next. Checking every packet's first two bytes with a strided slice, and
        handing the chunk to :meth:`on_strided`, costs a few C-level passes instead of a Python loop
        per packet. Anything else takes the general path.
        """
        buffer = self.walker.take(data)
        size = self._stride
        n = len(buffer) // size
        whole = n * size
        if n and (
            buffer[0:whole:size] == bytes((self._stride_first,)) * n
            and buffer[1:whole:size] == bytes((self._stride_length,)) * n
        ):
            self.on_strided(buffer, n, size)
            self.walker.keep(buffer[whole:])
            return True
        self.walker.keep(buffer)
        return False

    def on_strided(self, buffer: bytes, count: int, size: int) -> None:
        """``count`` packets of ``size`` bytes, all like the expected one, at the start of ``buffer``."""
        raise NotImplementedError

    def connection_lost(self, exc: Exception | None) -> None:
        self.writable.set()
        error = LinkError(f"connection closed: {exc}" if exc else "connection closed by the broker")
        for future in (self.ready, self.connack, self.suback):
            if not future.done():
                future.set_exception(error)
                future.exception()  # retrieved here: a waiter may never come
        if not self.lost.done():
            self.lost.set_result(None)

    def pause_writing(self) -> None:
        self.writable.clear()

    def resume_writing(self) -> None:
        self.writable.set()

    # hooks for roles

    def on_publish(self, first: int, body: memoryview) -> None:
        """A PUBLISH arrived (``first`` carries QoS in bits 1-2)."""

    def on_puback(self, body: memoryview) -> None:
        """A PUBACK arrived."""

    def after_batch(self) -> None:
        """Called once per received chunk, after its packets: the place to flush batched replies."""

    # sending

    @property
    def closed(self) -> bool:
        return self.transport is None or self.transport.is_closing()

    def send(self, data: bytes) -> None:
        assert self.transport is not None
        if self._ws:
            self.transport.write(_frame_header(len(data)) + data)
        else:
            self.transport.write(data)

    def close(self) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.close()

    # WebSocket

    def _unframe(self, data: bytes) -> bytes:
        buffer = self._ws_buffer + data if self._ws_buffer else data
        if not self._ws_open:
            head_end = buffer.find(b"\r\n\r\n")
            if head_end < 0:
                self._ws_buffer = buffer
                return b""
            self._check_upgrade(buffer[:head_end])
            self._ws_open = True
            self.ready.set_result(None)
            buffer = buffer[head_end + 4 :]
        payloads: list[bytes] = []
        i = 0
        end = len(buffer)
        while i + 2 <= end:
            b0 = buffer[i]
            b1 = buffer[i + 1]
            size = b1 & 0x7F
            at = i + 2
            if size == 126:
                if at + 2 > end:
                    break
                size = struct.unpack_from(">H", buffer, at)[0]
                at += 2
            elif size == 127:
                if at + 8 > end:
                    break
                size = struct.unpack_from(">Q", buffer, at)[0]
                at += 8
            if b1 & 0x80:
                raise LinkError("the server masked a frame")
            if at + size > end:
                break
            opcode = b0 & 0x0F
            if opcode in (0x0, 0x2):
                payloads.append(buffer[at : at + size])
            elif opcode == 0x9 and self.transport is not None:  # ping -> pong with the same data
                ping = buffer[at : at + size]
                self.transport.write(bytes([0x8A, 0x80 | len(ping)]) + _ZERO_MASK + ping)
            elif opcode == 0x8:
                self.close()
            i = at + size
        self._ws_buffer = buffer[i:] if i < end else b""
        return b"".join(payloads)

    def _check_upgrade(self, head: bytes) -> None:
        lines = head.decode("latin-1").split("\r\n")
        if not lines[0].startswith("HTTP/1.1 101"):
            self.close()
            raise LinkError(f"WebSocket upgrade refused: {lines[0]!r}")
        digest = hashlib.sha1(self._ws_key.encode() + _WS_GUID).digest()  # noqa: S324 (RFC 6455 says SHA-1)
        expected = base64.b64encode(digest).decode()
        headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
        if headers.get("sec-websocket-accept") != expected:
            self.close()
            raise LinkError("bad Sec-WebSocket-Accept")


def _frame_header(size: int) -> bytes:
    """FIN + binary opcode, masked with the all-zero key."""
    if size < 126:
        return bytes((0x82, 0x80 | size)) + _ZERO_MASK
    if size < 65536:
        return struct.pack(">BBH", 0x82, 0x80 | 126, size) + _ZERO_MASK
    return struct.pack(">BBQ", 0x82, 0x80 | 127, size) + _ZERO_MASK


async def open_link(endpoint: Endpoint, factory: type[Link] = Link, **kwargs: object) -> Link:
    """Connect (and upgrade to WebSocket when asked) without sending any MQTT packet yet."""
    loop = asyncio.get_running_loop()
    async with asyncio.timeout(HANDSHAKE_LIMIT_S):
        _, protocol = await loop.create_connection(
            lambda: factory(endpoint, **kwargs), endpoint.host, endpoint.port
        )
        await protocol.ready
    return protocol


async def mqtt_connect(
    link: Link,
    client_id: str,
    username: str | None = None,
    password: bytes | None = None,
) -> None:
    link.send(wire.connect_packet(client_id, username, password))
    code = await asyncio.wait_for(link.connack, HANDSHAKE_LIMIT_S)
    if code != 0:
        link.close()
        raise LinkError(f"CONNACK refused {client_id!r} with return code {code}")


async def mqtt_subscribe(link: Link, topic_filters: list[str], qos: int) -> None:
    link.send(wire.subscribe_packet(topic_filters, qos))
    codes = await asyncio.wait_for(link.suback, HANDSHAKE_LIMIT_S)
    if any(code >= 0x80 for code in codes):
        raise LinkError(f"SUBACK refused {topic_filters}: {codes.hex()}")
