"""The AWS IoT data plane as the HTTP API sees it: values, the errors it raises, and the interface the
broker implements (``bastion.broker.data_plane``).

The API front translates the wire into these values and back; the broker does the work, so an HTTP
publish follows the same topic rules, authorization of every delivery and durability as an MQTT one.
Both sides import this module; neither imports the other.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from bastion.services.errors import ServiceError

UserProperties = tuple[tuple[str, str], ...]


class PayloadTooLargeError(ServiceError):
    """The message payload is over AWS IoT's 128 KB limit (iot-data: RequestEntityTooLargeException)."""


class UnavailableError(ServiceError):
    """The broker is shutting down (iot-data: ServiceUnavailableException)."""


@dataclass(frozen=True, slots=True)
class OutboundMessage:
    """One HTTP Publish, with the MQTT 5 properties it carries to subscribers."""

    topic: str
    payload: bytes = b""
    qos: int = 0
    retain: bool = False
    user_properties: UserProperties = ()
    payload_format_indicator: int | None = None  # 0: unspecified bytes, 1: UTF-8 text
    content_type: str | None = None
    response_topic: str | None = None
    correlation_data: bytes | None = None
    message_expiry: int | None = None  # seconds


@dataclass(frozen=True, slots=True)
class RetainedMessageInfo:
    topic: str
    payload: bytes
    qos: int
    last_modified_ms: int
    user_properties: UserProperties = ()


@dataclass(frozen=True, slots=True)
class RetainedPage:
    items: tuple[RetainedMessageInfo, ...]
    # Whether topics after the last item exist (the caller hands out a next token).
    more: bool


@dataclass(frozen=True, slots=True)
class ConnectionInfo:
    client_id: str
    connected: bool
    clean_session: bool
    session_expiry: int
    keep_alive: int | None = None
    connected_since_ms: int | None = None
    disconnected_since_ms: int | None = None
    disconnect_reason: str | None = None
    source_ip: str | None = None


@dataclass(frozen=True, slots=True)
class SubscriptionInfo:
    topic_filter: str
    qos: int


class DataPlane(Protocol):
    """What the iot-data API needs from the broker. Failures are ``ServiceError``\\s: ``InvalidInputError``
    (bad topic or property), ``AccessDeniedError`` (a reserved topic), ``LimitExceededError`` (retained
    message limit), ``PayloadTooLargeError``, ``NotFoundError`` (unknown client), ``UnavailableError``."""

    async def publish(self, message: OutboundMessage) -> None:
        """Route the message; returns once anything it made durable (retained, queued) is committed."""
        ...

    def retained_message(self, topic: str) -> RetainedMessageInfo:
        """The topic's retained message, or ``NotFoundError``."""
        ...

    def retained_messages(self, after: str | None, limit: int) -> RetainedPage:
        """Retained messages in topic order, starting strictly after ``after``."""
        ...

    async def connection(self, client_id: str) -> ConnectionInfo:
        """The client's connection, or its offline persistent session; ``NotFoundError`` otherwise."""
        ...

    async def disconnect(self, client_id: str, *, clean_session: bool, prevent_will: bool) -> None:
        """Close the client's connection as an administrative action (``NotFoundError`` when it has
        none); ``clean_session`` also ends its persistent session, ``prevent_will`` drops its Will."""
        ...

    async def subscriptions(self, client_id: str) -> Sequence[SubscriptionInfo]:
        """The subscriptions of the client's session (connected or persistent), or ``NotFoundError``."""
        ...
