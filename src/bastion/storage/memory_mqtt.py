"""In-memory MqttRepository (unit tests, ``memory://``): the same contract, nothing persisted.

``apply`` finishes without awaiting, so a batch is atomic on one event loop. It validates the whole
batch before changing anything, so a bad write leaves the state as it was (as a rolled-back
transaction would).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from bastion.storage.mqtt import (
    DeleteRetained,
    DeleteSession,
    DeleteSubscription,
    Dequeue,
    Enqueue,
    MqttWrite,
    PutMessage,
    PutRetained,
    PutSession,
    PutSubscription,
    RetainedMessage,
    StoredMessage,
    StoredSession,
    StoredSubscription,
)
from bastion.storage.values import utc


@dataclass
class _Session:
    record: StoredSession
    subscriptions: dict[str, StoredSubscription] = field(default_factory=dict)
    # Ordered set of queued message ids.
    queue: dict[int, None] = field(default_factory=dict)


def _check(write: MqttWrite) -> None:
    """Refuse what the SQL backends would refuse (naive datetimes), before anything changes."""
    if isinstance(write, PutSession) and write.expires is not None:
        utc(write.expires)
    elif isinstance(write, PutMessage):
        utc(write.message.created)
        if write.message.expires is not None:
            utc(write.message.expires)
    elif isinstance(write, PutRetained):
        utc(write.message.updated)
        if write.message.expires is not None:
            utc(write.message.expires)


class MemoryMqttRepository:
    def __init__(self) -> None:
        self._sessions: dict[str, _Session] = {}
        self._messages: dict[int, StoredMessage] = {}
        self._references: dict[int, int] = {}
        self._retained: dict[str, RetainedMessage] = {}

    async def apply(self, writes: Sequence[MqttWrite]) -> None:
        for write in writes:
            _check(write)
        for write in writes:
            self._apply_one(write)

    def _apply_one(self, write: MqttWrite) -> None:
        if isinstance(write, PutSession):
            record = StoredSession(
                write.client_id, write.protocol_version, write.expiry_interval, write.expires
            )
            found = self._sessions.get(write.client_id)
            if found is None:
                self._sessions[write.client_id] = _Session(_normalized(record))
            else:
                found.record = _normalized(record)
        elif isinstance(write, DeleteSession):
            gone = self._sessions.pop(write.client_id, None)
            if gone is not None:
                for message_id in gone.queue:
                    self._release(message_id)
        elif isinstance(write, PutSubscription):
            session = self._sessions.get(write.client_id)
            if session is not None:
                session.subscriptions[write.subscription.topic_filter] = write.subscription
        elif isinstance(write, DeleteSubscription):
            session = self._sessions.get(write.client_id)
            if session is not None:
                session.subscriptions.pop(write.topic_filter, None)
        elif isinstance(write, PutMessage):
            stored = write.message
            if stored.message_id not in self._messages:
                self._messages[stored.message_id] = _normalized_message(stored)
                self._references[stored.message_id] = 0
        elif isinstance(write, Enqueue):
            session = self._sessions.get(write.client_id)
            if (
                session is not None
                and write.message_id in self._messages
                and write.message_id not in session.queue
            ):
                session.queue[write.message_id] = None
                self._references[write.message_id] += 1
        elif isinstance(write, Dequeue):
            session = self._sessions.get(write.client_id)
            if session is not None and write.message_id in session.queue:
                del session.queue[write.message_id]
                self._release(write.message_id)
        elif isinstance(write, PutRetained):
            message = write.message
            self._retained[message.topic] = replace(
                message,
                updated=utc(message.updated),
                expires=None if message.expires is None else utc(message.expires),
            )
        elif isinstance(write, DeleteRetained):
            self._retained.pop(write.topic, None)

    def _release(self, message_id: int) -> None:
        left = self._references[message_id] - 1
        if left <= 0:
            del self._references[message_id]
            del self._messages[message_id]
        else:
            self._references[message_id] = left

    async def list_retained(self) -> Sequence[RetainedMessage]:
        return [self._retained[topic] for topic in sorted(self._retained)]

    async def list_sessions(self) -> Sequence[StoredSession]:
        return [self._stored(client_id) for client_id in sorted(self._sessions)]

    async def get_session(self, client_id: str) -> StoredSession | None:
        return self._stored(client_id) if client_id in self._sessions else None

    def _stored(self, client_id: str) -> StoredSession:
        session = self._sessions[client_id]
        subscriptions = tuple(session.subscriptions[f] for f in sorted(session.subscriptions))
        return replace(session.record, subscriptions=subscriptions, queued=len(session.queue))

    async def list_queue(self, client_id: str, limit: int) -> Sequence[StoredMessage]:
        session = self._sessions.get(client_id)
        if session is None:
            return []
        return [self._messages[i] for i in sorted(session.queue)[:limit]]


def _normalized(record: StoredSession) -> StoredSession:
    return replace(record, expires=None if record.expires is None else utc(record.expires))


def _normalized_message(message: StoredMessage) -> StoredMessage:
    return replace(
        message,
        created=utc(message.created),
        expires=None if message.expires is None else utc(message.expires),
    )
