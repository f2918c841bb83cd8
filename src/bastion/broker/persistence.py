"""Group commit of the broker's durable writes.

Writes (retained messages, session records, subscriptions, queued QoS 1 messages, acknowledgements)
are handed to one writer task. While a transaction is being committed the next writes accumulate, and
the writer commits all of them in the next transaction: under load a commit carries hundreds of
writes; when idle a write is committed at once. There is no timer, so no added latency.

Callers that must not answer a client before the data is safe (PUBACK to a publisher whose message was
queued for a persistent session or retained; SUBACK for a persistent subscription) register a
``barrier`` callback: it runs after every write submitted before it has been committed. The durability
window for acknowledged messages is therefore zero. What is not waited for: acknowledgements from
subscribers (a lost one means the message is delivered again) and QoS 0 retained publishes, which have
no acknowledgement and are committed within one commit of arriving.

If the store fails, the writer retries the same batch (with back-off) and nothing waiting on it is
acknowledged; clients resend their unacknowledged QoS 1 messages as MQTT expects.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

from bastion.storage.mqtt import MqttRepository, MqttWrite

log = logging.getLogger("bastion.broker.persistence")

MAX_BATCH = 5000
RETRY_MAX_SECONDS = 2.0


class DurableWriter:
    def __init__(self, repository: MqttRepository) -> None:
        self._repository = repository
        self._writes: list[MqttWrite] = []
        self._callbacks: list[Callable[[], None]] = []
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._task: asyncio.Task[None] | None = None
        self.commits = 0

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="mqtt-durable-writer")

    async def stop(self) -> None:
        """Commit what is pending, then stop."""
        await self.drain()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    @property
    def pending(self) -> int:
        return len(self._writes)

    def submit(self, write: MqttWrite) -> None:
        self._writes.append(write)
        self._idle.clear()
        self._wake.set()

    def barrier(self, callback: Callable[[], None]) -> None:
        """Run ``callback`` once every write submitted so far is committed."""
        self._callbacks.append(callback)
        self._idle.clear()
        self._wake.set()

    async def drain(self) -> None:
        """Wait until everything submitted so far is committed (a batch being committed right now
        included: its writes have left ``_writes`` already)."""
        if self._writes or self._callbacks or not self._idle.is_set():
            done: asyncio.Future[None] = asyncio.get_running_loop().create_future()

            def release() -> None:
                if not done.done():
                    done.set_result(None)

            self.barrier(release)
            await done

    async def _run(self) -> None:
        delay = 0.05
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._writes or self._callbacks:
                # Callbacks registered now cover exactly the writes taken now (no await in between).
                writes = self._writes[:MAX_BATCH]
                callbacks: list[Callable[[], None]] = []
                if len(self._writes) <= MAX_BATCH:
                    callbacks, self._callbacks = self._callbacks, []
                del self._writes[: len(writes)]
                try:
                    await self._repository.apply(writes)
                except asyncio.CancelledError:
                    raise
                except Exception:
                    log.exception("storing MQTT state failed; retrying in %.2fs", delay)
                    self._writes[:0] = writes
                    self._callbacks[:0] = callbacks
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, RETRY_MAX_SECONDS)
                    continue
                delay = 0.05
                self.commits += 1
                for callback in callbacks:
                    try:
                        callback()
                    except Exception:  # one bad callback must not stop the others
                        log.exception("durable-write callback failed")
            self._idle.set()
