"""Bounded caches of what was read from the store, each answer good for one authorization generation.

Every write that can change an authorization decision (a policy, an attachment, a role, a user, an access
key) bumps the store's generation number, and the authorizer learns the new number within its poll
interval (``GENERATION_POLL_SECONDS``). An entry here remembers the generation that was current when its
read *began* and answers only while that is still the current one: a read that raced a write is tagged
with the older number, so it can never be served after the write is noticed. A stale answer therefore
lives no longer than the existing policy-change window, and no explicit invalidation is needed.

Concurrent misses for one key and generation share one read (a connection storm after a restart or a
policy change asks the store once, not once per client). The read runs as its own task, so a caller
that gives up (a client that disconnects mid-CONNECT) does not cancel it for the others.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class GenerationCache(Generic[K, V]):
    """An LRU of at most ``limit`` entries, each valid while ``generation()`` is the one it was read at."""

    def __init__(self, limit: int, generation: Callable[[], int]) -> None:
        if limit < 1:
            raise ValueError("limit must be positive")
        self._limit = limit
        self._generation = generation
        self._entries: OrderedDict[K, tuple[int, V]] = OrderedDict()
        self._loading: dict[tuple[K, int], asyncio.Task[V]] = {}

    def __len__(self) -> int:
        return len(self._entries)

    def clear(self) -> None:
        """Forget every entry (reads in flight finish for their callers but are not kept)."""
        self._entries.clear()

    async def get(self, key: K, load: Callable[[], Awaitable[V]]) -> V:
        """The cached value for ``key`` at the current generation, else ``await load()`` (kept when the
        generation did not move meanwhile). Exceptions from ``load`` reach every waiting caller and are
        never cached."""
        current = self._generation()
        entry = self._entries.get(key)
        if entry is not None:
            if entry[0] == current:
                self._entries.move_to_end(key)
                return entry[1]
            del self._entries[key]
        task = self._loading.get((key, current))
        if task is None:
            task = asyncio.ensure_future(load())
            self._loading[(key, current)] = task
            task.add_done_callback(lambda done: self._loaded(key, current, done))
        return await asyncio.shield(task)

    def _loaded(self, key: K, generation: int, task: asyncio.Task[V]) -> None:
        self._loading.pop((key, generation), None)
        if task.cancelled():
            return
        error = task.exception()  # retrieved here too, so a read nobody waits for any more is not logged
        if error is not None or self._generation() != generation:
            return
        self._entries[key] = (generation, task.result())
        self._entries.move_to_end(key)
        while len(self._entries) > self._limit:
            self._entries.popitem(last=False)
