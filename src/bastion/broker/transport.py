"""MQTT over TCP and TLS: an asyncio ``Protocol`` feeding a :class:`Connection` from its callbacks.

No streams and no task per connection: bytes arrive in ``data_received`` and are handled there. The
transport's write buffer has a high-water mark; while the kernel cannot take more, the connection
drops QoS 0 deliveries (AWS does the same for slow consumers) and stops sending new QoS 1 ones until
the buffer drains, so a stalled client holds a bounded amount of memory and never stalls others.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, cast

from bastion.broker.connection import Connection

if TYPE_CHECKING:
    from bastion.broker.core import Broker

log = logging.getLogger("bastion.broker.transport")

WRITE_HIGH_WATER = 256 * 1024


class TransportSink:
    __slots__ = ("_transport",)

    def __init__(self, transport: asyncio.Transport) -> None:
        self._transport = transport

    def writelines(self, chunks: list[bytes]) -> None:
        if not self._transport.is_closing():
            self._transport.writelines(chunks)

    def buffered(self) -> int:
        return self._transport.get_write_buffer_size()

    def close(self) -> None:
        self._transport.close()

    def abort(self) -> None:
        self._transport.abort()

    def pause_reading(self) -> None:
        if not self._transport.is_closing():
            self._transport.pause_reading()

    def resume_reading(self) -> None:
        if not self._transport.is_closing():
            self._transport.resume_reading()


class MqttProtocol(asyncio.Protocol):
    __slots__ = ("_broker", "_conn", "_secure")

    def __init__(self, broker: Broker, *, secure: bool) -> None:
        self._broker = broker
        self._secure = secure
        self._conn: Connection | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        tcp = cast(asyncio.Transport, transport)
        broker = self._broker
        if len(broker.connections) >= broker.limits.max_connections or broker.stopping:
            log.warning("connection limit (%d) reached; refusing a client", broker.limits.max_connections)
            tcp.abort()
            return
        tcp.set_write_buffer_limits(high=WRITE_HIGH_WATER)
        peer = tcp.get_extra_info("peername")
        peer_ip = str(peer[0]) if isinstance(peer, tuple) and peer else ""
        self._conn = Connection(
            broker,
            TransportSink(tcp),
            peer_ip=peer_ip,
            secure=self._secure,
            transport="tls" if self._secure else "tcp",
        )

    def data_received(self, data: bytes) -> None:
        if self._conn is not None:
            self._conn.data_received(data)

    def eof_received(self) -> bool:
        return False  # close our side too

    def connection_lost(self, exc: Exception | None) -> None:
        if self._conn is not None:
            self._conn.connection_lost()
            self._conn = None

    def pause_writing(self) -> None:
        if self._conn is not None:
            self._conn.pause_writing()

    def resume_writing(self) -> None:
        if self._conn is not None:
            self._conn.resume_writing()
