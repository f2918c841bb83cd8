"""The retained store's listing for the data plane: topic order, paging after a topic, store times."""

from __future__ import annotations

import time

from bastion.broker.message import Message
from bastion.broker.persistence import DurableWriter
from bastion.broker.retained import RetainedStore
from bastion.storage.memory_mqtt import MemoryMqttRepository


async def test_topics_after_pages_in_order_and_skips_deleted_topics() -> None:
    writer = DurableWriter(MemoryMqttRepository())
    writer.start()
    try:
        store = RetainedStore(writer, limit=100)
        before = time.time()
        for topic in ("b/2", "a", "b/10", "c", "é", "b/1"):
            store.update(Message(topic, b"x", 0, True))
        store.update(Message("c", b"", 0, True))  # an empty payload deletes
        assert store.topics_after(None, 3) == ["a", "b/1", "b/10"]
        assert store.topics_after("b/10", 3) == ["b/2", "é"]
        assert store.topics_after("é", 3) == []
        updated = store.updated_at("a")
        assert updated is not None and before <= updated <= time.time()
        assert store.updated_at("c") is None
        await writer.drain()
    finally:
        await writer.stop()


async def test_store_times_come_back_from_the_store() -> None:
    repository = MemoryMqttRepository()
    writer = DurableWriter(repository)
    writer.start()
    try:
        first = RetainedStore(writer, limit=100)
        first.update(Message("kept", b"x", 1, True))
        stored_at = first.updated_at("kept")
        await writer.drain()
        second = RetainedStore(writer, limit=100)
        second.load(list(await repository.list_retained()))
        again = second.updated_at("kept")
        assert stored_at is not None and again is not None and abs(again - stored_at) < 0.001
    finally:
        await writer.stop()
