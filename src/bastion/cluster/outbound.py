"""The node's sender: every message routed here goes to the other nodes, in order, within bounds.

One task sends, in the order messages were routed: QoS 0 on core NATS (fire and forget), QoS 1 and
retained messages to the JetStream stream, pipelined (``publish_async``), each with a ``Nats-Msg-Id``
so a resend after a lost answer is stored once. A message counts as *safe* when the stream's PubAck
came back; ``when_safe(mark(), callback)`` runs the callback once every durable message handed over
before the mark is safe — the broker's PUBACK and the HTTP Publish answer wait for it (``writer``).

Bounds: QoS 0 messages beyond ``max_qos0`` waiting are dropped (counted, logged sparsely), like a slow
subscriber's QoS 0; durable messages are bounded upstream, since each waits for a publisher's
acknowledgement and a connection stops being read after 100 unacknowledged publishes. A durable
message not confirmed within ``ack_timeout`` (or refused) is sent again until it is, so ordering is
kept except across such a resend.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from nats.aio.client import Client as Nats
from nats.js import JetStreamContext

log = logging.getLogger("bastion.cluster")

ACK_TIMEOUT = 5.0
MAX_QOS0_WAITING = 10_000


class _Durable:
    __slots__ = ("data", "future", "msg_id", "sent_at", "seq")

    def __init__(self, seq: int, msg_id: str, data: bytes) -> None:
        self.seq = seq
        self.msg_id = msg_id
        self.data = data
        self.sent_at = 0.0
        self.future: asyncio.Future[Any] | None = None


class Outbound:
    def __init__(
        self,
        nats: Nats,
        js: JetStreamContext,
        *,
        qos0_subject: str,
        durable_subject: str,
        msg_id_prefix: str,
        ack_timeout: float = ACK_TIMEOUT,
        max_qos0: int = MAX_QOS0_WAITING,
    ) -> None:
        self._nats = nats
        self._js = js
        self._qos0_subject = qos0_subject
        self._durable_subject = durable_subject
        self._msg_id_prefix = msg_id_prefix
        self._ack_timeout = ack_timeout
        self._max_qos0 = max_qos0
        # What the sender task has not sent yet, in routing order: bytes (QoS 0) or _Durable.
        self._queue: deque[bytes | _Durable] = deque()
        self._qos0_waiting = 0
        self._wake = asyncio.Event()
        self._seq = 0  # durable messages handed over so far
        self._unconfirmed: dict[int, _Durable] = {}
        self._safe_through = 0  # every durable message with seq <= this is in the stream
        self._waiters: deque[tuple[int, Callable[[], None]]] = deque()
        self._task: asyncio.Task[None] | None = None
        self._watchdog: asyncio.Task[None] | None = None
        self._given_up = False
        self.dropped = 0

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="cluster-sender")
        self._watchdog = asyncio.create_task(self._watch(), name="cluster-resender")

    async def stop(self, grace: float) -> None:
        """Send what is waiting and wait up to ``grace`` seconds for the stream to confirm it, then release
        every waiter (a node that is stopping has closed its clients' connections already)."""
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.when_safe(self.mark(), lambda: None if done.done() else done.set_result(None))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(done, grace)
        for task in (self._task, self._watchdog):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self._give_up()

    def give_up_after(self, seconds: float) -> None:
        """The node is stopping: after ``seconds``, stop waiting for the stream (an unreachable NATS
        must not hold the shutdown forever; the clients' connections are closed by then)."""
        asyncio.get_running_loop().call_later(seconds, self._give_up)

    def _give_up(self) -> None:
        self._given_up = True
        self._release(everything=True)

    # ---- called by the broker (synchronously, on its event loop) -----------------------------------
    def send_qos0(self, data: bytes) -> None:
        if self._qos0_waiting >= self._max_qos0:
            self.dropped += 1
            if self.dropped & (self.dropped - 1) == 0:
                log.warning("bus is slow: %d QoS 0 messages not sent to other nodes so far", self.dropped)
            return
        self._qos0_waiting += 1
        self._queue.append(data)
        self._wake.set()

    def send_durable(self, data: bytes) -> None:
        self._seq += 1
        item = _Durable(self._seq, f"{self._msg_id_prefix}-{self._seq}", data)
        self._unconfirmed[item.seq] = item
        self._queue.append(item)
        self._wake.set()

    def mark(self) -> int:
        return self._seq

    def when_safe(self, mark: int, callback: Callable[[], None]) -> None:
        """Run ``callback`` once every durable message up to ``mark`` is in the stream."""
        if mark <= self._safe_through or self._given_up:
            callback()
        else:
            self._waiters.append((mark, callback))

    # ---- sending ------------------------------------------------------------------------------------
    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._queue:
                item = self._queue.popleft()
                if isinstance(item, bytes):
                    self._qos0_waiting -= 1
                    try:
                        await self._nats.publish(self._qos0_subject, item)
                    except Exception as exc:  # a QoS 0 message may be lost; the next one is tried
                        log.debug("QoS 0 message not sent to the bus: %r", exc)
                    continue
                if item.seq not in self._unconfirmed:
                    continue  # confirmed meanwhile (a resend raced the first answer)
                await self._send(item)

    async def _send(self, item: _Durable) -> None:
        item.sent_at = time.monotonic()
        try:
            future = await self._js.publish_async(
                self._durable_subject, item.data, headers={"Nats-Msg-Id": item.msg_id}
            )
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # not even handed to the client: the watchdog resends it
            log.warning("sending to the bus failed (will retry): %r", exc)
            return
        item.future = future
        future.add_done_callback(lambda f: self._answered(item, f))

    def _answered(self, item: _Durable, future: asyncio.Future[Any]) -> None:
        if future.cancelled() or future.exception() is not None:
            if not future.cancelled():
                log.warning("the stream refused a message (will retry): %r", future.exception())
            return  # left unconfirmed: the watchdog resends it
        if self._unconfirmed.pop(item.seq, None) is not None:
            self._release()

    def _release(self, *, everything: bool = False) -> None:
        safe = min(self._unconfirmed, default=self._seq + 1) - 1
        self._safe_through = self._seq if everything else safe
        waiters = self._waiters
        while waiters and waiters[0][0] <= self._safe_through:
            _, callback = waiters.popleft()
            try:
                callback()
            except Exception:  # one bad callback must not stop the others
                log.exception("bus-confirmation callback failed")

    async def _watch(self) -> None:
        """Resend durable messages the stream has not confirmed in time."""
        while True:
            await asyncio.sleep(min(1.0, self._ack_timeout / 2))
            now = time.monotonic()
            late = [
                item
                for item in self._unconfirmed.values()
                if (item.sent_at and now - item.sent_at > self._ack_timeout)
                or (item.future is not None and item.future.done())
            ]
            if not late:
                continue
            for item in late:
                if item.future is not None and not item.future.done():
                    item.future.cancel()
                item.future = None
                item.sent_at = 0.0
            late.sort(key=lambda item: item.seq)
            self._queue.extend(late)
            self._wake.set()
