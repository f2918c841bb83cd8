"""MQTT over WebSocket at ``GET /mqtt`` on the API port, authenticated by a SigV4-presigned URL.

The upgrade request is verified before the WebSocket exists (HTTP 403 otherwise, as AWS answers). The
subprotocol is echoed from what the client offers, ``mqtt`` or ``mqttv3.1`` (the AWS IoT JavaScript
SDK v1 asks for the latter while speaking 3.1.1). MQTT bytes travel in binary messages, which may split
or join packets freely; the same :class:`Connection` as for TCP handles them.

Writes are gathered and sent by one writer task per WebSocket (aiohttp's send is a coroutine), each
send carrying everything written since the previous one. A connection lasts at most 24 hours (AWS).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING

from aiohttp import WSMsgType, web

from bastion.broker.authentication import AuthenticationFailed
from bastion.broker.connection import Connection
from bastion.broker.events import DisconnectReason

if TYPE_CHECKING:
    from bastion.broker.core import Broker

log = logging.getLogger("bastion.broker.websocket")

SUBPROTOCOLS = ("mqtt", "mqttv3.1")


class WebSocketSink:
    def __init__(self, ws: web.WebSocketResponse) -> None:
        self._ws = ws
        self._chunks: list[bytes] = []
        self._size = 0
        self._wake = asyncio.Event()
        self._closing = False
        self.reading = asyncio.Event()
        self.reading.set()

    def writelines(self, chunks: list[bytes]) -> None:
        if self._closing:
            return
        self._chunks.extend(chunks)
        self._size += sum(len(c) for c in chunks)
        self._wake.set()

    def buffered(self) -> int:
        return self._size

    def close(self) -> None:
        self._closing = True
        self._wake.set()
        self.reading.set()

    def abort(self) -> None:
        self._chunks.clear()
        self.close()

    def pause_reading(self) -> None:
        self.reading.clear()

    def resume_reading(self) -> None:
        self.reading.set()

    async def run(self) -> None:
        """Send what was written, until closed; then close the WebSocket."""
        ws = self._ws
        try:
            while True:
                await self._wake.wait()
                self._wake.clear()
                if self._chunks:
                    data = b"".join(self._chunks)
                    self._chunks.clear()
                    await ws.send_bytes(data)
                    self._size -= len(data)
                if self._closing and not self._chunks:
                    break
        except (ConnectionError, RuntimeError):
            pass
        finally:
            with contextlib.suppress(Exception):
                await ws.close()


def _host_name(host_header: str) -> str | None:
    """``iot:DomainName``: the Host header without its port (``[::1]:443`` -> ``[::1]``)."""
    if not host_header:
        return None
    if host_header.endswith("]") or ":" not in host_header.rsplit("]", 1)[-1]:
        return host_header
    return host_header.rsplit(":", 1)[0]


class WebSocketEndpoint:
    def __init__(self, broker: Broker) -> None:
        self._broker = broker

    async def handle(self, request: web.Request) -> web.StreamResponse:
        broker = self._broker
        if broker.stopping or len(broker.connections) >= broker.limits.max_connections:
            return web.Response(status=503, text="too many connections")
        raw_path, _, raw_query = request.raw_path.partition("?")
        try:
            principal = await broker.authenticator.presigned(
                raw_path, raw_query, list(request.headers.items())
            )
        except AuthenticationFailed as exc:
            log.info("WebSocket upgrade from %s refused: %s", request.remote, exc)
            return web.Response(status=403, text="Forbidden")
        ws = web.WebSocketResponse(
            protocols=SUBPROTOCOLS,
            max_msg_size=broker.limits.max_packet_size * 2,
            compress=False,
            autoping=True,
        )
        try:
            await ws.prepare(request)
        except web.HTTPException as exc:
            return web.Response(status=exc.status, text=exc.text or "")
        sink = WebSocketSink(ws)
        host = request.headers.get("Host", "")
        conn = Connection(
            broker,
            sink,
            peer_ip=request.remote or "",
            secure=request.secure,
            transport="wss" if request.secure else "ws",
            domain_name=_host_name(host),
            websocket_principal=principal,
        )
        writer = asyncio.create_task(sink.run(), name="mqtt-websocket-writer")
        loop = asyncio.get_running_loop()
        ttl = loop.call_later(
            broker.limits.websocket_max_duration, conn.close, DisconnectReason.WEBSOCKET_TTL_EXPIRATION
        )
        try:
            async for msg in ws:
                if msg.type == WSMsgType.BINARY:
                    conn.data_received(msg.data)
                elif msg.type == WSMsgType.TEXT:
                    conn.close(DisconnectReason.CLIENT_ERROR, send=False)  # MQTT needs binary messages
                if conn.is_closed():
                    break
                if not sink.reading.is_set():
                    await sink.reading.wait()
        finally:
            ttl.cancel()
            conn.connection_lost()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(writer, 5)
            if not writer.done():
                writer.cancel()
        return ws
