"""What a signed-in user does with an access token (unsigned operations), and token revocation.

An access token is accepted when its signature, issuer, ``token_use`` and expiry check out, its user still
exists and is enabled, and the sign-in it came from (``origin_jti``) has not been revoked by
GlobalSignOut, AdminUserGlobalSignOut, RevokeToken or AdminDisableUser.
"""

from __future__ import annotations

import asyncio
import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bastion.auth import srp
from bastion.services.cognito_idp import schema, throttle
from bastion.services.cognito_idp.core import Client, Core, Delivery, Pool
from bastion.services.cognito_idp.errors import (
    UnauthorizedError,
    UnsupportedOperationError,
    UnsupportedTokenTypeError,
)
from bastion.services.cognito_idp.passwords import check_password
from bastion.services.cognito_idp.profile import send_verification_code, update_attributes, verify_attribute
from bastion.services.cognito_idp.tokens import TokenError
from bastion.services.cognito_idp.users import set_password
from bastion.services.errors import InvalidInputError, NotAuthorizedError, NotFoundError
from bastion.storage.cognito_idp import PoolUserRecord

INVALID_ACCESS_TOKEN = "Invalid Access Token"  # noqa: S105 (an error text)


@dataclass(frozen=True, slots=True)
class Caller:
    """The user behind a valid access token."""

    pool: Pool
    client: Client
    user: PoolUserRecord
    claims: dict[str, Any]

    @property
    def readable(self) -> frozenset[str]:
        return schema.readable(self.pool.settings.schema, self.client.settings.read_attributes)


class Account:
    def __init__(self, core: Core) -> None:
        self._core = core
        self._repo = core.repo

    async def caller(self, access_token: str) -> Caller:
        core = self._core
        try:
            claims = await core.tokens.verify(access_token, "access")
        except TokenError as exc:
            raise NotAuthorizedError(
                "Access Token has expired" if exc.reason == "expired" else INVALID_ACCESS_TOKEN
            ) from exc
        pool_id = core.tokens.pool_of(claims.get("iss"))
        try:
            pool = await core.pool(str(pool_id))
            client = await core.client(str(claims.get("client_id")), pool.id)
        except NotFoundError as exc:
            raise NotAuthorizedError(INVALID_ACCESS_TOKEN) from exc
        user = await self._repo.get_user(pool.id, str(claims.get("sub")))
        if user is None:
            raise NotAuthorizedError("User does not exist.")
        session = await self._repo.get_session(str(claims.get("origin_jti")))
        if session is None or session.revoked is not None:
            raise NotAuthorizedError("Access Token has been revoked")
        if not user.enabled:
            raise NotAuthorizedError("User is disabled.")
        return Caller(pool, client, user, claims)

    async def get_user(self, access_token: str) -> tuple[PoolUserRecord, frozenset[str]]:
        """The user and the attribute names the token's app client may read."""
        caller = await self.caller(access_token)
        return caller.user, caller.readable

    async def update_user_attributes(self, access_token: str, changes: Mapping[str, str]) -> list[Delivery]:
        caller = await self.caller(access_token)
        allowed = schema.writable(caller.pool.settings.schema, caller.client.settings.write_attributes)
        if any(name not in allowed for name in changes):
            raise NotAuthorizedError("A client attempted to write unauthorized attribute")
        _, deliveries = await update_attributes(self._core, caller.pool, caller.user, changes)
        return deliveries

    async def get_user_attribute_verification_code(self, access_token: str, attribute: str) -> Delivery:
        caller = await self.caller(access_token)
        return await send_verification_code(self._core, caller.pool, caller.user, attribute)

    async def verify_user_attribute(self, access_token: str, attribute: str, code: str) -> None:
        caller = await self.caller(access_token)
        await verify_attribute(self._core, caller.pool, caller.user, attribute, code)

    async def delete_user(self, access_token: str) -> None:
        caller = await self.caller(access_token)
        await self._repo.delete_user(caller.pool.id, caller.user.sub)

    async def change_password(self, access_token: str, previous: str | None, proposed: str) -> None:
        caller = await self.caller(access_token)
        pool, user = caller.pool, caller.user
        check_password(pool.settings.password_policy, proposed)
        if previous is None:
            raise InvalidInputError("PreviousPassword is required.")
        now = self._core.now()
        if throttle.is_stale(user, now):
            await self._repo.clear_failed_sign_ins(pool.id, user.sub)
        elif throttle.is_locked(user, now):
            raise NotAuthorizedError(throttle.EXCEEDED)
        ok = user.verifier is not None and await asyncio.to_thread(
            srp.verify_password, srp.Verifier.from_text(user.verifier), pool.srp_name, user.username, previous
        )
        if not ok:
            await self._repo.record_failed_sign_in(pool.id, user.sub, now)
            raise NotAuthorizedError("Incorrect username or password.")
        updated = await set_password(pool, user, proposed, status=user.status, now=now)
        await self._core.save_user(pool, updated)
        await self._repo.clear_failed_sign_ins(pool.id, user.sub)

    async def global_sign_out(self, access_token: str) -> None:
        caller = await self.caller(access_token)
        await self._repo.revoke_user_sessions(caller.pool.id, caller.user.sub, self._core.now())

    async def revoke_token(self, client_id: str, token: str, client_secret: str | None) -> None:
        """RevokeToken: end the sign-in a refresh token belongs to (its access tokens stop working too)."""
        client = await self._core.client(client_id)
        if client.secret is not None and not hmac.compare_digest(
            (client_secret or "").encode(), client.secret.encode()
        ):
            raise UnauthorizedError("Invalid client secret.")
        if not client.settings.enable_token_revocation:
            raise UnsupportedOperationError("Token revocation is not enabled for this app client.")
        content = self._core.seals.open_refresh_token(token)
        if content is None:
            if token.count(".") == 2:  # an access or ID token (a JWT)
                raise UnsupportedTokenTypeError("Unsupported token type.")
            return  # an unknown token is already as revoked as it can be (RFC 7009)
        if content.client_id != client.id:
            raise UnauthorizedError("The token was not issued to this app client.")
        await self._repo.revoke_session(content.session_id, self._core.now())
