"""The MQTT listeners: plain TCP, TLS, and the ``/mqtt`` WebSocket route handed to the API's web app.

``MqttServer.start`` loads retained messages and persistent sessions, then listens; ``stop`` stops
accepting, tells connected MQTT 5 clients the server is shutting down (DISCONNECT 0x8B), publishes
Wills, marks persistent sessions disconnected and commits everything before returning.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from dataclasses import dataclass
from pathlib import Path

from aiohttp import web

from bastion.broker.authentication import Authenticator, anonymous_principal
from bastion.broker.core import Broker
from bastion.broker.limits import BrokerLimits
from bastion.broker.tls import TlsMaterial
from bastion.broker.transport import MqttProtocol
from bastion.broker.websocket import WebSocketEndpoint
from bastion.clock import Clock
from bastion.config import PORT_OFF, Settings
from bastion.services.authorizer import Authorizer
from bastion.services.identity import CredentialSource
from bastion.services.policy_documents import PolicyKind, check_policy
from bastion.storage.mqtt import MqttRepository

log = logging.getLogger("bastion.broker")

TLS_HANDSHAKE_TIMEOUT = 10.0
BACKLOG = 1024


@dataclass(frozen=True, slots=True)
class ListenerSettings:
    host: str
    # None: that listener is off; 0: any free port.
    tcp_port: int | None
    tls_port: int | None
    tls: TlsMaterial | None = None


class MqttServer:
    def __init__(
        self,
        listeners: ListenerSettings,
        *,
        limits: BrokerLimits,
        authorizer: Authorizer,
        authenticator: Authenticator,
        repository: MqttRepository,
        clock: Clock,
    ) -> None:
        self.listeners = listeners
        self.broker = Broker(
            limits=limits,
            authorizer=authorizer,
            authenticator=authenticator,
            repository=repository,
            clock=clock,
        )
        self._servers: list[asyncio.Server] = []
        self.tcp_port: int | None = None
        self.tls_port: int | None = None
        self._websocket = WebSocketEndpoint(self.broker)

    async def start(self) -> None:
        await self.broker.start()
        loop = asyncio.get_running_loop()
        settings = self.listeners
        broker = self.broker
        if settings.tcp_port is not None:
            server = await loop.create_server(
                lambda: MqttProtocol(broker, secure=False),
                settings.host,
                settings.tcp_port,
                reuse_address=True,
                backlog=BACKLOG,
            )
            self._servers.append(server)
            self.tcp_port = _bound_port(server)
        if settings.tls_port is not None and settings.tls is not None:
            server = await loop.create_server(
                lambda: MqttProtocol(broker, secure=True),
                settings.host,
                settings.tls_port,
                ssl=settings.tls.server_context(),
                ssl_handshake_timeout=TLS_HANDSHAKE_TIMEOUT,
                reuse_address=True,
                backlog=BACKLOG,
            )
            self._servers.append(server)
            self.tls_port = _bound_port(server)

    def add_routes(self, app: web.Application) -> None:
        """``GET /mqtt``: WebSocket upgrades (aiohttp tries the most specific path first, so this wins
        over the API's catch-all route)."""
        app.router.add_get("/mqtt", self._websocket.handle)

    async def stop(self) -> None:
        for server in self._servers:
            server.close()
        await self.broker.stop()
        for server in self._servers:
            await server.wait_closed()
        self._servers.clear()


def _bound_port(server: asyncio.Server) -> int:
    for sock in server.sockets:
        if sock.family in (socket.AF_INET, socket.AF_INET6):
            return int(sock.getsockname()[1])
    raise RuntimeError("listener has no socket")


def anonymous_policies(spec: str) -> tuple[str, ...]:
    """The configured anonymous policy: ``@file`` reads a JSON document from a file; a JSON document is
    validated now (a broken one stops the start, rather than denying everything later)."""
    text = spec.strip()
    if text.startswith("@"):
        text = Path(text[1:]).read_text()
    if text.lstrip().startswith("{"):
        check_policy(text, PolicyKind.IDENTITY, label="anonymous MQTT policy")
    return (text,)


def build_mqtt_server(
    settings: Settings,
    *,
    authorizer: Authorizer,
    credentials: CredentialSource,
    repository: MqttRepository,
    clock: Clock,
    tls: TlsMaterial | None,
) -> MqttServer:
    """The broker as ``bastion serve`` configures it. ``credentials`` resolves the access keys of SigV4
    CONNECTs; CONNECTs come in storms, so ``bastion serve`` passes its caching resolver."""
    anonymous = None
    if settings.mqtt_anonymous_policy:
        policies = anonymous_policies(settings.mqtt_anonymous_policy)
        anonymous = anonymous_principal(settings.account_id, policies)
    limits = BrokerLimits(
        session_expiry=settings.mqtt_session_expiry,
        max_connections=settings.mqtt_max_connections,
        max_queued_messages=settings.mqtt_max_queued_messages,
        min_connect_interval=settings.mqtt_connect_interval,
    )
    listeners = ListenerSettings(
        host=settings.host,
        tcp_port=None if settings.mqtt_port == PORT_OFF else settings.mqtt_port,
        tls_port=None if settings.mqtt_tls_port == PORT_OFF else settings.mqtt_tls_port,
        tls=tls,
    )
    authenticator = Authenticator(credentials, clock, region=settings.region, anonymous=anonymous)
    return MqttServer(
        listeners,
        limits=limits,
        authorizer=authorizer,
        authenticator=authenticator,
        repository=repository,
        clock=clock,
    )
