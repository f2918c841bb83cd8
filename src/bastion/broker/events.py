"""AWS IoT lifecycle events, as the broker publishes them on reserved topics.

``$aws/events/presence/connected/<clientId>`` and ``.../disconnected/<clientId>`` for every connection,
``$aws/events/subscriptions/subscribed/<clientId>`` and ``.../unsubscribed/<clientId>`` for every
SUBSCRIBE and UNSUBSCRIBE. Clients receive them like any message: they need iot:Subscribe on the
filter and iot:Receive on the topic. The JSON bodies follow AWS's documented fields.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Sequence

CONNECTED_TOPIC = "$aws/events/presence/connected/"
DISCONNECTED_TOPIC = "$aws/events/presence/disconnected/"
SUBSCRIBED_TOPIC = "$aws/events/subscriptions/subscribed/"
UNSUBSCRIBED_TOPIC = "$aws/events/subscriptions/unsubscribed/"


class DisconnectReason(enum.StrEnum):
    """AWS's ``disconnectReason`` values that this broker can produce."""

    API_INITIATED_DISCONNECT = "API_INITIATED_DISCONNECT"  # iot-data DeleteConnection
    AUTH_ERROR = "AUTH_ERROR"
    CLIENT_INITIATED_DISCONNECT = "CLIENT_INITIATED_DISCONNECT"
    CLIENT_ERROR = "CLIENT_ERROR"
    CONNECTION_LOST = "CONNECTION_LOST"
    DUPLICATE_CLIENTID = "DUPLICATE_CLIENTID"
    FORBIDDEN_ACCESS = "FORBIDDEN_ACCESS"
    MQTT_KEEP_ALIVE_TIMEOUT = "MQTT_KEEP_ALIVE_TIMEOUT"
    SERVER_ERROR = "SERVER_ERROR"
    SERVER_INITIATED_DISCONNECT = "SERVER_INITIATED_DISCONNECT"
    THROTTLED = "THROTTLED"
    WEBSOCKET_TTL_EXPIRATION = "WEBSOCKET_TTL_EXPIRATION"


def _body(fields: dict[str, object]) -> bytes:
    return json.dumps(fields, separators=(",", ":")).encode()


def connected(
    client_id: str,
    *,
    timestamp_ms: int,
    session_id: str,
    principal: str,
    ip_address: str,
    version: int,
) -> tuple[str, bytes]:
    return CONNECTED_TOPIC + client_id, _body(
        {
            "clientId": client_id,
            "timestamp": timestamp_ms,
            "eventType": "connected",
            "sessionIdentifier": session_id,
            "principalIdentifier": principal,
            "ipAddress": ip_address,
            "versionNumber": version,
        }
    )


def disconnected(
    client_id: str,
    *,
    timestamp_ms: int,
    session_id: str,
    principal: str,
    reason: DisconnectReason,
    version: int,
) -> tuple[str, bytes]:
    return DISCONNECTED_TOPIC + client_id, _body(
        {
            "clientId": client_id,
            "timestamp": timestamp_ms,
            "eventType": "disconnected",
            "sessionIdentifier": session_id,
            "principalIdentifier": principal,
            "clientInitiatedDisconnect": reason is DisconnectReason.CLIENT_INITIATED_DISCONNECT,
            "disconnectReason": str(reason),
            "versionNumber": version,
        }
    )


def subscriptions(
    client_id: str,
    *,
    subscribed: bool,
    timestamp_ms: int,
    session_id: str,
    principal: str,
    topics: Sequence[str],
) -> tuple[str, bytes]:
    prefix = SUBSCRIBED_TOPIC if subscribed else UNSUBSCRIBED_TOPIC
    return prefix + client_id, _body(
        {
            "clientId": client_id,
            "timestamp": timestamp_ms,
            "eventType": "subscribed" if subscribed else "unsubscribed",
            "sessionIdentifier": session_id,
            "principalIdentifier": principal,
            "topics": list(topics),
        }
    )
