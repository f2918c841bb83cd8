"""The broker-facing face of the decision point: one compiled, cached view per MQTT connection.

The broker must never touch storage or parse a policy per message. At CONNECT it asks the authorizer for
a ``ConnectionAuthz`` view of the principal: its effective policies (IAM, and for authenticated Cognito
identities the attached IoT policies) compiled with the connection's variables bound once
(``${iot:ClientId}``, ``${cognito-identity.amazonaws.com:sub}``, ``${aws:SourceIp}`` …). ``allows`` is a
synchronous dict-cached lookup, cheap enough for every PUBLISH and every delivery.

Changes: every write that can alter a decision bumps the store's generation. The authorizer watches the
generation (locally at once, across nodes by polling well under a second) and reloads each live view in
the background; after a reload the view calls the connection's ``on_reload`` callback so the broker can
re-check iot:Connect and the existing subscriptions. Until the reload completes, the previous decisions
apply, so a change reaches open connections within one second.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from bastion.services.identity import Principal

IOT_CONNECT = "iot:Connect"
IOT_PUBLISH = "iot:Publish"
IOT_RETAIN_PUBLISH = "iot:RetainPublish"
IOT_SUBSCRIBE = "iot:Subscribe"
IOT_RECEIVE = "iot:Receive"


@dataclass(frozen=True, slots=True)
class ConnectionFacts:
    """What the broker knows about a connection when it asks for a view."""

    client_id: str
    source_ip: str
    secure_transport: bool
    # The host name the client connected to (``iot:DomainName``), when known.
    domain_name: str | None = None
    # ``iot:ConnectAttributes``: "PersistentConnect" and/or "LastWill" when the CONNECT asks for them.
    connect_attributes: tuple[str, ...] = ()


class ConnectionAuthz(Protocol):
    principal: Principal
    facts: ConnectionFacts

    def allows(self, action: str, resource: str) -> bool:
        """Decide with the current compiled view; cached per (action, resource)."""
        ...

    def close(self) -> None:
        """The connection ended: stop reloading this view."""
        ...


ReloadCallback = Callable[[], Awaitable[None]]


class ConnectionAuthorizer(Protocol):
    async def for_connection(
        self,
        principal: Principal,
        facts: ConnectionFacts,
        on_reload: ReloadCallback | None = None,
        *,
        now: datetime,
    ) -> ConnectionAuthz:
        """Build the view (reads storage once). ``on_reload`` runs after each background reload."""
        ...

    def topic_arn(self, topic: str) -> str: ...

    def topic_filter_arn(self, topic_filter: str) -> str: ...

    def client_arn(self, client_id: str) -> str: ...
