"""Retained messages: one per topic, in memory for delivery and in the store for restarts.

AWS rules (aws-notes §7.2): a retained PUBLISH with an empty payload deletes the topic's message (and is
still delivered to current subscribers); retained messages go out on SUBSCRIBE only to a filter equal
to the topic (never to wildcard or shared filters), with RETAIN=1; an MQTT 5 message expiry is honoured.
"""

from __future__ import annotations

import heapq
import time

from bastion.broker.message import Message
from bastion.broker.persistence import DurableWriter
from bastion.storage.mqtt import DeleteRetained, PutRetained, RetainedMessage


class RetainedStore:
    def __init__(self, writer: DurableWriter, limit: int) -> None:
        self._writer = writer
        self._limit = limit
        self._messages: dict[str, Message] = {}
        # Wall-clock second each topic's message was stored (the data plane's lastModifiedTime).
        self._updated: dict[str, float] = {}

    def __len__(self) -> int:
        return len(self._messages)

    def load(self, stored: list[RetainedMessage] | tuple[RetainedMessage, ...]) -> None:
        now = time.time()
        for item in stored:
            message = Message.from_stored(item)
            if message.expired(now):
                self._writer.submit(DeleteRetained(item.topic))
            else:
                self._messages[item.topic] = message
                self._updated[item.topic] = item.updated.timestamp()

    def has_room_for(self, message: Message) -> bool:
        """False when storing ``message`` would pass the limit (AWS throttles such publishes)."""
        return not message.payload or message.topic in self._messages or len(self._messages) < self._limit

    def update(self, message: Message, *, store: bool = True) -> bool:
        """Keep (or, for an empty payload, delete) the topic's retained message. True when a write was
        submitted to the store (the publisher's PUBACK then waits for it). ``store=False``: another
        node of a cluster published it and wrote the store itself; only this node's copy changes."""
        topic = message.topic
        if not message.payload:
            self._updated.pop(topic, None)
            if self._messages.pop(topic, None) is None or not store:
                return False
            self._writer.submit(DeleteRetained(topic))
            return True
        now = time.time()
        self._messages[topic] = message
        self._updated[topic] = now
        if not store:
            return False
        self._writer.submit(PutRetained(message.to_retained(now)))
        return True

    def get(self, topic: str) -> Message | None:
        message = self._messages.get(topic)
        if message is not None and message.expired(time.time()):
            del self._messages[topic]
            self._updated.pop(topic, None)
            self._writer.submit(DeleteRetained(topic))
            return None
        return message

    def updated_at(self, topic: str) -> float | None:
        """When the topic's message was stored (wall-clock seconds)."""
        return self._updated.get(topic)

    def topics_after(self, after: str | None, limit: int) -> list[str]:
        """Up to ``limit`` topics holding a message, in order, strictly after ``after`` (one pass over
        the topics and a bounded heap: no sorted index to keep up on every retained publish)."""
        topics = self._messages.keys()
        candidates = topics if after is None else (topic for topic in topics if topic > after)
        return heapq.nsmallest(limit, candidates)
