"""iot-data GetConnection, ListSubscriptions and DeleteConnection across nodes.

The node asked about a client id it does not hold sends a request (``connection_codec``) on the id's
subject (``takeover``); the node holding it runs its own local data-plane path and answers. No
responders means no node holds it (the caller's ``ResourceNotFoundException``); no answer in time, or an
answer that does not decode, is ``UnavailableError`` rather than a guess.
"""

from __future__ import annotations

import logging

from bastion.broker.core import RemoteClient
from bastion.broker.data_plane import BrokerDataPlane
from bastion.cluster import connection_codec as codec
from bastion.cluster.takeover import Takeover
from bastion.services.errors import NotFoundError
from bastion.services.iot_data import UnavailableError

log = logging.getLogger("bastion.cluster")


class Connections:
    def __init__(self, takeover: Takeover, local: BrokerDataPlane) -> None:
        self._takeover = takeover
        self._local = local

    # ---- asking ------------------------------------------------------------------------------------
    async def describe(self, client_id: str) -> RemoteClient | None:
        answer = await self._ask(client_id, codec.encode_describe())
        if answer is None:
            return None
        try:
            found = codec.decode_described(answer, client_id)
        except codec.BadQuery as exc:
            raise _garbled(client_id, exc) from None
        if isinstance(found, codec.Refused):
            if found.kind == "notFound":
                return None  # the holder let go meanwhile
            raise UnavailableError(found.message)
        return found.connection, found.subscriptions

    async def disconnect(self, client_id: str, *, clean_session: bool, prevent_will: bool) -> bool:
        body = codec.encode_disconnect(clean_session=clean_session, prevent_will=prevent_will)
        answer = await self._ask(client_id, body)
        if answer is None:
            return False
        try:
            refused = codec.decode_done(answer)
        except codec.BadQuery as exc:
            raise _garbled(client_id, exc) from None
        if refused is None:
            return True
        if refused.kind == "notFound":
            raise NotFoundError(refused.message)
        raise UnavailableError(refused.message)

    async def _ask(self, client_id: str, body: bytes) -> bytes | None:
        try:
            return await self._takeover.ask(client_id, body)
        except Exception as exc:  # a timeout, or the bus is away
            log.warning("asking about client id %r on the bus failed: %r", client_id, exc)
            raise UnavailableError(
                f"The node holding client id {client_id} did not answer; try again."
            ) from None

    # ---- answering ---------------------------------------------------------------------------------
    async def answer(self, client_id: str, body: bytes) -> bytes:
        """Run a request about ``client_id`` (held here) as the local data plane does."""
        try:
            request = codec.decode_request(body)
        except codec.BadQuery as exc:
            log.debug("ignoring a malformed request about client id %r: %s", client_id, exc)
            return codec.encode_refused("unavailable", "Malformed request between nodes.")
        local = self._local
        try:
            if isinstance(request, codec.Describe):
                info = local.local_connection(client_id)
                return codec.encode_described(info, local.local_subscriptions(client_id))
            await local.local_disconnect(
                client_id, clean_session=request.clean_session, prevent_will=request.prevent_will
            )
            return codec.encode_done()
        except NotFoundError as exc:
            return codec.encode_refused("notFound", exc.message)
        except UnavailableError as exc:
            return codec.encode_refused("unavailable", exc.message)
        except Exception:
            log.exception("answering a request about client id %r failed", client_id)
            return codec.encode_refused("unavailable", "The node holding the client failed to answer.")


def _garbled(client_id: str, exc: codec.BadQuery) -> UnavailableError:
    log.warning("a malformed answer about client id %r: %s", client_id, exc)
    return UnavailableError(f"The node holding client id {client_id} answered unintelligibly.")
