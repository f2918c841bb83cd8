"""GenerationCache: answers only for the generation they were read at, bounded, one read per miss."""

from __future__ import annotations

import asyncio

import pytest

from bastion.services.generation_cache import GenerationCache


class Store:
    """A value source that counts reads and can hold them until released."""

    def __init__(self) -> None:
        self.generation = 1
        self.value = "v1"
        self.reads = 0
        self.gate: asyncio.Event | None = None

    async def read(self) -> str:
        self.reads += 1
        value = self.value
        if self.gate is not None:
            await self.gate.wait()
        return value


async def settle() -> None:
    """Let every ready task run (a read starts one loop turn after its first caller)."""
    for _ in range(5):
        await asyncio.sleep(0)


def cache(store: Store, limit: int = 8) -> GenerationCache[str, str]:
    return GenerationCache(limit, lambda: store.generation)


async def test_a_value_is_read_once_per_generation() -> None:
    store = Store()
    values = cache(store)
    assert await values.get("k", store.read) == "v1"
    store.value = "v2"
    assert await values.get("k", store.read) == "v1"  # same generation: the cached answer
    assert store.reads == 1
    store.generation = 2
    assert await values.get("k", store.read) == "v2"
    assert store.reads == 2


async def test_a_read_that_raced_a_change_is_not_kept() -> None:
    store = Store()
    values = cache(store)
    store.gate = asyncio.Event()
    pending = asyncio.ensure_future(values.get("k", store.read))
    await settle()
    assert store.reads == 1
    # The write lands and is noticed while the read that saw the old value is still in flight.
    store.value, store.generation = "v2", 2
    store.gate.set()
    assert await pending == "v1"  # its caller asked before the change
    assert len(values) == 0
    assert await values.get("k", store.read) == "v2"


async def test_concurrent_misses_share_one_read() -> None:
    store = Store()
    values = cache(store)
    store.gate = asyncio.Event()
    waiting = [asyncio.ensure_future(values.get("k", store.read)) for _ in range(50)]
    await settle()
    store.gate.set()
    assert await asyncio.gather(*waiting) == ["v1"] * 50
    assert store.reads == 1


async def test_a_caller_giving_up_does_not_cancel_the_read_for_the_others() -> None:
    store = Store()
    values = cache(store)
    store.gate = asyncio.Event()
    first = asyncio.ensure_future(values.get("k", store.read))
    second = asyncio.ensure_future(values.get("k", store.read))
    await settle()
    first.cancel()
    await settle()
    store.gate.set()
    assert await second == "v1"
    assert first.cancelled()
    assert await values.get("k", store.read) == "v1"
    assert store.reads == 1


async def test_failures_reach_every_waiter_and_are_not_kept() -> None:
    store = Store()
    values = cache(store)
    gate = asyncio.Event()

    async def failing() -> str:
        store.reads += 1
        await gate.wait()
        raise LookupError("no such key")

    waiting = [asyncio.ensure_future(values.get("k", failing)) for _ in range(3)]
    await settle()
    gate.set()
    for task in waiting:
        with pytest.raises(LookupError):
            await task
    assert store.reads == 1
    assert await values.get("k", store.read) == "v1"


async def test_the_least_recently_used_entry_goes_first() -> None:
    store = Store()
    values = cache(store, limit=3)
    for key in ("a", "b", "c"):
        await values.get(key, store.read)
    await values.get("a", store.read)  # a is now the most recent
    await values.get("d", store.read)  # evicts b
    assert len(values) == 3
    reads = store.reads
    for key in ("a", "c", "d"):
        await values.get(key, store.read)
    assert store.reads == reads
    await values.get("b", store.read)
    assert store.reads == reads + 1


async def test_clear_forgets_everything() -> None:
    store = Store()
    values = cache(store)
    await values.get("k", store.read)
    values.clear()
    assert len(values) == 0
    await values.get("k", store.read)
    assert store.reads == 2


def test_a_cache_holds_at_least_one_entry() -> None:
    with pytest.raises(ValueError, match="positive"):
        GenerationCache(0, lambda: 0)
