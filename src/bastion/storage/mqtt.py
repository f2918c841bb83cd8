"""What the MQTT broker keeps across restarts: retained messages and persistent sessions.

Persistent sessions are their subscriptions plus the QoS 1 messages queued for them (sent but not yet
acknowledged, or waiting while the client is away). A message fanned out to several sessions is stored
once and referenced from each queue; it goes away with its last reference.

The broker writes through :meth:`MqttRepository.apply`: a batch of writes applied **in order, in one
transaction**, so a group of publishes costs one commit (the broker acknowledges them only after it).
Reads happen at start (retained messages, sessions) and when a session resumes (its queue).

Writes are not authorization changes, so they never bump the generation.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol


@dataclass(frozen=True, slots=True)
class StoredMessage:
    """One PUBLISH as received, without its packet identifier or flags other than QoS."""

    # Chosen by the broker; increasing in time, so a queue read in id order is in arrival order.
    message_id: int
    topic: str
    payload: bytes
    qos: int
    # The MQTT 5 property block of the PUBLISH with its length prefix (b"\x00" when there is none).
    properties: bytes
    created: datetime
    expires: datetime | None = None


@dataclass(frozen=True, slots=True)
class RetainedMessage:
    topic: str
    payload: bytes
    qos: int
    properties: bytes
    updated: datetime
    expires: datetime | None = None


@dataclass(frozen=True, slots=True)
class StoredSubscription:
    # As the client sent it, ``$share/<group>/`` prefix included.
    topic_filter: str
    qos: int
    no_local: bool = False
    retain_as_published: bool = False
    retain_handling: int = 0


@dataclass(frozen=True, slots=True)
class StoredSession:
    client_id: str
    protocol_version: int
    # Seconds the session outlives its connection.
    expiry_interval: int
    # When an offline session ends; None while a client is connected to it.
    expires: datetime | None
    subscriptions: tuple[StoredSubscription, ...] = field(default=())
    # Messages in its queue (read with the session so the broker can bound the queue at once).
    queued: int = 0


# ---- writes (applied in order by MqttRepository.apply) -------------------------------------------------


@dataclass(frozen=True, slots=True)
class PutSession:
    """Create or update a session's record (its subscriptions and queue are untouched)."""

    client_id: str
    protocol_version: int
    expiry_interval: int
    expires: datetime | None


@dataclass(frozen=True, slots=True)
class DeleteSession:
    """Remove a session with its subscriptions and queue (messages nobody else queues go too)."""

    client_id: str


@dataclass(frozen=True, slots=True)
class PutSubscription:
    """Add or replace one subscription of an existing session (missing session: ignored)."""

    client_id: str
    subscription: StoredSubscription


@dataclass(frozen=True, slots=True)
class DeleteSubscription:
    client_id: str
    topic_filter: str


@dataclass(frozen=True, slots=True)
class PutMessage:
    """Store a message before queueing it (an id already stored is left as it is)."""

    message: StoredMessage


@dataclass(frozen=True, slots=True)
class Enqueue:
    """Queue a stored message for a session (missing session or message, or already queued: ignored)."""

    client_id: str
    message_id: int


@dataclass(frozen=True, slots=True)
class Dequeue:
    """The session acknowledged (or dropped) a message; the message goes when no queue holds it."""

    client_id: str
    message_id: int


@dataclass(frozen=True, slots=True)
class PutRetained:
    message: RetainedMessage


@dataclass(frozen=True, slots=True)
class DeleteRetained:
    topic: str


MqttWrite = (
    PutSession
    | DeleteSession
    | PutSubscription
    | DeleteSubscription
    | PutMessage
    | Enqueue
    | Dequeue
    | PutRetained
    | DeleteRetained
)


class MqttRepository(Protocol):
    async def apply(self, writes: Sequence[MqttWrite]) -> None:
        """Apply ``writes`` in order in one transaction: all of them or (on error) none."""
        ...

    async def list_retained(self) -> Sequence[RetainedMessage]:
        """Every retained message, in topic order."""
        ...

    async def list_sessions(self) -> Sequence[StoredSession]:
        """Every session with its subscriptions (in filter order) and the size of its queue."""
        ...

    async def get_session(self, client_id: str) -> StoredSession | None:
        """One session, as ``list_sessions`` gives it, or None."""
        ...

    async def list_queue(self, client_id: str, limit: int) -> Sequence[StoredMessage]:
        """The first ``limit`` messages queued for a session, in message-id order (empty if none)."""
        ...
