"""Client-id takeover across nodes.

A node that has a session for a client id (connected, or persistent and away) subscribes to that id's
subject. A CONNECT on another node first sends a request there: the holder closes its connection as a
local takeover does (MQTT 5 DISCONNECT 0x8E, Will, presence event), commits the session's state, forgets
the session and answers; then the new node attaches and sends CONNACK. When no node holds the id NATS
answers "no responders" at once, so an ordinary CONNECT waits one round trip to the NATS server.

The same subject carries two other requests: ``PROBE`` (is the id held anywhere?) and the iot-data
connection requests (``connection_codec``: describe, disconnect), which the holder answers without
letting go. A takeover is exactly the empty body; anything else unknown is ignored.

Not covered: two CONNECTs for one id on two nodes at the same instant (before either subscribed) both
succeed; the next CONNECT for that id on either node ends the other.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from nats.aio.client import Client as Nats
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from nats.errors import NoRespondersError
from nats.errors import TimeoutError as NatsTimeout

from bastion.cluster import connection_codec
from bastion.cluster.subjects import Subjects

log = logging.getLogger("bastion.cluster")

REQUEST_TIMEOUT = 2.0
# The body of a takeover request.
TAKEOVER = b""
# A request with this body only asks whether a node holds the client id: the holder answers and keeps it.
PROBE = b"held?"


class Takeover:
    def __init__(
        self,
        nats: Nats,
        subjects: Subjects,
        *,
        hand_over: Callable[[str], Awaitable[None]],
        answer: Callable[[str, bytes], Awaitable[bytes]],
        timeout: float = REQUEST_TIMEOUT,
    ) -> None:
        self._nats = nats
        self._subjects = subjects
        self._hand_over = hand_over
        self._answer = answer
        self._timeout = timeout
        # Client id -> its subscription being made (or made; None if that failed).
        self._held: dict[str, asyncio.Task[Subscription | None]] = {}
        # Unsubscriptions and hand-overs under way.
        self._releasing: set[asyncio.Task[None]] = set()

    def __len__(self) -> int:
        return len(self._held)

    async def claim(self, client_id: str) -> None:
        """End ``client_id`` on any other node, then hold it here."""
        if client_id in self._held:
            return  # held here already: the local takeover does the rest
        try:
            await self._nats.request(self._subjects.client(client_id), TAKEOVER, timeout=self._timeout)
        except NoRespondersError:
            pass  # nobody holds it
        except (NatsTimeout, TimeoutError):
            log.warning("no node answered the takeover of client id %r in time; connecting anyway", client_id)
        except Exception as exc:
            log.warning("takeover of client id %r failed (%r); connecting anyway", client_id, exc)
        self.hold(client_id)
        task = self._held.get(client_id)
        if task is not None:
            await asyncio.shield(task)
            try:  # the subscription is known to the NATS server before CONNACK
                await self._nats.flush(timeout=max(1, int(self._timeout)))
            except Exception as exc:
                log.warning("flushing to the bus failed: %r", exc)

    async def held_elsewhere(self, client_id: str) -> bool:
        """Whether another node holds ``client_id`` (when no answer comes, it is assumed held)."""
        if client_id in self._held:
            return False
        try:
            await self._nats.request(self._subjects.client(client_id), PROBE, timeout=self._timeout)
        except NoRespondersError:
            return False
        except Exception as exc:
            log.debug("probing client id %r: %r", client_id, exc)
        return True

    async def ask(self, client_id: str, body: bytes) -> bytes | None:
        """Send a connection request to the node holding ``client_id``; its answer, or None when no
        node holds it. Raises when the holder does not answer in time (``TimeoutError``) or the bus is
        away."""
        if client_id in self._held:
            return None  # held here: the local broker answered already
        try:
            reply = await self._nats.request(self._subjects.client(client_id), body, timeout=self._timeout)
        except NoRespondersError:
            return None
        return bytes(reply.data)

    def hold(self, client_id: str) -> None:
        if client_id not in self._held:
            self._held[client_id] = asyncio.ensure_future(self._subscribe(client_id))

    async def _subscribe(self, client_id: str) -> Subscription | None:
        try:
            return await self._nats.subscribe(
                self._subjects.client(client_id), cb=self._on_request(client_id)
            )
        except Exception as exc:
            log.warning("cannot hold client id %r on the bus: %r", client_id, exc)
            return None

    def release(self, client_id: str) -> None:
        task = self._held.pop(client_id, None)
        if task is not None:
            releasing = asyncio.ensure_future(_unsubscribe(task))
            self._releasing.add(releasing)
            releasing.add_done_callback(self._releasing.discard)

    def _on_request(self, client_id: str) -> Callable[[Msg], Awaitable[None]]:
        async def handle(msg: Msg) -> None:
            # In a task of its own: handing over releases the client id, and unsubscribing cancels the
            # subscription's own task, which runs this callback.
            task = asyncio.ensure_future(self._serve(client_id, msg))
            self._releasing.add(task)
            task.add_done_callback(self._releasing.discard)

        return handle

    async def _serve(self, client_id: str, msg: Msg) -> None:
        body = msg.data
        answer = b""
        if body == TAKEOVER:
            try:
                await self._hand_over(client_id)
            except Exception:
                log.exception("handing client id %r over failed", client_id)
        elif connection_codec.is_request(body):
            answer = await self._answer(client_id, body)
        elif body != PROBE:
            log.debug("ignoring an unknown request about client id %r", client_id)
            return
        if msg.reply:
            try:
                await msg.respond(answer)
            except Exception as exc:
                log.warning("answering a request about client id %r failed: %r", client_id, exc)

    async def stop(self) -> None:
        held, self._held = self._held, {}
        for task in held.values():
            await _unsubscribe(task)
        if self._releasing:
            await asyncio.gather(*self._releasing, return_exceptions=True)


async def _unsubscribe(task: asyncio.Task[Subscription | None]) -> None:
    try:
        sub = await task
        if sub is not None:
            await sub.unsubscribe()
    except Exception as exc:  # the connection may be gone already
        log.debug("unsubscribing failed: %r", exc)
