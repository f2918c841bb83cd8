"""Group commit: callbacks run after the writes submitted before them are committed; failures retry."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from bastion.broker.persistence import DurableWriter
from bastion.storage.memory_mqtt import MemoryMqttRepository
from bastion.storage.mqtt import DeleteRetained, MqttWrite, PutSession


class Recording(MemoryMqttRepository):
    def __init__(self, failures: int = 0) -> None:
        super().__init__()
        self.batches: list[list[MqttWrite]] = []
        self.failures = failures
        self.gate = asyncio.Event()
        self.gate.set()

    async def apply(self, writes: Sequence[MqttWrite]) -> None:
        await self.gate.wait()
        if self.failures:
            self.failures -= 1
            raise OSError("disk full")
        self.batches.append(list(writes))
        await super().apply(writes)


async def test_writes_arriving_during_a_commit_share_the_next_one() -> None:
    repo = Recording()
    writer = DurableWriter(repo)
    writer.start()
    try:
        repo.gate.clear()
        writer.submit(DeleteRetained("a"))
        await asyncio.sleep(0)  # the writer takes the first write and waits in apply
        done: list[str] = []
        for name in "bcd":
            writer.submit(DeleteRetained(name))
        writer.barrier(lambda: done.append("after bcd"))
        assert done == []
        repo.gate.set()
        await writer.drain()
        assert done == ["after bcd"]
        assert [[w.topic for w in batch] for batch in repo.batches] == [["a"], ["b", "c", "d"]]  # type: ignore[union-attr]
    finally:
        await writer.stop()


async def test_a_barrier_waits_for_its_writes_even_across_failures() -> None:
    repo = Recording(failures=2)
    writer = DurableWriter(repo)
    writer.start()
    try:
        seen: list[int] = []
        writer.submit(PutSession("c", 5, 60, None))
        writer.barrier(lambda: seen.append(len(repo.batches)))
        await asyncio.wait_for(writer.drain(), 5)
        assert seen == [1]  # ran only once the batch was really stored
        assert [s.client_id for s in await repo.list_sessions()] == ["c"]
    finally:
        await writer.stop()


async def test_stop_commits_what_is_pending() -> None:
    repo = Recording()
    writer = DurableWriter(repo)
    writer.start()
    writer.submit(PutSession("late", 4, 10, None))
    await writer.stop()
    assert [s.client_id for s in await repo.list_sessions()] == ["late"]
